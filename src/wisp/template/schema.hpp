#pragma once
// Internal to the template area: the shape of every section and SAM property wisp
// checks (names, value types, nesting, required keys), and the check itself.
//
// A check reports unknown keys with a "did you mean" suggestion, wrong value types and
// missing required keys. An intrinsic function that stayed symbolic is accepted wherever
// a value is expected (its type is only known at deploy time).

#include <wisp/support/diagnostic.hpp>
#include <wisp/template/node.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace wisp::sam::detail {

enum class Type : std::uint8_t {
  any,
  string,           // any scalar (CloudFormation turns numbers and booleans into strings)
  integer,          // a whole number, or a string holding one
  number,           // any number, or a string holding one
  boolean,          // true/false, or the strings "true"/"false"
  list,             // a list of anything
  string_list,      // a list of scalars
  map,              // a mapping of anything
  string_map,       // a mapping of scalars
  object,           // a mapping checked against `object`
  string_or_object, // a scalar, or a mapping checked against `object`
  string_or_list,   // a scalar or a list of scalars
  boolean_or_object // true/false, or a mapping checked against `object`
};

struct ObjectSpec;

struct PropertySpec {
  std::string_view name;
  Type type = Type::any;
  const ObjectSpec* object = nullptr;
  bool required = false;
};

struct ObjectSpec {
  std::string_view what; // "AWS::Serverless::Function", "DeploymentPreference", ...
  std::span<const PropertySpec> properties;
  bool open = false; // unknown keys allowed
  // The SAM transform reads only the keys it knows here and drops the rest without a word
  // (samtranslator accepts them; nothing reaches CloudFormation): unknown keys are
  // warnings, not errors.
  bool sam_ignores_unknown = false;
  // Where an unknown key here does belong, for the hint (an HttpApi authorizer's key on a
  // REST API authorizer, ...).
  const ObjectSpec* counterpart = nullptr;
};

// Property specs of the resource types wisp models; nullptr for other types.
const ObjectSpec* resource_properties_spec(std::string_view type);
// Properties of a function event of `type` (Api, HttpApi, SQS, ...); nullptr if unknown.
const ObjectSpec* event_properties_spec(std::string_view type);
// Known event types, for suggestions.
std::span<const std::string_view> event_types();

// Resource attributes (Type, Properties, DependsOn, ...).
const ObjectSpec& resource_attributes_spec();
// The resource attributes the SAM transform keeps on an AWS::Serverless::* resource (it
// drops the others).
const ObjectSpec& sam_resource_attributes_spec();
const ObjectSpec& template_sections_spec();
const ObjectSpec& parameter_spec();
const ObjectSpec& output_spec();
// Authorizers of AWS::Serverless::Api / HttpApi Auth.Authorizers entries.
const ObjectSpec& rest_authorizer_spec();
const ObjectSpec& http_authorizer_spec();

class SchemaChecker {
public:
  SchemaChecker(const std::string& file, support::Diagnostics& diagnostics)
      : m_file(file), m_diags(diagnostics) {}

  // Checks the keys of `node` (a mapping) against `spec`; an intrinsic function standing for
  // the whole value (a property that may be computed) is not checked.
  void check_object(const Node& node, const ObjectSpec& spec);
  // The same for a declaration CloudFormation never computes (the template, a parameter, a
  // resource, an output): a lone `Ref`, `Fn::*` or `Condition` key is checked like any other
  // key. Only `Fn::Transform` (AWS::Include) may stand for it.
  void check_declaration(const Node& node, const ObjectSpec& spec);
  // An AWS::Serverless::* resource's attributes: those the SAM transform keeps are checked
  // like check_declaration; it drops any other key (samtranslator accepts it, CloudFormation
  // never sees it), so those are warnings.
  void check_sam_resource(const Node& node, std::string_view type);
  // Checks one value against a property's type; `name` names it in messages.
  void check_value(const Node& value, const PropertySpec& property);

private:
  void check_entries(const Node& node, const ObjectSpec& spec);
  void type_error(const Node& value, std::string_view name, std::string_view expected);
  const std::string& m_file;
  support::Diagnostics& m_diags;
};

// "a string", "an integer", ... for messages.
std::string_view describe(Type type);
// "a string", "a list", ... for a node's actual kind.
std::string describe_kind(const Node& node);

} // namespace wisp::sam::detail
