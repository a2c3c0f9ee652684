#pragma once
// Internals shared by deploy's implementation files: bounded parallelism, the API Gateway
// part of plan/apply, and traffic shifting. Not a public header.

#include <wisp/deploy/backend.hpp>
#include <wisp/deploy/deploy.hpp>
#include <wisp/deploy/desired.hpp>
#include <wisp/deploy/state.hpp>
#include <wisp/infra/infra.hpp>
#include <wisp/infra/stack.hpp>

#include <boost/json/object.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace wisp::deploy {

// Runs `work(i)` for i in [0, count) on at most `parallel` threads. Stops starting new
// items after the first failure or when `cancel` is set; returns the first failure.
support::Status parallel_for(std::size_t count, unsigned parallel,
                             const std::function<support::Status(std::size_t)>& work,
                             const std::atomic<bool>* cancel = nullptr);

// Thread-safe collection of warnings and step lines.
class Log {
public:
  explicit Log(Reporter& reporter) : m_reporter(reporter) {}
  void step(const std::string& line);
  void status(const std::string& line);
  void warning(const std::string& line);
  [[nodiscard]] std::vector<std::string> warnings() const;

private:
  Reporter& m_reporter;
  mutable std::mutex m_mutex;
  std::vector<std::string> m_warnings;
};

// The bucket and prefix of a target (the managed bucket with --resolve-s3).
support::Result<Location> resolve_location(const Target& target, const std::string& account,
                                           const std::string& region);

// --- API Gateway ---

struct RestMethodActual {
  std::string uri;
  std::string authorization_type; // NONE | CUSTOM | COGNITO_USER_POOLS | AWS_IAM
  std::string authorizer_id;
  bool api_key_required = false;
  std::string request_validator_id;
  std::string request_models; // canonical JSON of requestModels; empty: none
  std::string responses;      // method responses, as method_responses_text gives them
};

struct AuthorizerActual {
  std::string id;
  std::string digest; // of the same fields as AuthorizerSpec::digest()
};
struct RestResourceActual {
  std::string id;
  std::string path;
  std::map<std::string, RestMethodActual> methods; // by HTTP method
};
// A usage plan wisp made for the app (tagged wisp:stack), as found.
struct UsagePlanActual {
  std::string id;
  std::string name;
  boost::json::object fields;                              // usage_plan_fields
  std::vector<std::pair<std::string, std::string>> stages; // apiStages: (apiId, stage)
  std::string key_id; // the API key wisp made for it (by name), linked or not
  bool key_enabled = false;
  bool key_linked = false; // a usage plan key of the plan
};

struct ApiActual {
  std::string id;             // empty: the API does not exist
  std::string api_key_source; // REST apiKeySource
  std::string policy;         // REST resource policy, canonical (reported_policy); empty: none
  std::vector<UsagePlanActual> usage_plans; // wisp's naming this API's stage, or the wanted one
  // REST
  std::map<std::string, RestResourceActual> resources; // by path
  std::vector<std::string> binary_media_types;
  // The rest of the OpenAPI definition (rest_definition.cpp): models by name (content type
  // and schema, canonical), request validators by name (id, body, parameters), gateway
  // responses wisp or the import set (defaultResponse false) by type (canonical body).
  struct Model {
    std::string content_type;
    std::string schema;
  };
  struct Validator {
    std::string id;
    bool body = false;
    bool parameters = false;
  };
  std::map<std::string, Model> models;
  std::map<std::string, Validator> validators;
  std::map<std::string, std::string> gateway_responses;
  // HTTP
  std::map<std::string, std::string> routes;           // route key → target
  std::map<std::string, std::string> route_ids;        // route key → route id
  std::map<std::string, std::string> route_auth;       // route key → "TYPE|authorizer id"
  std::map<std::string, AuthorizerActual> authorizers; // by name
  std::map<std::string, std::string> integrations;     // integration id → uri|pfv
  std::string cors; // corsConfiguration, canonical JSON; empty: none
  // The stage
  bool stage_exists = false;
  std::string deployment_id;
  std::string deployment_digest; // from the deployment's description "wisp <digest>"
  std::map<std::string, std::string> variables;
};

