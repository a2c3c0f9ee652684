// Stream feeds: Kinesis and DynamoDB Streams with Lambda's semantics — shards read in order,
// a failed batch retried (blocking its shard) until it succeeds, its retries are exhausted or
// its records grow too old; bisection; ReportBatchItemFailures checkpoints; OnFailure
// records; parallelization by partition key; tumbling windows with state.

#include "feeds.hpp"

#include <wisp/aws/json_fields.hpp>
#include <wisp/support/hash.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <cmath>
#include <deque>
#include <functional>
#include <set>
#include <thread>

namespace wisp::events::detail {

namespace json = boost::json;

namespace {

double to_seconds(const json::value* value) {
  if (value == nullptr)
    return 0;
  if (value->is_number())
    return value->to_number<double>();
  if (value->is_string()) {
    // moto: "2026-12-03 16:46:07.320000+00:00"; ISO forms too.
    const std::string text(value->as_string());
    std::tm tm{};
    const char* rest = strptime(text.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
    if (rest == nullptr)
      rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest == nullptr)
      return 0;
    double fraction = 0;
    if (*rest == '.') {
      double scale = 0.1;
      for (++rest; *rest >= '0' && *rest <= '9'; ++rest, scale /= 10)
        fraction += (*rest - '0') * scale;
    }
    return static_cast<double>(timegm(&tm)) + fraction;
  }
  return 0;
}

std::string iso_millis(double seconds) {
  return format_millis_time(TimePoint(std::chrono::milliseconds(std::llround(seconds * 1000.0))));
}

class StreamFeed;

class ShardWorker {
public:
  ShardWorker(StreamFeed& feed, ShardInfo shard);
  void run();
  [[nodiscard]] bool finished() const { return m_finished.load(); }

private:
  struct Item {
    std::vector<json::object> records; // the backend's records
    int attempts = 0;                  // retries counted against MaximumRetryAttempts
    int invokes = 0;
  };

  bool fetch(std::deque<json::object>& pending, bool& closed);
  bool process(std::vector<json::object> records);
  bool run_lane(std::vector<json::object> records);
  bool run_item(std::deque<Item>& work);
  bool final_window_invoke(bool terminated_early);
  std::string payload(const std::vector<json::object>& records, bool final_invoke) const;

  double arrival(const json::object& record) const;
  std::string sequence(const json::object& record) const;
  std::string lane_key(const json::object& record) const;
  json::value filter_view(const json::object& lambda_record) const;
  json::object lambda_record(const json::object& record) const;
  void on_failure(const Item& item, std::string_view condition, const Invocation* last);
  void log(const std::string& text, std::string_view request_id = {});

  StreamFeed& m_feed;
  ShardInfo m_shard;
  std::string m_iterator;
  std::atomic<bool> m_finished{false};
  // Tumbling window state.
  std::optional<long long> m_window; // start, ms since the epoch
  json::value m_state = json::object();
};

class StreamFeed final : public Feed {
public:
  StreamFeed(Context& context, StreamSpec spec) : m_context(context), m_spec(std::move(spec)) {
    m_kinesis = m_spec.source.kind == SourceKind::kinesis;
  }
  ~StreamFeed() override { join(); }

  void start() override {
    m_manager = std::thread([this] { manage(); });
  }

  void join() override {
    if (m_manager.joinable())
      m_manager.join();
    for (auto& [id, thread] : m_threads)
      if (thread.joinable())
        thread.join();
    m_threads.clear();
  }

