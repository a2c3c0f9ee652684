#pragma once
// Internal to the template area: the loader's phases over one template. load.cpp reads
// the document and checks sections, parameters, conditions, references and Globals;
// build.cpp turns the resolved resources into the Model and checks their semantics, with
// build_functions.cpp (functions, layers), build_apis.cpp (SAM APIs, routes) and
// build_raw_apis.cpp (plain API Gateway resources).

#include <wisp/template/load.hpp>
#include <wisp/template/node.hpp>
#include <wisp/template/resolve.hpp>
#include <wisp/template/schema.hpp>

#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace wisp::sam::detail {

// A function event kept for route building, with its resolved properties.
struct PendingEvent {
  std::size_t function = 0; // index into Model::functions
  std::string name;
  std::string type;
  const Node* properties = nullptr; // resolved (owned by Loader::m_resolved)
  Mark mark;                        // of the event's key
};

class Loader {
public:
  Loader(const LoadOptions& options, LoadResult& result);
  void run();

private:
  // load.cpp
  bool read();
  void check_sections();
  void declare_parameters();
  void check_parameter_value(const Parameter& parameter, const Node& declaration, const Node& value,
                             Mark where, bool from_override);
  void index_resources();
  void check_mappings();
  void check_conditions();
  void check_references();
  void walk_refs(const Node& node, std::string_view section, const std::string* resource,
                 bool in_events);
  void check_ref_name(const Node& at_node, std::string_view name, std::string_view section,
                      const std::string* resource, bool in_events, std::string_view how);
  // `sam_resolves`: the SAM transform resolves Owner.Property here (list-form GetAtt), not in
  // the long form's "A.B" string. ${...} of Fn::Sub is checked by walk_refs itself.
  void check_getatt(const Node& at_node, std::string_view target, const Node* attribute,
                    std::string_view section, const std::string* resource, bool in_events,
                    bool sam_resolves);
  void add_edge(const std::string* resource, std::string_view target, Mark mark, bool in_events);
  // A SAM resource's property the transform moves to resources of their own.
  static bool moved_by_transform(std::string_view type, std::string_view property);
  void add_event_api_edges(const ResourceDecl& function, const Node& properties);
  void check_cycles();
  void collect_resource_attributes(); // after build_resources
  void parse_globals();
  void collect_generated_ids();
  bool is_generated(std::string_view name) const;
  // sam_refs.cpp: SAM's references to generated resources (Function.Alias, Api.Stage, ...)
  void collect_generated_refs();
  const GeneratedRef* generated_ref(std::string_view owner, std::string_view property) const;
  // A SAM resource's property as the transform sees it (its own, else Globals'), resolved.
  std::optional<Node> sam_property(const std::string& id, std::string_view type,
                                   std::string_view key);
  // Why `owner.property` does not resolve although `property` is one SAM's `owner` type can
  // expose (e.g. Alias without AutoPublishAlias); empty when that is not the case.
  std::string why_not_generated(std::string_view owner, std::string_view property) const;
  // The local value of a SAM reference ("Fn.Alias" → the alias ARN as a local run names it,
  // "Api.Stage" → the stage name); nullopt when there is none.
  std::optional<std::string> local_generated_value(std::string_view name);
  // References SAM resolves that wisp does not model (WebSocketApi.Stage/.DomainName).
  bool accepts_unmodelled_ref(std::string_view owner, std::string_view property) const;
  // "Owner.Property[.Attribute...]" where SAM resolves Owner.Property: checks the attribute
  // against the generated type; false when the transform does not resolve it.
  // In Fn::Sub (`in_sub`), "${Owner.Property}" alone is a Ref of the generated resource.
  bool check_generated_getatt(const Node& at_node, std::string_view joined,
                              const std::string* resource, bool in_events, bool in_sub);
  std::string suggest_name(std::string_view name, bool resources, bool parameters) const;
  void error(Mark mark, std::string code, std::string message);
  void warning(Mark mark, std::string code, std::string message);
  void lint(Mark mark, std::string code, std::string message);
  // A local code file that is not there (LoadOptions::missing_code_is_error).
  void missing_code(Mark mark, std::string code, std::string message);

  // lint.cpp (--lint): best-practice warnings
  void lint_checks();
  void lint_function(const Function& function, const Node& properties);

  // build.cpp
  void build_resources();
  const Node* globals_for(const ResourceDecl& decl);
  Node resolve_merged(const Node* global, const Node& local);
  void check_transformed_size();
  void build_outputs();

  // build_functions.cpp
  void build_function(const ResourceDecl& decl, const Node& properties);
  void read_identity(Function& function, const Node& properties);
  void read_configuration(Function& function, const Node& properties);
  void read_logging(Function& function, const Node& properties);
  void build_lambda_function(const ResourceDecl& decl, const Node& properties);
  void check_events(const Node& events);
  void check_function(Function& function, const Node& properties, const ResourceDecl& decl);
  void check_deployment_preference(const Function& function, const Node& properties);
  void build_layer(const ResourceDecl& decl, const Node& properties, bool serverless);

  // build_apis.cpp
  void build_api(const ResourceDecl& decl, const Node& properties, bool http, bool implicit);
  std::optional<Node> load_definition_uri(const Node& uri);
  void build_implicit_apis();
  void build_routes();
  void routes_from_definition(const Api& api, const Node& body);

  // nested.cpp: AWS::Serverless::Application resources whose Location (and
  // AWS::CloudFormation::Stack resources whose TemplateURL) is a local template, loaded
  // (recursively) and merged into the model under their stack path ("Child/Fn").
  void load_applications();

  // build_raw_apis.cpp
  std::string raw_function_of(const Node& uri) const;
  void build_raw_apis(); // AWS::ApiGateway::* and AWS::ApiGatewayV2::* resources
  void raw_routes();

  // First member: the node trees below live in it, so it must outlive them.
  Arena m_arena;
  const LoadOptions& m_options;
  LoadResult& m_result;
  Model& m_model;
  support::Diagnostics& m_diags;
  std::string m_file;
  std::string m_today;
  Node m_root;
  Scope m_scope;
  std::unique_ptr<Resolver> m_resolver;
  std::unique_ptr<SchemaChecker> m_schema;
  const Node* m_resources = nullptr;
  const Node* m_outputs = nullptr;
  const Node* m_globals_section = nullptr;
  std::vector<const Entry*> m_resource_entries;       // document order
  std::map<std::string, Node, std::less<>> m_globals; // resource type → Globals properties
  std::unordered_set<std::string> m_generated;        // ids SAM generates
  std::map<std::string, GeneratedRef, std::less<>> m_generated_refs; // by "Owner.Property"
  std::unordered_map<std::string, std::vector<std::pair<std::string, Mark>>> m_edges;
  std::vector<std::pair<std::string, std::string>> m_overrides;
  std::set<std::string, std::less<>> m_from_parent;  // parameters a parent stack passes
  std::unordered_set<std::string> m_used_parameters; // referenced anywhere
  std::unordered_set<std::string> m_used_conditions;
  std::unordered_set<std::string> m_used_mappings;
  std::vector<PendingEvent> m_events;
  std::deque<Node> m_resolved; // resolved resource properties (stable addresses)
  std::unordered_map<std::string, const Node*> m_resolved_by_id;
  std::map<std::string, const Node*, std::less<>> m_api_properties; // resolved, by API id
  std::vector<Node> m_ignored_globals; // Globals minus IgnoreGlobals, per resource that ignores
};

} // namespace wisp::sam::detail
