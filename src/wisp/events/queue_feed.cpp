// Queue feeds: SQS event sources with Lambda's polling semantics, and the queues wisp
// subscribes for push sources (SNS, EventBridge, S3), unwrapped to the event each service
// would deliver and retried as Lambda retries asynchronous invocations.

#include "feeds.hpp"

#include <wisp/aws/json_fields.hpp>
#include <wisp/runtime/lineage.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <thread>

namespace wisp::events::detail {

namespace json = boost::json;

namespace {

constexpr std::size_t k_payload_limit = 6u * 1024 * 1024; // Lambda's synchronous payload limit
constexpr int k_default_pollers = 5;                      // Lambda starts with five batches

std::string attribute(const json::object& message, std::string_view key) {
  const auto* attrs = message.if_contains("Attributes");
  if (attrs == nullptr || !attrs->is_object())
    return {};
  return aws::json_string(attrs->as_object(), key);
}

bool json_body(std::string_view body, json::value& out) {
  boost::system::error_code ec;
  auto parsed = json::parse(body, ec);
  if (ec || !(parsed.is_object() || parsed.is_array()))
    return false;
  out = std::move(parsed);
  return true;
}

// Lambda's filtering of an SQS record: `body` is matched as JSON when the message body is
// JSON, as a string otherwise; a pattern that expects the other form never matches.
bool sqs_filter_match(const std::vector<EventPattern>& filters, const json::object& record) {
  json::value parsed;
  const bool body_is_json = json_body(aws::json_string(record, "body"), parsed);
  json::object view = record;
  if (body_is_json)
    view["body"] = parsed;
  const json::value view_value(std::move(view));
  for (const auto& filter : filters) {
    const auto& pattern = filter.json().as_object();
    if (const auto* body = pattern.if_contains("body")) {
      if (body->is_object() != body_is_json)
        continue;
    }
    if (filter.matches(view_value))
      return true;
  }
  return false;
}

class QueueFeed final : public Feed {
public:
  QueueFeed(Context& context, QueueSpec spec) : m_context(context), m_spec(std::move(spec)) {
    const auto& m = m_spec.source.mapping;
    m_max_pollers = m.maximum_concurrency > 0 ? m.maximum_concurrency : k_default_pollers;
    if (m_spec.mode == QueueSpec::Mode::sqs && m.maximum_concurrency == 0 && m_spec.fifo)
      m_max_pollers = k_default_pollers;
    m_kind = m_spec.mode == QueueSpec::Mode::sqs           ? "SQS"
             : m_spec.mode == QueueSpec::Mode::sns         ? "SNS"
             : m_spec.mode == QueueSpec::Mode::eventbridge ? "EventBridge"
                                                           : "S3";
  }

  ~QueueFeed() override { join(); }

  void start() override { spawn(); }

  void join() override {
    while (true) {
      std::vector<std::thread> threads;
      {
        std::lock_guard lock(m_mutex);
        threads.swap(m_threads);
      }
      if (threads.empty())
        return;
      for (auto& thread : threads)
        thread.join();
    }
  }

  [[nodiscard]] std::string describe() const override {
    const auto& s = m_spec.source;
    switch (m_spec.mode) {
    case QueueSpec::Mode::sqs: {
      std::string details = fmt::format("batch {}", s.mapping.batch_size);
      if (s.mapping.batching_window > 0)
        details += fmt::format(", window {} s", s.mapping.batching_window);
      details += fmt::format(", visibility {} s", m_spec.visibility_timeout);
      if (!m_spec.dead_letter_arn.empty())
        details += fmt::format(", DLQ {} after {} receives",
                               m_spec.dead_letter_arn.substr(m_spec.dead_letter_arn.rfind(':') + 1),
                               m_spec.max_receive_count);
      if (!s.mapping.filters.empty())
        details += fmt::format(", {} filter{}", s.mapping.filters.size(),
                               s.mapping.filters.size() == 1 ? "" : "s");
      if (s.kind == SourceKind::sns)
        return fmt::format("  {:<15} {} → {} (SqsSubscription via queue {}; {})", "SNS",
                           m_spec.origin, s.function_id, m_spec.name, details);
      return fmt::format("  {:<15} {} → {} ({})", "SQS", m_spec.name, s.function_id, details);
    }
    case QueueSpec::Mode::sns:
      return fmt::format("  {:<15} {} → {} (via queue {})", "SNS", m_spec.origin, s.function_id,
                         m_spec.name);
    case QueueSpec::Mode::eventbridge:
      return fmt::format("  {:<15} bus {} {} → {} (rule {}, via queue {})", "EventBridgeRule",
                         m_spec.origin, json::serialize(s.push.pattern.json()), s.function_id,
                         s.push.target_input.rule_name, m_spec.name);
    case QueueSpec::Mode::s3: {
      std::string filter;
      for (const auto& [name, value] : s.push.s3_key_rules)
        filter += fmt::format(" {} {}", name, value);
      return fmt::format("  {:<15} bucket {} {}{} → {} (via queue {})", "S3", m_spec.origin,
                         support_join(s.push.s3_events), filter, s.function_id, m_spec.name);
    }
    }
    return {};
  }

private:
  static std::string support_join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items)
      out += (out.empty() ? "" : ",") + item;
    return out;
  }

