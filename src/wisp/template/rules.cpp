#include <wisp/template/rules.hpp>

#include <fmt/format.h>

#include <array>
#include <set>

namespace wisp::sam::detail {

namespace {

using F = RuntimeFamily;

struct TypeAttributes {
  std::string_view type;
  std::span<const std::string_view> attributes;
};

constexpr std::string_view k_lambda_function_attrs[] = {"Arn", "SnapStartResponse",
                                                        "SnapStartResponse.ApplyOn",
                                                        "SnapStartResponse.OptimizationStatus"};
constexpr std::string_view k_rest_api_attrs[] = {"RestApiId", "RootResourceId"};
constexpr std::string_view k_http_api_attrs[] = {"ApiEndpoint", "ApiId"};
constexpr std::string_view k_table_attrs[] = {"Arn", "StreamArn"};
constexpr std::string_view k_global_table_attrs[] = {"Arn", "StreamArn", "TableId"};
constexpr std::string_view k_state_machine_attrs[] = {"Arn", "Name", "StateMachineRevisionId"};
constexpr std::string_view k_outputs_attrs[] = {"Outputs.*"};
constexpr std::string_view k_layer_attrs[] = {"LayerVersionArn"};
constexpr std::string_view k_bucket_attrs[] = {
    "Arn",
    "DomainName",
    "DualStackDomainName",
    "RegionalDomainName",
    "WebsiteURL",
    "MetadataTableConfiguration.S3TablesDestination.TableArn",
    "MetadataTableConfiguration.S3TablesDestination.TableNamespace"};
constexpr std::string_view k_queue_attrs[] = {"Arn", "QueueName", "QueueUrl"};
constexpr std::string_view k_topic_attrs[] = {"TopicArn", "TopicName"};
constexpr std::string_view k_role_attrs[] = {"Arn", "RoleId"};
constexpr std::string_view k_arn_attrs[] = {"Arn"};
constexpr std::string_view k_event_bus_attrs[] = {"Arn", "Name", "Policy"};
constexpr std::string_view k_key_attrs[] = {"Arn", "KeyId"};
constexpr std::string_view k_secret_attrs[] = {"Id"};
constexpr std::string_view k_user_pool_attrs[] = {"Arn", "ProviderName", "ProviderURL",
                                                  "UserPoolId"};
constexpr std::string_view k_user_pool_client_attrs[] = {"ClientId", "ClientSecret", "Name"};
constexpr std::string_view k_distribution_attrs[] = {"DomainName", "Id"};
constexpr std::string_view k_vpc_attrs[] = {"CidrBlock",         "CidrBlockAssociations",
                                            "DefaultNetworkAcl", "DefaultSecurityGroup",
                                            "Ipv6CidrBlocks",    "VpcId"};
constexpr std::string_view k_subnet_attrs[] = {
    "AvailabilityZone",        "AvailabilityZoneId", "CidrBlock", "Ipv6CidrBlocks",
    "NetworkAclAssociationId", "OutpostArn",         "SubnetId",  "VpcId"};
constexpr std::string_view k_security_group_attrs[] = {"GroupId", "VpcId"};
constexpr std::string_view k_ssm_parameter_attrs[] = {"Type", "Value"};
constexpr std::string_view k_ecr_attrs[] = {"Arn", "RepositoryUri"};
constexpr std::string_view k_url_attrs[] = {"FunctionArn", "FunctionUrl"};
constexpr std::string_view k_version_attrs[] = {"FunctionArn", "Version"};
constexpr std::string_view k_esm_attrs[] = {"EventSourceMappingArn", "Id"};
constexpr std::string_view k_managed_policy_attrs[] = {"AttachmentCount",
                                                       "CreateDate",
                                                       "DefaultVersionId",
                                                       "IsAttachable",
                                                       "PermissionsBoundaryUsageCount",
                                                       "PolicyArn",
                                                       "PolicyId",
                                                       "UpdateDate"};
constexpr std::string_view k_alias_attrs[] = {"AliasArn"};
constexpr std::string_view k_deployment_attrs[] = {"DeploymentId"};
constexpr std::string_view k_domain_name_attrs[] = {"DistributionDomainName",
                                                    "DistributionHostedZoneId", "DomainNameArn",
                                                    "RegionalDomainName", "RegionalHostedZoneId"};
constexpr std::string_view k_domain_name_v2_attrs[] = {"DomainNameArn", "DomainNameId"};
constexpr std::string_view k_id_attrs[] = {"Id"};
constexpr std::string_view k_api_key_attrs[] = {"APIKeyId"};
constexpr std::string_view k_http_domain_name_attrs[] = {"DomainNameArn", "RegionalDomainName",
                                                         "RegionalHostedZoneId"};
constexpr std::string_view k_none_attrs[] = {"__none__"};
constexpr std::string_view k_stage_attrs[] = {"__none__"};

constexpr TypeAttributes k_type_attributes[] = {
    {"AWS::Serverless::Function", k_lambda_function_attrs},
    {"AWS::Lambda::Function", k_lambda_function_attrs},
    {"AWS::Serverless::Api", k_rest_api_attrs},
    {"AWS::ApiGateway::RestApi", k_rest_api_attrs},
    {"AWS::Serverless::HttpApi", k_http_api_attrs},
    {"AWS::ApiGatewayV2::Api", k_http_api_attrs},
    {"AWS::Serverless::SimpleTable", k_table_attrs},
    {"AWS::DynamoDB::Table", k_table_attrs},
    {"AWS::DynamoDB::GlobalTable", k_global_table_attrs},
    {"AWS::Serverless::StateMachine", k_state_machine_attrs},
    {"AWS::StepFunctions::StateMachine", k_state_machine_attrs},
    {"AWS::Serverless::Application", k_outputs_attrs},
    {"AWS::CloudFormation::Stack", k_outputs_attrs},
    {"AWS::Serverless::LayerVersion", k_layer_attrs},
    {"AWS::Lambda::LayerVersion", k_layer_attrs},
    {"AWS::Lambda::Url", k_url_attrs},
    {"AWS::Lambda::Version", k_version_attrs},
    {"AWS::Lambda::EventSourceMapping", k_esm_attrs},
    {"AWS::S3::Bucket", k_bucket_attrs},
    {"AWS::SQS::Queue", k_queue_attrs},
    {"AWS::SNS::Topic", k_topic_attrs},
    {"AWS::IAM::Role", k_role_attrs},
    {"AWS::IAM::User", k_arn_attrs},
    {"AWS::IAM::InstanceProfile", k_arn_attrs},
    {"AWS::IAM::ManagedPolicy", k_managed_policy_attrs},
    {"AWS::Events::Rule", k_arn_attrs},
    {"AWS::Events::EventBus", k_event_bus_attrs},
    {"AWS::Kinesis::Stream", k_arn_attrs},
    {"AWS::Logs::LogGroup", k_arn_attrs},
    {"AWS::CloudWatch::Alarm", k_arn_attrs},
    {"AWS::KMS::Key", k_key_attrs},
    {"AWS::SecretsManager::Secret", k_secret_attrs},
    {"AWS::Cognito::UserPool", k_user_pool_attrs},
    {"AWS::Cognito::UserPoolClient", k_user_pool_client_attrs},
    {"AWS::CloudFront::Distribution", k_distribution_attrs},
    {"AWS::EC2::VPC", k_vpc_attrs},
    {"AWS::EC2::Subnet", k_subnet_attrs},
    {"AWS::EC2::SecurityGroup", k_security_group_attrs},
    {"AWS::SSM::Parameter", k_ssm_parameter_attrs},
    {"AWS::ECR::Repository", k_ecr_attrs},
    {"AWS::Lambda::Permission", k_none_attrs},
    {"AWS::ApiGateway::Stage", k_stage_attrs},
    // What SAM generates and lets templates refer to (Function.Alias, Api.Deployment, ...):
    // attributes as CloudFormation's resource schemas list them.
    {"AWS::Lambda::Alias", k_alias_attrs},
    {"AWS::ApiGateway::Deployment", k_deployment_attrs},
    {"AWS::ApiGateway::DomainName", k_domain_name_attrs},
    {"AWS::ApiGateway::DomainNameV2", k_domain_name_v2_attrs},
    {"AWS::ApiGateway::UsagePlan", k_id_attrs},
    {"AWS::ApiGateway::UsagePlanKey", k_id_attrs},
    {"AWS::ApiGateway::ApiKey", k_api_key_attrs},
    {"AWS::ApiGatewayV2::Stage", k_id_attrs},
    {"AWS::ApiGatewayV2::DomainName", k_http_domain_name_attrs},
};

constexpr std::string_view k_deployment_types[] = {
    "Canary10Percent5Minutes",      "Canary10Percent10Minutes",      "Canary10Percent15Minutes",
    "Canary10Percent30Minutes",     "Linear10PercentEvery1Minute",   "Linear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes", "Linear10PercentEvery10Minutes", "AllAtOnce",
};

constexpr std::string_view k_http_methods[] = {"GET",   "POST", "PUT",     "DELETE",
                                               "PATCH", "HEAD", "OPTIONS", "ANY"};

bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_identifier(std::string_view text) {
  if (text.empty() || (text[0] >= '0' && text[0] <= '9'))
    return false;
  for (const char c : text)
    if (!is_identifier_char(c))
      return false;
  return true;
}

std::string_view after_last_slash(std::string_view text) {
  const auto slash = text.rfind('/');
  return slash == std::string_view::npos ? text : text.substr(slash + 1);
}

} // namespace

const RuntimeInfo* find_runtime(std::string_view name) {
  return support::find_lambda_runtime(name);
}

std::vector<std::string> runtime_names() {
  std::vector<std::string> names;
  for (const auto& runtime : support::lambda_runtimes())
    names.emplace_back(runtime.name);
  return names;
}

std::optional<std::span<const std::string_view>> getatt_attributes(std::string_view type) {
  for (const auto& entry : k_type_attributes)
    if (entry.type == type)
      return entry.attributes;
  return std::nullopt;
}

std::string handler_shape_problem(RuntimeFamily family, std::string_view handler) {
  if (handler.empty())
    return "the handler is empty";
  switch (family) {
  case F::python: {
    const auto base = after_last_slash(handler);
    const auto dot = base.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || !is_identifier(base.substr(dot + 1)))
      return "a Python handler is 'module.function' (for example app.lambda_handler)";
    return {};
  }
  case F::nodejs: {
    const auto base = after_last_slash(handler);
    const auto dot = base.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == base.size())
      return "a Node.js handler is 'file.export' (for example index.handler)";
    return {};
  }
  case F::ruby: {
    const auto base = after_last_slash(handler);
    const auto dot = base.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == base.size())
      return "a Ruby handler is 'file.method' (for example function.handler)";
    return {};
  }
  case F::java: {
    const auto colons = handler.find("::");
    const auto class_name = handler.substr(0, colons);
    if (class_name.empty() || handler.find(' ') != std::string_view::npos ||
        (colons != std::string_view::npos && colons + 2 >= handler.size()))
      return "a Java handler is 'package.Class::method' or 'package.Class'";
    return {};
  }
  case F::dotnet: {
    const auto first = handler.find("::");
    if (first == std::string_view::npos)
      return {}; // an executable assembly
    const auto second = handler.find("::", first + 2);
    if (first == 0 || second == std::string_view::npos || second == first + 2 ||
        second + 2 >= handler.size() || handler.find("::", second + 2) != std::string_view::npos)
      return "a .NET handler is 'Assembly::Namespace.Class::Method' (or an executable "
             "assembly's name)";
    return {};
  }
  case F::provided:
  case F::go:
    return {};
  }
  return {};
}

