// REST API resource policies (Auth.ResourcePolicy): the document aws-sam-translator writes as
// the API's x-amazon-apigateway-policy, statement for statement, and the policy the backend
// reports read back into the same form (API Gateway expands "execute-api:/" to the API's ARN
// and may return the document as an escaped string).

#include <wisp/deploy/desired.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <utility>

namespace wisp::deploy {

namespace json = boost::json;

namespace {

// SAM: greedy and plain path parameters become "*" ({id}, {proxy+}); nothing else changes.
std::string policy_path(const std::string& path) {
  static const std::regex k_parameter(R"(\{([a-zA-Z0-9._-]+|[a-zA-Z0-9._-]+\+|proxy\+)\})");
  return std::regex_replace(path, k_parameter, "*");
}

bool truthy(const json::value* v) {
  if (v == nullptr || v->is_null())
    return false;
  if (v->is_bool())
    return v->as_bool();
  if (v->is_string())
    return !v->as_string().empty();
  if (v->is_array())
    return !v->as_array().empty();
  if (v->is_object())
    return !v->as_object().empty();
  return true;
}

json::array as_list(const json::value& v) {
  return v.is_array() ? v.as_array() : json::array{v};
}

// The document being built, with samtranslator's rules for adding to "Statement": the first
// account statement is kept alone (not in a list), IP and VPC pairs are added when not there.
class Builder {
public:
  json::object doc;

  void add_single(json::object statement) {
    doc["Version"] = "2012-10-17";
    auto* current = doc.if_contains("Statement");
    if (current == nullptr) {
      doc["Statement"] = std::move(statement);
      return;
    }
    auto list = as_list(*current);
    list.emplace_back(std::move(statement));
    doc["Statement"] = std::move(list);
  }

  void add_pair(json::object allow, json::object deny) {
    doc["Version"] = "2012-10-17";
    auto* current = doc.if_contains("Statement");
    if (current == nullptr) {
      doc["Statement"] = json::array{std::move(allow), std::move(deny)};
      return;
    }
    auto list = as_list(*current);
    for (auto& s : {json::value(std::move(allow)), json::value(std::move(deny))})
      if (std::find(list.begin(), list.end(), s) == list.end())
        list.push_back(s);
    doc["Statement"] = std::move(list);
  }

