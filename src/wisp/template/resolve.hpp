#pragma once
// Internal to the template area: what a template declares (parameters, mappings,
// conditions, resources) and the intrinsic resolver over it.
//
// resolve() maps a node to its resolved form, keeping positions: Ref to parameters and
// pseudo parameters, Fn::Sub (both forms), Join, Select, Split, FindInMap, If, Base64,
// GetAZs, Length, ToJsonString and the condition functions are evaluated; AWS::NoValue
// removes the entry it stands in. What cannot be known locally stays symbolic in long form:
// {Ref: Resource}, {Fn::GetAtt: [Resource, Attribute]}, {Fn::ImportValue: Name} (unless
// overridden), and any function whose inputs are symbolic (with what could be resolved
// inside it resolved). Missing names are not reported here: the reference check does that
// once, on the unresolved template, so untaken If branches are checked too.

#include <wisp/support/diagnostic.hpp>
#include <wisp/template/node.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wisp::sam::detail {

struct Parameter {
  std::string name;
  std::string type = "String";
  Mark mark;
  std::optional<Node> value; // string, or a list of strings for list types; unset: unknown
  bool no_echo = false;
};

struct ResourceDecl {
  std::string logical_id;
  std::string type;
  Mark mark;                  // of the logical id
  const Node* node = nullptr; // the resource's mapping
  std::string condition;      // resource-level Condition, if any
  bool included = true;       // false when its Condition is false
};

struct Scope {
  std::map<std::string, Parameter, std::less<>> parameters;
  const Node* mappings = nullptr;   // Mappings section (mapping) or null
  const Node* conditions = nullptr; // Conditions section (mapping) or null
  std::unordered_map<std::string, ResourceDecl> resources;
  std::string region = "us-east-1";
  std::string account_id = "123456789012";
  std::string stack_name = "local";
  const std::map<std::string, std::string>* import_values = nullptr;

  [[nodiscard]] bool is_resource(std::string_view name) const {
    return resources.find(std::string(name)) != resources.end();
  }
};

// Pseudo parameters: AWS::Region, AccountId, StackName, StackId, Partition, URLSuffix,
// NotificationARNs, NoValue.
bool is_pseudo_parameter(std::string_view name);
std::optional<Node> pseudo_value(const Scope& scope, std::string_view name, Mark mark);
std::string partition_of(std::string_view region);

class Resolver {
public:
  Resolver(const Scope& scope, const std::string& file, support::Diagnostics& diagnostics)
      : m_scope(scope), m_file(file), m_diags(diagnostics) {}

  // The resolved copy of `node`.
  Node resolve(const Node& node);

  // A named condition's value; nullopt when it is undefined, cyclic, or depends on a
  // value that is not known locally.
  std::optional<bool> condition(std::string_view name);

  // A condition function node (Fn::Equals/And/Or/Not, {Condition: name}).
  std::optional<bool> evaluate_condition(const Node& node);

private:
  Node resolve_intrinsic(std::string_view key, const Node& arg, const Node& whole);
  Node resolve_ref(const Node& arg, const Node& whole);
  Node resolve_sub(const Node& arg, const Node& whole);
  Node resolve_find_in_map(const Node& arg, const Node& whole);
  void error(Mark mark, std::string message);

  const Scope& m_scope;
  const std::string& m_file;
  support::Diagnostics& m_diags;
  std::map<std::string, std::optional<bool>, std::less<>> m_conditions;
  std::set<std::string, std::less<>> m_evaluating;
};

// True when no intrinsic function is left anywhere in `node`.
bool is_resolved(const Node& node);

// A symbolic node's key ("Ref", "Fn::GetAtt", ...) or empty.
inline std::string_view symbolic_key(const Node& node) {
  return node.intrinsic(false);
}

// The pieces of a Fn::Sub template string: literal text and ${...} variables.
struct SubPart {
  bool variable = false;
  std::string text; // literal text (with ${!x} turned into ${x}) or the variable name
  std::size_t offset = 0;
};
std::optional<std::vector<SubPart>> parse_sub(std::string_view text, std::string* error);

} // namespace wisp::sam::detail
