#pragma once
// The desired state of one stage of an app: what the template model and the built
// artifacts say should exist in the backend, with every name, ARN and digest computed.
// Internal to deploy/.

#include <wisp/artifact/build.hpp>
#include <wisp/deploy/policy.hpp>
#include <wisp/deploy/shift.hpp>
#include <wisp/deploy/state.hpp>
#include <wisp/infra/infra.hpp>
#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <boost/json/object.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wisp::deploy {

struct CodeSpec {
  std::filesystem::path zip;
  std::string sha256_hex;
  std::string sha256_base64; // Lambda's CodeSha256
  std::uint64_t size = 0;
  std::string s3_key;
  // Code already in S3 (CodeUri s3://bucket/key or {Bucket, Key, Version}): used where it is,
  // never uploaded; the digest is of the object (downloaded once per ETag).
  std::string s3_bucket;
  std::string s3_version;
  // PackageType Image: the image in a registry, pinned by digest; sha256_base64 then holds
  // the digest in hex, as Lambda reports an image function's CodeSha256.
  std::string image_uri;
  // The SHA-256 of image_uri: what moto's Lambda reports as CodeSha256 when it does not look
  // images up in its ECR (MOTO_LAMBDA_STUB_ECR, its default). The URI is pinned by digest,
  // so it names the image as well as the digest does.
  std::string uri_sha256;
  // An image built from the template: its OCI layout and tag there, pushed to push_to
  // (registry/repository:tag) before the function is created or its code updated.
  std::filesystem::path image_layout;
  std::string image_tag;
  std::string push_to;
  std::string push_note; // --dry-run: what the push would send
  // Whether Lambda's CodeSha256 `reported` is this code.
  [[nodiscard]] bool reported_as(const std::string& reported) const {
    return reported == sha256_base64 || (!uri_sha256.empty() && reported == uri_sha256);
  }
};

struct RoleSpec {
  std::string logical_id; // the function's (wisp-made role) or the AWS::IAM::Role's
  std::string name;
  std::string arn;
  RoleDocument document;
  std::string digest;
  // The stack attaches policies to it too (an AWS::IAM::Policy or ManagedPolicy naming it in
  // `Roles`): wisp then removes no policy it finds there, it adds its own.
  bool shared = false;
};

// A layer of the template (AWS::Serverless::LayerVersion, AWS::Lambda::LayerVersion): wisp
// publishes a version of it when its content changes (a version's Description names the
// content's digest, so an unchanged layer is found, not published again).
struct LayerSpec {
  std::string logical_id;
  std::string name;      // LayerName, else the logical id (as SAM names it)
  CodeSpec code;         // built locally (zip), or ...
  std::string s3_bucket; // ... ContentUri already in S3
  std::string s3_key;
  std::vector<std::string> runtimes;
  std::vector<std::string> architectures;
  std::string description; // "wisp <sha256 of the content>"
};

struct AlarmSpec {
  std::string logical_id; // empty for alarms named literally (watched, not created)
  std::string name;
  aws::Query parameters;       // PutMetricAlarm (when wisp creates it)
  boost::json::object compare; // the fields DescribeAlarms reports, for "changed?"
};

struct FunctionSpec {
  std::string logical_id;
  std::string name;           // physical
  std::string arn;            // unqualified
  std::string alias;          // the stage alias
  boost::json::object config; // CreateFunction fields other than code, name, tags
  std::string config_digest;
  CodeSpec code;
  std::map<std::string, std::string> tags;
  std::optional<int> reserved_concurrency;
  std::string role_logical_id;     // the RoleSpec it uses, or empty (Role given as an ARN)
  std::optional<ShiftPlan> shift;  // DeploymentPreference (enabled)
  std::vector<std::string> alarms; // alarm names watched while shifting
  std::string pre_traffic_hook;    // logical id of the hook function
  std::string post_traffic_hook;
  std::vector<std::string> apis; // logical ids of the APIs that invoke it
};