std::vector<std::string> handler_files(RuntimeFamily family, std::string_view handler) {
  std::vector<std::string> files;
  const auto slash = handler.rfind('/');
  const std::string dir =
      slash == std::string_view::npos ? std::string() : std::string(handler.substr(0, slash + 1));
  const auto base = after_last_slash(handler);
  switch (family) {
  case F::python: {
    const auto dot = base.rfind('.');
    if (dot == std::string_view::npos)
      return files;
    std::string module(base.substr(0, dot));
    for (auto& c : module)
      if (c == '.')
        c = '/';
    files.push_back(dir + module + ".py");
    files.push_back(dir + module + "/__init__.py");
    return files;
  }
  case F::nodejs: {
    const auto dot = base.find('.');
    if (dot == std::string_view::npos)
      return files;
    const std::string module(base.substr(0, dot));
    for (const auto* ext : {".js", ".mjs", ".cjs", ".ts", ".mts", ".cts"})
      files.push_back(dir + module + ext);
    return files;
  }
  case F::ruby: {
    const auto dot = base.find('.');
    if (dot == std::string_view::npos)
      return files;
    files.push_back(dir + std::string(base.substr(0, dot)) + ".rb");
    return files;
  }
  case F::provided:
    files.emplace_back("bootstrap");
    return files;
  default:
    return files;
  }
}