struct ApiPlan {
  const ApiSpec* spec = nullptr;
  ApiActual actual;
  bool create_api = false;
  bool definition_changed = false;
  bool needs_deployment = false;
  bool stage_variables_changed = false;
  bool usage_plan_changed = false; // Auth.UsagePlan (applied after every API: SHARED spans them)
  std::vector<std::string> details;
  [[nodiscard]] bool unchanged() const {
    return !create_api && !definition_changed && !needs_deployment && !stage_variables_changed &&
           !usage_plan_changed && actual.stage_exists;
  }
};

support::Result<ApiActual> read_api(const Backend& backend, const ApiSpec& spec,
                                    const std::string& known_id);
ApiPlan plan_api(const ApiSpec& spec, ApiActual actual);

// REST: the models, request validators and gateway responses of an OpenAPI body
// (rest_definition.cpp). read_definition_extras fills ApiActual's; plan_definition_extras says
// what differs (plan lines); apply_definition_extras creates and updates them (before the
// methods, which name them) and returns validator name → id; remove_definition_extras removes
// what the spec no longer has (after the methods).
support::Status read_definition_extras(const Backend& backend, const std::string& api_id,
                                       ApiActual& actual);
std::vector<std::string> plan_definition_extras(const ApiSpec& spec, const ApiActual& actual);
support::Result<std::map<std::string, std::string>>
apply_definition_extras(const Backend& backend, const ApiSpec& spec, const std::string& api_id,
                        const ApiActual& actual, Log& log);
support::Status remove_definition_extras(const Backend& backend, const ApiSpec& spec,
                                         const std::string& api_id, const ApiActual& actual,
                                         Log& log);
// A model's schema as API Gateway holds it: references to the body's other models
// (#/definitions/X, #/components/schemas/X) as the API's model URLs.
boost::json::value model_schema(const boost::json::value& schema, const std::string& api_id);

struct ApiApplied {
  std::string id;
  std::string deployment_id;
  bool canary_requested = false;
  bool canary_active = false; // the backend kept canarySettings
  std::string url;
};
// Creates/updates the API definition and its stage. `functions` give names for logs.
support::Result<ApiApplied> apply_api(const Backend& backend, const Desired& desired,
                                      const ApiPlan& plan, Log& log);
// Usage plans (usage_plans.cpp): wisp's plans that name the API's stage or the wanted one,
// with the wanted plan's API key; what differs from the spec (plan lines, empty: nothing).
support::Result<std::vector<UsagePlanActual>>
read_usage_plans(const Backend& backend, const ApiSpec& spec, const std::string& api_id);
std::vector<std::string> plan_usage_plans(const ApiSpec& spec, const ApiActual& actual);
// Makes the API's stage a member of the wanted plan (created with its key when missing,
// updated when it differs) and of no other plan of wisp's (a plan left without stages goes,
// with its key). Called after every API is applied, one API at a time.
support::Status apply_usage_plans(const Backend& backend, const ApiSpec& spec,
                                  const std::string& api_id, Log& log);
// `wisp delete`: the stage leaves wisp's usage plans (emptied plans go, with their keys).
support::Status remove_usage_plans(const Backend& backend, const std::string& stack,
                                   const std::string& api_id, const std::string& stage, Log& log);
// Promotes a REST stage canary (deploymentId and variable overrides into the stage).
support::Status promote_api_canary(const Backend& backend, const std::string& api_id,
                                   const std::string& stage, Log& log);
std::string api_url(const Desired& desired, const std::string& kind, const std::string& id,
                    const std::string& stage);
std::string api_url(const std::string& region, const std::string& kind, const std::string& id,
                    const std::string& stage);
std::string permission_id(const std::string& api_logical_id, const std::string& stage);
std::string api_source_arn(const std::string& region, const std::string& account,
                           const std::string& api_id);

// --- traffic shifting ---

struct ShiftItem {
  std::string logical_id;
  std::string function; // physical name
  std::string alias;
  std::string from;
  std::string to;
  ShiftPlan plan;
  std::vector<std::string> alarms;
  std::string pre_hook; // physical function name + alias to invoke, "name:alias"
  std::string post_hook;
};

struct ShiftOutcome {
  enum class Kind { completed, rolled_back, interrupted, failed } kind = Kind::completed;
  std::string reason;
};

// Moves every item's alias from `from` to `to` step by step, watching alarms; hooks run
// before the first and after the last step. On an alarm, a failed hook or a cancel, every
// alias goes back to `from` with no routing. `on_weights` is called after each step
// with the weights written (logical id → weight on `to`).
ShiftOutcome run_shift(const Backend& backend, std::vector<ShiftItem> items, Log& log,
                       const std::atomic<bool>* cancel,
                       const std::function<void(const std::map<std::string, double>&)>& on_weights);

