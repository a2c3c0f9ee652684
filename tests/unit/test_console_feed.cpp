#include <wisp/console/feed.hpp>
#include <wisp/runtime/engine.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace wisp;
using namespace wisp::console;
namespace json = boost::json;

namespace {

DashboardOptions feed_options() {
  DashboardOptions o;
  o.prices = builtin_prices();
  o.recent_invocations = 1000;
  return o;
}

FunctionInfo feed_function(std::string id) {
  FunctionInfo f;
  f.id = id;
  f.name = std::move(id);
  f.runtime = "python3.12";
  f.memory_size_mb = 128;
  return f;
}

// One invocation through the feed as the engine reports it: start, a log line, end.
void invoke(DashboardFeed& feed, std::string_view fn, const std::string& id, std::int64_t at) {
  feed.on_invoke_start({fn, id, at});
  const auto line = "line of " + id;
  feed.on_log({fn, id, line, at, "/aws/lambda/" + std::string(fn), "stream"});
  runtime::InvocationRecord r;
  r.function_id = fn;
  r.request_id = id;
  r.started = true;
  r.start_ms = at;
  r.end_ms = at + 2;
  r.outcome = runtime::Outcome::success;
  r.duration_ms = 2;
  r.billed_duration_ms = 2;
  r.memory_size_mb = 128;
  r.max_memory_used_mb = 30;
  feed.on_invoke_end(r);
}

int invocations(const Dashboard& board, std::string_view fn, std::int64_t now) {
  const auto state = json::parse(board.state_json(now));
  for (const auto& f : state.at("functions").as_array())
    if (f.at("id").as_string() == fn)
      return f.at("invocations").to_number<int>();
  FAIL("no function " << fn);
  return -1;
}

} // namespace

TEST_CASE("dashboard feed: buffered, exact after flush, in order") {
  Dashboard board(feed_options());
  board.add_function(feed_function("Fn"));
  DashboardFeed feed(board);
  const std::int64_t t0 = 1'790'000'000'000;
  for (int i = 0; i < 100; ++i)
    invoke(feed, "Fn", "r" + std::to_string(i), t0 + i);
  feed.flush();
  CHECK(invocations(board, "Fn", t0 + 1000) == 100);
  const auto state = json::parse(board.state_json(t0 + 1000));
  const auto& fn = state.at("functions").as_array()[0];
  CHECK(fn.at("inFlight").to_number<int>() == 0); // each start applied before its end
  const auto logs = json::parse(board.logs_json("Fn", "r99"));
  REQUIRE(logs.at("lines").as_array().size() == 1);
  CHECK(logs.at("lines").as_array()[0].at("message").as_string() == "line of r99");
}

TEST_CASE("dashboard feed: its own thread applies what it is given") {
  Dashboard board(feed_options());
  board.add_function(feed_function("Fn"));
  DashboardFeed feed(board);
  const std::int64_t t0 = 1'790'000'000'000;
  invoke(feed, "Fn", "r1", t0);
  for (int i = 0; i < 500 && invocations(board, "Fn", t0 + 1000) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(invocations(board, "Fn", t0 + 1000) == 1);
}

TEST_CASE("dashboard feed: producers on several threads, a reader flushing, then detached") {
  auto board = std::make_unique<Dashboard>(feed_options());
  board->add_function(feed_function("Fn"));
  auto feed = std::make_shared<DashboardFeed>(*board);
  const std::int64_t t0 = 1'790'000'000'000;
  constexpr int k_threads = 3;
  constexpr int k_each = 2000; // 18,000 events: past k_max_pending, the producers apply too
  static_assert(k_threads * k_each * 3 > DashboardFeed::k_max_pending);
  std::atomic<bool> done{false};
  std::thread reader([&] {
    std::uint64_t cursor = 0;
    while (!done) {
      feed->flush();
      (void)board->changes_json(cursor, t0 + 10'000);
    }
  });
  std::vector<std::thread> producers;
  for (int t = 0; t < k_threads; ++t)
    producers.emplace_back([&, t] {
      for (int i = 0; i < k_each; ++i)
        invoke(*feed, "Fn", "r" + std::to_string(t) + "-" + std::to_string(i), t0 + i);
    });
  for (auto& p : producers)
    p.join();
  done = true;
  reader.join();
  feed->flush();
  CHECK(invocations(*board, "Fn", t0 + 10'000) == k_threads * k_each);

  // Detached (the console going first): the dashboard may go; the engine's calls are dropped.
  feed->detach();
  board.reset();
  invoke(*feed, "Fn", "late", t0);
  feed->flush();
  feed->detach();
}
