#include <wisp/logs/format.hpp>

#include <wisp/logs/time.hpp>
#include <wisp/support/terminal.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace wisp::logs {

namespace {

// One colour per function, in the order the functions are listed.
constexpr std::array<std::string_view, 10> k_palette{"36", "35", "33", "34", "32",
                                                     "96", "95", "93", "94", "92"};
constexpr std::size_t k_request_id_width = 36;

std::string normalize_message(std::string_view message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r'))
    message.remove_suffix(1);
  std::string out(message);
  std::replace(out.begin(), out.end(), '\r', '\n');
  return out;
}

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (const char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0u) != 0x80u)
      ++width;
  return width;
}

} // namespace

Formatter::Formatter(std::vector<std::string> labels, bool color, bool json)
    : m_labels(std::move(labels)), m_color(color), m_json(json) {
  for (const auto& label : m_labels)
    m_width = std::max(m_width, display_width(label));
}

std::string Formatter::line(const LogEvent& event) const {
  return m_json ? json_line(event) : text_line(event);
}

std::string Formatter::text_line(const LogEvent& event) const {
  const support::Style style(m_color);
  const std::string label = event.source < m_labels.size() ? m_labels[event.source] : "";
  std::string padded = label;
  padded.append(m_width - std::min(m_width, display_width(label)), ' ');
  const auto version = stream_version(event.log_stream);
  std::string request_id = event.request_id.empty() ? std::string("-") : event.request_id;
  if (request_id.size() < k_request_id_width)
    request_id.append(k_request_id_width - request_id.size(), ' ');
  const auto message = normalize_message(event.message);

  std::string out = style.dim(format_utc(event.timestamp));
  out += "  ";
  out += style.code(k_palette[event.source % k_palette.size()], padded);
  out += "  ";
  if (!version.empty()) {
    out += style.dim(fmt::format("[{}]", version));
    out += "  ";
  }
  out += style.dim(request_id);
  out += "  ";
  if (is_platform_line(event.message))
    out += style.dim(message);
  else if (is_error_line(event.message))
    out += style.red(message);
  else
    out += message;
  out += '\n';
  return out;
}

std::string Formatter::json_line(const LogEvent& event) const {
  boost::json::object object;
  object["timestamp"] = event.timestamp;
  object["time"] = format_utc(event.timestamp);
  object["function"] = event.source < m_labels.size() ? m_labels[event.source] : "";
  object["logGroupName"] = event.log_group;
  object["logStreamName"] = event.log_stream;
  object["version"] = stream_version(event.log_stream);
  object["requestId"] = event.request_id;
  object["message"] = event.message;
  if (!event.event_id.empty())
    object["eventId"] = event.event_id;
  if (event.ingestion_time > 0)
    object["ingestionTime"] = event.ingestion_time;
  auto out = boost::json::serialize(object);
  out += '\n';
  return out;
}

} // namespace wisp::logs
