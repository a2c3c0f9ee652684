#include <wisp/deploy/policy.hpp>

#include <wisp/deploy/naming.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <set>

namespace wisp::deploy {

namespace json = boost::json;

std::string canonical_json(const json::value& value) {
  switch (value.kind()) {
  case json::kind::object: {
    const auto& object = value.as_object();
    std::vector<std::string_view> keys;
    keys.reserve(object.size());
    for (const auto& item : object)
      keys.push_back(item.key());
    std::sort(keys.begin(), keys.end());
    std::string out = "{";
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (i > 0)
        out += ',';
      out += json::serialize(json::value(keys[i]));
      out += ':';
      out += canonical_json(object.at(keys[i]));
    }
    return out + "}";
  }
  case json::kind::array: {
    std::string out = "[";
    bool first = true;
    for (const auto& item : value.as_array()) {
      if (!first)
        out += ',';
      first = false;
      out += canonical_json(item);
    }
    return out + "]";
  }
  default:
    return json::serialize(value);
  }
}

std::string RoleDocument::digest() const {
  json::object all;
  all["trust"] = trust;
  json::array arns;
  for (const auto& arn : managed)
    arns.emplace_back(arn);
  all["managed"] = std::move(arns);
  json::object inlines;
  for (const auto& [name, document] : inline_policies)
    inlines[name] = document;
  all["inline"] = std::move(inlines);
  return support::sha256_hex(canonical_json(all));
}

std::string managed_policy_arn(std::string_view name_or_arn, std::string_view region) {
  if (name_or_arn.starts_with("arn:"))
    return std::string(name_or_arn);
  static const std::set<std::string, std::less<>> k_service_role = {
      "AWSLambdaBasicExecutionRole",    "AWSLambdaVPCAccessExecutionRole",
      "AWSLambdaDynamoDBExecutionRole", "AWSLambdaKinesisExecutionRole",
      "AWSLambdaSQSQueueExecutionRole", "AWSLambdaRole",
      "AWSLambdaENIManagementAccess",   "AWSLambdaMSKExecutionRole",
      "AWSConfigRulesExecutionRole"};
  return fmt::format("arn:{}:iam::aws:policy/{}{}", partition(region),
                     k_service_role.contains(name_or_arn) ? "service-role/" : "", name_or_arn);
}