  [[nodiscard]] std::string describe() const override {
    const auto& m = m_spec.source.mapping;
    std::string details = fmt::format("{}, batch {}", m.starting_position, m.batch_size);
    if (m.batching_window > 0)
      details += fmt::format(", window {} s", m.batching_window);
    if (m.maximum_retry_attempts >= 0)
      details += fmt::format(", {} retries", m.maximum_retry_attempts);
    if (m.bisect_on_error)
      details += ", bisect";
    if (m.parallelization_factor > 1)
      details += fmt::format(", {} batches per shard", m.parallelization_factor);
    if (m.tumbling_window > 0)
      details += fmt::format(", tumbling window {} s", m.tumbling_window);
    if (!m_spec.on_failure_arn.empty())
      details +=
          ", OnFailure " + m_spec.on_failure_arn.substr(m_spec.on_failure_arn.rfind(':') + 1);
    return fmt::format("  {:<15} {} → {} ({})", m_kinesis ? "Kinesis" : "DynamoDB", m_spec.origin,
                       m_spec.source.function_id, details);
  }

  Context& context() { return m_context; }
  const StreamSpec& spec() const { return m_spec; }
  bool kinesis() const { return m_kinesis; }
  std::string_view kind() const { return m_kinesis ? "Kinesis" : "DynamoDB"; }

private:
  // Finds the shards and starts a worker for each, a child only after its parent finished.
  void manage() {
    auto backoff = std::chrono::milliseconds(500);
    bool trouble = false;
    while (!m_context.stopping()) {
      auto shards = m_kinesis ? m_context.backend().kinesis_shards(m_spec.stream_arn)
                              : m_context.backend().dynamodb_shards(m_spec.stream_arn);
      if (!shards) {
        if (!trouble)
          m_context.note(m_spec.source.function_id, kind(), m_spec.origin,
                         "backend unavailable: " + shards.error().describe());
        if (!trouble && m_context.options().log)
          m_context.options().log(fmt::format("{} {} {} {}: backend unavailable ({}); retrying "
                                              "with backoff",
                                              clock_text(), kind(), m_spec.origin,
                                              m_spec.source.function_id,
                                              shards.error().describe()));
        trouble = true;
        if (!m_context.sleep_for(backoff))
          break;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(30'000));
        continue;
      }
      trouble = false;
      backoff = std::chrono::milliseconds(500);
      std::set<std::string> known;
      for (const auto& shard : *shards)
        known.insert(shard.id);
      for (const auto& shard : *shards) {
        if (m_workers.count(shard.id) != 0)
          continue;
        if (!shard.parent.empty() && known.count(shard.parent) != 0) {
          const auto parent = m_workers.find(shard.parent);
          if (parent == m_workers.end() || !parent->second->finished())
            continue;
        }
        auto worker = std::make_unique<ShardWorker>(*this, shard);
        auto* raw = worker.get();
        m_workers[shard.id] = std::move(worker);
        m_threads[shard.id] = std::thread([raw] { raw->run(); });
      }
      if (!m_context.sleep_for(std::chrono::seconds(10)))
        break;
    }
  }

  Context& m_context;
  StreamSpec m_spec;
  bool m_kinesis = true;
  std::thread m_manager;
  std::map<std::string, std::unique_ptr<ShardWorker>> m_workers;
  std::map<std::string, std::thread> m_threads;
};

ShardWorker::ShardWorker(StreamFeed& feed, ShardInfo shard)
    : m_feed(feed), m_shard(std::move(shard)) {}

void ShardWorker::log(const std::string& text, std::string_view request_id) {
  auto& context = m_feed.context();
  const auto& spec = m_feed.spec();
  if (context.options().log)
    context.options().log(fmt::format("{} {} {} {}: {}", clock_text(), m_feed.kind(), spec.origin,
                                      spec.source.function_id, text));
  context.note(spec.source.function_id, m_feed.kind(), spec.origin, text, request_id);
}

double ShardWorker::arrival(const json::object& record) const {
  if (m_feed.kinesis())
    return to_seconds(record.if_contains("ApproximateArrivalTimestamp"));
  const auto* data = record.if_contains("dynamodb");
  if (data == nullptr || !data->is_object())
    return 0;
  return to_seconds(data->as_object().if_contains("ApproximateCreationDateTime"));
}

std::string ShardWorker::sequence(const json::object& record) const {
  if (m_feed.kinesis())
    return aws::json_string(record, "SequenceNumber");
  const auto* data = record.if_contains("dynamodb");
  return data != nullptr && data->is_object()
             ? aws::json_string(data->as_object(), "SequenceNumber")
             : "";
}

std::string ShardWorker::lane_key(const json::object& record) const {
  if (m_feed.kinesis())
    return aws::json_string(record, "PartitionKey");
  const auto* data = record.if_contains("dynamodb");
  if (data == nullptr || !data->is_object())
    return {};
  const auto* keys = data->as_object().if_contains("Keys");
  return keys != nullptr ? json::serialize(*keys) : std::string();
}

json::object ShardWorker::lambda_record(const json::object& record) const {
  auto& context = m_feed.context();
  const auto& spec = m_feed.spec();
  const auto info = context.source_info(spec.stream_arn);
  if (m_feed.kinesis())
    return kinesis_record(record, m_shard.id, context.role_arn(spec.source.function_id), info);
  return dynamodb_record(record, info);
}

// What filters see: the Lambda record; for Kinesis the `kinesis` fields at the top too, with
// `data` decoded when it is JSON (Lambda filters Kinesis data as JSON only).
json::value ShardWorker::filter_view(const json::object& lambda) const {
  json::object view = lambda;
  if (m_feed.kinesis()) {
    if (const auto* kinesis = lambda.if_contains("kinesis"); kinesis && kinesis->is_object()) {
      for (const auto& [key, value] : kinesis->as_object())
        view[key] = value;
      view.erase("data");
      if (auto decoded = support::base64_decode(aws::json_string(kinesis->as_object(), "data"))) {
        boost::system::error_code ec;
        auto parsed = json::parse(*decoded, ec);
        if (!ec && parsed.is_object())
          view["data"] = std::move(parsed);
      }
    }
  }
  return json::value(std::move(view));
}

std::string ShardWorker::payload(const std::vector<json::object>& records,
                                 bool final_invoke) const {
  json::array list;
  for (const auto& record : records)
    list.push_back(lambda_record(record));
  json::object event{{"Records", std::move(list)}};
  const auto& spec = m_feed.spec();
  if (spec.source.mapping.tumbling_window > 0 && m_window) {
    const long long width = spec.source.mapping.tumbling_window * 1000LL;
    event["window"] = json::object{
        {"start", format_event_time(TimePoint(std::chrono::milliseconds(*m_window)))},
        {"end", format_event_time(TimePoint(std::chrono::milliseconds(*m_window + width)))}};
    event["state"] = m_state;
    event["shardId"] = m_shard.id;
    event["eventSourceARN"] = spec.stream_arn;
    event["isFinalInvokeForWindow"] = final_invoke;
    event["isWindowTerminatedEarly"] = false;
  }
  return json::serialize(event);
}

void ShardWorker::on_failure(const Item& item, std::string_view condition, const Invocation* last) {
  auto& context = m_feed.context();
  const auto& spec = m_feed.spec();
  if (item.records.empty())
    return;
  const auto& first = item.records.front();
  const auto& last_record = item.records.back();
  json::object info{{"shardId", m_shard.id},
                    {"startSequenceNumber", sequence(first)},
                    {"endSequenceNumber", sequence(last_record)},
                    {"approximateArrivalOfFirstRecord", iso_millis(arrival(first))},
                    {"approximateArrivalOfLastRecord", iso_millis(arrival(last_record))},
                    {"batchSize", item.records.size()},
                    {"streamArn", spec.stream_arn}};
  json::object record{
      {"requestContext",
       json::object{{"requestId", last != nullptr ? last->request_id : new_uuid()},
                    {"functionArn", context.function_arn(spec.source.function_id)},
                    {"condition", condition},
                    {"approximateInvokeCount", item.invokes}}},
      {"responseContext", json::object{{"statusCode", 200},
                                       {"executedVersion", "$LATEST"},
                                       {"functionError", "Unhandled"}}},
      {"version", "1.0"},
      {"timestamp", format_millis_time(std::chrono::system_clock::now())},
      {m_feed.kinesis() ? "KinesisBatchInfo" : "DDBStreamBatchInfo", std::move(info)}};
  const auto& destination = spec.on_failure_arn;
  const auto reason = fmt::format("{} record{} ({}–{}) {}", item.records.size(),
                                  item.records.size() == 1 ? "" : "s", sequence(first),
                                  sequence(last_record), condition);
  if (destination.empty()) {
    log(fmt::format("discarded {} (no OnFailure destination)", reason));
    return;
  }
  const auto body = json::serialize(record);
  auto delay = std::chrono::milliseconds(500);
  for (int attempt = 1; attempt <= 5; ++attempt) {
    std::string error;
    if (destination.starts_with("arn:aws:sqs:")) {
      const auto name = destination.substr(destination.rfind(':') + 1);
      auto url = context.backend().queue_url(name);
      if (url && *url) {
        auto sent =
            context.backend().send_message(**url, body, name.ends_with(".fifo") ? m_shard.id : "");
        if (sent) {
          log(fmt::format("OnFailure: {} sent to {}", reason, name));
          return;
        }
        error = sent.error().describe();
      } else {
        error = url ? "no such queue" : url.error().describe();
      }
    } else if (destination.starts_with("arn:aws:sns:")) {
      auto sent = context.backend().publish(destination, body);
      if (sent) {
        log(fmt::format("OnFailure: {} published to {}", reason,
                        destination.substr(destination.rfind(':') + 1)));
        return;
      }
      error = sent.error().describe();
    } else {
      log(fmt::format("discarded {}: OnFailure destination {} is not an SQS queue or SNS topic "
                      "(not supported locally)",
                      reason, destination));
      return;
    }
    if (attempt == 5) {
      log(fmt::format("discarded {}: the OnFailure destination failed ({})", reason, error));
      return;
    }
    std::this_thread::sleep_for(delay);
    delay *= 2;
  }
}

// Runs the work list of one lane: the front item is invoked until it succeeds, is bisected,
// or is given up (OnFailure). False when stopping interrupted it.
bool ShardWorker::run_item(std::deque<Item>& work) {
  auto& context = m_feed.context();
  const auto& spec = m_feed.spec();
  const auto& m = spec.source.mapping;
  auto backoff = std::chrono::milliseconds(500);
  while (!work.empty()) {
    if (context.stopping())
      return false;
    Item& item = work.front();
    if (m.maximum_record_age >= 0) {
      const double now =
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
              .count();
      Item expired;
      std::vector<json::object> fresh;
      for (auto& record : item.records)
        (now - arrival(record) > m.maximum_record_age ? expired.records : fresh).push_back(record);
      if (!expired.records.empty()) {
        expired.invokes = item.invokes;
        on_failure(expired, "RecordAgeExceeded", nullptr);
        item.records = std::move(fresh);
        if (item.records.empty()) {
          work.pop_front();
          continue;
        }
      }
    }
    ++item.invokes;
    const auto result = context.invoke(spec.source.function_id, payload(item.records, false));
    if (result.outcome == runtime::Outcome::engine_error && context.stopping())
      return false;
    std::set<std::string> sequences;
    for (const auto& record : item.records)
      sequences.insert(sequence(record));
    const auto unit = "record";
    bool failed = !result.ok();
    std::string outcome = failed ? fmt::format("failed: {}", result.describe()) : "ok";
    bool partial = false;
    std::size_t keep_from = 0; // a partial answer: retry from the lowest failed sequence number
    if (!failed && m.tumbling_window > 0) {
      boost::system::error_code ec;
      auto answer = json::parse(result.body, ec);
      const auto* state =
          !ec && answer.is_object() ? answer.as_object().if_contains("state") : nullptr;
      if (state == nullptr) {
        failed = true;
        outcome = "failed: a tumbling-window answer must carry `state`";
      } else {
        m_state = *state;
      }
    }
    if (!failed && m.report_batch_item_failures) {
      const auto answer = parse_batch_answer(result.body, sequences);
      if (answer.kind == BatchAnswer::Kind::failure) {
        failed = true;
        outcome = "failed: " + answer.reason;
      } else if (answer.kind == BatchAnswer::Kind::partial) {
        // The lowest sequence number is the checkpoint: everything from it is retried.
        std::size_t lowest = item.records.size();
        const std::set<std::string> failures(answer.failed.begin(), answer.failed.end());
        for (std::size_t i = 0; i < item.records.size(); ++i)
          if (failures.count(sequence(item.records[i])) != 0) {
            lowest = i;
            break;
          }
        keep_from = lowest;
        partial = true;
        outcome = fmt::format("partial: retrying from {} ({} of {} records)",
                              sequence(item.records[lowest]), item.records.size() - lowest,
                              item.records.size());
      }
    }
    context.delivered(spec.source.function_id, m_feed.kind(), spec.origin, item.records.size(),
                      unit, result, outcome);
    if (!failed && !partial) {
      work.pop_front();
      backoff = std::chrono::milliseconds(500);
      continue;
    }
    if (!failed) {
      // Partial success: the records before the checkpoint are done; the rest is a retry.
      item.records.erase(item.records.begin(),
                         item.records.begin() + static_cast<std::ptrdiff_t>(keep_from));
    } else if (result.outcome == runtime::Outcome::throttled) {
      if (!context.sleep_for(backoff))
        return false;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(10'000));
      continue; // throttles do not count as retries
    } else if (m.bisect_on_error && item.records.size() > 1) {
      const auto half = item.records.size() / 2;
      Item first{
          std::vector<json::object>(item.records.begin(),
                                    item.records.begin() + static_cast<std::ptrdiff_t>(half)),
          item.attempts, 0};
      Item second{std::vector<json::object>(
                      item.records.begin() + static_cast<std::ptrdiff_t>(half), item.records.end()),
                  item.attempts, 0};
      log(fmt::format("bisecting the failed batch of {} into {} + {}", item.records.size(),
                      first.records.size(), second.records.size()),
          result.request_id);
      work.pop_front();
      work.push_front(std::move(second));
      work.push_front(std::move(first));
      continue;
    }
    ++item.attempts;
    if (m.maximum_retry_attempts >= 0 && item.attempts > m.maximum_retry_attempts) {
      on_failure(item, "RetryAttemptsExhausted", &result);
      work.pop_front();
      continue;
    }
    log(fmt::format("retry {}{} of {} record{} in {} ms (the shard waits)", item.attempts,
                    m.maximum_retry_attempts >= 0 ? fmt::format("/{}", m.maximum_retry_attempts)
                                                  : std::string(),
                    item.records.size(), item.records.size() == 1 ? "" : "s", backoff.count()),
        result.request_id);
    if (!context.sleep_for(backoff))
      return false;
    backoff = std::min(backoff * 2, std::chrono::milliseconds(10'000));
  }
  return true;
}

bool ShardWorker::run_lane(std::vector<json::object> records) {
  const auto batch = static_cast<std::size_t>(m_feed.spec().source.mapping.batch_size);
  std::deque<Item> work;
  for (std::size_t i = 0; i < records.size(); i += batch) {
    Item item;
    item.records.assign(records.begin() + static_cast<std::ptrdiff_t>(i),
                        records.begin() +
                            static_cast<std::ptrdiff_t>(std::min(records.size(), i + batch)));
    work.push_back(std::move(item));
  }
  return run_item(work);
}

bool ShardWorker::final_window_invoke(bool terminated_early) {
  (void)terminated_early;
  auto& context = m_feed.context();
  const auto& spec = m_feed.spec();
  while (!context.stopping()) {
    const auto result = context.invoke(spec.source.function_id, payload({}, true));
    if (result.outcome == runtime::Outcome::engine_error && context.stopping())
      return false;
    context.delivered(spec.source.function_id, m_feed.kind(), spec.origin, 0, "record", result,
                      result.ok()
                          ? "ok (final invoke for the window)"
                          : fmt::format("failed: {} (final invoke; retried)", result.describe()));
    if (result.ok()) {
      m_window.reset();
      m_state = json::object();
      return true;
    }
    if (!context.sleep_for(std::chrono::seconds(1)))
      return false;
  }
  return false;
}

// Filters, then runs the records: in lanes by key (ParallelizationFactor), or window by
// window (tumbling windows).
bool ShardWorker::process(std::vector<json::object> records) {
  auto& context = m_feed.context();
  const auto& spec = m_feed.spec();
  const auto& m = spec.source.mapping;
  if (!m.filters.empty()) {
    std::vector<json::object> kept;
    std::size_t skipped = 0;
    for (auto& record : records) {
      const auto view = filter_view(lambda_record(record));
      const bool match = std::any_of(m.filters.begin(), m.filters.end(),
                                     [&](const EventPattern& p) { return p.matches(view); });
      if (match)
        kept.push_back(std::move(record));
      else
        ++skipped;
    }
    if (skipped > 0)
      log(fmt::format("{} record{} did not match the filter criteria (skipped)", skipped,
                      skipped == 1 ? "" : "s"));
    records = std::move(kept);
  }
  if (records.empty())
    return true;
  if (m.tumbling_window > 0) {
    const long long width = m.tumbling_window * 1000LL;
    std::size_t i = 0;
    while (i < records.size()) {
      const auto ms = static_cast<long long>(arrival(records[i]) * 1000.0);
      const long long window = ms / width * width;
      if (m_window && *m_window != window && !final_window_invoke(false))
        return false;
      m_window = window;
      std::vector<json::object> group;
      while (i < records.size() &&
             static_cast<long long>(arrival(records[i]) * 1000.0) / width * width == window)
        group.push_back(records[i++]);
      if (!run_lane(std::move(group)))
        return false;
    }
    return true;
  }
  const auto lanes = static_cast<std::size_t>(std::max(1, m.parallelization_factor));
  if (lanes == 1)
    return run_lane(std::move(records));
  std::vector<std::vector<json::object>> split(lanes);
  for (auto& record : records)
    split[std::hash<std::string>{}(lane_key(record)) % lanes].push_back(std::move(record));
  std::vector<std::thread> threads;
  std::vector<char> ok(lanes, 1);
  for (std::size_t lane = 1; lane < lanes; ++lane)
    if (!split[lane].empty())
      threads.emplace_back([&, lane] { ok[lane] = run_lane(std::move(split[lane])) ? 1 : 0; });
  ok[0] = run_lane(std::move(split[0])) ? 1 : 0;
  for (auto& thread : threads)
    thread.join();
  (void)context;
  return std::all_of(ok.begin(), ok.end(), [](char v) { return v != 0; });
}

bool ShardWorker::fetch(std::deque<json::object>& pending, bool& closed) {
  auto& context = m_feed.context();
  const auto& spec = m_feed.spec();
  const auto& backend = context.backend();
  const auto& m = spec.source.mapping;
  const int limit = std::min(10000, m.batch_size * std::max(1, m.parallelization_factor));
  auto result = m_feed.kinesis() ? backend.kinesis_records(spec.stream_arn, m_iterator, limit)
                                 : backend.dynamodb_records(m_iterator, limit);
  if (!result) {
    log(fmt::format("backend unavailable ({}); retrying", result.error().describe()));
    return false;
  }
  for (auto& record : result->records)
    pending.push_back(std::move(record));
  m_iterator = result->next_iterator;
  closed = m_iterator.empty();
  return true;
}

void ShardWorker::run() {
  auto& context = m_feed.context();
  const auto& spec = m_feed.spec();
  const auto& m = spec.source.mapping;
  const auto& backend = context.backend();
  auto backoff = std::chrono::milliseconds(500);
  // Where this shard was left last time, else the starting position.
  const auto key =
      fmt::format("{}|{}|{}|{}", spec.source.id(), spec.stream_arn, spec.incarnation, m_shard.id);
  if (auto last = context.checkpoint(key)) {
    auto iterator = m_feed.kinesis() ? backend.kinesis_iterator(spec.stream_arn, m_shard.id,
                                                                "AFTER_SEQUENCE_NUMBER", *last)
                                     : backend.dynamodb_iterator(spec.stream_arn, m_shard.id,
                                                                 "AFTER_SEQUENCE_NUMBER", *last);
    if (iterator && !iterator->empty()) {
      m_iterator = *iterator;
      log(fmt::format("shard {}: resuming after {} (the last record processed)", m_shard.id,
                      *last));
    } else {
      log(fmt::format("shard {}: cannot resume after {} ({}); reading from {}", m_shard.id, *last,
                      iterator ? "no iterator" : iterator.error().describe(), m.starting_position));
    }
  }
  // The shard iterator at the starting position.
  while (!context.stopping() && m_iterator.empty()) {
    std::string type = m.starting_position.empty() ? "LATEST" : m.starting_position;
    std::optional<double> timestamp;
    if (type == "AT_TIMESTAMP" && m.starting_timestamp)
      timestamp = std::chrono::duration<double>(m.starting_timestamp->time_since_epoch()).count();
    auto iterator = m_feed.kinesis()
                        ? backend.kinesis_iterator(spec.stream_arn, m_shard.id, type, {}, timestamp)
                        : backend.dynamodb_iterator(spec.stream_arn, m_shard.id, type);
    if (iterator) {
      m_iterator = *iterator;
      break;
    }
    log(fmt::format("cannot read shard {} ({}); retrying", m_shard.id,
                    iterator.error().describe()));
    if (!context.sleep_for(backoff))
      break;
    backoff = std::min(backoff * 2, std::chrono::milliseconds(30'000));
  }
  // Lambda polls Kinesis shards once a second and DynamoDB Streams four times a second.
  const auto idle =
      m_feed.kinesis() ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(250);
  std::deque<json::object> pending;
  bool closed = false;
  // The batching window's end; `window_open` says whether one runs (a plain value, not an
  // optional: GCC 12 at -O2 reports the optional's value as maybe uninitialized).
  std::chrono::steady_clock::time_point window_end{};
  bool window_open = false;
  const auto batch_limit = static_cast<std::size_t>(m.batch_size) *
                           static_cast<std::size_t>(std::max(1, m.parallelization_factor));
  while (!context.stopping()) {
    if (!closed && pending.size() < batch_limit) {
      if (!fetch(pending, closed)) {
        if (!context.sleep_for(backoff))
          break;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(30'000));
        continue;
      }
      backoff = std::chrono::milliseconds(500);
    }
    if (pending.empty()) {
      if (m.tumbling_window > 0 && m_window) {
        const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        if (now_ms >= *m_window + m.tumbling_window * 1000LL && !final_window_invoke(false))
          break;
      }
      if (closed)
        break;
      if (!context.sleep_for(idle))
        break;
      continue;
    }
    // Batching window: gather until the batch is full or the window ends.
    if (m.batching_window > 0 && pending.size() < batch_limit && !closed) {
      if (!window_open) {
        window_end = std::chrono::steady_clock::now() + std::chrono::seconds(m.batching_window);
        window_open = true;
      }
      if (std::chrono::steady_clock::now() < window_end) {
        if (!context.sleep_for(std::min(idle, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  window_end - std::chrono::steady_clock::now()))))
          break;
        continue;
      }
    }
    window_open = false;
    const auto take = std::min(pending.size(), batch_limit);
    std::vector<json::object> records(pending.begin(),
                                      pending.begin() + static_cast<std::ptrdiff_t>(take));
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(take));
    const auto last = sequence(records.back());
    if (!process(std::move(records)))
      break;
    context.save_checkpoint(key, last);
  }
  m_finished = true;
}

} // namespace

std::unique_ptr<Feed> make_stream_feed(Context& context, StreamSpec spec) {
  return std::make_unique<StreamFeed>(context, std::move(spec));
}

} // namespace wisp::events::detail
