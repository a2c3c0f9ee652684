#include <wisp/deploy/policy.hpp>

#include <wisp/infra/infra.hpp>

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

// A nested stack's function `Child/Fn`: its role's policies are named as SAM names them in
// the child (`FnRolePolicy0`; IAM refuses '/').
std::string_view own_id(std::string_view logical_id) {
  return logical_id.substr(logical_id.rfind('/') + 1);
}

std::string describe_unresolved(const json::value& value) {
  if (value.is_object() && !value.as_object().empty())
    return std::string(value.as_object().begin()->key());
  return "a non-string value";
}

// SAM's Fn::Sub form of a policy template, with concrete values, as plain strings.
support::Status concrete(json::value& value, const PolicyContext& context, std::string_view name) {
  if (value.is_array()) {
    for (auto& item : value.as_array())
      WISP_TRY(concrete(item, context, name));
    return {};
  }
  if (!value.is_object())
    return {};
  auto& object = value.as_object();
  if (object.size() == 1 && object.begin()->key() == "Fn::Sub") {
    const auto& argument = object.begin()->value();
    std::string pattern;
    const json::object* variables = nullptr;
    if (argument.is_string()) {
      pattern = std::string(argument.as_string());
    } else if (argument.is_array() && argument.as_array().size() == 2 &&
               argument.as_array()[0].is_string() && argument.as_array()[1].is_object()) {
      pattern = std::string(argument.as_array()[0].as_string());
      variables = &argument.as_array()[1].as_object();
    } else {
      return support::failf("policy template {}: malformed Fn::Sub", name);
    }
    std::map<std::string, std::string> values{
        {"AWS::Partition", std::string(partition(context.region))},
        {"AWS::Region", context.region},
        {"AWS::AccountId", context.account},
        {"AWS::StackName", context.stack}};
    if (variables != nullptr)
      for (const auto& item : *variables) {
        if (item.value().is_string())
          values[std::string(item.key())] = std::string(item.value().as_string());
        else if (item.value().is_int64() || item.value().is_uint64())
          values[std::string(item.key())] = json::serialize(item.value());
        else
          return support::failf("policy template {}: {} is {} that wisp cannot resolve before "
                                "deploying",
                                name, std::string_view(item.key()),
                                describe_unresolved(item.value()));
      }
    std::string out;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      if (pattern[i] == '$' && i + 1 < pattern.size() && pattern[i + 1] == '{') {
        const auto close = pattern.find('}', i);
        if (close != std::string::npos) {
          const auto variable = pattern.substr(i + 2, close - i - 2);
          if (auto it = values.find(variable); it != values.end()) {
            out += it->second;
            i = close;
            continue;
          }
        }
      }
      out += pattern[i];
    }
    value = json::value(out);
    return {};
  }
  if (object.size() == 1 && (object.begin()->key() == "Ref" ||
                             std::string_view(object.begin()->key()).starts_with("Fn::")))
    return support::failf("policy template {}: a parameter is {} that wisp cannot resolve before "
                          "deploying",
                          name, std::string_view(object.begin()->key()));
  for (auto& item : object)
    WISP_TRY(concrete(item.value(), context, name));
  return {};
}

} // namespace

std::vector<std::string> policy_template_names() {
  return infra::policy_template_names();
}

support::Result<json::array> expand_policy_template(std::string_view name,
                                                    const json::value& parameters,
                                                    const PolicyContext& context) {
  WISP_TRY_ASSIGN(auto statements, infra::policy_template(name, parameters));
  json::value all = std::move(statements);
  WISP_TRY(concrete(all, context, name));
  return std::move(all.as_array());
}

support::Result<RoleDocument> function_role(const sam::Function& function,
                                            const PolicyContext& context) {
  return function_role(function, function.policies, context);
}

support::Result<RoleDocument> function_role(const sam::Function& function,
                                            const json::value& policies,
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
  // What SAM adds for poll-based event sources.
  for (const auto& event : function.events) {
    if (event.type == "SQS")
      managed.insert(managed_policy_arn("AWSLambdaSQSQueueExecutionRole", context.region));
    else if (event.type == "Kinesis")
      managed.insert(managed_policy_arn("AWSLambdaKinesisExecutionRole", context.region));
    else if (event.type == "DynamoDB")
      managed.insert(managed_policy_arn("AWSLambdaDynamoDBExecutionRole", context.region));
    else if (event.type == "MSK")
      managed.insert(managed_policy_arn("AWSLambdaMSKExecutionRole", context.region));
  }

  std::vector<const json::value*> entries;
  if (policies.is_array()) {
    for (const auto& entry : policies.as_array())
      entries.push_back(&entry);
  } else if (!policies.is_null()) {
    entries.push_back(&policies);
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
      role.inline_policies[fmt::format("{}RolePolicy{}", own_id(function.logical_id), i)] =
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
    role.inline_policies[fmt::format("{}RolePolicy{}", own_id(function.logical_id), i)] =
        json::object{{"Version", "2012-10-17"}, {"Statement", std::move(*statements)}};
  }
  role.managed.assign(managed.begin(), managed.end());
  return role;
}

void add_function_extras(RoleDocument& role, bool vpc, const json::value& dead_letter_queue,
                         const PolicyContext& context) {
  if (vpc) {
    role.managed.push_back(managed_policy_arn("AWSLambdaVPCAccessExecutionRole", context.region));
    std::sort(role.managed.begin(), role.managed.end());
    role.managed.erase(std::unique(role.managed.begin(), role.managed.end()), role.managed.end());
  }
  if (!dead_letter_queue.is_object())
    return;
  const auto* type = dead_letter_queue.as_object().if_contains("Type");
  const auto* target = dead_letter_queue.as_object().if_contains("TargetArn");
  if (type == nullptr || target == nullptr || !type->is_string())
    return;
  const auto* action = type->as_string() == "SQS"   ? "sqs:SendMessage"
                       : type->as_string() == "SNS" ? "sns:Publish"
                                                    : nullptr;
  if (action == nullptr)
    return;
  role.inline_policies["DeadLetterQueuePolicy"] = json::object{
      {"Version", "2012-10-17"},
      {"Statement",
       json::array{json::object{{"Action", action}, {"Resource", *target}, {"Effect", "Allow"}}}}};
}

} // namespace wisp::deploy