namespace {

struct TemplateDef {
  std::vector<std::string> parameters;
  // Builds the statements from parameter values (already checked to be strings).
  std::function<json::array(const std::map<std::string, std::string>&, const PolicyContext&)> build;
};

json::object statement(std::vector<std::string> actions, json::value resource) {
  json::array action_list;
  for (auto& action : actions)
    action_list.emplace_back(action);
  return json::object{{"Effect", "Allow"}, {"Action", action_list}, {"Resource", resource}};
}

json::array strings(std::initializer_list<std::string> items) {
  json::array out;
  for (const auto& item : items)
    out.emplace_back(item);
  return out;
}

std::string arn(const PolicyContext& c, std::string_view service, std::string_view rest,
                bool regional = true) {
  return fmt::format("arn:{}:{}:{}:{}:{}", partition(c.region), service, regional ? c.region : "",
                     regional ? c.account : "", rest);
}

const std::map<std::string, TemplateDef, std::less<>>& templates() {
  static const std::map<std::string, TemplateDef, std::less<>> k_templates = {
      {"DynamoDBCrudPolicy",
       {{"TableName"},
        [](const auto& p, const auto& c) {
          const auto table = arn(c, "dynamodb", "table/" + p.at("TableName"));
          return json::array{statement(
              {"dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan",
               "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem",
               "dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:ConditionCheckItem"},
              strings({table, table + "/index/*"}))};
        }}},
      {"DynamoDBReadPolicy",
       {{"TableName"},
        [](const auto& p, const auto& c) {
          const auto table = arn(c, "dynamodb", "table/" + p.at("TableName"));
          return json::array{statement({"dynamodb:GetItem", "dynamodb:Scan", "dynamodb:Query",
                                        "dynamodb:BatchGetItem", "dynamodb:DescribeTable"},
                                       strings({table, table + "/index/*"}))};
        }}},
      {"DynamoDBWritePolicy",
       {{"TableName"},
        [](const auto& p, const auto& c) {
          const auto table = arn(c, "dynamodb", "table/" + p.at("TableName"));
          return json::array{
              statement({"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"},
                        strings({table, table + "/index/*"}))};
        }}},
      {"S3ReadPolicy",
       {{"BucketName"},
        [](const auto& p, const auto& c) {
          const auto bucket =
              fmt::format("arn:{}:s3:::{}", partition(c.region), p.at("BucketName"));
          return json::array{statement({"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation",
                                        "s3:GetObjectVersion", "s3:GetLifecycleConfiguration"},
                                       strings({bucket, bucket + "/*"}))};
        }}},
      {"S3WritePolicy",
       {{"BucketName"},
        [](const auto& p, const auto& c) {
          const auto bucket =
              fmt::format("arn:{}:s3:::{}", partition(c.region), p.at("BucketName"));
          return json::array{
              statement({"s3:PutObject", "s3:PutObjectAcl", "s3:PutLifecycleConfiguration"},
                        strings({bucket, bucket + "/*"}))};
        }}},
      {"S3CrudPolicy",
       {{"BucketName"},
        [](const auto& p, const auto& c) {
          const auto bucket =
              fmt::format("arn:{}:s3:::{}", partition(c.region), p.at("BucketName"));
          return json::array{statement({"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation",
                                        "s3:GetObjectVersion", "s3:PutObject", "s3:PutObjectAcl",
                                        "s3:GetLifecycleConfiguration",
                                        "s3:PutLifecycleConfiguration", "s3:DeleteObject"},
                                       strings({bucket, bucket + "/*"}))};
        }}},
      {"SQSSendMessagePolicy",
       {{"QueueName"},
        [](const auto& p, const auto& c) {
          return json::array{
              statement({"sqs:SendMessage*"}, json::value(arn(c, "sqs", p.at("QueueName"))))};
        }}},
      {"SQSPollerPolicy",
       {{"QueueName"},
        [](const auto& p, const auto& c) {
          return json::array{
              statement({"sqs:ChangeMessageVisibility", "sqs:ChangeMessageVisibilityBatch",
                         "sqs:DeleteMessage", "sqs:DeleteMessageBatch", "sqs:GetQueueAttributes",
                         "sqs:ReceiveMessage"},
                        json::value(arn(c, "sqs", p.at("QueueName"))))};
        }}},
      {"SNSPublishMessagePolicy",
       {{"TopicName"},
        [](const auto& p, const auto& c) {
          return json::array{
              statement({"sns:Publish"}, json::value(arn(c, "sns", p.at("TopicName"))))};
        }}},
      {"LambdaInvokePolicy",
       {{"FunctionName"},
        [](const auto& p, const auto& c) {
          return json::array{
              statement({"lambda:InvokeFunction"},
                        json::value(arn(c, "lambda", "function:" + p.at("FunctionName") + "*")))};
        }}},
      {"SSMParameterReadPolicy",
       {{"ParameterName"},
        [](const auto& p, const auto& c) {
          auto name = p.at("ParameterName");
          if (!name.empty() && name.front() == '/')
            name.erase(0, 1);
          return json::array{
              statement({"ssm:DescribeParameters"}, json::value("*")),
              statement({"ssm:GetParameters", "ssm:GetParameter", "ssm:GetParametersByPath"},
                        json::value(arn(c, "ssm", "parameter/" + name)))};
        }}},
      {"AWSSecretsManagerGetSecretValuePolicy",
       {{"SecretArn"},
        [](const auto& p, const auto&) {
          return json::array{
              statement({"secretsmanager:GetSecretValue"}, json::value(p.at("SecretArn")))};
        }}},
      {"KMSDecryptPolicy",
       {{"KeyId"},
        [](const auto& p, const auto& c) {
          return json::array{
              statement({"kms:Decrypt"}, json::value(arn(c, "kms", "key/" + p.at("KeyId"))))};
        }}},
      {"CloudWatchPutMetricPolicy",
       {{},
        [](const auto&, const auto&) {
          return json::array{statement({"cloudwatch:PutMetricData"}, json::value("*"))};
        }}},
      {"EventBridgePutEventsPolicy",
       {{"EventBusName"},
        [](const auto& p, const auto& c) {
          return json::array{
              statement({"events:PutEvents"},
                        json::value(arn(c, "events", "event-bus/" + p.at("EventBusName"))))};
        }}},
      {"StepFunctionsExecutionPolicy",
       {{"StateMachineName"},
        [](const auto& p, const auto& c) {
          return json::array{
              statement({"states:StartExecution"},
                        json::value(arn(c, "states", "stateMachine:" + p.at("StateMachineName"))))};
        }}},
      {"VPCAccessPolicy",
       {{},
        [](const auto&, const auto&) {
          return json::array{
              statement({"ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
                         "ec2:DescribeNetworkInterfaces", "ec2:DetachNetworkInterface"},
                        json::value("*"))};
        }}},
  };
  return k_templates;
}

std::string describe_unresolved(const json::value& value) {
  if (value.is_object() && !value.as_object().empty())
    return std::string(value.as_object().begin()->key());
  return "a non-string value";
}

} // namespace

