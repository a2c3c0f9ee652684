// MOCK integrations of WebSocket routes (websocket_mock.hpp).

#include <wisp/gateway/websocket_mock.hpp>

#include <boost/json.hpp>

#include <cctype>
#include <cstdlib>
#include <regex>

namespace wisp::gateway {

namespace json = boost::json;

namespace {

std::optional<std::string_view> context_value(std::string_view name, const MockContext& context) {
  if (name == "connectionId")
    return context.connection_id;
  if (name == "requestId" || name == "extendedRequestId")
    return context.request_id;
  if (name == "routeKey")
    return context.route_key;
  if (name == "eventType")
    return context.event_type;
  if (name == "messageId")
    return context.message_id;
  if (name == "stage")
    return context.stage;
  if (name == "apiId")
    return context.api_id;
  if (name == "domainName")
    return context.domain_name;
  return std::nullopt;
}

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// The template a key map holds for a message: `$default` (written `\$default` as well),
// else its only entry.
const std::string* pick(const std::map<std::string, std::string>& templates) {
  for (const auto* key : {"$default", "\\$default"})
    if (const auto it = templates.find(key); it != templates.end())
      return &it->second;
  if (templates.size() == 1)
    return &templates.begin()->second;
  return nullptr;
}

bool key_matches(std::string_view key, unsigned status) {
  if (key.size() >= 2 && key.front() == '/' && key.back() == '/') {
    try {
      return std::regex_match(std::to_string(status),
                              std::regex(std::string(key.substr(1, key.size() - 2))));
    } catch (const std::regex_error&) {
      return false;
    }
  }
  return key == std::to_string(status);
}

} // namespace

std::string render_mock_template(std::string_view text, const MockContext& context) {
  std::string out;
  out.reserve(text.size() + 64);
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$') {
      out.push_back(text[i++]);
      continue;
    }
    const auto rest = text.substr(i);
    if (rest.starts_with("$input.body")) {
      out.append(context.body);
      i += 11;
      continue;
    }
    if (rest.starts_with("$input.json('$')") || rest.starts_with("$input.json(\"$\")")) {
      out.append(context.body.empty() ? std::string_view("{}") : context.body);
      i += 16;
      continue;
    }
    const bool braced = rest.starts_with("${context.");
    if (braced || rest.starts_with("$context.")) {
      const std::size_t start = braced ? 10 : 9;
      std::size_t end = start;
      while (end < rest.size() && name_char(rest[end]))
        ++end;
      const auto value = context_value(rest.substr(start, end - start), context);
      if (value && (!braced || (end < rest.size() && rest[end] == '}'))) {
        out.append(*value);
        i += end + (braced ? 1 : 0);
        continue;
      }
    }
    out.push_back(text[i++]);
  }
  return out;
}

MockAnswer run_mock(const sam::WebSocketRoute& route, const MockContext& context) {
  MockAnswer answer;
  if (const auto* request = pick(route.request_templates)) {
    boost::system::error_code ec;
    const auto value = json::parse(render_mock_template(*request, context), ec);
    const auto* code =
        !ec && value.is_object() ? value.as_object().if_contains("statusCode") : nullptr;
    if (code != nullptr && code->is_int64())
      answer.status = static_cast<unsigned>(code->as_int64());
    else if (code != nullptr && code->is_string())
      answer.status = static_cast<unsigned>(std::atoi(code->as_string().c_str()));
    if (answer.status < 100 || answer.status > 599)
      answer.status = 500;
  }
  answer.body = integration_response(route, answer.status, context);
  return answer;
}

std::optional<std::string> integration_response(const sam::WebSocketRoute& route, unsigned status,
                                                const MockContext& context) {
  const sam::WebSocketRoute::IntegrationResponse* chosen = nullptr;
  for (const auto& response : route.integration_responses)
    if (response.key != "$default" && key_matches(response.key, status)) {
      chosen = &response;
      break;
    }
  if (chosen == nullptr)
    for (const auto& response : route.integration_responses)
      if (response.key == "$default") {
        chosen = &response;
        break;
      }
  if (chosen != nullptr)
    if (const auto* text = pick(chosen->response_templates))
      return render_mock_template(*text, context);
  return std::nullopt;
}

std::optional<std::string> request_template(const sam::WebSocketRoute& route,
                                            const MockContext& context) {
  if (const auto* text = pick(route.request_templates))
    return render_mock_template(*text, context);
  return std::nullopt;
}

std::optional<std::string_view> mock_context_value(std::string_view name,
                                                   const MockContext& context) {
  return context_value(name, context);
}

} // namespace wisp::gateway
