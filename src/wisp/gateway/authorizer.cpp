#include <wisp/gateway/authorizer.hpp>
#include <wisp/gateway/text.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace wisp::gateway {

namespace json = boost::json;

namespace {

// A string or an array of strings.
bool string_list(const json::value* value, std::vector<std::string>& out) {
  if (value == nullptr)
    return false;
  if (value->is_string()) {
    out.emplace_back(value->get_string());
    return true;
  }
  if (!value->is_array())
    return false;
  for (const auto& item : value->get_array()) {
    if (!item.is_string())
      return false;
    out.emplace_back(item.get_string());
  }
  return true;
}

const json::value* find_ci(const json::object& object, std::string_view key) {
  for (const auto& [k, v] : object)
    if (iequals_ascii(k, key))
      return &v;
  return nullptr;
}

bool read_context(const json::object& output, bool rest, AuthorizerResult& result) {
  const auto* context = output.if_contains("context");
  if (context == nullptr || context->is_null())
    return true;
  if (!context->is_object())
    return false;
  for (const auto& [key, value] : context->get_object()) {
    if (rest && (value.is_object() || value.is_array()))
      return false;
    result.context.emplace_back(std::string(key), json::serialize(value));
  }
  return true;
}

// Action names are case-insensitive in IAM.
bool action_matches(const std::vector<std::string>& actions) {
  for (const auto& action : actions) {
    std::string lower;
    append_lower(lower, action);
    if (wildcard_match(lower, "execute-api:invoke"))
      return true;
  }
  return false;
}

} // namespace

std::optional<AuthorizerResult> parse_authorizer_output(std::string_view output, bool simple,
                                                        bool rest) {
  boost::system::error_code ec;
  const auto value = json::parse(output, ec);
  if (ec || !value.is_object())
    return std::nullopt;
  const auto& object = value.get_object();
  AuthorizerResult result;
  result.simple = simple;
  if (simple) {
    const auto* authorized = object.if_contains("isAuthorized");
    if (authorized == nullptr || !authorized->is_bool())
      return std::nullopt;
    result.authorized = authorized->get_bool();
    if (!read_context(object, rest, result))
      return std::nullopt;
    return result;
  }
  if (const auto* principal = object.if_contains("principalId"); principal != nullptr) {
    if (principal->is_string())
      result.principal_id = std::string(principal->get_string());
    else if (!principal->is_null())
      result.principal_id = json::serialize(*principal);
  }
  const auto* document = object.if_contains("policyDocument");
  if (document == nullptr || !document->is_object())
    return std::nullopt;
  const auto* statements = find_ci(document->get_object(), "Statement");
  if (statements == nullptr)
    return std::nullopt;
  std::vector<const json::value*> items;
  if (statements->is_array()) {
    for (const auto& item : statements->get_array())
      items.push_back(&item);
  } else if (statements->is_object()) {
    items.push_back(statements);
  } else {
    return std::nullopt;
  }
  for (const auto* item : items) {
    if (!item->is_object())
      return std::nullopt;
    const auto& statement = item->get_object();
    PolicyStatement parsed;
    const auto* effect = find_ci(statement, "Effect");
    if (effect == nullptr || !effect->is_string())
      return std::nullopt;
    if (iequals_ascii(effect->get_string(), "Allow"))
      parsed.allow = true;
    else if (!iequals_ascii(effect->get_string(), "Deny"))
      return std::nullopt;
    if (!string_list(find_ci(statement, "Action"), parsed.actions) ||
        !string_list(find_ci(statement, "Resource"), parsed.resources))
      return std::nullopt;
    result.statements.push_back(std::move(parsed));
  }
  if (!read_context(object, rest, result))
    return std::nullopt;
  return result;
}

bool wildcard_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

PolicyDecision evaluate(const AuthorizerResult& result, std::string_view arn) {
  if (result.simple)
    return result.authorized ? PolicyDecision::allow : PolicyDecision::explicit_deny;
  bool allowed = false;
  for (const auto& statement : result.statements) {
    if (!action_matches(statement.actions))
      continue;
    bool matches = false;
    for (const auto& resource : statement.resources)
      matches = matches || wildcard_match(resource, arn);
    if (!matches)
      continue;
    if (!statement.allow)
      return PolicyDecision::explicit_deny;
    allowed = true;
  }
  return allowed ? PolicyDecision::allow : PolicyDecision::implicit_deny;
}

std::string rest_authorizer_json(const AuthorizerResult& result, std::int64_t latency_ms) {
  std::string out = "{\"principalId\":";
  append_json_string(out, result.principal_id);
  out.append(",\"integrationLatency\":");
  out.append(std::to_string(latency_ms));
  for (const auto& [key, value] : result.context) {
    if (key == "principalId" || key == "integrationLatency")
      continue;
    out.push_back(',');
    append_json_string(out, key);
    out.push_back(':');
    out.append(value);
  }
  out.push_back('}');
  return out;
}

std::string http_authorizer_json(const AuthorizerResult& result) {
  std::string out = "{\"lambda\":{";
  bool first = true;
  for (const auto& [key, value] : result.context) {
    if (!first)
      out.push_back(',');
    first = false;
    append_json_string(out, key);
    out.push_back(':');
    out.append(value);
  }
  out.append("}}");
  return out;
}

std::optional<AuthorizerResult> AuthorizerCache::find(const std::string& key) {
  std::lock_guard lock(m_mutex);
  const auto it = m_entries.find(key);
  if (it == m_entries.end())
    return std::nullopt;
  if (std::chrono::steady_clock::now() >= it->second.expires) {
    m_entries.erase(it);
    return std::nullopt;
  }
  return it->second.result;
}

void AuthorizerCache::store(const std::string& key, const AuthorizerResult& result,
                            std::chrono::seconds ttl) {
  if (ttl.count() <= 0)
    return;
  std::lock_guard lock(m_mutex);
  if (m_entries.size() > 10000)
    m_entries.clear(); // a local cache never needs to be big
  m_entries[key] = Entry{result, std::chrono::steady_clock::now() + ttl};
}

} // namespace wisp::gateway