std::string route_path_problem(std::string_view path, bool http) {
  if (http && path == "$default")
    return {};
  if (path.empty())
    return "the path is empty";
  if (path.front() != '/')
    return "a path starts with '/'";
  if (path == "/")
    return {};
  if (path.back() == '/')
    return "a path does not end with '/' (except the root path '/')";
  std::set<std::string_view> names;
  std::size_t start = 1;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos)
      end = path.size();
    const auto segment = path.substr(start, end - start);
    const bool last = end == path.size();
    if (segment.empty())
      return "a path has no empty segments ('//')";
    for (const char c : segment) {
      if (c == ' ' || c == '?' || c == '#' || c == '"' || c == '<' || c == '>' || c == '\\' ||
          c == '^' || c == '`' || c == '|' || static_cast<unsigned char>(c) < 0x20)
        return fmt::format("the character '{}' is not allowed in a path", c);
    }
    const bool has_brace =
        segment.find('{') != std::string_view::npos || segment.find('}') != std::string_view::npos;
    if (has_brace) {
      if (segment.size() < 3 || segment.front() != '{' || segment.back() != '}')
        return fmt::format("a path parameter fills a whole segment: '{}'", segment);
      auto name = segment.substr(1, segment.size() - 2);
      const bool greedy = name.ends_with('+');
      if (greedy) {
        name.remove_suffix(1);
        if (!last)
          return fmt::format("the greedy parameter '{}' must be the last segment of the path",
                             segment);
      }
      if (name.empty())
        return fmt::format("the path parameter '{}' has no name", segment);
      for (const char c : name)
        if (!is_identifier_char(c) && c != '-' && c != '.')
          return fmt::format("the path parameter name '{}' may only contain letters, digits, "
                             "'_', '-' and '.'",
                             name);
      if (!names.insert(name).second)
        return fmt::format("the path parameter '{}' appears twice", name);
    }
    if (last)
      break;
    start = end + 1;
  }
  return {};
}