// Sets an alias (version + routing) and reads it back.
support::Status set_alias(const Backend& backend, const std::string& function,
                          const std::string& alias, const std::string& version,
                          const std::map<std::string, double>& weights, bool create = false);

// Invokes a traffic hook; an error when it fails (function error or {"status": "Failed"}).
support::Status run_hook(const Backend& backend, const std::string& qualified_name,
                         const std::string& lifecycle, Log& log);

// --- the infrastructure stack (stack.cpp) ---

// What the infra area needs to know of wisp's side: names, aliases, roles, alarms, and which
// functions and APIs exist already (`existing` aliases by logical id, API ids).
infra::Inputs infra_inputs(const sam::Model& model, const Desired& desired,
                           const std::set<std::string>& existing_aliases,
                           const std::map<std::string, std::string>& api_ids,
                           const std::map<std::string, std::string>& layer_arns);

// The stack's template for what exists (infra::generate). When the stack and wisp's side need
// each other only because a role wisp makes does not exist before the stack (an AWS::IAM::Role
// of the template or a function's own role that a stack resource names: IAM checks that a
// role exists), the template is the one with those roles made first, and `roles_first` names
// them (keys of desired.roles); otherwise it is empty and a cycle stays generate's error.
support::Result<infra::StackTemplate>
stack_template(const sam::Model& model, const Desired& desired,
               const std::set<std::string>& existing,
               const std::map<std::string, std::string>& api_ids,
               const std::map<std::string, std::string>& layer_arns,
               std::vector<std::string>* roles_first = nullptr);

// Creates those roles with their trust policy and wisp's tag, before the stack: their
// managed and inline policies (which may name the stack's resources) and the digest tag come
// in the roles phase, after it, as for any role.
support::Status create_roles_first(const Backend& backend, const Desired& desired,
                                   const std::vector<std::string>& roles, Log& log);

// Says so on those roles' plan lines ("before the stack").
void mark_roles_first(Plan& plan, const Desired& desired, const std::vector<std::string>& roles);

// --- layers of the template (layers.cpp) ---

struct LayerState {
  LayerSpec spec;  // a copy: `desired` is rebuilt several times during a deploy
  std::string arn; // the version holding this content, empty: to publish
};
// The code of the functions whose CodeUri is already in S3, by logical id (s3_code.cpp).
support::Result<std::map<std::string, CodeSpec>>
resolve_s3_code(const Backend& backend, const sam::Model& model, unsigned parallel);
// The images of the PackageType Image functions, by logical id (images.cpp): an ImageUri's
// tag resolved to its digest; an image built from the template assembled (not pushed).
support::Result<std::map<std::string, CodeSpec>>
resolve_images(const Backend& backend, const sam::Model& model, const artifact::BuildReport& report,
               const DeployOptions& options, Log& log);
// Pushes an image built from the template to its repository (blobs present are not sent).
support::Status push_image_code(const Backend& backend, const std::string& logical_id,
                                const CodeSpec& code, const DeployOptions& options, Log& log);
// Finds, for each layer, the version that holds its content (ListLayerVersions).
support::Result<std::vector<LayerState>> read_layers(const Backend& backend, const Desired& desired,
                                                     unsigned parallel);
void plan_layers(Plan& plan, const std::vector<LayerState>& layers);
// Uploads and publishes what changed; fills in the ARNs.
support::Status publish_layers(const Backend& backend, const Desired& desired,
                               std::vector<LayerState>& layers, Log& log);

// The stack's values wisp's side needs, keyed as the resolver asks for them ("Table",
// "Table.Arn"), from the outputs' values (output name → value).
InfraValues infra_values(const infra::StackTemplate& stack,
                         const std::map<std::string, std::string>& outputs);

// A stack of that name made by someone else, or serving another stage's aliases: an error.
support::Status check_stack(const infra::StackState& state, const infra::StackTemplate& stack,
                            const Desired& desired);

// Plan entries for the stack (and, from a change set, its resources).
void plan_stack(Plan& plan, const std::string& name, const infra::StackState& state,
                const infra::StackTemplate& stack, bool changed,
                const std::vector<infra::ResourceChange>* changes);

// The stack's progress through the deploy's log.
infra::StackProgress stack_progress(Log& log);

} // namespace wisp::deploy
