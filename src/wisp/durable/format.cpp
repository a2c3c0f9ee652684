#include <wisp/durable/format.hpp>

#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

namespace wisp::durable {

namespace json = boost::json;

namespace {

std::string clock_of(std::int64_t ms) {
  const auto seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  return fmt::format("{:02}:{:02}:{:02}.{:03}", tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ((ms % 1000) + 1000) % 1000);
}

std::string shorten(std::string text, std::size_t width) {
  for (auto& c : text)
    if (c == '\n' || c == '\r' || c == '\t')
      c = ' ';
  if (width == 0 || text.size() <= width)
    return text;
  return text.substr(0, width - 3) + "...";
}

std::string duration_text(std::int64_t ms) {
  if (ms < 1000)
    return fmt::format("{} ms", ms);
  if (ms < 120'000)
    return fmt::format("{:.2f} s", static_cast<double>(ms) / 1000.0);
  if (ms < 7'200'000)
    return fmt::format("{}m{:02}s", ms / 60'000, (ms / 1000) % 60);
  return fmt::format("{}h{:02}m", ms / 3'600'000, (ms / 60'000) % 60);
}

std::string error_text(const ErrorObject& error) {
  if (error.type && error.message)
    return *error.type + ": " + *error.message;
  if (error.message)
    return *error.message;
  if (error.type)
    return *error.type;
  return "(no details)";
}

const json::value* find(const json::object& o, std::string_view key) {
  const auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

// What an event carries that a reader wants first: its payload or error.
std::string payload_of(const HistoryEvent& event) {
  for (const auto* key : {"Result", "Input", "Error"}) {
    const auto* v = find(event.details, key);
    if (v == nullptr || !v->is_object())
      continue;
    const auto* payload = find(v->as_object(), "Payload");
    if (payload == nullptr)
      continue;
    if (std::string_view(key) == "Error" && payload->is_object()) {
      if (auto error = error_from_json(*payload))
        return error_text(*error);
    }
    return payload->is_string() ? std::string(payload->as_string()) : json::serialize(*payload);
  }
  return {};
}

std::string details_of(const HistoryEvent& event) {
  const auto& d = event.details;
  std::vector<std::string> parts;
  const auto number = [&](std::string_view key) -> std::optional<std::int64_t> {
    const auto* v = find(d, key);
    if (v != nullptr && v->is_int64())
      return v->as_int64();
    return std::nullopt;
  };
  if (auto t = number("ExecutionTimeout"))
    parts.push_back(fmt::format("timeout {}s", *t));
  if (auto t = number("Duration"))
    parts.push_back(fmt::format("{}s", *t));
  if (auto t = number("Timeout"))
    parts.push_back(fmt::format("timeout {}s", *t));
  if (auto t = number("HeartbeatTimeout"))
    parts.push_back(fmt::format("heartbeat {}s", *t));
  if (const auto* retry = find(d, "RetryDetails"); retry != nullptr && retry->is_object()) {
    const auto& r = retry->as_object();
    if (const auto* a = find(r, "CurrentAttempt"); a != nullptr && a->is_int64())
      parts.push_back(fmt::format("attempt {}", a->as_int64()));
    if (const auto* n = find(r, "NextAttemptDelaySeconds"); n != nullptr && n->is_int64())
      parts.push_back(fmt::format("retry in {}s", n->as_int64()));
  }
  if (const auto* id = find(d, "CallbackId"); id != nullptr && id->is_string())
    parts.push_back("callback " + std::string(id->as_string()));
  if (const auto* id = find(d, "RequestId"); id != nullptr && id->is_string())
    parts.push_back("request " + std::string(id->as_string()));
  if (const auto* fn = find(d, "FunctionName"); fn != nullptr && fn->is_string())
    parts.push_back("function " + std::string(fn->as_string()));
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty())
      out += ", ";
    out += p;
  }
  return out;
}

std::string table(const std::vector<std::string>& headers,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(headers.size());
  for (std::size_t i = 0; i < headers.size(); ++i)
    widths[i] = headers[i].size();
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  std::string out;
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      text += cells[i];
      if (i + 1 < cells.size())
        text += std::string(widths[i] - cells[i].size() + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ')
      text.pop_back();
    out += text;
    out += '\n';
  };
  line(headers);
  for (const auto& row : rows)
    line(row);
  return out;
}

void pretty(std::string& out, const json::value& value, int indent) {
  const auto pad = [&](int n) { out.append(static_cast<std::size_t>(n), ' '); };
  if (value.is_object()) {
    const auto& object = value.as_object();
    if (object.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    std::size_t i = 0;
    for (const auto& [key, item] : object) {
      pad(indent + 2);
      out += json::serialize(json::value(key));
      out += ": ";
      pretty(out, item, indent + 2);
      out += ++i < object.size() ? ",\n" : "\n";
    }
    pad(indent);
    out += "}";
  } else if (value.is_array()) {
    const auto& array = value.as_array();
    if (array.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (std::size_t i = 0; i < array.size(); ++i) {
      pad(indent + 2);
      pretty(out, array[i], indent + 2);
      out += i + 1 < array.size() ? ",\n" : "\n";
    }
    pad(indent);
    out += "]";
  } else {
    out += json::serialize(value);
  }
}

} // namespace

std::string format_json(const json::value& value) {
  std::string out;
  pretty(out, value, 0);
  out += '\n';
  return out;
}

std::string format_time(std::int64_t ms) {
  const auto seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02} {} UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     clock_of(ms));
}

std::string format_summary(const Execution& e) {
  const auto& id = e.identity();
  std::string out;
  out += fmt::format("Execution  {} ({})\n", id.name, to_string(e.status()));
  out += fmt::format("ARN        {}\n", id.arn);
  out += fmt::format("Function   {} ({})\n", id.function_id, id.version);
  out += fmt::format("Started    {}\n", format_time(e.start_ms()));
  if (e.end_ms())
    out += fmt::format("Ended      {} (after {})\n", format_time(*e.end_ms()),
                       duration_text(*e.end_ms() - e.start_ms()));
  out += fmt::format("Input      {}\n", shorten(e.input(), 200));
  if (e.result() && e.status() == ExecutionStatus::succeeded)
    out += fmt::format("Result     {}\n", shorten(*e.result(), 200));
  if (e.error())
    out += fmt::format("Error      {}\n", shorten(error_text(*e.error()), 200));
  std::size_t replays = 0;
  for (const auto& inv : e.invocations())
    replays += inv.replay ? 1 : 0;
  out += fmt::format("Invoked    {} time{} ({} replay{})\n", e.invocations().size(),
                     e.invocations().size() == 1 ? "" : "s", replays, replays == 1 ? "" : "s");
  return out;
}

std::string format_history(const Execution& e, std::size_t width) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& event : e.history())
    rows.push_back({std::to_string(event.event_id), event.type,
                    event.name.empty() ? "-" : shorten(event.name, 32), clock_of(event.time_ms),
                    shorten(details_of(event), width), shorten(payload_of(event), width)});
  return table({"ID", "EVENT", "NAME", "TIME (UTC)", "DETAILS", "PAYLOAD / ERROR"}, rows);
}

std::string format_list(const std::vector<ExecutionSummary>& executions) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : executions)
    rows.push_back({s.function_name, s.name, std::string(to_string(s.status)),
                    format_time(s.start_ms), s.end_ms ? duration_text(*s.end_ms - s.start_ms) : "-",
                    s.arn});
  return table({"FUNCTION", "NAME", "STATUS", "STARTED", "DURATION", "ARN"}, rows);
}

} // namespace wisp::durable
