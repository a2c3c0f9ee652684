#include <wisp/logs/remote.hpp>

#include <wisp/logs/tail.hpp>
#include <wisp/logs/time.hpp>
#include <wisp/support/http.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

namespace wisp::logs {

namespace {

constexpr std::string_view k_logs_target = "Logs_20140328";
// A tail that fails or is throttled waits at most this long between polls.
constexpr std::int64_t k_max_poll_interval_ms = 30'000;
// How often --stage re-reads the alias while tailing (a canary moves it).
constexpr std::int64_t k_alias_refresh_ms = 30'000;
// While failing, the same warning is repeated at most this often.
constexpr std::int64_t k_warning_repeat_ms = 30'000;
// A nextToken loop that never ends is cut off after this many pages of nothing.
constexpr int k_max_empty_pages = 1000;

std::int64_t now_ms() {
  return to_epoch_ms(std::chrono::system_clock::now());
}

std::int64_t int64_of(const boost::json::value* value) {
  if (value == nullptr)
    return 0;
  if (value->is_int64())
    return value->get_int64();
  if (value->is_uint64())
    return static_cast<std::int64_t>(value->get_uint64());
  if (value->is_double())
    return static_cast<std::int64_t>(value->get_double());
  return 0;
}

std::string string_of(const boost::json::object& object, std::string_view key) {
  if (const auto* value = object.if_contains(key); value != nullptr && value->is_string())
    return std::string(value->get_string());
  return {};
}

bool version_selected(const Source& source, const LogEvent& event) {
  if (source.versions.empty())
    return true;
  const auto version = stream_version(event.log_stream);
  return std::find(source.versions.begin(), source.versions.end(), version) !=
         source.versions.end();
}

bool throttled(const aws::ServiceError& error) {
  return error.status == 429 || aws::is_throttling_code(error.code);
}

support::Error missing_group_error(const Source& source) {
  std::string message = fmt::format("log group {} does not exist", source.log_group);
  if (!source.function.empty())
    message += fmt::format(" (Lambda creates it when function {} first runs; has it been "
                           "deployed and invoked?)",
                           source.function);
  return support::Error{std::move(message), {}, support::ExitCode::failure};
}

// Sleeps until `until_ms` in small steps, returning early when the user stops.
void sleep_until(std::int64_t until_ms, const Sink& sink) {
  while (!(sink.stopped && sink.stopped())) {
    const auto left = until_ms - now_ms();
    if (left <= 0)
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<std::int64_t>(left, 50)));
  }
}

void emit(const std::vector<LogEvent>& events, const Sink& sink) {
  for (const auto& event : events)
    sink.event(event);
}

support::Status run_once(const Plan& plan, const Sink& sink) {
  std::vector<LogEvent> all;
  for (std::size_t i = 0; i < plan.sources.size(); ++i) {
    const auto& source = plan.sources[i];
    detail::FilterQuery query{source.log_group, plan.start_ms, plan.end_ms, plan.pattern.text()};
    auto events = detail::filter_log_events(*plan.client, query, sink.stopped);
    if (!events) {
      if (events.error().not_found() && plan.skip_missing_groups && sink.warning) {
        sink.warning(missing_group_error(source).message);
        continue;
      }
      if (events.error().not_found())
        return tl::unexpected(missing_group_error(source));
      return tl::unexpected(support::Error(events.error()));
    }
    for (auto& event : *events) {
      if (!version_selected(source, event))
        continue;
      event.source = i;
      all.push_back(std::move(event));
    }
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const LogEvent& a, const LogEvent& b) { return a.timestamp < b.timestamp; });
  emit(all, sink);
  return {};
}

support::Status run_tail(const Plan& plan, const Sink& sink) {
  std::vector<TailWindow> windows;
  windows.reserve(plan.sources.size());
  for (std::size_t i = 0; i < plan.sources.size(); ++i)
    windows.emplace_back(plan.start_ms, plan.tuning);
  auto sources = plan.sources; // versions change when the alias moves
  Reorderer reorderer(plan.tuning);
  const std::int64_t base_interval = plan.poll_interval.count();
  std::int64_t interval = base_interval;
  int failures = 0;
  std::int64_t last_warning = 0;
  std::string last_warning_text;
  std::int64_t next_alias_refresh = now_ms() + k_alias_refresh_ms;
  bool first = true;

  while (!(sink.stopped && sink.stopped())) {
    const auto poll_started = now_ms();
    bool failed = false;
    bool was_throttled = false;
    std::string failure;
    for (std::size_t i = 0; i < sources.size(); ++i) {
      const auto& source = sources[i];
      detail::FilterQuery query{source.log_group, windows[i].query_start(), std::nullopt,
                                plan.pattern.text()};
      auto events = detail::filter_log_events(*plan.client, query, sink.stopped);
      if (!events) {
        if (first && events.error().not_found())
          return tl::unexpected(missing_group_error(source));
        failed = true;
        was_throttled = was_throttled || throttled(events.error());
        if (failure.empty())
          failure = events.error().describe();
        continue;
      }
      const auto arrived = now_ms();
      for (auto& event : *events) {
        if (!windows[i].first_time(event) || !version_selected(source, event))
          continue;
        event.source = i;
        const auto lateness =
            (event.ingestion_time > 0 ? event.ingestion_time : arrived) - event.timestamp;
        reorderer.push(std::move(event), arrived, lateness);
      }
      windows[i].poll_succeeded(poll_started);
    }
    first = false;
    emit(reorderer.release(now_ms(), !failed), sink);

    if (failed) {
      ++failures;
      interval = std::min(k_max_poll_interval_ms, base_interval << std::min(failures, 5));
      const auto now = now_ms();
      if (sink.warning &&
          (failure != last_warning_text || now - last_warning >= k_warning_repeat_ms)) {
        sink.warning(fmt::format("{}: {}; retrying in {} s (no event is lost while it fails)",
                                 was_throttled ? "CloudWatch Logs is throttling"
                                               : "CloudWatch Logs poll failed",
                                 failure, (interval + 999) / 1000));
        last_warning = now;
        last_warning_text = failure;
      }
    } else {
      if (failures > 0 && sink.notice)
        sink.notice("CloudWatch Logs answers again; resuming the tail");
      failures = 0;
      last_warning_text.clear();
      interval = std::max(base_interval, interval / 2);
    }

    if (!plan.stage.empty() && now_ms() >= next_alias_refresh) {
      next_alias_refresh = now_ms() + k_alias_refresh_ms;
      for (auto& source : sources) {
        if (source.function.empty())
          continue;
        auto versions = alias_versions(*plan.client, source.function, plan.stage);
        if (!versions) {
          if (sink.warning)
            sink.warning(fmt::format("could not re-read stage alias {} of {}: {}", plan.stage,
                                     source.function, versions.error().message));
          continue;
        }
        if (*versions != source.versions && sink.notice)
          sink.notice(fmt::format("stage {} of {} now routes to version{} {}", plan.stage,
                                  source.function, versions->size() == 1 ? "" : "s",
                                  fmt::join(*versions, ", ")));
        source.versions = std::move(*versions);
      }
    }

    // Wait for the next poll, printing held events as they fall due.
    const auto next_poll = poll_started + interval;
    while (!(sink.stopped && sink.stopped())) {
      const auto now = now_ms();
      if (now >= next_poll)
        break;
      auto wake = next_poll;
      if (auto due = reorderer.next_due(now, !failed))
        wake = std::min(wake, std::max(*due, now + 1));
      sleep_until(wake, sink);
      emit(reorderer.release(now_ms(), !failed), sink);
    }
  }
  emit(reorderer.drain(), sink);
  return {};
}

} // namespace

