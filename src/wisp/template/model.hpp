#pragma once
// The template model: a SAM template loaded, resolved (Parameters, Conditions, Mappings,
// Globals, intrinsics) and turned into what every command consumes. Produced by
// sam::load (load.hpp); no other area reads YAML.
//
// Values are resolved: strings are final unless noted. Raw property blobs (DefinitionBody,
// Policies, Metadata, other resources' Properties) are Boost.JSON values after intrinsic
// resolution; what cannot be resolved locally (GetAtt, ImportValue without an override)
// is kept symbolic as {"Fn::GetAtt": [...]} / {"Fn::ImportValue": ...}.
//
// Namespace `wisp::sam` because `template` is a C++ keyword.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::sam {

// Where something was declared in the template (1-based; 0 when unknown).
struct SourceRef {
  std::string file;
  int line = 0;
  int column = 0;
};

enum class PackageType { zip, image };
enum class ApiKind { rest, http }; // REST API (payload 1.0) / HTTP API (2.0 or 1.0)

// A reference that is either a resource of this template or a literal (name or ARN).
struct ResourceRef {
  std::string logical_id; // set when it refers to a resource in this template
  std::string literal;    // otherwise: the name/ARN as written (resolved)
  [[nodiscard]] bool empty() const { return logical_id.empty() && literal.empty(); }
};

// One entry of a function's `Events`.
struct EventSource {
  std::string name;               // the key under Events
  std::string type;               // Api, HttpApi, Schedule, ScheduleV2, SQS, SNS, S3, ...
  boost::json::object properties; // resolved
  SourceRef source;
};

struct DeploymentPreference {
  std::string type; // Canary10Percent5Minutes ... AllAtOnce
  bool enabled = true;
  std::vector<ResourceRef> alarms; // AWS::CloudWatch::Alarm logical ids or alarm names
  ResourceRef pre_traffic_hook;    // a function
  ResourceRef post_traffic_hook;
  std::string role;
  SourceRef source;
};

struct ImageConfig {
  std::vector<std::string> command;
  std::vector<std::string> entry_point;
  std::string working_directory;
};

struct Function {
  std::string logical_id;
  std::string resource_type; // AWS::Serverless::Function | AWS::Lambda::Function
  std::string function_name; // FunctionName when set (physical name), else empty
  std::string handler;
  std::string runtime; // e.g. python3.13, nodejs22.x, provided.al2023
  PackageType package_type = PackageType::zip;
  std::filesystem::path code_dir;         // absolute local directory of CodeUri (Zip, local code)
  std::string code_s3_uri;                // s3://bucket/key when CodeUri is remote
  std::optional<std::string> inline_code; // InlineCode / Code.ZipFile
  std::string image_uri;
  ImageConfig image_config;
  boost::json::object metadata;        // resource Metadata (BuildMethod, Dockerfile, ...)
  int memory_size = 128;               // MB
  int timeout = 3;                     // seconds
  int ephemeral_storage = 512;         // MB
  bool recursive_loop_allowed = false; // RecursiveLoop: Allow (default Terminate)
  std::vector<std::string> architectures{"x86_64"};
  std::map<std::string, std::string> environment;  // resolved Environment.Variables
  std::vector<std::string> unresolved_environment; // variables set to "" (unresolvable)
  std::vector<EventSource> events;
  std::string auto_publish_alias;
  std::optional<DeploymentPreference> deployment_preference;
  std::vector<ResourceRef> layers; // template layers by logical id, or layer version ARNs
  std::optional<int> reserved_concurrency;
  std::optional<int> provisioned_concurrency; // ProvisionedConcurrencyConfig
  boost::json::value policies;                // as written: string, list, statements, SAM templates
  ResourceRef role;                           // Role (ARN or a template IAM role)
  std::map<std::string, std::string> tags;
  std::string tracing;    // Active | PassThrough | empty
  std::string log_group;  // LoggingConfig.LogGroup; empty → /aws/lambda/<name>
  std::string log_format; // LoggingConfig.LogFormat: Text | JSON | empty
  std::optional<boost::json::object> function_url_config;
  SourceRef source;
};

struct Authorizer {
  enum class Kind { lambda_token, lambda_request, cognito, jwt, iam };
  std::string name;
  Kind kind = Kind::lambda_token;
  std::string function_logical_id; // Lambda authorizers (FunctionArn → function)
  std::string function_arn;        // when FunctionArn is a literal ARN
  std::vector<std::string>
      identity_sources;  // REST: method.request.header.X; HTTP: $request.header.X
  int ttl_seconds = 300; // result caching; 0 disables
  std::string identity_validation_expression; // REST TOKEN
  std::string payload_format_version;         // HTTP API Lambda authorizers: 1.0 | 2.0
  bool enable_simple_responses = false;       // HTTP API Lambda authorizers
  std::string jwt_issuer;                     // JWT
  std::vector<std::string> jwt_audience;
  std::vector<std::string> user_pool_arns; // Cognito
  SourceRef source;
};

struct Cors {
  std::vector<std::string> allow_origins;
  std::vector<std::string> allow_methods;
  std::vector<std::string> allow_headers;
  std::vector<std::string> expose_headers;
  bool allow_credentials = false;
  std::optional<int> max_age;
};

