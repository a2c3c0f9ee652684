#pragma once
// Exactly-once, in-order printing of a log that is polled while it grows (`wisp logs
// --tail`). Two parts, both pure (times are passed in, nothing is slept or fetched here):
//
// TailWindow — one log group's FilterLogEvents window and duplicate filter.
//   CloudWatch makes an event visible some time after its timestamp (its lateness:
//   ingestionTime - timestamp). Each poll asks for timestamps from query_start(), which is
//   the start of the last successful poll minus a lookback, so an event whose lateness is
//   at most the lookback is returned by the first successful poll after it became visible,
//   whatever happened to polls in between (failed polls do not move the window). Overlapping
//   windows return events again; first_time() lets each (log group, eventId) through once.
//   The lookback adapts: twice the largest lateness seen, within [min_lookback,
//   max_lookback]. Ids older than query_start() can never come back and are forgotten, so
//   memory stays bounded by what one window holds.
//
// Reorderer — releases events in timestamp order across polls and log groups.
//   An event is held until its timestamp is older than `hold` (the largest lateness up to
//   max_hold seen recently), so that an event of another stream that becomes visible a
//   little later but has an earlier timestamp is printed before it. An event later than
//   max_hold cannot be waited for: it is released at once, out of order, but never dropped.
//   Nothing is held longer than max_hold after it arrived; while a log group's polls fail,
//   events are held up to that, then released.

#include <wisp/logs/event.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace wisp::logs {

struct TailTuning {
  std::int64_t min_lookback_ms = 10'000;
  std::int64_t max_lookback_ms = 15 * 60'000;
  std::int64_t max_hold_ms = 1'000;     // ordering may delay output at most this
  std::int64_t hold_memory_ms = 60'000; // how long a lateness sample counts for the hold
};

class TailWindow {
public:
  explicit TailWindow(std::int64_t start_ms, TailTuning tuning = {});

  // startTime for the next query; never decreases.
  [[nodiscard]] std::int64_t query_start() const { return m_query_start; }
  // True the first time an event (by log group and eventId) is offered.
  bool first_time(const LogEvent& event);
  // A poll that began at `poll_started_ms` returned every page: later queries may start
  // from poll_started_ms - lookback.
  void poll_succeeded(std::int64_t poll_started_ms);

  [[nodiscard]] std::int64_t lookback() const { return m_lookback; }
  [[nodiscard]] std::size_t remembered() const { return m_ids.size(); }

private:
  TailTuning m_tuning;
  std::int64_t m_query_start;
  std::int64_t m_lookback;
  std::unordered_set<std::string> m_ids;
  std::multimap<std::int64_t, std::string> m_by_time; // timestamp → id, for forgetting
};

class Reorderer {
public:
  explicit Reorderer(TailTuning tuning = {});

  // An event that became visible at `arrived_ms`, `lateness_ms` after its timestamp.
  void push(LogEvent event, std::int64_t arrived_ms, std::int64_t lateness_ms);
  // The events due at `now_ms`, oldest first. After an incomplete poll (a log group failed
  // to answer, so an older event of it may still come), only events held max_hold are due.
  std::vector<LogEvent> release(std::int64_t now_ms, bool complete = true);
  // Everything still held, oldest first (at exit).
  std::vector<LogEvent> drain();
  // When the next held event is due (as release() decides); nullopt when nothing is held.
  [[nodiscard]] std::optional<std::int64_t> next_due(std::int64_t now_ms,
                                                     bool complete = true) const;
  [[nodiscard]] std::int64_t hold(std::int64_t now_ms) const;
  [[nodiscard]] std::size_t held() const { return m_pending.size(); }

private:
  struct Entry {
    LogEvent event;
    std::int64_t arrived;
    std::uint64_t sequence;
  };
  struct Sample {
    std::int64_t arrived;
    std::int64_t lateness;
  };
  void forget_samples(std::int64_t now_ms);
  std::vector<LogEvent> take(std::int64_t up_to_timestamp, bool everything);

  TailTuning m_tuning;
  std::vector<Entry> m_pending;
  std::deque<Sample> m_samples;
  std::uint64_t m_sequence = 0;
};

} // namespace wisp::logs