std::vector<std::string> policy_template_names() {
  std::vector<std::string> names;
  for (const auto& [name, def] : templates())
    names.push_back(name);
  return names;
}

support::Result<json::array> expand_policy_template(std::string_view name,
                                                    const json::value& parameters,
                                                    const PolicyContext& context) {
  const auto it = templates().find(name);
  if (it == templates().end()) {
    std::string hint;
    const auto names = policy_template_names();
    if (auto close = support::closest_match(name, names))
      hint = fmt::format("; did you mean '{}'?", *close);
    return support::failf("unknown SAM policy template '{}'{} (wisp knows: {})", name, hint,
                          support::join(names, ", "));
  }
  const auto& def = it->second;
  std::map<std::string, std::string> values;
  const json::object empty;
  const auto* object = parameters.is_object() ? &parameters.as_object() : &empty;
  if (!parameters.is_object() && !parameters.is_null())
    return support::failf("policy template {} takes an object of parameters", name);
  for (const auto& parameter : def.parameters) {
    const auto* value = object->if_contains(parameter);
    if (value == nullptr)
      return support::failf("policy template {} needs the parameter {}", name, parameter);
    if (value->is_string()) {
      values[parameter] = std::string(value->as_string());
    } else if (value->is_int64() || value->is_uint64()) {
      values[parameter] = json::serialize(*value);
    } else {
      return support::failf(
          "policy template {}: {} is {} that wisp cannot resolve before deploying (wisp deploys "
          "functions, APIs, roles and alarms, not other resources); pass the name as a parameter",
          name, parameter, describe_unresolved(*value));
    }
    if (values[parameter].empty())
      return support::failf("policy template {}: {} is empty", name, parameter);
  }
  for (const auto& item : *object)
    if (std::find(def.parameters.begin(), def.parameters.end(), item.key()) == def.parameters.end())
      return support::failf("policy template {} has no parameter {}", name,
                            std::string(item.key()));
  return def.build(values, context);
}

support::Result<RoleDocument> function_role(const sam::Function& function,
                                            const PolicyContext& context) {
  RoleDocument role;
  role.trust = json::object{
      {"Version", "2012-10-17"},
      {"Statement",
       json::array{json::object{{"Effect", "Allow"},
                                {"Principal", json::object{{"Service", "lambda.amazonaws.com"}}},
                                {"Action", "sts:AssumeRole"}}}}};
  std::set<std::string> managed{managed_policy_arn("AWSLambdaBasicExecutionRole", context.region)};
  if (function.tracing == "Active")
    managed.insert(managed_policy_arn("AWSXrayWriteOnlyAccess", context.region));

  std::vector<const json::value*> entries;
  if (function.policies.is_array()) {
    for (const auto& entry : function.policies.as_array())
      entries.push_back(&entry);
  } else if (!function.policies.is_null()) {
    entries.push_back(&function.policies);
  }
  int index = 0;
  const auto where = [&](int i) { return fmt::format("{}: Policies[{}]", function.logical_id, i); };
  for (const auto* entry : entries) {
    const int i = index++;
    if (entry->is_string()) {
      managed.insert(managed_policy_arn(entry->as_string(), context.region));
      continue;
    }
    if (!entry->is_object())
      return support::failf("{}: expected a policy name, ARN, document or template", where(i));
    const auto& object = entry->as_object();
    if (object.contains("Statement")) {
      json::object document = object;
      if (!document.contains("Version"))
        document["Version"] = "2012-10-17";
      role.inline_policies[fmt::format("{}RolePolicy{}", function.logical_id, i)] =
          std::move(document);
      continue;
    }
    if (object.size() != 1)
      return support::failf("{}: expected a policy document (with Statement) or one SAM policy "
                            "template",
                            where(i));
    const auto& item = *object.begin();
    auto statements = expand_policy_template(item.key(), item.value(), context);
    if (!statements)
      return support::failf("{}: {}", where(i), statements.error().message);
    role.inline_policies[fmt::format("{}RolePolicy{}", function.logical_id, i)] =
        json::object{{"Version", "2012-10-17"}, {"Statement", std::move(*statements)}};
  }
  role.managed.assign(managed.begin(), managed.end());
  return role;
}

} // namespace wisp::deploy