struct RouteSpec {
  std::string method; // GET, ..., ANY
  std::string path;   // "/", "/users/{id}", "/{proxy+}"; HTTP APIs may use "$default"
  std::string function_logical_id;
  std::string integration_uri;
  std::string payload_format_version; // HTTP APIs
  std::string authorizer;             // name of an AuthorizerSpec, "AWS_IAM", or empty (none)
  std::vector<std::string> scopes;    // AuthorizationScopes (JWT/Cognito)
  bool api_key_required = false;      // REST: Auth.ApiKeyRequired (API-wide or the route's)
  // REST operations of an OpenAPI body that are not Lambda proxy integrations to functions of
  // the template (mock, http, http_proxy, aws, or aws_proxy to another ARN): the bodies of
  // PutIntegration, PutIntegrationResponse by status code, PutMethodResponse by status code,
  // and PutMethod's requestParameters. Empty function_logical_id.
  std::optional<boost::json::object> integration;
  std::map<std::string, boost::json::object> integration_responses;
  std::map<std::string, boost::json::object> method_responses;
  boost::json::object request_parameters;
  // REST operations of an OpenAPI body (any integration): x-amazon-apigateway-request-validator
  // (the operation's, else the body's) and the request body's model by content type.
  std::string request_validator;
  boost::json::object request_models;
};

// A model of a REST API's OpenAPI body (definitions, components.schemas).
struct RestModelSpec {
  std::string name;
  std::string content_type = "application/json";
  boost::json::value schema; // as written (references to other models by #/... pointers)
  // API Gateway's own Empty or Error model, which every REST API has from its creation, named
  // by the body without defining it: created only where the API lacks it, never changed.
  bool builtin = false;
};

// The models API Gateway gives every REST API it creates, and their schemas.
bool builtin_model(std::string_view name);
boost::json::value builtin_model_schema(std::string_view name);

// x-amazon-apigateway-request-validators.
struct RestValidatorSpec {
  std::string name;
  bool body = false;
  bool parameters = false;
};

// An authorizer of an API (Auth.Authorizers).
struct AuthorizerSpec {
  std::string name;
  // REST: TOKEN | REQUEST | COGNITO_USER_POOLS; HTTP: JWT | REQUEST.
  std::string type;
  std::string uri; // Lambda authorizers: the invocation URI (the stage alias)
  std::string function_logical_id;
  std::vector<std::string> identity_sources;
  int ttl_seconds = 300;
  std::string validation_expression;      // REST TOKEN
  std::vector<std::string> provider_arns; // Cognito user pools
  std::string issuer;                     // JWT
  std::vector<std::string> audience;      // JWT
  std::string payload_format_version;     // HTTP Lambda
  bool simple_responses = false;          // HTTP Lambda
  // What decides "changed" (every field above).
  [[nodiscard]] std::string digest() const;
};

// A REST API's Auth.UsagePlan (PER_API or SHARED), for one stage: the usage plan, its API
// key and the key's membership, as samtranslator makes them (<Api>UsagePlan, <Api>ApiKey,
// <Api>UsagePlanKey; ServerlessUsagePlan... for SHARED, one for all the APIs that share it).
struct UsagePlanSpec {
  std::string logical_id;   // "<Api>UsagePlan" or "ServerlessUsagePlan"
  std::string name;         // UsagePlanName, else <stack>-<logical id>-<stage>
  std::string key_name;     // <stack>-<Api|Serverless>ApiKey-<stage>
  boost::json::object body; // description, quota, throttle in API Gateway's form (normalised)
};

// The fields of a usage plan that decide "changed" (description, quota, throttle), from
// API Gateway's form (GetUsagePlans, or what wisp sends), numbers normalised.
boost::json::object usage_plan_fields(const boost::json::value& plan);

struct ApiSpec {
  std::string stack; // the app (wisp's usage plans are tagged with it)
  std::string logical_id;
  std::string name;
  std::string kind;                             // rest | http
  std::string stage;                            // API Gateway stage name
  std::map<std::string, std::string> variables; // stage variables incl. lambdaAlias
  std::vector<RouteSpec> routes;
  std::vector<std::string> binary_media_types;
  std::optional<boost::json::object> canary; // REST CanarySetting
  std::vector<AuthorizerSpec> authorizers;
  std::string api_key_source;                         // ApiKeySourceType: HEADER | AUTHORIZER
  std::optional<UsagePlanSpec> usage_plan;            // REST Auth.UsagePlan (not NONE)
  std::optional<boost::json::object> resource_policy; // REST Auth.ResourcePolicy, as SAM makes it
  // HTTP: CorsConfiguration merged into the body's x-amazon-apigateway-cors, in API Gateway
  // v2's form (allowOrigins, ...). REST Cors is routes: the OPTIONS mock methods SAM adds.
  std::optional<boost::json::object> cors;
  // REST: the models, request validators and gateway responses of the OpenAPI body
  // (x-amazon-apigateway-gateway-responses: response type → PutGatewayResponse's body).
  std::vector<RestModelSpec> models;
  std::vector<RestValidatorSpec> validators;
  std::map<std::string, boost::json::object> gateway_responses;
  std::string definition_digest; // routes, integrations, authorizers (what needs a deployment)
};