struct MethodSetting {
  std::string resource_path = "/*";
  std::string http_method = "*";
  std::optional<double> throttling_rate_limit;
  std::optional<int> throttling_burst_limit;
};

struct Api {
  std::string logical_id; // ServerlessRestApi / ServerlessHttpApi when implicit
  ApiKind kind = ApiKind::rest;
  bool implicit = false;
  std::string stage_name; // REST implicit: "Prod"; HTTP implicit: "$default"
  std::map<std::string, std::string> stage_variables; // Variables / StageVariables
  std::optional<Cors> cors;                           // Cors / CorsConfiguration
  std::vector<std::string> binary_media_types;
  std::map<std::string, Authorizer> authorizers;
  std::string default_authorizer;                    // Auth.DefaultAuthorizer
  std::optional<boost::json::object> canary_setting; // REST CanarySetting, resolved
  std::optional<boost::json::value> definition_body; // DefinitionBody / loaded DefinitionUri
  std::vector<MethodSetting> method_settings;
  boost::json::object properties; // everything else, resolved
  SourceRef source;
};

// A route the gateway serves: exactly what it needs to match and build events.
struct Route {
  std::string api_logical_id;
  ApiKind kind = ApiKind::rest;
  std::string method;                 // upper case, or ANY
  std::string path;                   // "/users/{id}", "/{proxy+}", or "$default"
  std::string payload_format_version; // "1.0" | "2.0"
  std::string function_logical_id;
  std::string authorizer; // authorizer name, "NONE", or empty (API default)
  std::string event_name; // Events key; empty when from DefinitionBody
  SourceRef source;
};

struct Layer {
  std::string logical_id;
  std::string layer_name;
  std::filesystem::path content_dir; // absolute local ContentUri
  std::string content_s3_uri;
  std::vector<std::string> compatible_runtimes;
  std::vector<std::string> compatible_architectures;
  boost::json::object metadata; // BuildMethod, ...
  std::string retention_policy;
  SourceRef source;
};

// Any resource after Conditions removed what they remove; SAM resources included.
struct Resource {
  std::string logical_id;
  std::string type;
  boost::json::object properties; // resolved
  boost::json::object metadata;
  std::vector<std::string> depends_on;
  // DeletionPolicy, UpdateReplacePolicy, CreationPolicy, UpdatePolicy as written (resolved);
  // what deploy carries into the infrastructure stack.
  boost::json::object attributes;
  SourceRef source;
};

// A reference the SAM transform resolves to a resource it generates, as samtranslator
// does: `!Ref Owner.Property`, `${Owner.Property}` (and `${Owner.Property.Attribute}`) in
// Fn::Sub, and `!GetAtt [Owner.Property, Attribute]`. Only what the transform registers:
// a function's Alias and Version (with AutoPublishAlias), DestinationTopic/DestinationQueue
// (queues and topics the transform creates for EventInvokeConfig destinations or events);
// an Api's Stage, Deployment, DomainName/DomainNameV2 (with Domain), UsagePlan,
// UsagePlanKey and ApiKey (with Auth.UsagePlan); an HttpApi's Stage and DomainName.
struct GeneratedRef {
  std::string owner;    // the SAM resource's logical id: MyFunction
  std::string property; // Alias, Version, Stage, Deployment, DomainName, ...
  std::string type;     // the generated resource's type: AWS::Lambda::Alias, ...
  // The generated resource's logical id as the transform names it (MyFunctionAliaslive,
  // MyApiprodStage); when `hashed`, only its prefix (the transform appends a digest of
  // content wisp does not reproduce: versions, deployments, domain names, stages with
  // non-alphanumeric names).
  std::string logical_id;
  bool hashed = false;
  // The physical name the template fixes, when it does: the alias name (AutoPublishAlias),
  // the stage name (StageName; "$default" for an HttpApi without one); else empty.
  std::string name;
};

struct Model {
  std::filesystem::path template_path; // absolute
  std::filesystem::path base_dir;      // the template's directory
  std::string description;
  std::map<std::string, std::string> parameters; // resolved values
  std::set<std::string> no_echo_parameters;      // never print these values
  std::vector<Function> functions;
  std::vector<Api> apis;
  std::vector<Route> routes;
  std::vector<Layer> layers;
  std::vector<Resource> resources;
  boost::json::object outputs;
  // SAM's references to generated resources, by "Owner.Property" (see GeneratedRef).
  std::map<std::string, GeneratedRef, std::less<>> generated_refs;

  // By logical id, then by FunctionName.
  [[nodiscard]] const Function* find_function(std::string_view id_or_name) const;
  [[nodiscard]] const Api* find_api(std::string_view logical_id) const;
  [[nodiscard]] const Layer* find_layer(std::string_view logical_id) const;
  [[nodiscard]] const Resource* find_resource(std::string_view logical_id) const;
  // "MyFunction.Alias" → what it resolves to; nullptr when the transform leaves it alone.
  [[nodiscard]] const GeneratedRef* find_generated_ref(std::string_view name) const;
};

} // namespace wisp::sam