  void spawn() {
    std::lock_guard lock(m_mutex);
    if (m_context.stopping() || m_active >= m_max_pollers)
      return;
    ++m_active;
    m_threads.emplace_back([this] { poll(); });
  }

  // Returns false when this poller should end (idle while others poll).
  bool retire_if_idle() {
    std::lock_guard lock(m_mutex);
    if (m_active > 1) {
      --m_active;
      return true;
    }
    return false;
  }

  void poll() {
    auto backoff = std::chrono::milliseconds(0);
    while (!m_context.stopping()) {
      std::vector<json::object> messages;
      const bool full = gather(messages, backoff);
      if (messages.empty()) {
        if (backoff.count() > 0) {
          if (!m_context.sleep_for(backoff))
            break;
          continue;
        }
        if (retire_if_idle())
          return;
        continue;
      }
      if (full)
        spawn(); // more is waiting: another batch in parallel, as Lambda scales up
      if (m_context.stopping()) {
        release(messages, "wisp is stopping");
        break;
      }
      if (m_spec.mode == QueueSpec::Mode::sqs)
        handle_batch(messages);
      else
        handle_push(messages);
    }
    std::lock_guard lock(m_mutex);
    --m_active;
  }

  // Receives a batch: one long poll, or (standard queues with a batching window) until the
  // batch is full, the window ends or the payload limit is reached. Sets `backoff` when the
  // backend failed. Returns whether the batch came back full.
  bool gather(std::vector<json::object>& out, std::chrono::milliseconds& backoff) {
    const auto& m = m_spec.source.mapping;
    const int want = m_spec.mode == QueueSpec::Mode::sqs ? m.batch_size : 10;
    const auto window = std::chrono::seconds(m.batching_window);
    std::optional<std::chrono::steady_clock::time_point> deadline;
    std::size_t bytes = 0;
    while (!m_context.stopping()) {
      const int n = std::min(10, want - static_cast<int>(out.size()));
      int wait = m_context.options().sqs_wait_seconds;
      if (deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(
            *deadline - std::chrono::steady_clock::now());
        wait = static_cast<int>(std::clamp<long long>(left.count(), 0, wait));
      }
      auto received = m_context.backend().receive(m_spec.url, n, wait);
      if (!received) {
        backend_trouble(received.error().describe(), backoff);
        // What was received before is processed (nothing is lost either way).
        return false;
      }
      backoff = std::chrono::milliseconds(0);
      if (m_trouble.exchange(false)) {
        m_context.note(m_spec.source.function_id, m_kind, m_spec.origin,
                       "the backend answers again");
        log_line("backend answers again");
      }
      for (auto& message : *received) {
        bytes += aws::json_string(message, "Body").size() + 1024;
        out.push_back(std::move(message));
      }
      if (window.count() == 0 || static_cast<int>(out.size()) >= want || bytes >= k_payload_limit)
        break;
      if (!out.empty() && !deadline)
        deadline = std::chrono::steady_clock::now() + window;
      if (deadline && std::chrono::steady_clock::now() >= *deadline)
        break;
    }
    return static_cast<int>(out.size()) >= std::min(want, 10) && window.count() == 0;
  }

