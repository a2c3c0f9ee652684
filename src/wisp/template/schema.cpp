#include <wisp/support/strings.hpp>
#include <wisp/template/scalar.hpp>
#include <wisp/template/schema.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

namespace wisp::sam::detail {

namespace {

using P = PropertySpec;
using T = Type;

// -------------------------------------------------------------------- template sections

constexpr P k_sections[] = {
    {"AWSTemplateFormatVersion", T::string},
    {"Description", T::string},
    {"Metadata", T::map},
    {"Parameters", T::map},
    {"Rules", T::map},
    {"Mappings", T::map},
    {"Conditions", T::map},
    {"Transform", T::string_or_list},
    {"Resources", T::map, nullptr, true},
    {"Outputs", T::map},
    {"Globals", T::map},
    {"Hooks", T::map},
};
constexpr ObjectSpec k_sections_spec{"the template", k_sections};

constexpr P k_resource_attributes[] = {
    {"Type", T::string, nullptr, true},
    {"Properties", T::map},
    {"DependsOn", T::string_or_list},
    {"DeletionPolicy", T::string},
    {"UpdateReplacePolicy", T::string},
    {"Metadata", T::map},
    {"Condition", T::string},
    {"CreationPolicy", T::map},
    {"UpdatePolicy", T::map},
    {"IgnoreGlobals", T::string_or_list},
    {"Connectors", T::map},
    {"Version", T::string},
};
constexpr ObjectSpec k_resource_attributes_spec{"a resource", k_resource_attributes};

// What samtranslator keeps of an AWS::Serverless::* resource (Resource.from_dict:
// _supported_resource_attributes, plus DependsOn; IgnoreGlobals and Connectors are read by
// its plugins).
constexpr P k_sam_resource_attributes[] = {
    {"Type", T::string, nullptr, true},
    {"Properties", T::map},
    {"DependsOn", T::string_or_list},
    {"DeletionPolicy", T::string},
    {"UpdateReplacePolicy", T::string},
    {"UpdatePolicy", T::map},
    {"Metadata", T::map},
    {"Condition", T::string},
    {"IgnoreGlobals", T::string_or_list},
    {"Connectors", T::map},
};
constexpr ObjectSpec k_sam_resource_attributes_spec{"a SAM resource", k_sam_resource_attributes};

constexpr P k_parameter[] = {
    {"Type", T::string, nullptr, true},
    {"Default", T::any},
    {"AllowedValues", T::list},
    {"AllowedPattern", T::string},
    {"ConstraintDescription", T::string},
    {"Description", T::string},
    {"MaxLength", T::integer},
    {"MaxValue", T::number},
    {"MinLength", T::integer},
    {"MinValue", T::number},
    {"NoEcho", T::boolean},
};
constexpr ObjectSpec k_parameter_spec{"a parameter", k_parameter};

constexpr P k_export[] = {{"Name", T::any, nullptr, true}};
constexpr ObjectSpec k_export_spec{"Export", k_export};
constexpr P k_output[] = {
    {"Value", T::any, nullptr, true},
    {"Description", T::string},
    {"Export", T::object, &k_export_spec},
    {"Condition", T::string},
};
constexpr ObjectSpec k_output_spec{"an output", k_output};

// -------------------------------------------------------------------- shared pieces

constexpr P k_s3_location[] = {
    {"Bucket", T::string, nullptr, true},
    {"Key", T::string, nullptr, true},
    {"Version", T::string},
};
constexpr ObjectSpec k_s3_location_spec{"an S3 location", k_s3_location};

constexpr P k_environment[] = {{"Variables", T::string_map}};
constexpr ObjectSpec k_environment_spec{"Environment", k_environment};

constexpr P k_ephemeral_storage[] = {{"Size", T::integer, nullptr, true}};
constexpr ObjectSpec k_ephemeral_storage_spec{"EphemeralStorage", k_ephemeral_storage};

constexpr P k_image_config[] = {
    {"Command", T::string_list},
    {"EntryPoint", T::string_list},
    {"WorkingDirectory", T::string},
};
constexpr ObjectSpec k_image_config_spec{"ImageConfig", k_image_config};

constexpr P k_vpc_config[] = {
    {"SecurityGroupIds", T::list},
    {"SubnetIds", T::list},
    {"Ipv6AllowedForDualStack", T::boolean},
};
constexpr ObjectSpec k_vpc_config_spec{"VpcConfig", k_vpc_config};

constexpr P k_logging_config[] = {
    {"LogFormat", T::string},
    {"ApplicationLogLevel", T::string},
    {"SystemLogLevel", T::string},
    {"LogGroup", T::string},
};
constexpr ObjectSpec k_logging_config_spec{"LoggingConfig", k_logging_config};

constexpr P k_snap_start[] = {{"ApplyOn", T::string, nullptr, true}};
constexpr ObjectSpec k_snap_start_spec{"SnapStart", k_snap_start};

constexpr P k_provisioned[] = {{"ProvisionedConcurrentExecutions", T::integer, nullptr, true}};
constexpr ObjectSpec k_provisioned_spec{"ProvisionedConcurrencyConfig", k_provisioned};

constexpr P k_dead_letter_queue[] = {
    {"Type", T::string, nullptr, true},
    {"TargetArn", T::string, nullptr, true},
};
constexpr ObjectSpec k_dead_letter_queue_spec{"DeadLetterQueue", k_dead_letter_queue, false, true};

constexpr P k_event_invoke_config[] = {
    {"DestinationConfig", T::map},
    {"MaximumEventAgeInSeconds", T::integer},
    {"MaximumRetryAttempts", T::integer},
};
constexpr ObjectSpec k_event_invoke_config_spec{"EventInvokeConfig", k_event_invoke_config, false,
                                                true};

constexpr P k_function_url_config[] = {
    {"AuthType", T::string, nullptr, true},
    {"Cors", T::map},
    {"InvokeMode", T::string},
};
constexpr ObjectSpec k_function_url_config_spec{"FunctionUrlConfig", k_function_url_config, false,
                                                true};

constexpr P k_hooks[] = {{"PreTraffic", T::string}, {"PostTraffic", T::string}};
constexpr ObjectSpec k_hooks_spec{"Hooks", k_hooks, false, true};

constexpr P k_deployment_preference[] = {
    {"Type", T::string},
    {"Alarms", T::list},
    {"Hooks", T::object, &k_hooks_spec},
    {"Enabled", T::boolean},
    {"Role", T::string},
    {"TriggerConfigurations", T::list},
    {"PassthroughCondition", T::boolean},
};
constexpr ObjectSpec k_deployment_preference_spec{"DeploymentPreference", k_deployment_preference,
                                                  false, true};

// -------------------------------------------------------------------- function events

constexpr P k_api_event_auth[] = {
    {"ApiKeyRequired", T::boolean}, {"AuthorizationScopes", T::list},
    {"Authorizer", T::string},      {"InvokeRole", T::string},
    {"ResourcePolicy", T::map},     {"OverrideApiAuth", T::boolean},
};
constexpr ObjectSpec k_api_event_auth_spec{"Auth", k_api_event_auth, false, true};

constexpr P k_api_event[] = {
    {"Path", T::string, nullptr, true}, {"Method", T::string, nullptr, true},
    {"RestApiId", T::string},           {"Auth", T::object, &k_api_event_auth_spec},
    {"RequestModel", T::map},           {"RequestParameters", T::list},
    {"TimeoutInMillis", T::integer},    {"ResponseTransferMode", T::string},
};
constexpr ObjectSpec k_api_event_spec{"an Api event", k_api_event};

constexpr P k_http_event_auth[] = {{"AuthorizationScopes", T::list}, {"Authorizer", T::string}};
constexpr ObjectSpec k_http_event_auth_spec{"Auth", k_http_event_auth};

constexpr P k_http_event[] = {
    {"ApiId", T::string},
    {"Auth", T::object, &k_http_event_auth_spec},
    {"Method", T::string},
    {"Path", T::string},
    {"PayloadFormatVersion", T::string},
    {"RouteSettings", T::map},
    {"TimeoutInMillis", T::integer},
};
constexpr ObjectSpec k_http_event_spec{"an HttpApi event", k_http_event};

constexpr P k_schedule_event[] = {
    {"Schedule", T::string, nullptr, true},
    {"Name", T::string},
    {"Description", T::string},
    {"Enabled", T::boolean},
    {"State", T::string},
    {"Input", T::string},
    {"DeadLetterConfig", T::map},
    {"RetryPolicy", T::map},
};
constexpr ObjectSpec k_schedule_event_spec{"a Schedule event", k_schedule_event};

constexpr P k_schedule_v2_event[] = {
    {"ScheduleExpression", T::string},
    {"ScheduleExpressionTimezone", T::string},
    {"Name", T::string},
    {"Description", T::string},
    {"State", T::string},
    {"Input", T::string},
    {"FlexibleTimeWindow", T::map},
    {"GroupName", T::string},
    {"StartDate", T::string},
    {"EndDate", T::string},
    {"KmsKeyArn", T::string},
    {"PermissionsBoundary", T::string},
    {"RetryPolicy", T::map},
    {"RoleArn", T::string},
    {"DeadLetterConfig", T::map},
    {"OmitName", T::boolean},
};
constexpr ObjectSpec k_schedule_v2_event_spec{"a ScheduleV2 event", k_schedule_v2_event};

constexpr P k_sqs_event[] = {
    {"Queue", T::string, nullptr, true},
    {"BatchSize", T::integer},
    {"Enabled", T::boolean},
    {"FilterCriteria", T::map},
    {"FunctionResponseTypes", T::string_list},
    {"KmsKeyArn", T::string},
    {"MaximumBatchingWindowInSeconds", T::integer},
    {"ScalingConfig", T::map},
    {"MetricsConfig", T::map},
    {"ProvisionedPollerConfig", T::map},
};
constexpr ObjectSpec k_sqs_event_spec{"an SQS event", k_sqs_event};

constexpr P k_sns_event[] = {
    {"Topic", T::string, nullptr, true}, {"FilterPolicy", T::map},
    {"FilterPolicyScope", T::string},    {"Region", T::string},
    {"SqsSubscription", T::any},         {"RedrivePolicy", T::map},
};
constexpr ObjectSpec k_sns_event_spec{"an SNS event", k_sns_event};

constexpr P k_s3_event[] = {
    {"Bucket", T::string, nullptr, true},
    {"Events", T::string_or_list, nullptr, true},
    {"Filter", T::map},
};
constexpr ObjectSpec k_s3_event_spec{"an S3 event", k_s3_event};

constexpr P k_eventbridge_event[] = {
    {"Pattern", T::map},      {"EventBusName", T::string},  {"Input", T::string},
    {"InputPath", T::string}, {"InputTransformer", T::map}, {"Target", T::map},
    {"RetryPolicy", T::map},  {"DeadLetterConfig", T::map}, {"RuleName", T::string},
    {"State", T::string},
};
constexpr ObjectSpec k_eventbridge_event_spec{"an EventBridgeRule event", k_eventbridge_event};

constexpr P k_cloudwatch_event[] = {
    {"Pattern", T::map},      {"EventBusName", T::string}, {"Input", T::string},
    {"InputPath", T::string}, {"Enabled", T::boolean},     {"State", T::string},
    {"Target", T::map},
};
constexpr ObjectSpec k_cloudwatch_event_spec{"a CloudWatchEvent event", k_cloudwatch_event};

constexpr P k_stream_event[] = {
    {"Stream", T::string, nullptr, true},
    {"StartingPosition", T::string},
    {"StartingPositionTimestamp", T::number},
    {"BatchSize", T::integer},
    {"BisectBatchOnFunctionError", T::boolean},
    {"DestinationConfig", T::map},
    {"Enabled", T::boolean},
    {"FilterCriteria", T::map},
    {"FunctionResponseTypes", T::string_list},
    {"KmsKeyArn", T::string},
    {"MaximumBatchingWindowInSeconds", T::integer},
    {"MaximumRecordAgeInSeconds", T::integer},
    {"MaximumRetryAttempts", T::integer},
    {"ParallelizationFactor", T::integer},
    {"TumblingWindowInSeconds", T::integer},
    {"MetricsConfig", T::map},
    {"ConsumerArn", T::string},
};
constexpr ObjectSpec k_dynamodb_event_spec{"a DynamoDB event", k_stream_event};
constexpr ObjectSpec k_kinesis_event_spec{"a Kinesis event", k_stream_event};

constexpr P k_logs_event[] = {
    {"LogGroupName", T::string, nullptr, true},
    {"FilterPattern", T::string, nullptr, true},
};
constexpr ObjectSpec k_logs_event_spec{"a CloudWatchLogs event", k_logs_event};

constexpr P k_iot_event[] = {{"Sql", T::string, nullptr, true}, {"AwsIotSqlVersion", T::string}};
constexpr ObjectSpec k_iot_event_spec{"an IoTRule event", k_iot_event};

constexpr P k_alexa_event[] = {{"SkillId", T::string}};
constexpr ObjectSpec k_alexa_event_spec{"an AlexaSkill event", k_alexa_event};

constexpr P k_cognito_event[] = {
    {"UserPool", T::string, nullptr, true},
    {"Trigger", T::string_or_list, nullptr, true},
};
constexpr ObjectSpec k_cognito_event_spec{"a Cognito event", k_cognito_event};

// Kafka, MQ and DocumentDB events: property names only loosely checked (open).
constexpr P k_open_event[] = {{"Enabled", T::boolean}, {"BatchSize", T::integer}};
constexpr ObjectSpec k_msk_event_spec{"an MSK event", k_open_event, true};
constexpr ObjectSpec k_mq_event_spec{"an MQ event", k_open_event, true};
constexpr ObjectSpec k_kafka_event_spec{"a SelfManagedKafka event", k_open_event, true};
constexpr ObjectSpec k_docdb_event_spec{"a DocumentDB event", k_open_event, true};

struct EventType {
  std::string_view name;
  const ObjectSpec* spec;
};
constexpr std::array<EventType, 19> k_event_types{{
    {"Api", &k_api_event_spec},
    {"HttpApi", &k_http_event_spec},
    {"Schedule", &k_schedule_event_spec},
    {"ScheduleV2", &k_schedule_v2_event_spec},
    {"SQS", &k_sqs_event_spec},
    {"SNS", &k_sns_event_spec},
    {"S3", &k_s3_event_spec},
    {"EventBridgeRule", &k_eventbridge_event_spec},
    {"CloudWatchEvent", &k_cloudwatch_event_spec},
    {"DynamoDB", &k_dynamodb_event_spec},
    {"Kinesis", &k_kinesis_event_spec},
    {"CloudWatchLogs", &k_logs_event_spec},
    {"IoTRule", &k_iot_event_spec},
    {"AlexaSkill", &k_alexa_event_spec},
    {"Cognito", &k_cognito_event_spec},
    {"MSK", &k_msk_event_spec},
    {"MQ", &k_mq_event_spec},
    {"SelfManagedKafka", &k_kafka_event_spec},
    {"DocumentDB", &k_docdb_event_spec},
}};
constexpr auto k_event_type_names = [] {
  std::array<std::string_view, k_event_types.size()> names{};
  for (std::size_t i = 0; i < k_event_types.size(); ++i)
    names[i] = k_event_types[i].name;
  return names;
}();

// -------------------------------------------------------------------- AWS::Serverless::Function

constexpr P k_function[] = {
    {"Architectures", T::string_list},
    {"AssumeRolePolicyDocument", T::map},
    {"AutoPublishAlias", T::string},
    {"AutoPublishAliasAllProperties", T::boolean},
    {"AutoPublishCodeSha256", T::string},
    {"CapacityProviderConfig", T::map},
    {"CodeSigningConfigArn", T::string},
    {"CodeUri", T::string_or_object, &k_s3_location_spec},
    {"DeadLetterQueue", T::object, &k_dead_letter_queue_spec},
    {"DeploymentPreference", T::object, &k_deployment_preference_spec},
    {"Description", T::string},
    {"DurableConfig", T::map},
    {"Environment", T::object, &k_environment_spec},
    {"EphemeralStorage", T::object, &k_ephemeral_storage_spec},
    {"EventInvokeConfig", T::object, &k_event_invoke_config_spec},
    {"Events", T::map},
    {"FileSystemConfigs", T::list},
    {"FunctionName", T::string},
    {"FunctionScalingConfig", T::map},
    {"FunctionUrlConfig", T::object, &k_function_url_config_spec},
    {"Handler", T::string},
    {"ImageConfig", T::object, &k_image_config_spec},
    {"ImageUri", T::string},
    {"InlineCode", T::string},
    {"KmsKeyArn", T::string},
    {"Layers", T::list},
    {"LoggingConfig", T::object, &k_logging_config_spec},
    {"MemorySize", T::integer},
    {"PackageType", T::string},
    {"PermissionsBoundary", T::string},
    {"Policies", T::any},
    {"PropagateTags", T::boolean},
    {"ProvisionedConcurrencyConfig", T::object, &k_provisioned_spec},
    {"PublishToLatestPublished", T::boolean},
    {"RecursiveLoop", T::string},
    {"ReservedConcurrentExecutions", T::integer},
    {"Role", T::string},
    {"RolePath", T::string},
    {"Runtime", T::string},
    {"RuntimeManagementConfig", T::map},
    {"SnapStart", T::object, &k_snap_start_spec},
    {"SourceKMSKeyArn", T::string},
    {"Tags", T::string_map},
    {"TenancyConfig", T::map},
    {"Timeout", T::integer},
    {"Tracing", T::string},
    {"VersionDeletionPolicy", T::string},
    {"VersionDescription", T::string},
    {"VpcConfig", T::object, &k_vpc_config_spec},
};
constexpr ObjectSpec k_function_spec{"AWS::Serverless::Function", k_function};

// -------------------------------------------------------------------- AWS::Serverless::Api

constexpr P k_rest_identity[] = {
    {"Header", T::string},
    {"QueryStrings", T::string_list},
    {"Headers", T::string_list},
    {"StageVariables", T::string_list},
    {"Context", T::string_list},
    {"ReauthorizeEvery", T::integer},
    {"ValidationExpression", T::string},
};
constexpr ObjectSpec k_rest_identity_spec{"Identity", k_rest_identity, false, true};

constexpr P k_rest_authorizer[] = {
    {"FunctionArn", T::string},
    {"FunctionInvokeRole", T::string},
    {"FunctionPayloadType", T::string},
    {"Identity", T::object, &k_rest_identity_spec},
    {"DisableFunctionDefaultPermissions", T::boolean},
    {"UserPoolArn", T::any},
    {"AuthorizationScopes", T::string_list},
};
extern const ObjectSpec k_http_authorizer_spec;
constexpr ObjectSpec k_rest_authorizer_spec{"an Api authorizer", k_rest_authorizer, false, true,
                                            &k_http_authorizer_spec};

constexpr P k_api_auth[] = {
    {"AddDefaultAuthorizerToCorsPreflight", T::boolean},
    {"AddApiKeyRequiredToCorsPreflight", T::boolean},
    {"ApiKeyRequired", T::boolean},
    {"Authorizers", T::map},
    {"DefaultAuthorizer", T::string},
    {"InvokeRole", T::string},
    {"ResourcePolicy", T::map},
    {"UsagePlan", T::map},
};
constexpr ObjectSpec k_api_auth_spec{"Auth", k_api_auth};

// AllowOrigin is optional: aws-sam-translator's CorsProperties defaults it to "'*'".
constexpr P k_api_cors[] = {
    {"AllowCredentials", T::boolean}, {"AllowHeaders", T::string}, {"AllowMethods", T::string},
    {"AllowOrigin", T::string},       {"MaxAge", T::string},
};
constexpr ObjectSpec k_api_cors_spec{"Cors", k_api_cors};

// samtranslator's _set_endpoint_configuration reads these and drops the rest.
constexpr P k_endpoint_configuration[] = {
    {"Type", T::string},
    {"VPCEndpointIds", T::list},
    {"VpcEndpointIds", T::list},
    {"IpAddressType", T::string},
};
constexpr ObjectSpec k_endpoint_configuration_spec{"EndpointConfiguration",
                                                   k_endpoint_configuration, false, true};

constexpr P k_api[] = {
    {"AccessLogSetting", T::map},
    {"AlwaysDeploy", T::boolean},
    {"ApiKeySourceType", T::string},
    {"Auth", T::object, &k_api_auth_spec},
    {"BinaryMediaTypes", T::string_list},
    {"CacheClusterEnabled", T::boolean},
    {"CacheClusterSize", T::string},
    {"CanarySetting", T::map},
    {"Cors", T::string_or_object, &k_api_cors_spec},
    {"DefinitionBody", T::map},
    {"DefinitionUri", T::string_or_object, &k_s3_location_spec},
    {"Description", T::string},
    {"DisableExecuteApiEndpoint", T::boolean},
    {"Domain", T::map},
    {"EndpointAccessMode", T::string},
    {"EndpointConfiguration", T::string_or_object, &k_endpoint_configuration_spec},
    {"FailOnWarnings", T::boolean},
    {"GatewayResponses", T::map},
    {"MergeDefinitions", T::boolean},
    {"MethodSettings", T::list},
    {"MinimumCompressionSize", T::integer},
    {"Mode", T::string},
    {"Models", T::map},
    {"Name", T::string},
    {"OpenApiVersion", T::string},
    {"Policy", T::any},
    {"PropagateTags", T::boolean},
    {"SecurityPolicy", T::string},
    {"StageName", T::string},
    {"Tags", T::string_map},
    {"TracingEnabled", T::boolean},
    {"Variables", T::string_map},
};
constexpr ObjectSpec k_api_spec{"AWS::Serverless::Api", k_api};

// -------------------------------------------------------------------- AWS::Serverless::HttpApi

constexpr P k_http_identity[] = {
    {"Headers", T::string_list},      {"QueryStrings", T::string_list},
    {"Context", T::string_list},      {"StageVariables", T::string_list},
    {"ReauthorizeEvery", T::integer},
};
constexpr ObjectSpec k_http_identity_spec{"Identity", k_http_identity, false, true};

constexpr P k_jwt[] = {{"issuer", T::string}, {"audience", T::string_or_list}};
constexpr ObjectSpec k_jwt_spec{"JwtConfiguration", k_jwt, false, true};

constexpr P k_http_authorizer[] = {
    {"JwtConfiguration", T::object, &k_jwt_spec},
    {"IdentitySource", T::string},
    {"AuthorizationScopes", T::string_list},
    {"FunctionArn", T::string},
    {"FunctionInvokeRole", T::string},
    {"AuthorizerPayloadFormatVersion", T::string},
    {"EnableSimpleResponses", T::boolean},
    {"EnableFunctionDefaultPermissions", T::boolean},
    {"Identity", T::object, &k_http_identity_spec},
};
constexpr ObjectSpec k_http_authorizer_spec{"an HttpApi authorizer", k_http_authorizer, false, true,
                                            &k_rest_authorizer_spec};

constexpr P k_http_auth[] = {
    {"Authorizers", T::map},
    {"DefaultAuthorizer", T::string},
    {"EnableIamAuthorizer", T::boolean},
};
constexpr ObjectSpec k_http_auth_spec{"Auth", k_http_auth};

constexpr P k_http_cors[] = {
    {"AllowCredentials", T::boolean},  {"AllowHeaders", T::string_list},
    {"AllowMethods", T::string_list},  {"AllowOrigins", T::string_list},
    {"ExposeHeaders", T::string_list}, {"MaxAge", T::integer},
};
constexpr ObjectSpec k_http_cors_spec{"CorsConfiguration", k_http_cors};

constexpr P k_http_api[] = {
    {"AccessLogSettings", T::map},
    {"Auth", T::object, &k_http_auth_spec},
    {"CorsConfiguration", T::boolean_or_object, &k_http_cors_spec},
    {"DefaultRouteSettings", T::map},
    {"DefinitionBody", T::map},
    {"DefinitionUri", T::string_or_object, &k_s3_location_spec},
    {"Description", T::string},
    {"DisableExecuteApiEndpoint", T::boolean},
    {"Domain", T::map},
    {"FailOnWarnings", T::boolean},
    {"Name", T::string},
    {"PropagateTags", T::boolean},
    {"RouteSettings", T::map},
    {"StageName", T::string},
    {"StageVariables", T::string_map},
    {"Tags", T::string_map},
};
constexpr ObjectSpec k_http_api_spec{"AWS::Serverless::HttpApi", k_http_api};

// -------------------------------------------------------------------- other SAM types

constexpr P k_layer[] = {
    {"CompatibleArchitectures", T::string_list},
    {"CompatibleRuntimes", T::string_list},
    {"ContentUri", T::string_or_object, &k_s3_location_spec, true},
    {"Description", T::string},
    {"LayerName", T::string},
    {"LicenseInfo", T::string},
    {"PublishLambdaVersion", T::boolean},
    {"RetentionPolicy", T::string},
};
constexpr ObjectSpec k_layer_spec{"AWS::Serverless::LayerVersion", k_layer};

constexpr P k_primary_key[] = {
    {"Name", T::string, nullptr, true},
    {"Type", T::string, nullptr, true},
};
constexpr ObjectSpec k_primary_key_spec{"PrimaryKey", k_primary_key};

constexpr P k_simple_table[] = {
    {"PointInTimeRecoverySpecification", T::map},
    {"PrimaryKey", T::object, &k_primary_key_spec},
    {"ProvisionedThroughput", T::map},
    {"SSESpecification", T::map},
    {"TableName", T::string},
    {"Tags", T::string_map},
};
constexpr ObjectSpec k_simple_table_spec{"AWS::Serverless::SimpleTable", k_simple_table};

// -------------------------------------------------------------------- AWS::Lambda::*

constexpr P k_lambda_code[] = {
    {"S3Bucket", T::string}, {"S3Key", T::string},    {"S3ObjectVersion", T::string},
    {"ZipFile", T::string},  {"ImageUri", T::string}, {"SourceKMSKeyArn", T::string},
};
constexpr ObjectSpec k_lambda_code_spec{"Code", k_lambda_code};

constexpr P k_tracing_config[] = {{"Mode", T::string}};
constexpr ObjectSpec k_tracing_config_spec{"TracingConfig", k_tracing_config};

constexpr P k_lambda_function[] = {
    {"Architectures", T::string_list},
    {"CapacityProviderConfig", T::map},
    {"Code", T::string_or_object, &k_lambda_code_spec, true},
    {"CodeSigningConfigArn", T::string},
    {"DeadLetterConfig", T::map},
    {"Description", T::string},
    {"DurableConfig", T::map},
    {"Environment", T::object, &k_environment_spec},
    {"EphemeralStorage", T::object, &k_ephemeral_storage_spec},
    {"FileSystemConfigs", T::list},
    {"FunctionName", T::string},
    {"FunctionScalingConfig", T::map},
    {"Handler", T::string},
    {"ImageConfig", T::object, &k_image_config_spec},
    {"KmsKeyArn", T::string},
    {"Layers", T::string_list},
    {"LoggingConfig", T::object, &k_logging_config_spec},
    {"MemorySize", T::integer},
    {"PackageType", T::string},
    {"PublishToLatestPublished", T::boolean},
    {"RecursiveLoop", T::string},
    {"ReservedConcurrentExecutions", T::integer},
    {"Role", T::string, nullptr, true},
    {"Runtime", T::string},
    {"RuntimeManagementConfig", T::map},
    {"SnapStart", T::object, &k_snap_start_spec},
    {"Tags", T::list},
    {"TenancyConfig", T::map},
    {"Timeout", T::integer},
    {"TracingConfig", T::object, &k_tracing_config_spec},
    {"VpcConfig", T::object, &k_vpc_config_spec},
};
constexpr ObjectSpec k_lambda_function_spec{"AWS::Lambda::Function", k_lambda_function};

constexpr P k_lambda_layer_content[] = {
    {"S3Bucket", T::string, nullptr, true},
    {"S3Key", T::string, nullptr, true},
    {"S3ObjectVersion", T::string},
};
constexpr ObjectSpec k_lambda_layer_content_spec{"Content", k_lambda_layer_content};

constexpr P k_lambda_layer[] = {
    {"CompatibleArchitectures", T::string_list},
    {"CompatibleRuntimes", T::string_list},
    {"Content", T::string_or_object, &k_lambda_layer_content_spec, true},
    {"Description", T::string},
    {"LayerName", T::string},
    {"LicenseInfo", T::string},
};
constexpr ObjectSpec k_lambda_layer_spec{"AWS::Lambda::LayerVersion", k_lambda_layer};

bool is_symbolic(const Node& node) {
  return !node.intrinsic(true).empty();
}

bool is_boolean_like(const Node& node) {
  if (node.kind == NodeKind::boolean)
    return true;
  if (node.is_string())
    return support::iequals(node.text, "true") || support::iequals(node.text, "false");
  return false;
}

bool is_integer_like(const Node& node) {
  if (node.kind == NodeKind::number)
    return number_as_int(node.text).has_value();
  if (node.is_string()) {
    std::string_view text = node.text;
    if (!text.empty() && text.front() == '-')
      text.remove_prefix(1);
    if (text.empty())
      return false;
    for (const char c : text)
      if (c < '0' || c > '9')
        return false;
    return true;
  }
  return false;
}

bool is_number_like(const Node& node) {
  if (node.kind == NodeKind::number)
    return true;
  if (node.is_string())
    return number_as_double(node.text).has_value() || is_integer_like(node);
  return false;
}

} // namespace

const ObjectSpec* resource_properties_spec(std::string_view type) {
  if (type == "AWS::Serverless::Function")
    return &k_function_spec;
  if (type == "AWS::Serverless::Api")
    return &k_api_spec;
  if (type == "AWS::Serverless::HttpApi")
    return &k_http_api_spec;
  if (type == "AWS::Serverless::LayerVersion")
    return &k_layer_spec;
  if (type == "AWS::Serverless::SimpleTable")
    return &k_simple_table_spec;
  if (type == "AWS::Lambda::Function")
    return &k_lambda_function_spec;
  if (type == "AWS::Lambda::LayerVersion")
    return &k_lambda_layer_spec;
  return nullptr;
}

const ObjectSpec* event_properties_spec(std::string_view type) {
  for (const auto& event : k_event_types)
    if (event.name == type)
      return event.spec;
  return nullptr;
}

std::span<const std::string_view> event_types() {
  return k_event_type_names;
}

const ObjectSpec& resource_attributes_spec() {
  return k_resource_attributes_spec;
}
const ObjectSpec& sam_resource_attributes_spec() {
  return k_sam_resource_attributes_spec;
}
const ObjectSpec& template_sections_spec() {
  return k_sections_spec;
}
const ObjectSpec& parameter_spec() {
  return k_parameter_spec;
}
const ObjectSpec& output_spec() {
  return k_output_spec;
}
const ObjectSpec& rest_authorizer_spec() {
  return k_rest_authorizer_spec;
}
const ObjectSpec& http_authorizer_spec() {
  return k_http_authorizer_spec;
}

std::string_view describe(Type type) {
  switch (type) {
  case T::any:
    return "a value";
  case T::string:
    return "a string";
  case T::integer:
    return "an integer";
  case T::number:
    return "a number";
  case T::boolean:
    return "a boolean";
  case T::list:
    return "a list";
  case T::string_list:
    return "a list of strings";
  case T::map:
  case T::object:
    return "a mapping";
  case T::string_map:
    return "a mapping of strings";
  case T::string_or_object:
    return "a string or a mapping";
  case T::string_or_list:
    return "a string or a list of strings";
  case T::boolean_or_object:
    return "a boolean or a mapping";
  }
  return "a value";
}

std::string describe_kind(const Node& node) {
  switch (node.kind) {
  case NodeKind::null:
    return "null";
  case NodeKind::string:
    return "a string";
  case NodeKind::number:
    return "a number";
  case NodeKind::boolean:
    return "a boolean";
  case NodeKind::sequence:
    return "a list";
  case NodeKind::mapping:
    return "a mapping";
  case NodeKind::no_value:
    return "AWS::NoValue";
  }
  return "a value";
}

void SchemaChecker::type_error(const Node& value, std::string_view name,
                               std::string_view expected) {
  // A key without a value: CloudFormation refuses null values anywhere in a template ("'null'
  // values are not allowed in templates"), after the SAM transform too (aws-sam-cli#1163).
  m_diags.error(m_file, value.mark.line, value.mark.column, "type",
                fmt::format("'{}' must be {}, not {}{}", name, expected, describe_kind(value),
                            value.is_null() ? " (CloudFormation refuses null values: write '' "
                                              "or leave the key out)"
                                            : ""));
}

void SchemaChecker::check_object(const Node& node, const ObjectSpec& spec) {
  if (!node.is_mapping() || is_symbolic(node))
    return;
  check_entries(node, spec);
}

void SchemaChecker::check_declaration(const Node& node, const ObjectSpec& spec) {
  if (!node.is_mapping() || node.intrinsic() == "Fn::Transform")
    return;
  check_entries(node, spec);
}

void SchemaChecker::check_sam_resource(const Node& node, std::string_view type) {
  if (!node.is_mapping())
    return;
  const auto& kept = k_sam_resource_attributes_spec;
  for (const auto& entry : node.entries) {
    const auto is = [&](const ObjectSpec& spec) {
      return std::any_of(spec.properties.begin(), spec.properties.end(),
                         [&](const PropertySpec& p) { return p.name == entry.key; });
    };
    const auto property = std::find_if(kept.properties.begin(), kept.properties.end(),
                                       [&](const PropertySpec& p) { return p.name == entry.key; });
    if (property != kept.properties.end()) {
      check_value(entry.value, *property);
      continue;
    }
    std::string message;
    if (is(k_resource_attributes_spec)) {
      message = fmt::format("the SAM transform drops '{}' from an {} (it keeps DeletionPolicy, "
                            "UpdateReplacePolicy, UpdatePolicy, Condition, Metadata and "
                            "DependsOn)",
                            entry.key, type);
    } else if (const auto* properties = resource_properties_spec(type);
               properties != nullptr && is(*properties)) {
      message = fmt::format("'{}' is not a resource attribute: the SAM transform drops it from "
                            "the {}; as a property it goes under Properties",
                            entry.key, type);
    } else {
      std::vector<std::string> names;
      for (const auto& candidate : kept.properties)
        names.emplace_back(candidate.name);
      std::string hint;
      if (auto close = support::closest_match(entry.key, names))
        hint = fmt::format("; did you mean '{}'?", *close);
      message = fmt::format("unknown key '{}' in an {}: the SAM transform drops it{}", entry.key,
                            type, hint);
    }
    m_diags.warning(m_file, entry.key_mark.line, entry.key_mark.column, "unknown-property",
                    std::move(message));
  }
}

void SchemaChecker::check_entries(const Node& node, const ObjectSpec& spec) {
  for (const auto& entry : node.entries) {
    const PropertySpec* property = nullptr;
    for (const auto& candidate : spec.properties)
      if (candidate.name == entry.key) {
        property = &candidate;
        break;
      }
    if (property == nullptr) {
      if (spec.open)
        continue;
      std::vector<std::string> names;
      names.reserve(spec.properties.size());
      for (const auto& candidate : spec.properties)
        names.emplace_back(candidate.name);
      std::string hint;
      if (auto close = support::closest_match(entry.key, names))
        hint = fmt::format("; did you mean '{}'?", *close);
      if (!spec.sam_ignores_unknown) {
        m_diags.error(m_file, entry.key_mark.line, entry.key_mark.column, "unknown-property",
                      fmt::format("unknown property '{}' in {}{}", entry.key, spec.what, hint));
        continue;
      }
      if (const auto* other = spec.counterpart; other != nullptr) {
        for (const auto& candidate : other->properties)
          if (candidate.name == entry.key)
            hint = fmt::format(" ('{}' belongs to {})", entry.key, other->what);
      }
      m_diags.warning(m_file, entry.key_mark.line, entry.key_mark.column, "unknown-property",
                      fmt::format("unknown property '{}' in {}: the SAM transform ignores it{}",
                                  entry.key, spec.what, hint));
      continue;
    }
    check_value(entry.value, *property);
  }
  for (const auto& property : spec.properties) {
    if (property.required && node.find(property.name) == nullptr)
      m_diags.error(m_file, node.mark.line, node.mark.column, "missing-property",
                    fmt::format("{} needs '{}'", spec.what, property.name));
  }
}

void SchemaChecker::check_value(const Node& value, const PropertySpec& property) {
  if (is_symbolic(value))
    return;
  const auto name = property.name;
  switch (property.type) {
  case T::any:
    return;
  case T::string:
    if (!value.is_scalar())
      type_error(value, name, describe(property.type));
    return;
  case T::integer:
    if (!is_integer_like(value))
      type_error(value, name, describe(property.type));
    return;
  case T::number:
    if (!is_number_like(value))
      type_error(value, name, describe(property.type));
    return;
  case T::boolean:
    if (!is_boolean_like(value))
      type_error(value, name, describe(property.type));
    return;
  case T::list:
    if (!value.is_sequence())
      type_error(value, name, describe(property.type));
    return;
  case T::string_list:
    if (!value.is_sequence()) {
      type_error(value, name, describe(property.type));
      return;
    }
    for (const auto& item : value.items)
      if (!item.is_scalar() && !is_symbolic(item))
        type_error(item, fmt::format("{} item", name), "a string");
    return;
  case T::map:
    if (!value.is_mapping())
      type_error(value, name, describe(property.type));
    return;
  case T::string_map:
    if (!value.is_mapping()) {
      type_error(value, name, describe(property.type));
      return;
    }
    for (const auto& entry : value.entries)
      if (!entry.value.is_scalar() && !is_symbolic(entry.value))
        type_error(entry.value, entry.key, "a string");
    return;
  case T::object:
    if (!value.is_mapping()) {
      type_error(value, name, describe(property.type));
      return;
    }
    if (property.object != nullptr)
      check_object(value, *property.object);
    return;
  case T::string_or_object:
    if (value.is_mapping()) {
      if (property.object != nullptr)
        check_object(value, *property.object);
    } else if (!value.is_scalar()) {
      type_error(value, name, describe(property.type));
    }
    return;
  case T::boolean_or_object:
    if (value.is_mapping()) {
      if (property.object != nullptr)
        check_object(value, *property.object);
    } else if (!is_boolean_like(value)) {
      type_error(value, name, describe(property.type));
    }
    return;
  case T::string_or_list:
    if (value.is_sequence()) {
      for (const auto& item : value.items)
        if (!item.is_scalar() && !is_symbolic(item))
          type_error(item, fmt::format("{} item", name), "a string");
    } else if (!value.is_scalar()) {
      type_error(value, name, describe(property.type));
    }
    return;
  }
}

} // namespace wisp::sam::detail