  void add_custom(const json::value& custom) {
    doc["Version"] = "2012-10-17";
    auto* current = doc.if_contains("Statement");
    if (current == nullptr) {
      doc["Statement"] = custom;
      return;
    }
    auto list = as_list(*current);
    for (const auto& s : as_list(custom))
      if (std::find(list.begin(), list.end(), s) == list.end())
        list.push_back(s);
    doc["Statement"] = std::move(list);
  }
};

json::object invoke_statement(std::string_view effect, const json::array& resources) {
  return json::object{{"Effect", effect},
                      {"Action", "execute-api:Invoke"},
                      {"Resource", resources},
                      {"Principal", "*"}};
}

support::Status vpc_statements(Builder& b, const json::object& rp, const char* strings_key,
                               const char* vpc_key, const char* vpce_key,
                               std::string_view conditional, const json::array& resources) {
  json::object condition;
  json::array vpcs;
  json::array vpces;
  if (const auto* strings = rp.if_contains(strings_key);
      strings != nullptr && !strings->is_null()) {
    if (!strings->is_array() || std::any_of(strings->as_array().begin(), strings->as_array().end(),
                                            [](const json::value& v) { return !v.is_string(); }))
      return support::failf("{} must be a list of strings. Use {} instead for values that use "
                            "Intrinsic Functions",
                            strings_key, vpc_key);
    for (const auto& endpoint : strings->as_array()) {
      const std::string_view e = endpoint.as_string();
      if (e.starts_with("vpce-"))
        vpces.push_back(endpoint);
      if (e.starts_with("vpc-"))
        vpcs.push_back(endpoint);
    }
  }
  using Intrinsics = std::pair<const char*, json::array*>;
  for (const auto& [key, list] : {Intrinsics{vpc_key, &vpcs}, Intrinsics{vpce_key, &vpces}})
    if (const auto* v = rp.if_contains(key); v != nullptr && !v->is_null()) {
      if (!v->is_array())
        return support::failf("{} must be a list", key);
      for (const auto& item : v->as_array())
        list->push_back(item);
    }
  if (vpcs.empty() && vpces.empty())
    return {};
  if (!vpcs.empty())
    condition["aws:SourceVpc"] = std::move(vpcs);
  if (!vpces.empty())
    condition["aws:SourceVpce"] = std::move(vpces);
  auto deny = invoke_statement("Deny", resources);
  deny["Condition"] = json::object{{conditional, std::move(condition)}};
  b.add_pair(invoke_statement("Allow", resources), std::move(deny));
  return {};
}

} // namespace

support::Result<std::optional<json::object>>
rest_resource_policy(const json::value& resource_policy, const std::vector<PolicyPath>& paths,
                     const std::string& stage) {
  if (!truthy(&resource_policy))
    return std::nullopt;
  if (!resource_policy.is_object())
    return support::fail("ResourcePolicy must be a map (ResourcePolicyStatement)");
  const auto& rp = resource_policy.as_object();
  Builder b;
  for (const auto& [path, methods] : paths) {
    json::array resources;
    for (const auto& m : methods)
      resources.emplace_back(
          fmt::format("execute-api:/{}/{}{}", stage, m == "ANY" ? "*" : m, policy_path(path)));
    using Keyed = std::pair<const char*, const char*>;
    for (const auto& [key, effect] :
         {Keyed{"AwsAccountWhitelist", "Allow"}, Keyed{"AwsAccountBlacklist", "Deny"}}) {
      const auto* accounts = rp.if_contains(key);
      if (!truthy(accounts))
        continue;
      if (!accounts->is_array() && !accounts->is_object())
        return support::failf("Type of '{}' must be a list or dictionary",
                              accounts->is_string() ? std::string(accounts->as_string())
                                                    : json::serialize(*accounts));
      b.add_single(json::object{{"Effect", effect},
                                {"Action", "execute-api:Invoke"},
                                {"Resource", resources},
                                {"Principal", json::object{{"AWS", as_list(*accounts)}}}});
    }
    for (const auto& [key, conditional] :
         {Keyed{"IpRangeWhitelist", "NotIpAddress"}, Keyed{"IpRangeBlacklist", "IpAddress"}}) {
      const auto* ips = rp.if_contains(key);
      if (!truthy(ips))
        continue;
      auto deny = invoke_statement("Deny", resources);
      deny["Condition"] =
          json::object{{conditional, json::object{{"aws:SourceIp", as_list(*ips)}}}};
      b.add_pair(invoke_statement("Allow", resources), std::move(deny));
    }
    WISP_TRY(vpc_statements(b, rp, "SourceVpcBlacklist", "IntrinsicVpcBlacklist",
                            "IntrinsicVpceBlacklist", "StringEquals", resources));
    WISP_TRY(vpc_statements(b, rp, "SourceVpcWhitelist", "IntrinsicVpcWhitelist",
                            "IntrinsicVpceWhitelist", "StringNotEquals", resources));
  }
  if (const auto* custom = rp.if_contains("CustomStatements"); truthy(custom))
    b.add_custom(*custom);
  if (b.doc.empty())
    return std::nullopt;
  return b.doc;
}

namespace {

// "arn:<partition>:execute-api:<region>:<account>:<api id>/rest" → "execute-api:/rest".
void shorten_arns(json::value& v, const std::string& api_id) {
  if (v.is_array()) {
    for (auto& item : v.as_array())
      shorten_arns(item, api_id);
  } else if (v.is_object()) {
    for (auto& item : v.as_object())
      shorten_arns(item.value(), api_id);
  } else if (v.is_string()) {
    const std::string_view s = v.as_string();
    if (!s.starts_with("arn:"))
      return;
    std::size_t at = 0;
    for (int colons = 0; colons < 5 && at != std::string_view::npos; ++colons)
      at = s.find(':', at == 0 ? 0 : at + 1);
    if (at == std::string_view::npos)
      return;
    const auto parts = s.substr(0, at);
    const auto rest = s.substr(at + 1);
    if (parts.find(":execute-api:") == std::string_view::npos || !rest.starts_with(api_id + "/"))
      return;
    v = json::value("execute-api:/" + std::string(rest.substr(api_id.size() + 1)));
  }
}

} // namespace

std::string reported_policy(std::string_view policy, const std::string& api_id) {
  if (policy.empty())
    return {};
  boost::system::error_code ec;
  auto parsed = json::parse(policy, ec);
  if (ec) {
    // An escaped document ({\"Version\":...}): read it as the body of a JSON string first.
    ec.clear();
    std::string quoted(1, '"'); // built by appending (GCC 12 warns about `"x" + std::string`)
    quoted.append(policy);
    quoted += '"';
    auto unescaped = json::parse(quoted, ec);
    if (ec || !unescaped.is_string())
      return std::string(policy);
    parsed = json::parse(unescaped.as_string(), ec);
    if (ec)
      return std::string(policy);
  } else if (parsed.is_string()) {
    parsed = json::parse(parsed.as_string(), ec);
    if (ec)
      return std::string(policy);
  }
  if (parsed.is_null())
    return {};
  shorten_arns(parsed, api_id);
  return canonical_json(parsed);
}

} // namespace wisp::deploy