  void backend_trouble(const std::string& message, std::chrono::milliseconds& backoff) {
    backoff = backoff.count() == 0 ? std::chrono::milliseconds(500)
                                   : std::min(backoff * 2, std::chrono::milliseconds(30'000));
    if (!m_trouble) {
      m_trouble = true;
      log_line(fmt::format("backend unavailable ({}); retrying with backoff", message));
      m_context.note(m_spec.source.function_id, m_kind, m_spec.origin,
                     fmt::format("backend unavailable: {}", message));
    }
  }

  void log_line(const std::string& text) {
    if (m_context.options().log)
      m_context.options().log(fmt::format("{} {} {} {}: {}", clock_text(), m_kind, m_spec.origin,
                                          m_spec.source.function_id, text));
  }

  static Backend::Receipt receipt(const json::object& message) {
    return {aws::json_string(message, "MessageId"), aws::json_string(message, "ReceiptHandle")};
  }

  // Deletes messages, retrying the backend with backoff; what cannot be deleted is delivered
  // again (at least once, as SQS promises).
  void remove(const std::vector<json::object>& messages) {
    if (messages.empty())
      return;
    std::vector<Backend::Receipt> items;
    for (const auto& message : messages)
      items.push_back(receipt(message));
    auto delay = std::chrono::milliseconds(200);
    for (int attempt = 1;; ++attempt) {
      auto result = m_context.backend().delete_messages(m_spec.url, items);
      if (result) {
        for (const auto& [id, reason] : *result)
          log_line(fmt::format("message {} could not be deleted ({}); it will be delivered again",
                               id, reason));
        return;
      }
      if (attempt >= 5) {
        log_line(fmt::format("could not delete {} message{} ({}); they will be delivered again",
                             items.size(), items.size() == 1 ? "" : "s",
                             result.error().describe()));
        return;
      }
      std::this_thread::sleep_for(delay);
      delay *= 2;
    }
  }

  void release(const std::vector<json::object>& messages, std::string_view why, int seconds = 0) {
    if (messages.empty())
      return;
    std::vector<Backend::Receipt> items;
    for (const auto& message : messages)
      items.push_back(receipt(message));
    auto result = m_context.backend().change_visibility(m_spec.url, items, seconds);
    if (!result) {
      log_line(fmt::format("could not return {} message{} to the queue ({}); they become visible "
                           "after the visibility timeout",
                           items.size(), items.size() == 1 ? "" : "s", result.error().describe()));
      return;
    }
    if (seconds == 0)
      log_line(fmt::format("{} message{} returned to the queue ({})", items.size(),
                           items.size() == 1 ? "" : "s", why));
  }

  // ---------------------------------------------------------------- SQS event sources

  void handle_batch(std::vector<json::object>& messages) {
    const auto& source = m_spec.source;
    const auto info = m_context.source_info(m_spec.arn);
    std::vector<json::object> records;
    std::vector<json::object> kept;
    std::vector<json::object> filtered;
    for (auto& message : messages) {
      auto record = sqs_record(message, info);
      if (!source.mapping.filters.empty() && !sqs_filter_match(source.mapping.filters, record)) {
        filtered.push_back(std::move(message));
        continue;
      }
      records.push_back(std::move(record));
      kept.push_back(std::move(message));
    }
    if (!filtered.empty()) {
      remove(filtered);
      const auto text = fmt::format("{} message{} did not match the filter criteria and {} "
                                    "deleted",
                                    filtered.size(), filtered.size() == 1 ? "" : "s",
                                    filtered.size() == 1 ? "was" : "were");
      log_line(text);
      m_context.note(source.function_id, m_kind, m_spec.origin, text);
    }
    if (records.empty())
      return;
    json::array list;
    std::set<std::string> ids;
    for (auto& record : records) {
      ids.insert(aws::json_string(record, "messageId"));
      list.push_back(std::move(record));
    }
    const auto payload = json::serialize(json::object{{"Records", std::move(list)}});
    // The batch's trace: the first AWSTraceHeader (set by SQS from the sender's X-Amzn-Trace-Id).
    std::string trace;
    for (const auto& message : kept)
      if (trace = attribute(message, "AWSTraceHeader"); !trace.empty())
        break;
    const auto result = m_context.invoke(source.function_id, payload, trace);
    if (result.outcome == runtime::Outcome::recursive_loop) {
      stop_loop(kept, result);
      return;
    }
    if (result.outcome == runtime::Outcome::engine_error && m_context.stopping()) {
      release(kept, "wisp stopped before the batch finished");
      m_context.delivered(source.function_id, m_kind, m_spec.origin, kept.size(), "record", result,
                          "interrupted: returned to the queue");
      return;
    }
    if (result.ok()) {
      BatchAnswer answer;
      if (source.mapping.report_batch_item_failures)
        answer = parse_batch_answer(result.body, ids);
      if (answer.kind == BatchAnswer::Kind::success) {
        remove(kept);
        m_context.delivered(source.function_id, m_kind, m_spec.origin, kept.size(), "record",
                            result, "ok");
        return;
      }
      if (answer.kind == BatchAnswer::Kind::partial) {
        const std::set<std::string> failed(answer.failed.begin(), answer.failed.end());
        std::vector<json::object> done;
        std::vector<json::object> again;
        for (auto& message : kept)
          (failed.count(aws::json_string(message, "MessageId")) != 0 ? again : done)
              .push_back(message);
        remove(done);
        m_context.delivered(
            source.function_id, m_kind, m_spec.origin, kept.size(), "record", result,
            fmt::format("partial: {} failed, {} deleted", again.size(), done.size()));
        failed_messages(again, result);
        return;
      }
      m_context.delivered(source.function_id, m_kind, m_spec.origin, kept.size(), "record", result,
                          fmt::format("failed: {}", answer.reason));
      failed_messages(kept, result);
      return;
    }
    m_context.delivered(source.function_id, m_kind, m_spec.origin, kept.size(), "record", result,
                        fmt::format("failed: {}", result.describe()));
    failed_messages(kept, result);
  }

  // A batch the engine stopped as the 17th invocation of a recursive loop: its messages go to
  // the queue's dead-letter queue when it has one, else they are dropped (deleted), and the
  // function is not invoked with them (docs/console.md#recursive-loops).
  void stop_loop(const std::vector<json::object>& messages, const Invocation& result) {
    const auto& fn = m_spec.source.function_id;
    std::string where = "dropped";
    if (!m_spec.dead_letter_arn.empty()) {
      const auto dlq = m_spec.dead_letter_arn.substr(m_spec.dead_letter_arn.rfind(':') + 1);
      const auto& backend = m_context.backend();
      const auto url = backend.queue_url(dlq);
      bool sent = url && url->has_value();
      for (const auto& message : messages)
        if (sent)
          sent = backend
                     .send_message(**url, aws::json_string(message, "Body"),
                                   attribute(message, "MessageGroupId"))
                     .has_value();
      where = sent ? "sent to the dead-letter queue " + dlq
                   : "dropped (could not be sent to the dead-letter queue " + dlq + ")";
    }
    remove(messages);
    m_context.delivered(fn, m_kind, m_spec.origin, messages.size(), "record", result,
                        "stopped: recursive loop");
    const auto text = fmt::format(
        "recursive loop: {} invoked {} times in one chain of events through {}; Lambda stops the "
        "chain here (RecursiveInvocationException): {} message{} {}",
        fn, runtime::k_recursion_limit, m_spec.name, messages.size(),
        messages.size() == 1 ? "" : "s", where);
    log_line(text);
    m_context.note(fn, m_kind, m_spec.origin, text, result.request_id);
  }

  // Messages of a failed batch stay in the queue: visible again after the visibility timeout
  // (FIFO: at once, see docs/events.md), to the dead-letter queue after maxReceiveCount.
  void failed_messages(const std::vector<json::object>& messages, const Invocation& result) {
    if (messages.empty())
      return;
    const auto& fn = m_spec.source.function_id;
    for (const auto& message : messages) {
      const int received = std::atoi(attribute(message, "ApproximateReceiveCount").c_str());
      if (m_spec.max_receive_count > 0 && received >= m_spec.max_receive_count) {
        const auto dlq = m_spec.dead_letter_arn.substr(m_spec.dead_letter_arn.rfind(':') + 1);
        const auto text = fmt::format("message {} failed on receive {} of maxReceiveCount {}: SQS "
                                      "moves it to the dead-letter queue {}",
                                      aws::json_string(message, "MessageId"), received,
                                      m_spec.max_receive_count, dlq);
        log_line(text);
        m_context.note(fn, m_kind, m_spec.origin, text, result.request_id);
      }
    }
    if (m_spec.fifo) {
      release(messages, "FIFO retry, in order");
      return;
    }
    const auto text =
        fmt::format("{} message{} visible again after the visibility timeout ({} s)",
                    messages.size(), messages.size() == 1 ? "" : "s", m_spec.visibility_timeout);
    log_line(text);
    m_context.note(fn, m_kind, m_spec.origin, text, result.request_id);
  }

  // ---------------------------------------------------------------- push sources

  // Each message is one event, invoked as Lambda invokes asynchronously: a failure is retried
  // after one minute, then two (the function's EventInvokeConfig.MaximumRetryAttempts, 2 by
  // default), the message kept invisible in wisp's queue meanwhile.
  void handle_push(std::vector<json::object>& messages) {
    const auto& source = m_spec.source;
    const auto info = m_context.source_info(m_spec.arn);
    std::vector<std::string> payloads;
    std::vector<json::object> pending;
    std::vector<json::object> dropped;
    for (auto& message : messages) {
      const auto body = aws::json_string(message, "Body");
      std::optional<std::string> payload;
      switch (m_spec.mode) {
      case QueueSpec::Mode::sns:
        if (auto record = sns_record(body, m_spec.subscription_arn))
          payload = json::serialize(json::object{{"Records", json::array{std::move(*record)}}});
        break;
      case QueueSpec::Mode::eventbridge:
        if (auto event = eventbridge_event(body, info)) {
          const std::string time = aws::json_string(*event, "time");
          payload = source.push.target_input.apply(json::value(std::move(*event)), time);
        }
        break;
      case QueueSpec::Mode::s3: {
        auto records = s3_records(body, info);
        if (!records.empty()) {
          json::array list;
          for (auto& record : records)
            list.push_back(std::move(record));
          payload = json::serialize(json::object{{"Records", std::move(list)}});
        }
        break;
      }
      case QueueSpec::Mode::sqs:
        break;
      }
      if (!payload) {
        dropped.push_back(std::move(message)); // s3:TestEvent and anything not an event
        continue;
      }
      payloads.push_back(std::move(*payload));
      pending.push_back(std::move(message));
    }
    remove(dropped);
    if (payloads.empty())
      return;
    const auto results = m_context.invoke(source.function_id, payloads);
    const int retries = m_context.async_retries(source.function_id);
    std::vector<json::object> done;
    for (std::size_t i = 0; i < results.size(); ++i) {
      const auto& result = results[i];
      const auto& message = pending[i];
      if (result.outcome == runtime::Outcome::engine_error && m_context.stopping()) {
        release({message}, "wisp stopped before the event was handled");
        m_context.delivered(source.function_id, m_kind, m_spec.origin, 1, "event", result,
                            "interrupted: returned to the queue");
        continue;
      }
      if (result.ok()) {
        done.push_back(message);
        m_context.delivered(source.function_id, m_kind, m_spec.origin, 1, "event", result, "ok");
        continue;
      }
      const int attempt =
          std::max(1, std::atoi(attribute(message, "ApproximateReceiveCount").c_str()));
      if (result.outcome == runtime::Outcome::throttled) {
        release({message}, "throttled", 1);
        m_context.delivered(source.function_id, m_kind, m_spec.origin, 1, "event", result,
                            "throttled: retried in 1 s");
        continue;
      }
      if (attempt <= retries) {
        const int delay = attempt == 1 ? 60 : 120;
        release({message}, "retry", delay);
        m_context.delivered(source.function_id, m_kind, m_spec.origin, 1, "event", result,
                            fmt::format("failed: {}; retry {} of {} in {} s", result.describe(),
                                        attempt, retries, delay));
        continue;
      }
      done.push_back(message);
      m_context.delivered(source.function_id, m_kind, m_spec.origin, 1, "event", result,
                          fmt::format("failed: {}; dropped after {} attempt{}", result.describe(),
                                      attempt, attempt == 1 ? "" : "s"));
    }
    remove(done);
  }

  Context& m_context;
  QueueSpec m_spec;
  std::string m_kind;
  int m_max_pollers = k_default_pollers;
  std::mutex m_mutex;
  std::vector<std::thread> m_threads;
  int m_active = 0;
  std::atomic<bool> m_trouble{false};
};

} // namespace

std::unique_ptr<Feed> make_queue_feed(Context& context, QueueSpec spec) {
  return std::make_unique<QueueFeed>(context, std::move(spec));
}

} // namespace wisp::events::detail