std::span<const std::string_view> deployment_types() {
  return k_deployment_types;
}
std::span<const std::string_view> http_methods() {
  return k_http_methods;
}

bool is_valid_alias_name(std::string_view name) {
  if (name.empty() || name.size() > 128)
    return false;
  bool all_digits = true;
  for (const char c : name) {
    if (!is_identifier_char(c) && c != '-')
      return false;
    if (c < '0' || c > '9')
      all_digits = false;
  }
  return !all_digits;
}

bool is_valid_env_name(std::string_view name) {
  if (name.size() < 2)
    return false;
  const char first = name.front();
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z')))
    return false;
  for (const char c : name)
    if (!is_identifier_char(c))
      return false;
  return true;
}

bool is_reserved_env_name(std::string_view name) {
  static constexpr std::string_view k_reserved[] = {
      "_HANDLER",
      "_X_AMZN_TRACE_ID",
      "AWS_DEFAULT_REGION",
      "AWS_REGION",
      "AWS_EXECUTION_ENV",
      "AWS_LAMBDA_FUNCTION_NAME",
      "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
      "AWS_LAMBDA_FUNCTION_VERSION",
      "AWS_LAMBDA_INITIALIZATION_TYPE",
      "AWS_LAMBDA_LOG_GROUP_NAME",
      "AWS_LAMBDA_LOG_STREAM_NAME",
      "AWS_ACCESS_KEY",
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN",
      "AWS_LAMBDA_RUNTIME_API",
      "LAMBDA_TASK_ROOT",
      "LAMBDA_RUNTIME_DIR",
  };
  for (const auto reserved : k_reserved)
    if (reserved == name)
      return true;
  return false;
}

} // namespace wisp::sam::detail
