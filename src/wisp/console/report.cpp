// Reading Lambda's REPORT from a log message (report.hpp).

#include <wisp/console/report.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <cmath>

namespace wisp::console {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  return text;
}

std::optional<double> to_double(std::string_view text) {
  double value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value) || value < 0)
    return std::nullopt;
  return value;
}

std::optional<std::uint64_t> to_uint(std::string_view text) {
  // Billed durations are integers; accept "228" and, defensively, "228.0".
  const auto value = to_double(text);
  if (!value || *value > 1e15)
    return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(*value));
}

// The text REPORT line: "REPORT RequestId: <id>" then "Label: value [unit]" fields.
std::optional<Report> parse_text(std::string_view line) {
  constexpr std::string_view k_prefix = "REPORT RequestId:";
  if (!line.starts_with(k_prefix))
    return std::nullopt;
  Report report;
  bool have_duration = false;
  bool have_billed = false;
  std::size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && is_space(line[pos]))
      ++pos;
    const auto colon = line.find(':', pos);
    if (colon == std::string_view::npos)
      break;
    const auto label = trim(line.substr(pos, colon - pos));
    pos = colon + 1;
    while (pos < line.size() && line[pos] == ' ')
      ++pos;
    auto value_end = pos;
    while (value_end < line.size() && !is_space(line[value_end]))
      ++value_end;
    const auto value = line.substr(pos, value_end - pos);
    pos = value_end;
    // A unit after the value ("ms", "MB") belongs to it.
    auto unit_pos = pos;
    while (unit_pos < line.size() && line[unit_pos] == ' ')
      ++unit_pos;
    for (const std::string_view unit : {"ms", "MB"}) {
      if (line.substr(unit_pos).starts_with(unit) &&
          (unit_pos + unit.size() == line.size() || is_space(line[unit_pos + unit.size()]))) {
        pos = unit_pos + unit.size();
        break;
      }
    }
    if (label == "REPORT RequestId") {
      report.request_id = std::string(value);
    } else if (label == "Duration") {
      if (auto v = to_double(value)) {
        report.duration_ms = *v;
        have_duration = true;
      }
    } else if (label == "Billed Duration") {
      if (auto v = to_uint(value)) {
        report.billed_duration_ms = *v;
        have_billed = true;
      }
    } else if (label == "Memory Size") {
      if (auto v = to_uint(value))
        report.memory_size_mb = static_cast<int>(*v);
    } else if (label == "Max Memory Used") {
      if (auto v = to_uint(value))
        report.max_memory_used_mb = static_cast<int>(*v);
    } else if (label == "Init Duration") {
      report.init_duration_ms = to_double(value);
    } else if (label == "Restore Duration") {
      report.restore_duration_ms = to_double(value);
    } else if (label == "Billed Restore Duration") {
      report.billed_restore_ms = to_uint(value);
    } else if (label == "Status") {
      report.status = std::string(value);
    } else if (label == "Error Type") {
      report.error_type = std::string(value);
    }
  }
  if (!have_duration || !have_billed)
    return std::nullopt;
  return report;
}

double number_of(const boost::json::value& value) {
  if (value.is_double())
    return value.get_double();
  if (value.is_int64())
    return static_cast<double>(value.get_int64());
  if (value.is_uint64())
    return static_cast<double>(value.get_uint64());
  return -1;
}

// The JSON log format's platform.report record.
std::optional<Report> parse_json(std::string_view message) {
  boost::json::error_code ec;
  const auto root = boost::json::parse(message, ec);
  if (ec || !root.is_object())
    return std::nullopt;
  const auto& object = root.get_object();
  const auto* type = object.if_contains("type");
  if (type == nullptr || !type->is_string() || type->get_string() != "platform.report")
    return std::nullopt;
  const auto* record = object.if_contains("record");
  if (record == nullptr || !record->is_object())
    return std::nullopt;
  const auto& rec = record->get_object();
  const auto* metrics_value = rec.if_contains("metrics");
  if (metrics_value == nullptr || !metrics_value->is_object())
    return std::nullopt;
  const auto& metrics = metrics_value->get_object();
  const auto metric = [&](std::string_view name) -> std::optional<double> {
    const auto* v = metrics.if_contains(name);
    if (v == nullptr)
      return std::nullopt;
    const double n = number_of(*v);
    if (n < 0 || !std::isfinite(n))
      return std::nullopt;
    return n;
  };
  const auto duration = metric("durationMs");
  const auto billed = metric("billedDurationMs");
  if (!duration || !billed)
    return std::nullopt;
  Report report;
  if (const auto* id = rec.if_contains("requestId"); id != nullptr && id->is_string())
    report.request_id = std::string(id->get_string());
  report.duration_ms = *duration;
  report.billed_duration_ms = static_cast<std::uint64_t>(std::llround(*billed));
  report.memory_size_mb = static_cast<int>(std::llround(metric("memorySizeMB").value_or(0)));
  report.max_memory_used_mb = static_cast<int>(std::llround(metric("maxMemoryUsedMB").value_or(0)));
  report.init_duration_ms = metric("initDurationMs");
  report.restore_duration_ms = metric("restoreDurationMs");
  if (const auto billed_restore = metric("billedRestoreDurationMs"))
    report.billed_restore_ms = static_cast<std::uint64_t>(std::llround(*billed_restore));
  if (const auto* status = rec.if_contains("status"); status != nullptr && status->is_string())
    if (status->get_string() != "success")
      report.status = std::string(status->get_string());
  if (const auto* error = rec.if_contains("errorType"); error != nullptr && error->is_string())
    report.error_type = std::string(error->get_string());
  return report;
}

} // namespace

std::optional<Report> parse_report(std::string_view message) {
  message = trim(message);
  if (message.starts_with("REPORT "))
    return parse_text(message);
  if (message.starts_with("{") && message.find("platform.report") != std::string_view::npos)
    return parse_json(message);
  return std::nullopt;
}

} // namespace wisp::console