namespace detail {

aws::AwsResult<std::vector<LogEvent>> filter_log_events(const aws::Client& client,
                                                        const FilterQuery& query,
                                                        const std::function<bool()>& stopped) {
  std::vector<LogEvent> events;
  std::string token;
  std::set<std::string> tokens_seen;
  int empty_pages = 0;
  while (true) {
    boost::json::object body;
    body["logGroupName"] = query.log_group;
    body["startTime"] = query.start_ms;
    if (query.end_ms)
      body["endTime"] = *query.end_ms;
    if (!query.filter_pattern.empty())
      body["filterPattern"] = query.filter_pattern;
    body["interleaved"] = true;
    if (!token.empty())
      body["nextToken"] = token;
    auto response = client.json_rpc(aws::Service::logs, k_logs_target, "FilterLogEvents", body);
    if (!response)
      return tl::unexpected(std::move(response).error());
    const auto* object = response->if_object();
    if (object == nullptr) {
      aws::ServiceError error;
      error.service = "logs";
      error.operation = "FilterLogEvents";
      error.code = "InvalidResponse";
      error.message = "the response is not a JSON object";
      return tl::unexpected(std::move(error));
    }
    std::size_t page_events = 0;
    if (const auto* list = object->if_contains("events"); list != nullptr && list->is_array()) {
      for (const auto& item : list->get_array()) {
        const auto* e = item.if_object();
        if (e == nullptr)
          continue;
        LogEvent event;
        event.timestamp = int64_of(e->if_contains("timestamp"));
        event.ingestion_time = int64_of(e->if_contains("ingestionTime"));
        event.log_group = query.log_group;
        event.log_stream = string_of(*e, "logStreamName");
        event.event_id = string_of(*e, "eventId");
        event.message = string_of(*e, "message");
        event.request_id = request_id_of(event.message);
        events.push_back(std::move(event));
        ++page_events;
      }
    }
    token = string_of(*object, "nextToken");
    if (token.empty() || !tokens_seen.insert(token).second)
      break;
    empty_pages = page_events == 0 ? empty_pages + 1 : 0;
    if (empty_pages > k_max_empty_pages || (stopped && stopped()))
      break;
  }
  return events;
}

support::Status run_remote(const Plan& plan, const Sink& sink) {
  return plan.tail ? run_tail(plan, sink) : run_once(plan, sink);
}

} // namespace detail

support::Result<std::vector<std::string>>
alias_versions(const aws::Client& client, std::string_view function_name, std::string_view alias) {
  const auto path =
      fmt::format("/2015-03-31/functions/{}/aliases/{}", support::http::url_encode(function_name),
                  support::http::url_encode(alias));
  auto response = client.rest_json(aws::Service::lambda, "GetAlias", "GET", path);
  if (!response) {
    if (response.error().not_found())
      return support::failf("function {} has no alias '{}' (was the app deployed with stage "
                            "'{}'?)",
                            function_name, alias, alias);
    return tl::unexpected(support::Error(response.error()));
  }
  std::vector<std::string> versions;
  const auto* object = response->if_object();
  if (object != nullptr) {
    if (auto version = string_of(*object, "FunctionVersion"); !version.empty())
      versions.push_back(std::move(version));
    if (const auto* routing = object->if_contains("RoutingConfig");
        routing != nullptr && routing->is_object()) {
      if (const auto* weights = routing->get_object().if_contains("AdditionalVersionWeights");
          weights != nullptr && weights->is_object())
        for (const auto& [version, weight] : weights->get_object())
          if (std::find(versions.begin(), versions.end(), version) == versions.end())
            versions.emplace_back(version);
    }
  }
  if (versions.empty())
    return support::failf("alias '{}' of function {} names no version", alias, function_name);
  return versions;
}

} // namespace wisp::logs
