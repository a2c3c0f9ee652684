// WebSocket API events, route selection and the frame meter (websocket_event.hpp).

#include <wisp/gateway/text.hpp>
#include <wisp/gateway/websocket_event.hpp>
#include <wisp/support/hash.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <utility>
#include <vector>

namespace wisp::gateway {

namespace {

using Pairs = std::vector<std::pair<std::string, std::vector<std::string>>>;

void add_value(Pairs& pairs, std::string_view name, std::string_view value) {
  for (auto& [key, values] : pairs)
    if (key == name) {
      values.emplace_back(value);
      return;
    }
  pairs.emplace_back(std::string(name), std::vector<std::string>{std::string(value)});
}

// "name":{"k":"last",..},"multiName":{"k":["v",..],..}
void write_pairs(std::string& out, std::string_view name, std::string_view multi_name,
                 const Pairs& pairs) {
  out.push_back('"');
  out.append(name);
  out.append("\":{");
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    append_json_string(out, pairs[i].first);
    out.push_back(':');
    append_json_string(out, pairs[i].second.back());
  }
  out.append("},\"");
  out.append(multi_name);
  out.append("\":{");
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    append_json_string(out, pairs[i].first);
    out.append(":[");
    for (std::size_t k = 0; k < pairs[i].second.size(); ++k) {
      if (k > 0)
        out.push_back(',');
      append_json_string(out, pairs[i].second[k]);
    }
    out.push_back(']');
  }
  out.push_back('}');
}

Pairs query_pairs(std::string_view raw_query) {
  Pairs pairs;
  while (!raw_query.empty()) {
    const auto amp = raw_query.find('&');
    const auto part = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view{} : raw_query.substr(amp + 1);
    if (part.empty())
      continue;
    const auto eq = part.find('=');
    add_value(pairs, percent_decoded(part.substr(0, eq), true),
              eq == std::string_view::npos ? std::string()
                                           : percent_decoded(part.substr(eq + 1), true));
  }
  return pairs;
}

void write_stage_variables(std::string& out, const WsApiInfo& api) {
  out.append("\"stageVariables\":");
  write_string_map(out, api.stage_variables, true);
}

// requestContext up to (not including) the closing brace.
void write_context(std::string& out, const WsApiInfo& api, const WsConnectionInfo& conn,
                   const WsEventInfo& info, std::string_view event_type,
                   std::string_view message_id, const int* disconnect_code,
                   std::string_view disconnect_reason, bool authorizer) {
  out.append("\"requestContext\":{\"routeKey\":");
  append_json_string(out, info.route_key);
  if (!message_id.empty()) {
    out.append(",\"messageId\":");
    append_json_string(out, message_id);
  }
  if (disconnect_code != nullptr) {
    out.append(",\"disconnectStatusCode\":");
    out.append(std::to_string(*disconnect_code));
  }
  out.append(",\"eventType\":\"");
  out.append(event_type);
  out.append("\",\"extendedRequestId\":");
  append_json_string(out, info.request_id);
  out.append(",\"requestTime\":");
  append_json_string(out, format_request_time(info.time_ms));
  out.append(",\"messageDirection\":\"IN\"");
  if (disconnect_code != nullptr) {
    out.append(",\"disconnectReason\":");
    append_json_string(out, disconnect_reason);
  }
  out.append(",\"stage\":");
  append_json_string(out, api.stage);
  out.append(",\"connectedAt\":");
  out.append(std::to_string(conn.connected_at));
  out.append(",\"requestTimeEpoch\":");
  out.append(std::to_string(info.time_ms));
  out.append(",\"identity\":{");
  out.append(conn.identity_json);
  if (!conn.user_agent.empty()) {
    out.append("\"userAgent\":");
    append_json_string(out, conn.user_agent);
    out.push_back(',');
  }
  out.append("\"sourceIp\":");
  append_json_string(out, conn.source_ip);
  out.append("},\"requestId\":");
  append_json_string(out, info.request_id);
  out.append(",\"domainName\":");
  append_json_string(out, conn.domain_name);
  out.append(",\"connectionId\":");
  append_json_string(out, conn.connection_id);
  out.append(",\"apiId\":");
  append_json_string(out, api.api_id);
  if (authorizer && !conn.authorizer_json.empty()) {
    out.append(",\"authorizer\":");
    out.append(conn.authorizer_json);
  }
}

