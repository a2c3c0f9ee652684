// Exactly-once, in-order tailing (src/wisp/logs/tail.hpp): the window and duplicate filter
// of one log group, the reorderer across polls and groups, and a simulated CloudWatch that
// makes events visible late and out of order while the two are driven like `--tail` does.

#include <wisp/logs/tail.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

using wisp::logs::LogEvent;
using wisp::logs::Reorderer;
using wisp::logs::TailTuning;
using wisp::logs::TailWindow;

namespace {

LogEvent make_event(std::string group, std::string id, std::int64_t timestamp,
                    std::int64_t ingestion) {
  LogEvent event;
  event.log_group = std::move(group);
  event.event_id = std::move(id);
  event.timestamp = timestamp;
  event.ingestion_time = ingestion;
  event.message = "m" + event.event_id;
  return event;
}

std::vector<std::string> ids(const std::vector<LogEvent>& events) {
  std::vector<std::string> out;
  for (const auto& event : events)
    out.push_back(event.event_id);
  return out;
}

} // namespace

TEST_CASE("tail window: the first query starts at the user's start; later ones overlap") {
  TailWindow window(1'000'000);
  CHECK(window.query_start() == 1'000'000);
  window.poll_succeeded(2'000'000);
  CHECK(window.query_start() == 2'000'000 - 10'000);
  window.poll_succeeded(2'001'000);
  CHECK(window.query_start() == 2'001'000 - 10'000);
  // Never backwards, and never before the user's start.
  window.poll_succeeded(1'500'000);
  CHECK(window.query_start() == 2'001'000 - 10'000);
  TailWindow late_start(5'000'000);
  late_start.poll_succeeded(5'001'000);
  CHECK(late_start.query_start() == 5'000'000);
}

TEST_CASE("tail window: an event returned by overlapping polls passes once") {
  TailWindow window(0);
  const auto a = make_event("/g", "1", 100, 100);
  CHECK(window.first_time(a));
  CHECK_FALSE(window.first_time(a));
  CHECK_FALSE(window.first_time(a));
  // Same id in another group is another event; same group, other id too.
  CHECK(window.first_time(make_event("/other", "1", 100, 100)));
  CHECK(window.first_time(make_event("/g", "2", 100, 100)));
  // Without an eventId (not CloudWatch), stream + time + message identify it.
  LogEvent local;
  local.log_group = "/g";
  local.log_stream = "s";
  local.timestamp = 5;
  local.message = "x";
  CHECK(window.first_time(local));
  CHECK_FALSE(window.first_time(local));
  local.message = "y";
  CHECK(window.first_time(local));
}

TEST_CASE("tail window: ids behind the window are forgotten, memory stays bounded") {
  TailWindow window(0);
  for (int i = 0; i < 1000; ++i)
    CHECK(window.first_time(make_event("/g", std::to_string(i), i * 100, i * 100)));
  CHECK(window.remembered() == 1000);
  window.poll_succeeded(100'000 + 10'000); // window now starts at 100 000
  CHECK(window.query_start() == 100'000);
  CHECK(window.remembered() == 0);
  // An event at the window's start is still remembered (it can be returned again).
  CHECK(window.first_time(make_event("/g", "edge", 100'000, 100'000)));
  window.poll_succeeded(110'000);
  CHECK(window.remembered() == 1);
  CHECK_FALSE(window.first_time(make_event("/g", "edge", 100'000, 100'000)));
}

TEST_CASE("tail window: the lookback grows with the lateness seen, within bounds") {
  TailWindow window(0);
  CHECK(window.lookback() == 10'000);
  window.first_time(make_event("/g", "a", 1'000, 1'200)); // 200 ms late
  CHECK(window.lookback() == 10'000);
  window.first_time(make_event("/g", "b", 1'000, 31'000)); // 30 s late
  CHECK(window.lookback() == 60'000);
  window.first_time(make_event("/g", "c", 1'000, 100'000'000)); // a day late
  CHECK(window.lookback() == 15 * 60'000);
  // A failed poll does not move the window: the next one covers the gap.
  TailWindow failing(0);
  failing.poll_succeeded(50'000);
  const auto before = failing.query_start();
  // (no poll_succeeded for the polls that failed)
  CHECK(failing.query_start() == before);
}

TEST_CASE("reorderer: events of two groups come out in timestamp order") {
  Reorderer reorderer;
  // Both visible with no lateness: no hold.
  reorderer.push(make_event("/a", "a2", 1'020, 1'020), 1'100, 0);
  reorderer.push(make_event("/b", "b1", 1'010, 1'010), 1'100, 0);
  reorderer.push(make_event("/a", "a1", 1'000, 1'000), 1'100, 0);
  reorderer.push(make_event("/b", "b2", 1'030, 1'030), 1'100, 0);
  CHECK(ids(reorderer.release(1'100)) == std::vector<std::string>{"a1", "b1", "a2", "b2"});
  CHECK(reorderer.held() == 0);
}

TEST_CASE("reorderer: equal timestamps keep their arrival order") {
  Reorderer reorderer;
  for (const char* id : {"x", "y", "z"})
    reorderer.push(make_event("/a", id, 500, 500), 600, 0);
  CHECK(ids(reorderer.release(600)) == std::vector<std::string>{"x", "y", "z"});
}

TEST_CASE("reorderer: a held event lets an earlier late one go first") {
  Reorderer reorderer;
  // Stream B's event (t=10 000) is visible 1 s late; the hold becomes 1 s.
  reorderer.push(make_event("/b", "b", 10'000, 11'000), 11'000, 1'000);
  CHECK(reorderer.hold(11'000) == 1'000);
  CHECK(reorderer.release(11'000).size() == 1); // 10 000 <= 11 000 - 1 000: due
  // Now an event at t=11 500 arrives at once; it is held until 12 500...
  reorderer.push(make_event("/b", "b2", 11'500, 11'500), 11'600, 100);
  CHECK(reorderer.release(11'600).empty());
  CHECK(reorderer.next_due(11'600) == 12'500);
  // ... so stream A's t=11 400 event, visible 900 ms late, still comes before it.
  reorderer.push(make_event("/a", "a", 11'400, 12'300), 12'300, 900);
  CHECK(reorderer.release(12'300).empty());
  CHECK(ids(reorderer.release(12'500)) == std::vector<std::string>{"a", "b2"});
}

TEST_CASE("reorderer: an event later than max_hold is released at once, never dropped") {
  Reorderer reorderer;
  reorderer.push(make_event("/a", "new", 100'000, 100'000), 100'000, 0);
  CHECK(ids(reorderer.release(100'000)) == std::vector<std::string>{"new"});
  reorderer.push(make_event("/a", "old", 40'000, 100'500), 100'500, 60'500);
  CHECK(ids(reorderer.release(100'500)) == std::vector<std::string>{"old"});
  // A very late event does not raise the hold for the others.
  CHECK(reorderer.hold(100'500) == 0);
}

TEST_CASE("reorderer: nothing is held longer than max_hold after it arrived") {
  TailTuning tuning;
  Reorderer reorderer(tuning);
  // A timestamp from a clock 10 minutes ahead.
  reorderer.push(make_event("/a", "future", 700'000, 100'000), 100'000, 0);
  CHECK(reorderer.release(100'000).empty());
  CHECK(reorderer.next_due(100'000) == 100'000 + tuning.max_hold_ms);
  CHECK(ids(reorderer.release(100'000 + tuning.max_hold_ms)) == std::vector<std::string>{"future"});
  // The hold forgets lateness samples after hold_memory.
  reorderer.push(make_event("/a", "l", 200'000, 200'800), 200'800, 800);
  CHECK(reorderer.hold(202'000) == 800);
  CHECK(reorderer.hold(202'000 + tuning.hold_memory_ms + 1) == 0);
}

TEST_CASE("reorderer: drain returns everything held, in order") {
  Reorderer reorderer;
  reorderer.push(make_event("/a", "2", 2'000, 2'500), 2'500, 500);
  reorderer.push(make_event("/a", "1", 1'900, 2'500), 2'500, 600);
  CHECK(ids(reorderer.drain()) == std::vector<std::string>{"1", "2"});
  CHECK(reorderer.held() == 0);
  CHECK_FALSE(reorderer.next_due(3'000).has_value());
}

namespace {

// A log group as CloudWatch serves it: an event is returned by a query once it has been
// ingested (visible) and its timestamp is in the query's window; pages are returned whole.
struct SimulatedGroup {
  std::string name;
  std::vector<LogEvent> events; // with timestamp and ingestion_time set

  std::vector<LogEvent> query(std::int64_t start, std::int64_t now) const {
    std::vector<LogEvent> out;
    for (const auto& event : events)
      if (event.ingestion_time <= now && event.timestamp >= start)
        out.push_back(event);
    std::stable_sort(out.begin(), out.end(), [](const LogEvent& a, const LogEvent& b) {
      return a.timestamp < b.timestamp;
    });
    return out;
  }
};

struct Printed {
  LogEvent event;
  std::int64_t hold = 0; // the reorderer's hold when it was released
};

struct TailResult {
  std::vector<Printed> printed;
  std::int64_t max_print_delay = 0; // print time - ingestion time
};

// Drives TailWindow + Reorderer the way logs::run_tail does: a poll every `interval` ms,
// some polls failing (then only events held too long are released), printing what the
// reorderer releases.
TailResult simulate(const std::vector<SimulatedGroup>& groups, std::int64_t start, std::int64_t end,
                    std::int64_t interval, double failure_rate, std::mt19937& rng) {
  std::vector<TailWindow> windows(groups.size(), TailWindow(start));
  Reorderer reorderer;
  TailResult result;
  std::bernoulli_distribution fails(failure_rate);
  std::map<std::string, std::int64_t> ingested;
  for (const auto& group : groups)
    for (const auto& event : group.events)
      ingested[group.name + "/" + event.event_id] = event.ingestion_time;
  const auto print = [&](std::vector<LogEvent> events, std::int64_t now, std::int64_t hold) {
    for (auto& event : events) {
      result.max_print_delay =
          std::max(result.max_print_delay, now - ingested[event.log_group + "/" + event.event_id]);
      result.printed.push_back({std::move(event), hold});
    }
  };
  for (std::int64_t now = start; now <= end; now += interval) {
    bool complete = true;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (fails(rng)) {
        complete = false;
        continue;
      }
      const auto arrived = now;
      for (auto& event : groups[g].query(windows[g].query_start(), now)) {
        if (!windows[g].first_time(event))
          continue;
        const auto lateness = event.ingestion_time - event.timestamp;
        reorderer.push(std::move(event), arrived, lateness);
      }
      windows[g].poll_succeeded(now);
    }
    const auto hold = reorderer.hold(now);
    print(reorderer.release(now, complete), now, hold);
  }
  print(reorderer.drain(), end, 0);
  return result;
}

std::vector<SimulatedGroup> make_groups(std::mt19937& rng, std::int64_t start) {
  // Two functions writing for two minutes; CloudWatch shows each event 0–0.8 s after its
  // timestamp, a few of them 1.5–8 s late.
  std::uniform_int_distribution<std::int64_t> gap(0, 400);
  std::uniform_int_distribution<std::int64_t> usual(0, 800);
  std::uniform_int_distribution<std::int64_t> rare(1'500, 8'000);
  std::bernoulli_distribution is_rare(0.03);
  std::vector<SimulatedGroup> groups{{"/aws/lambda/a", {}}, {"/aws/lambda/b", {}}};
  int id = 0;
  for (auto& group : groups) {
    for (std::int64_t t = start + 1'000; t < start + 120'000; t += gap(rng)) {
      const auto late = is_rare(rng) ? rare(rng) : usual(rng);
      group.events.push_back(make_event(group.name, std::to_string(id++), t, t + late));
    }
  }
  return groups;
}

void check_exactly_once(const std::vector<SimulatedGroup>& groups, const TailResult& result) {
  std::map<std::string, int> count;
  for (const auto& printed : result.printed)
    ++count[printed.event.log_group + "/" + printed.event.event_id];
  std::size_t total = 0;
  for (const auto& group : groups) {
    total += group.events.size();
    for (const auto& event : group.events)
      CHECK(count[group.name + "/" + event.event_id] == 1);
  }
  CHECK(result.printed.size() == total);
}

} // namespace

TEST_CASE("tail simulation: every event exactly once and in order, late events included") {
  for (const unsigned seed : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u}) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    const std::int64_t start = 1'700'000'000'000;
    const auto groups = make_groups(rng, start);
    const auto result = simulate(groups, start, start + 130'000, 1'000, 0.0, rng);
    check_exactly_once(groups, result);
    // In order, except for an event later than the hold in force when a newer event was
    // released before it: it could not have been waited for (and it is printed, not lost).
    std::size_t out_of_order = 0;
    for (std::size_t i = 0; i < result.printed.size(); ++i) {
      const auto& event = result.printed[i].event;
      std::optional<std::int64_t> overtaken_hold;
      for (std::size_t j = 0; j < i; ++j)
        if (result.printed[j].event.timestamp > event.timestamp)
          overtaken_hold = std::min(overtaken_hold.value_or(INT64_MAX), result.printed[j].hold);
      if (overtaken_hold) {
        ++out_of_order;
        CHECK_MESSAGE(event.ingestion_time - event.timestamp > *overtaken_hold,
                      "event " << event.event_id << " out of order although it was only "
                               << event.ingestion_time - event.timestamp << " ms late");
      }
    }
    // Most events are in order (the rare very late ones and the hold's warm-up aside).
    CHECK(out_of_order * 10 < result.printed.size());
    // Printed promptly: the poll interval plus the hold (max_hold).
    CHECK(result.max_print_delay <= 1'000 + 1'000);
  }
}

TEST_CASE("tail simulation: failed polls lose nothing and print nothing twice") {
  for (const unsigned seed : {11u, 12u, 13u, 14u}) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    const std::int64_t start = 1'700'000'000'000;
    const auto groups = make_groups(rng, start);
    const auto result = simulate(groups, start, start + 130'000, 1'000, 0.3, rng);
    check_exactly_once(groups, result);
    // Failed polls delay events; they are still printed within a bounded time.
    CHECK(result.max_print_delay <= 30'000);
  }
}

TEST_CASE("tail simulation: without lateness, output follows the poll with no hold") {
  std::mt19937 rng(42);
  const std::int64_t start = 1'700'000'000'000;
  SimulatedGroup a{"/a", {}};
  SimulatedGroup b{"/b", {}};
  for (int i = 0; i < 50; ++i) {
    a.events.push_back(make_event("/a", "a" + std::to_string(i), start + 1'000 + i * 200,
                                  start + 1'000 + i * 200));
    b.events.push_back(make_event("/b", "b" + std::to_string(i), start + 1'100 + i * 200,
                                  start + 1'100 + i * 200));
  }
  const auto result = simulate({a, b}, start, start + 20'000, 1'000, 0.0, rng);
  REQUIRE(result.printed.size() == 100);
  for (std::size_t i = 1; i < result.printed.size(); ++i)
    CHECK(result.printed[i - 1].event.timestamp < result.printed[i].event.timestamp);
  CHECK(result.max_print_delay <= 1'000);
}
