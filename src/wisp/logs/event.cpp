#include <wisp/logs/event.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <initializer_list>

namespace wisp::logs {

namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// 8-4-4-4-12 hex digits: what Lambda's request ids look like.
bool is_uuid(std::string_view text) {
  if (text.size() != 36)
    return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !is_hex(text[i]))
      return false;
  }
  return true;
}

std::string json_request_id(std::string_view message) {
  boost::system::error_code ec;
  const auto value = boost::json::parse(message, ec);
  if (ec || !value.is_object())
    return {};
  const auto& object = value.get_object();
  const auto string_at = [](const boost::json::object& o, std::string_view key) -> std::string {
    if (const auto* v = o.if_contains(key); v != nullptr && v->is_string())
      return std::string(v->get_string());
    return {};
  };
  for (const auto* key : {"requestId", "AWSRequestId", "function_request_id", "request_id"})
    if (auto id = string_at(object, key); !id.empty())
      return id;
  if (const auto* record = object.if_contains("record"); record != nullptr && record->is_object())
    return string_at(record->get_object(), "requestId");
  return {};
}

bool starts_with_any(std::string_view text, std::initializer_list<std::string_view> prefixes) {
  for (const auto prefix : prefixes)
    if (text.starts_with(prefix))
      return true;
  return false;
}

} // namespace

std::string_view stream_version(std::string_view log_stream) {
  // YYYY/MM/DD/[version]id
  if (log_stream.size() < 13 || log_stream[4] != '/' || log_stream[7] != '/' ||
      log_stream[10] != '/' || log_stream[11] != '[')
    return {};
  const auto close = log_stream.find(']', 12);
  if (close == std::string_view::npos)
    return {};
  return log_stream.substr(12, close - 12);
}

std::string request_id_of(std::string_view message) {
  if (!message.empty() && message.front() == '{')
    return json_request_id(message);
  // The first few whitespace-separated words of the line.
  std::size_t i = 0;
  for (int word = 0; word < 6 && i < message.size(); ++word) {
    while (i < message.size() && (message[i] == ' ' || message[i] == '\t'))
      ++i;
    const auto start = i;
    while (i < message.size() && message[i] != ' ' && message[i] != '\t' && message[i] != '\n' &&
           message[i] != '\r')
      ++i;
    auto token = message.substr(start, i - start);
    while (!token.empty() && (token.back() == ',' || token.back() == ':'))
      token.remove_suffix(1);
    if (is_uuid(token))
      return std::string(token);
    if (i < message.size() && (message[i] == '\n' || message[i] == '\r'))
      break;
  }
  // "RequestId: <id> Error: Runtime exited ..." further into the line.
  const auto at = message.find("RequestId: ");
  if (at != std::string_view::npos && at + 11 + 36 <= message.size()) {
    const auto token = message.substr(at + 11, 36);
    if (is_uuid(token))
      return std::string(token);
  }
  return {};
}

bool is_platform_line(std::string_view message) {
  if (starts_with_any(message,
                      {"START RequestId: ", "END RequestId: ", "REPORT RequestId: ", "INIT_START ",
                       "INIT_REPORT ", "INIT_RUNTIME_DONE", "RESTORE_START ", "RESTORE_REPORT ",
                       "EXTENSION\t", "TELEMETRY\t", "PLATFORM\t"}))
    return true;
  return message.starts_with("{") && message.find("\"type\":\"platform.") != std::string_view::npos;
}

bool is_error_line(std::string_view message) {
  if (starts_with_any(message, {"[ERROR]", "Traceback (most recent call last)", "ERROR "}))
    return true;
  for (const auto needle :
       {std::string_view("\tERROR\t"), std::string_view("Task timed out after"),
        std::string_view("Runtime.ExitError"), std::string_view("Runtime exited"),
        std::string_view("\"level\":\"ERROR\""), std::string_view("\"level\": \"ERROR\""),
        std::string_view("\"errorType\""), std::string_view("Unhandled Promise Rejection"),
        std::string_view("[ERROR] ")})
    if (message.find(needle) != std::string_view::npos)
      return true;
  return false;
}

} // namespace wisp::logs