bool skipped_connect_header(std::string_view name) {
  return iequals_ascii(name, "connection") || iequals_ascii(name, "upgrade") ||
         iequals_ascii(name, "content-length");
}

} // namespace

void write_ws_connect_event(std::string& out, const WsApiInfo& api, const WsConnectionInfo& conn,
                            const Request& request, const WsEventInfo& info) {
  Pairs headers;
  for (const auto& header : request.headers)
    if (!skipped_connect_header(header.name))
      add_value(headers, header.name, header.value);
  out.push_back('{');
  write_pairs(out, "headers", "multiValueHeaders", headers);
  if (const auto query = query_pairs(request.raw_query); !query.empty()) {
    out.push_back(',');
    write_pairs(out, "queryStringParameters", "multiValueQueryStringParameters", query);
  }
  if (!api.stage_variables.empty()) {
    out.push_back(',');
    write_stage_variables(out, api);
  }
  out.push_back(',');
  write_context(out, api, conn, info, "CONNECT", {}, nullptr, {}, true);
  out.append("},\"isBase64Encoded\":false}");
}

void write_ws_message_event(std::string& out, const WsApiInfo& api, const WsConnectionInfo& conn,
                            const WsEventInfo& info, std::string_view message_id,
                            std::string_view body, bool binary) {
  out.push_back('{');
  write_context(out, api, conn, info, "MESSAGE", message_id, nullptr, {}, true);
  out.append("},\"body\":");
  if (binary) {
    out.push_back('"');
    out.append(support::base64_encode(body));
    out.push_back('"');
  } else {
    append_json_string(out, body);
  }
  out.append(",\"isBase64Encoded\":");
  out.append(binary ? "true" : "false");
  if (!api.stage_variables.empty()) {
    out.push_back(',');
    write_stage_variables(out, api);
  }
  out.push_back('}');
}

void write_ws_disconnect_event(std::string& out, const WsApiInfo& api, const WsConnectionInfo& conn,
                               const WsEventInfo& info, int status_code, std::string_view reason) {
  Pairs headers;
  add_value(headers, "Host", conn.domain_name);
  add_value(headers, "x-api-key", "");
  add_value(headers, "X-Forwarded-For", "");
  add_value(headers, "x-restapi", "");
  out.push_back('{');
  write_pairs(out, "headers", "multiValueHeaders", headers);
  if (!api.stage_variables.empty()) {
    out.push_back(',');
    write_stage_variables(out, api);
  }
  out.push_back(',');
  write_context(out, api, conn, info, "DISCONNECT", {}, &status_code, reason, true);
  out.append("},\"isBase64Encoded\":false}");
}

void write_ws_authorizer_event(std::string& out, const WsApiInfo& api, const WsConnectionInfo& conn,
                               const Request& request, const WsEventInfo& info,
                               std::string_view method_arn) {
  Pairs headers;
  bool has_length = false;
  for (const auto& header : request.headers) {
    has_length = has_length || iequals_ascii(header.name, "content-length");
    add_value(headers, header.name, header.value);
  }
  if (!has_length)
    add_value(headers, "content-length", "0");
  out.append("{\"type\":\"REQUEST\",\"methodArn\":");
  append_json_string(out, method_arn);
  out.push_back(',');
  write_pairs(out, "headers", "multiValueHeaders", headers);
  out.push_back(',');
  write_pairs(out, "queryStringParameters", "multiValueQueryStringParameters",
              query_pairs(request.raw_query));
  out.push_back(',');
  write_stage_variables(out, api);
  out.push_back(',');
  write_context(out, api, conn, info, "CONNECT", {}, nullptr, {}, false);
  out.append("},\"isBase64Encoded\":false,\"body\":null}");
}

