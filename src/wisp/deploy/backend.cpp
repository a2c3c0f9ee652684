#include <wisp/deploy/backend.hpp>

#include <wisp/support/http.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <thread>

namespace wisp::deploy {

namespace json = boost::json;
using aws::Service;
using aws::ServiceError;

std::string segment(std::string_view text) {
  return support::http::url_encode(text);
}

std::string slash_segment(std::string_view text) {
  std::string out(1, '/');
  out.append(support::http::url_encode(text));
  return out;
}

namespace {

constexpr std::string_view k_iam_version = "2010-05-08";
constexpr std::string_view k_cloudwatch_version = "2010-08-01";

std::string fn_path(const std::string& name, std::string_view rest = {}) {
  return "/2015-03-31/functions/" + segment(name) + std::string(rest);
}

aws::Query qualifier_query(const std::string& qualifier) {
  if (qualifier.empty())
    return {};
  return {{"Qualifier", qualifier}};
}

template <class T> tl::unexpected<ServiceError> pass(AwsResult<T>&& result) {
  return tl::unexpected<ServiceError>(std::move(result).error());
}

AwsResult<json::object> as_object(AwsResult<json::value>&& result) {
  if (!result)
    return pass(std::move(result));
  if (result->is_object())
    return std::move(result->as_object());
  return json::object{};
}

AliasInfo alias_from(const json::object& o) {
  AliasInfo alias;
  if (const auto* v = o.if_contains("Name"); v != nullptr && v->is_string())
    alias.name = std::string(v->as_string());
  if (const auto* v = o.if_contains("FunctionVersion"); v != nullptr && v->is_string())
    alias.version = std::string(v->as_string());
  if (const auto* v = o.if_contains("RevisionId"); v != nullptr && v->is_string())
    alias.revision_id = std::string(v->as_string());
  if (const auto* routing = o.if_contains("RoutingConfig");
      routing != nullptr && routing->is_object())
    if (const auto* weights = routing->as_object().if_contains("AdditionalVersionWeights");
        weights != nullptr && weights->is_object())
      for (const auto& item : weights->as_object())
        if (item.value().is_number())
          alias.weights[std::string(item.key())] = item.value().to_number<double>();
  return alias;
}

json::object routing_json(const std::map<std::string, double>& weights) {
  json::object additional;
  for (const auto& [version, weight] : weights)
    additional[version] = weight;
  return json::object{{"AdditionalVersionWeights", std::move(additional)}};
}

void add_tags(aws::Query& query, const std::map<std::string, std::string>& tags) {
  int index = 1;
  for (const auto& [key, value] : tags) {
    query.emplace_back(fmt::format("Tags.member.{}.Key", index), key);
    query.emplace_back(fmt::format("Tags.member.{}.Value", index), value);
    ++index;
  }
}

} // namespace

Backend::Backend(std::shared_ptr<const aws::Client> client) : m_client(std::move(client)) {}

AwsResult<std::string> Backend::account_id() const {
  auto result = m_client->query(Service::sts, "GetCallerIdentity", "2011-06-15", {});
  if (!result)
    return pass(std::move(result));
  auto account = result->text_at("GetCallerIdentityResult/Account");
  if (account.empty()) {
    ServiceError error{
        "sts", "GetCallerIdentity", 200, "InvalidResponse", "the response has no Account", {}, 1};
    return tl::unexpected(std::move(error));
  }
  return account;
}

AwsResult<std::optional<json::object>> Backend::get_function(const std::string& name,
                                                             const std::string& qualifier) const {
  auto result = m_client->rest_json(Service::lambda, "GetFunction", "GET", fn_path(name),
                                    qualifier_query(qualifier));
  if (!result) {
    if (result.error().is("ResourceNotFoundException"))
      return std::optional<json::object>();
    return pass(std::move(result));
  }
  if (!result->is_object())
    return std::optional<json::object>(json::object{});
  return std::optional<json::object>(std::move(result->as_object()));
}

AwsResult<json::object> Backend::get_function_configuration(const std::string& name,
                                                            const std::string& qualifier) const {
  return as_object(m_client->rest_json(Service::lambda, "GetFunctionConfiguration", "GET",
                                       fn_path(name, "/configuration"),
                                       qualifier_query(qualifier)));
}

AwsResult<json::object> Backend::create_function(const json::object& request) const {
  const json::value body = request;
  return as_object(m_client->rest_json(Service::lambda, "CreateFunction", "POST",
                                       "/2015-03-31/functions", {}, &body));
}

AwsResult<json::object> Backend::update_function_code(const std::string& name,
                                                      const json::object& request) const {
  const json::value body = request;
  return as_object(m_client->rest_json(Service::lambda, "UpdateFunctionCode", "PUT",
                                       fn_path(name, "/code"), {}, &body));
}

AwsResult<json::object> Backend::update_function_configuration(const std::string& name,
                                                               const json::object& request) const {
  const json::value body = request;
  return as_object(m_client->rest_json(Service::lambda, "UpdateFunctionConfiguration", "PUT",
                                       fn_path(name, "/configuration"), {}, &body));
}

AwsResult<json::object> Backend::publish_version(const std::string& name,
                                                 const std::string& code_sha256,
                                                 const std::string& description) const {
  json::object request;
  if (!code_sha256.empty())
    request["CodeSha256"] = code_sha256;
  if (!description.empty())
    request["Description"] = description;
  const json::value body = request;
  return as_object(m_client->rest_json(Service::lambda, "PublishVersion", "POST",
                                       fn_path(name, "/versions"), {}, &body));
}

AwsResult<json::object> Backend::wait_until_updated(const std::string& name,
                                                    std::chrono::seconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto delay = std::chrono::milliseconds(250);
  while (true) {
    auto config = get_function_configuration(name);
    if (!config)
      return config;
    const auto text = [&](const char* key) -> std::string {
      const auto* v = config->if_contains(key);
      return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    const auto state = text("State");
    const auto update = text("LastUpdateStatus");
    if (state == "Failed" || update == "Failed") {
      auto reason = text("LastUpdateStatusReason");
      if (reason.empty())
        reason = text("StateReason");
      ServiceError error{"lambda",
                         "GetFunctionConfiguration",
                         200,
                         "UpdateFailed",
                         fmt::format("the update of {} failed: {}", name, reason),
                         {},
                         1};
      return tl::unexpected(std::move(error));
    }
    if ((state.empty() || state == "Active") && (update.empty() || update == "Successful"))
      return config;
    if (std::chrono::steady_clock::now() + delay > deadline) {
      ServiceError error{
          "lambda",
          "GetFunctionConfiguration",
          200,
          "Timeout",
          fmt::format("{} is still {} / {} after {} s", name, state, update, timeout.count()),
          {},
          1};
      return tl::unexpected(std::move(error));
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(2000));
  }
}

AwsStatus Backend::delete_function(const std::string& name) const {
  auto result = m_client->rest_json(Service::lambda, "DeleteFunction", "DELETE", fn_path(name));
  if (!result && !result.error().is("ResourceNotFoundException"))
    return pass(std::move(result));
  return {};
}

AwsStatus Backend::put_function_concurrency(const std::string& name, int reserved) const {
  const json::value body = json::object{{"ReservedConcurrentExecutions", reserved}};
  auto result =
      m_client->rest_json(Service::lambda, "PutFunctionConcurrency", "PUT",
                          "/2017-10-31/functions/" + segment(name) + "/concurrency", {}, &body);
  if (!result)
    return pass(std::move(result));
  return {};
}

AwsStatus Backend::delete_function_concurrency(const std::string& name) const {
  auto result = m_client->rest_json(Service::lambda, "DeleteFunctionConcurrency", "DELETE",
                                    "/2017-10-31/functions/" + segment(name) + "/concurrency");
  if (!result)
    return pass(std::move(result));
  return {};
}

AwsStatus Backend::tag_function(const std::string& arn,
                                const std::map<std::string, std::string>& tags) const {
  json::object tag_object;
  for (const auto& [k, v] : tags)
    tag_object[k] = v;
  const json::value body = json::object{{"Tags", std::move(tag_object)}};
  auto result = m_client->rest_json(Service::lambda, "TagResource", "POST",
                                    "/2017-03-31/tags/" + segment(arn), {}, &body);
  if (!result)
    return pass(std::move(result));
  return {};
}

AwsStatus Backend::untag_function(const std::string& arn,
                                  const std::vector<std::string>& keys) const {
  aws::Query query;
  for (const auto& key : keys)
    query.emplace_back("tagKeys", key);
  auto result = m_client->rest_json(Service::lambda, "UntagResource", "DELETE",
                                    "/2017-03-31/tags/" + segment(arn), query);
  if (!result)
    return pass(std::move(result));
  return {};
}

AwsResult<InvokeResult> Backend::invoke(const std::string& name, const std::string& qualifier,
                                        const std::string& payload) const {
  aws::ServiceRequest request;
  request.service = Service::lambda;
  request.operation = "Invoke";
  request.method = "POST";
  request.path = fn_path(name, "/invocations");
  request.query = qualifier_query(qualifier);
  request.body = payload;
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back("X-Amz-Invocation-Type", "RequestResponse");
  auto response = m_client->send(request);
  if (!response)
    return pass(std::move(response));
  InvokeResult result;
  result.status = response->status;
  result.function_error = response->header("x-amz-function-error").value_or("");
  result.executed_version = response->header("x-amz-executed-version").value_or("");
  result.payload = std::move(response->body);
  return result;
}

AwsResult<std::vector<std::pair<std::string, std::string>>>
Backend::layer_versions(const std::string& layer) const {
  std::vector<std::pair<std::string, std::string>> out;
  std::string marker;
  for (int page = 0; page < 100; ++page) {
    aws::Query query{{"MaxItems", "50"}};
    if (!marker.empty())
      query.emplace_back("Marker", marker);
    auto result = m_client->rest_json(Service::lambda, "ListLayerVersions", "GET",
                                      "/2018-10-31/layers/" + segment(layer) + "/versions", query);
    if (!result) {
      if (result.error().not_found())
        return out;
      return pass(std::move(result));
    }
    if (!result->is_object())
      break;
    if (const auto* versions = result->as_object().if_contains("LayerVersions");
        versions != nullptr && versions->is_array())
      for (const auto& v : versions->as_array())
        if (v.is_object()) {
          const auto* arn = v.as_object().if_contains("LayerVersionArn");
          const auto* description = v.as_object().if_contains("Description");
          out.emplace_back(arn != nullptr && arn->is_string() ? std::string(arn->as_string()) : "",
                           description != nullptr && description->is_string()
                               ? std::string(description->as_string())
                               : "");
        }
    const auto* next = result->as_object().if_contains("NextMarker");
    marker = next != nullptr && next->is_string() ? std::string(next->as_string()) : "";
    if (marker.empty())
      break;
  }
  return out;
}

AwsResult<std::string> Backend::publish_layer_version(const std::string& layer,
                                                      const json::object& request) const {
  const json::value body = request;
  auto result =
      m_client->rest_json(Service::lambda, "PublishLayerVersion", "POST",
                          "/2018-10-31/layers/" + segment(layer) + "/versions", {}, &body);
  if (!result)
    return pass(std::move(result));
  const auto* arn =
      result->is_object() ? result->as_object().if_contains("LayerVersionArn") : nullptr;
  return arn != nullptr && arn->is_string() ? std::string(arn->as_string()) : std::string();
}

AwsStatus Backend::delete_layer_version(const std::string& layer,
                                        const std::string& version) const {
  auto result =
      m_client->rest_json(Service::lambda, "DeleteLayerVersion", "DELETE",
                          "/2018-10-31/layers/" + segment(layer) + "/versions/" + segment(version));
  if (!result && !result.error().not_found())
    return pass(std::move(result));
  return {};
}

AwsResult<std::optional<AliasInfo>> Backend::get_alias(const std::string& function,
                                                       const std::string& alias) const {
  auto result = m_client->rest_json(Service::lambda, "GetAlias", "GET",
                                    fn_path(function, "/aliases/" + segment(alias)));
  if (!result) {
    if (result.error().is("ResourceNotFoundException"))
      return std::optional<AliasInfo>();
    return pass(std::move(result));
  }
  if (!result->is_object())
    return std::optional<AliasInfo>();
  return std::optional<AliasInfo>(alias_from(result->as_object()));
}

AwsResult<AliasInfo> Backend::create_alias(const std::string& function, const std::string& alias,
                                           const std::string& version,
                                           const std::map<std::string, double>& weights) const {
  json::object request{{"Name", alias}, {"FunctionVersion", version}};
  if (!weights.empty())
    request["RoutingConfig"] = routing_json(weights);
  const json::value body = request;
  auto result = as_object(m_client->rest_json(Service::lambda, "CreateAlias", "POST",
                                              fn_path(function, "/aliases"), {}, &body));
  if (!result)
    return pass(std::move(result));
  return alias_from(*result);
}

AwsResult<AliasInfo> Backend::update_alias(const std::string& function, const std::string& alias,
                                           const std::string& version,
                                           const std::map<std::string, double>& weights) const {
  const json::value body =
      json::object{{"FunctionVersion", version}, {"RoutingConfig", routing_json(weights)}};
  auto result =
      as_object(m_client->rest_json(Service::lambda, "UpdateAlias", "PUT",
                                    fn_path(function, "/aliases/" + segment(alias)), {}, &body));
  if (!result)
    return pass(std::move(result));
  return alias_from(*result);
}

AwsStatus Backend::delete_alias(const std::string& function, const std::string& alias) const {
  auto result = m_client->rest_json(Service::lambda, "DeleteAlias", "DELETE",
                                    fn_path(function, "/aliases/" + segment(alias)));
  if (!result && !result.error().is("ResourceNotFoundException"))
    return pass(std::move(result));
  return {};
}

AwsResult<std::vector<std::string>>
Backend::policy_statement_ids(const std::string& function, const std::string& qualifier) const {
  auto result = m_client->rest_json(Service::lambda, "GetPolicy", "GET",
                                    fn_path(function, "/policy"), qualifier_query(qualifier));
  std::vector<std::string> ids;
  if (!result) {
    if (result.error().is("ResourceNotFoundException"))
      return ids;
    return pass(std::move(result));
  }
  if (!result->is_object())
    return ids;
  const auto* policy = result->as_object().if_contains("Policy");
  if (policy == nullptr || !policy->is_string())
    return ids;
  boost::system::error_code ec;
  const auto document = json::parse(policy->as_string(), ec);
  if (ec || !document.is_object())
    return ids;
  const auto* statements = document.as_object().if_contains("Statement");
  if (statements == nullptr || !statements->is_array())
    return ids;
  for (const auto& statement : statements->as_array()) {
    if (!statement.is_object())
      continue;
    const auto* sid = statement.as_object().if_contains("Sid");
    if (sid != nullptr && sid->is_string())
      ids.emplace_back(sid->as_string());
  }
  return ids;
}

AwsStatus Backend::add_permission(const std::string& function, const std::string& qualifier,
                                  const std::string& statement_id, const std::string& principal,
                                  const std::string& source_arn) const {
  json::object request{
      {"StatementId", statement_id}, {"Action", "lambda:InvokeFunction"}, {"Principal", principal}};
  if (!source_arn.empty())
    request["SourceArn"] = source_arn;
  const json::value body = request;
  auto result =
      m_client->rest_json(Service::lambda, "AddPermission", "POST", fn_path(function, "/policy"),
                          qualifier_query(qualifier), &body);
  if (!result && !result.error().is("ResourceConflictException"))
    return pass(std::move(result));
  return {};
}

AwsStatus Backend::remove_permission(const std::string& function, const std::string& qualifier,
                                     const std::string& statement_id) const {
  auto result = m_client->rest_json(Service::lambda, "RemovePermission", "DELETE",
                                    fn_path(function, "/policy/" + segment(statement_id)),
                                    qualifier_query(qualifier));
  if (!result && !result.error().is("ResourceNotFoundException"))
    return pass(std::move(result));
  return {};
}

// --- IAM ---

AwsResult<std::optional<json::object>> Backend::get_role(const std::string& name) const {
  auto result = m_client->query(Service::iam, "GetRole", k_iam_version, {{"RoleName", name}});
  if (!result) {
    if (result.error().is("NoSuchEntity"))
      return std::optional<json::object>();
    return pass(std::move(result));
  }
  const auto* role = result->find("Role");
  if (role == nullptr)
    return std::optional<json::object>();
  json::object out{{"RoleName", role->text_at("RoleName")}, {"Arn", role->text_at("Arn")}};
  const auto trust_text = support::http::url_decode(role->text_at("AssumeRolePolicyDocument"));
  boost::system::error_code ec;
  auto trust = json::parse(trust_text, ec);
  out["AssumeRolePolicyDocument"] = ec ? json::value(json::object{}) : std::move(trust);
  json::object tags;
  if (const auto* tag_list = role->child("Tags"))
    for (const auto* member : tag_list->all("member"))
      tags[member->text_at("Key")] = member->text_at("Value");
  out["Tags"] = std::move(tags);
  return std::optional<json::object>(std::move(out));
}

AwsResult<json::object> Backend::create_role(const std::string& name, const json::object& trust,
                                             const std::map<std::string, std::string>& tags) const {
  aws::Query query{{"RoleName", name}, {"AssumeRolePolicyDocument", json::serialize(trust)}};
  add_tags(query, tags);
  auto result = m_client->query(Service::iam, "CreateRole", k_iam_version, query);
  if (!result)
    return pass(std::move(result));
  const auto* role = result->find("Role");
  json::object out;
  if (role != nullptr) {
    out["RoleName"] = role->text_at("RoleName");
    out["Arn"] = role->text_at("Arn");
  }
  return out;
}

AwsStatus Backend::update_assume_role_policy(const std::string& name,
                                             const json::object& trust) const {
  auto result = m_client->query(Service::iam, "UpdateAssumeRolePolicy", k_iam_version,
                                {{"RoleName", name}, {"PolicyDocument", json::serialize(trust)}});
  if (!result)
    return pass(std::move(result));
  return {};
}

AwsResult<std::vector<std::string>> Backend::attached_role_policies(const std::string& name) const {
  std::vector<std::string> arns;
  std::string marker;
  for (int page = 0; page < 100; ++page) {
    aws::Query query{{"RoleName", name}};
    if (!marker.empty())
      query.emplace_back("Marker", marker);
    auto result = m_client->query(Service::iam, "ListAttachedRolePolicies", k_iam_version, query);
    if (!result)
      return pass(std::move(result));
    if (const auto* list = result->find("AttachedPolicies"))
      for (const auto* member : list->all("member"))
        arns.push_back(member->text_at("PolicyArn"));
    if (result->find("IsTruncated") == nullptr || result->find("IsTruncated")->text != "true")
      break;
    marker = result->find("Marker") != nullptr ? result->find("Marker")->text : "";
    if (marker.empty())
      break;
  }
  return arns;
}

AwsStatus Backend::attach_role_policy(const std::string& name, const std::string& arn) const {
  auto result = m_client->query(Service::iam, "AttachRolePolicy", k_iam_version,
                                {{"RoleName", name}, {"PolicyArn", arn}});
  if (!result)
    return pass(std::move(result));
  return {};
}

AwsStatus Backend::detach_role_policy(const std::string& name, const std::string& arn) const {
  auto result = m_client->query(Service::iam, "DetachRolePolicy", k_iam_version,
                                {{"RoleName", name}, {"PolicyArn", arn}});
  if (!result && !result.error().is("NoSuchEntity"))
    return pass(std::move(result));
  return {};
}

AwsResult<std::vector<std::string>> Backend::role_policy_names(const std::string& name) const {
  std::vector<std::string> names;
  auto result =
      m_client->query(Service::iam, "ListRolePolicies", k_iam_version, {{"RoleName", name}});
  if (!result)
    return pass(std::move(result));
  if (const auto* list = result->find("PolicyNames"))
    for (const auto* member : list->all("member"))
      names.push_back(member->text);
  return names;
}

AwsStatus Backend::put_role_policy(const std::string& name, const std::string& policy,
                                   const json::object& document) const {
  auto result = m_client->query(
      Service::iam, "PutRolePolicy", k_iam_version,
      {{"RoleName", name}, {"PolicyName", policy}, {"PolicyDocument", json::serialize(document)}});
  if (!result)
    return pass(std::move(result));
  return {};
}

AwsStatus Backend::delete_role_policy(const std::string& name, const std::string& policy) const {
  auto result = m_client->query(Service::iam, "DeleteRolePolicy", k_iam_version,
                                {{"RoleName", name}, {"PolicyName", policy}});
  if (!result && !result.error().is("NoSuchEntity"))
    return pass(std::move(result));
  return {};
}

AwsStatus Backend::tag_role(const std::string& name,
                            const std::map<std::string, std::string>& tags) const {
  aws::Query query{{"RoleName", name}};
  add_tags(query, tags);
  auto result = m_client->query(Service::iam, "TagRole", k_iam_version, query);
  if (!result)
    return pass(std::move(result));
  return {};
}

AwsStatus Backend::delete_role(const std::string& name) const {
  auto result = m_client->query(Service::iam, "DeleteRole", k_iam_version, {{"RoleName", name}});
  if (!result && !result.error().is("NoSuchEntity"))
    return pass(std::move(result));
  return {};
}

// --- CloudWatch ---

AwsStatus Backend::put_metric_alarm(const aws::Query& parameters) const {
  auto result =
      m_client->query(Service::cloudwatch, "PutMetricAlarm", k_cloudwatch_version, parameters);
  if (!result)
    return pass(std::move(result));
  return {};
}

AwsResult<std::vector<AlarmInfo>>
Backend::describe_alarms(const std::vector<std::string>& names) const {
  std::vector<AlarmInfo> alarms;
  // DescribeAlarms takes at most 100 names per call.
  for (std::size_t start = 0; start < names.size(); start += 100) {
    aws::Query query;
    for (std::size_t i = start; i < std::min(names.size(), start + 100); ++i)
      query.emplace_back(fmt::format("AlarmNames.member.{}", i - start + 1), names[i]);
    auto result =
        m_client->query(Service::cloudwatch, "DescribeAlarms", k_cloudwatch_version, query);
    if (!result)
      return pass(std::move(result));
    if (const auto* list = result->find("MetricAlarms"))
      for (const auto* member : list->all("member"))
        alarms.push_back({member->text_at("AlarmName"), member->text_at("StateValue"),
                          member->text_at("StateReason")});
    if (const auto* list = result->find("CompositeAlarms"))
      for (const auto* member : list->all("member"))
        alarms.push_back({member->text_at("AlarmName"), member->text_at("StateValue"),
                          member->text_at("StateReason")});
  }
  return alarms;
}

AwsStatus Backend::delete_alarms(const std::vector<std::string>& names) const {
  if (names.empty())
    return {};
  aws::Query query;
  for (std::size_t i = 0; i < names.size(); ++i)
    query.emplace_back(fmt::format("AlarmNames.member.{}", i + 1), names[i]);
  auto result = m_client->query(Service::cloudwatch, "DeleteAlarms", k_cloudwatch_version, query);
  if (!result && !result.error().not_found())
    return pass(std::move(result));
  return {};
}

// --- API Gateway ---

AwsResult<json::value> Backend::apigw(std::string_view operation, std::string_view method,
                                      std::string path, const json::value* body,
                                      aws::Query query) const {
  return m_client->rest_json(Service::apigateway, operation, method, "/restapis" + path,
                             std::move(query), body);
}

AwsResult<json::value> Backend::apigw_root(std::string_view operation, std::string_view method,
                                           std::string path, const json::value* body,
                                           aws::Query query) const {
  return m_client->rest_json(Service::apigateway, operation, method, std::move(path),
                             std::move(query), body);
}

AwsResult<json::value> Backend::apigw2(std::string_view operation, std::string_view method,
                                       std::string path, const json::value* body,
                                       aws::Query query) const {
  return m_client->rest_json(Service::apigatewayv2, operation, method, "/v2" + path,
                             std::move(query), body);
}

} // namespace wisp::deploy