struct Desired {
  std::string stack;
  std::string stage;
  std::string region;
  std::string account;
  Location location;
  std::map<std::string, RoleSpec> roles; // by logical id
  std::vector<FunctionSpec> functions;   // template order
  std::vector<AlarmSpec> alarms;         // wisp-made and watched
  std::vector<ApiSpec> apis;
  std::vector<LayerSpec> layers;
  std::vector<std::string> warnings;
  // Nested stacks with a local template: logical id → the URL of its upload (nested.cpp).
  std::map<std::string, std::string> nested_urls;
  // Nested stacks whose templates wisp generates (their functions are `Child/Fn` here).
  std::shared_ptr<const infra::NestedTemplates> nested = nullptr;

  [[nodiscard]] const FunctionSpec* function(std::string_view logical_id) const;
};

// What the infrastructure stack provides to wisp's side: the values of its outputs by
// reference ("Table" for Ref, "Table.Arn" for Fn::GetAtt), for the resources it holds.
struct InfraValues {
  std::set<std::string> ids;                 // logical ids of the stack's resources
  std::map<std::string, std::string> values; // known values (after the stack deployed)
  std::set<std::string> deployed_events;     // "Function.Event" deployed by the stack
};

// The stand-in for a value the stack has not produced yet (plans only; never deployed).
std::string pending_value(std::string_view reference);
bool is_pending(std::string_view value);

struct DesiredInputs {
  std::string stack;
  std::string stage; // empty: derived (see resolve_stage)
  std::string region;
  std::string account;
  Location location;
  std::optional<std::chrono::milliseconds> step_interval;
  std::map<std::string, std::string> tags; // --tags, on every function and role
  const InfraValues* infra = nullptr;
  // Version ARNs of the template's layers (logical id → ARN); pending when absent.
  const std::map<std::string, std::string>* layer_arns = nullptr;
  // Functions whose CodeUri is in S3: the object's digest (resolve_s3_code), by logical id.
  const std::map<std::string, CodeSpec>* s3_code = nullptr;
  // PackageType Image functions: the image's digest (resolve_images), by logical id.
  const std::map<std::string, CodeSpec>* images = nullptr;
  // Nested stacks' uploaded templates (infra::nested_templates), by logical id.
  const std::map<std::string, std::string>* nested_urls = nullptr;
  std::shared_ptr<const infra::NestedTemplates> nested = nullptr;
};

// The stage a deploy targets: --stage, else the functions' common AutoPublishAlias, else
// "live".
std::string resolve_stage(const sam::Model& model, const std::string& stage_flag);

// A REST API's path and its methods (upper case, or ANY), in the API's order.
using PolicyPath = std::pair<std::string, std::vector<std::string>>;

// Auth.ResourcePolicy (resolved) as aws-sam-translator writes it into the API's
// x-amazon-apigateway-policy for these paths and this stage; nullopt when it adds nothing.
support::Result<std::optional<boost::json::object>>
rest_resource_policy(const boost::json::value& resource_policy,
                     const std::vector<PolicyPath>& paths, const std::string& stage);

// The policy GetRestApi reports, as canonical JSON comparable with the spec's: parsed (also
// when escaped), the API's execute-api ARNs shortened back to "execute-api:/"; empty if none.
std::string reported_policy(std::string_view policy, const std::string& api_id);

support::Result<Desired> build_desired(const sam::Model& model,
                                       const artifact::BuildReport& artifacts,
                                       const DesiredInputs& inputs);

} // namespace wisp::deploy