std::optional<std::string> select_route_key(std::string_view expression, std::string_view body) {
  std::optional<boost::json::value> parsed;
  const auto lookup = [&](std::string_view path) -> std::optional<std::string> {
    // path: request.body.a.b
    constexpr std::string_view prefix = "request.body";
    if (!path.starts_with(prefix))
      return std::nullopt;
    path.remove_prefix(prefix.size());
    if (!parsed) {
      boost::system::error_code ec;
      parsed = boost::json::parse(body, ec);
      if (ec)
        parsed = boost::json::value();
    }
    const boost::json::value* at = &*parsed;
    while (!path.empty()) {
      if (path.front() != '.' || !at->is_object())
        return std::nullopt;
      path.remove_prefix(1);
      const auto dot = path.find('.');
      at = at->as_object().if_contains(path.substr(0, dot));
      if (at == nullptr)
        return std::nullopt;
      path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot);
    }
    if (at->is_string())
      return std::string(at->as_string());
    if (at->is_int64() || at->is_uint64() || at->is_double() || at->is_bool())
      return boost::json::serialize(*at);
    return std::nullopt;
  };
  if (expression.starts_with("$request.")) // the whole expression is one selection
    return lookup(expression.substr(1));
  std::string key;
  while (!expression.empty()) {
    const auto open = expression.find("${");
    if (open == std::string_view::npos) {
      key.append(expression);
      break;
    }
    key.append(expression.substr(0, open));
    const auto close = expression.find('}', open);
    if (close == std::string_view::npos) {
      key.append(expression.substr(open));
      break;
    }
    auto value = lookup(expression.substr(open + 2, close - open - 2));
    if (!value)
      return std::nullopt;
    key.append(*value);
    expression.remove_prefix(close + 1);
  }
  return key;
}

std::optional<std::string> ws_identity_value(std::string_view source, const Request& request,
                                             const WsApiInfo& api) {
  std::optional<std::string> value;
  constexpr std::string_view header = "route.request.header.";
  constexpr std::string_view query = "route.request.querystring.";
  constexpr std::string_view stage = "stageVariables.";
  if (source.starts_with(header)) {
    const auto name = source.substr(header.size());
    if (request.has_header(name))
      value = std::string(request.header(name));
  } else if (source.starts_with(query)) {
    const auto name = source.substr(query.size());
    for (const auto& [key, values] : query_pairs(request.raw_query))
      if (key == name)
        value = values.back();
  } else if (source.starts_with(stage)) {
    if (const auto it = api.stage_variables.find(std::string(source.substr(stage.size())));
        it != api.stage_variables.end())
      value = it->second;
  }
  if (value && value->empty())
    return std::nullopt;
  return value;
}

void FrameMeter::consume(std::string_view bytes) {
  while (!bytes.empty()) {
    if (m_skip > 0) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(m_skip, bytes.size()));
      m_skip -= n;
      bytes.remove_prefix(n);
      continue;
    }
    m_header[m_have++] = static_cast<unsigned char>(bytes.front());
    bytes.remove_prefix(1);
    if (m_have < 2)
      continue;
    const unsigned len7 = m_header[1] & 0x7Fu;
    const bool masked = (m_header[1] & 0x80u) != 0;
    const std::size_t extended = len7 == 126 ? 2 : (len7 == 127 ? 8 : 0);
    const std::size_t need = 2 + extended + (masked ? 4 : 0);
    if (m_have < need)
      continue;
    std::uint64_t length = len7;
    if (extended > 0) {
      length = 0;
      for (std::size_t i = 0; i < extended; ++i)
        length = (length << 8) | m_header[2 + i];
    }
    const unsigned opcode = m_header[0] & 0x0Fu;
    if (opcode < 0x8 && length > k_frame_limit) // data or continuation frame
      m_oversized = true;
    m_skip = length;
    m_have = 0;
  }
}

} // namespace wisp::gateway
