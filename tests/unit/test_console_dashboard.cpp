#include <wisp/console/dashboard.hpp>
#include <wisp/console/traps.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace wisp::console;
namespace json = boost::json;

namespace {

DashboardOptions options() {
  DashboardOptions o;
  o.prices = builtin_prices();
  o.recent_invocations = 5;
  o.log_lines = 4;
  o.log_bytes = 1000;
  o.timeline_seconds = 10;
  o.trace_roots = 2;
  return o;
}

FunctionInfo function(std::string id) {
  FunctionInfo f;
  f.id = id;
  f.name = id;
  f.runtime = "python3.12";
  f.memory_size_mb = 256;
  f.timeout_s = 1;
  f.environment_names = {"DB_PASSWORD"};
  return f;
}

Invocation invocation(std::string fn, std::string id, std::int64_t start, double duration,
                      std::uint64_t billed) {
  Invocation i;
  i.function_id = std::move(fn);
  i.request_id = std::move(id);
  i.start_ms = start;
  i.end_ms = start + static_cast<std::int64_t>(duration);
  i.outcome = "success";
  i.duration_ms = duration;
  i.billed_duration_ms = billed;
  i.memory_size_mb = 256;
  i.max_memory_used_mb = 40;
  return i;
}

json::object function_of(const json::value& state, std::string_view id) {
  for (const auto& f : state.at("functions").as_array())
    if (f.at("id").as_string() == id)
      return f.as_object();
  FAIL("no function " << id);
  return {};
}

} // namespace

TEST_CASE("dashboard: counts, billed GB-seconds and costs follow the invocations") {
  Dashboard board(options());
  board.add_function(function("Fn"));
  const std::int64_t t0 = 1'790'000'000'000;
  board.started("Fn", t0);
  auto cold = invocation("Fn", "r1", t0, 10, 110);
  cold.cold = true;
  cold.init_duration_ms = 99.5;
  board.finished(cold);
  board.started("Fn", t0 + 100);
  auto failed = invocation("Fn", "r2", t0 + 100, 5, 5);
  failed.outcome = "function_error";
  failed.error_type = "ValueError";
  board.finished(failed);
  auto throttled = invocation("Fn", "r3", t0 + 200, 0, 0);
  throttled.outcome = "throttled";
  board.finished(throttled);

  const auto state = json::parse(board.state_json(t0 + 1000));
  const auto fn = function_of(state, "Fn");
  CHECK(fn.at("invocations").to_number<int>() == 2);
  CHECK(fn.at("coldStarts").to_number<int>() == 1);
  CHECK(fn.at("errors").to_number<int>() == 1);
  CHECK(fn.at("functionErrors").to_number<int>() == 1);
  CHECK(fn.at("throttles").to_number<int>() == 1);
  CHECK(fn.at("billedDurationMs").to_number<int>() == 115);
  CHECK(fn.at("gbSeconds").to_number<double>() == doctest::Approx(0.115 * 0.25));
  CHECK(fn.at("cost").at("total").to_number<double>() ==
        doctest::Approx(2 * 0.2e-6 + 0.115 * 0.25 * 0.0000166667));
  CHECK(fn.at("inFlight").to_number<int>() == 0);
  CHECK(fn.at("peakConcurrency").to_number<int>() == 1);
  // Secrets never leave: names only.
  const auto env = fn.at("environment").as_array();
  REQUIRE(env.size() == 1);
  CHECK(env[0].at("name").as_string() == "DB_PASSWORD");
  CHECK(env[0].at("value").as_string() == "••••••");
  CHECK(state.at("invocations").as_array().size() == 3);
}

TEST_CASE("dashboard: concurrency over time, and changes since a cursor") {
  Dashboard board(options());
  board.add_function(function("Fn"));
  board.add_function(function("Other"));
  const std::int64_t t0 = 1'790'000'000'000;
  board.started("Fn", t0);
  board.started("Fn", t0 + 10);
  board.started("Fn", t0 + 20); // three at once in the first second
  std::uint64_t cursor = 0;
  auto first = board.changes_json(cursor, t0 + 30);
  CHECK_FALSE(first.empty());
  CHECK(board.changes_json(cursor, t0 + 30).empty());    // nothing new
  board.finished(invocation("Fn", "a", t0, 1500, 1500)); // ends in the next second
  board.finished(invocation("Fn", "b", t0 + 10, 2990, 2990));
  const auto changes = json::parse(board.changes_json(cursor, t0 + 3000));
  REQUIRE(changes.at("functions").as_array().size() == 1); // only Fn changed
  const auto fn = function_of(changes, "Fn");
  CHECK(changes.at("invocations").as_array().size() == 2);
  const auto& series = fn.at("concurrency").as_object();
  const auto& seconds = series.at("seconds").as_array();
  const auto& max = series.at("max").as_array();
  // Fn was in the first changes (at t0's second): from the second before that on.
  REQUIRE(seconds.size() == 5);
  CHECK(seconds.front().to_number<std::int64_t>() == t0 / 1000 - 1);
  CHECK(seconds.back().to_number<std::int64_t>() == (t0 + 3000) / 1000);
  // Three in flight in t0's second and the next (one ends in it), two in the next two (one
  // ends in the last).
  CHECK(max[0].to_number<int>() == 0);
  CHECK(max[1].to_number<int>() == 3);
  CHECK(max[2].to_number<int>() == 3);
  CHECK(max[3].to_number<int>() == 2);
  CHECK(max[4].to_number<int>() == 2);
  CHECK(fn.at("inFlight").to_number<int>() == 1);
  // The state has all of it.
  const auto state = json::parse(board.state_json(t0 + 3000));
  CHECK(function_of(state, "Fn").at("concurrency").at("seconds").as_array().size() == 10);
  // Other was in the first changes only: its timeline comes whole.
  CHECK(
      function_of(json::parse(first), "Other").at("concurrency").at("seconds").as_array().size() ==
      10);
}

TEST_CASE("dashboard: changes carry the newest invocations of all functions, up to a limit") {
  auto o = options();
  o.recent_invocations = 50;
  o.changes_invocations = 4;
  Dashboard board(o);
  board.add_function(function("A"));
  board.add_function(function("B"));
  const std::int64_t t0 = 1'790'000'000'000;
  std::uint64_t cursor = 0;
  (void)board.changes_json(cursor, t0);
  // A then B, alternating: the newest four are a3, b3, a4, b4.
  for (int i = 0; i < 5; ++i) {
    board.finished(invocation("A", "a" + std::to_string(i), t0 + 2 * i, 1, 1));
    board.finished(invocation("B", "b" + std::to_string(i), t0 + 2 * i + 1, 1, 1));
  }
  auto changes = json::parse(board.changes_json(cursor, t0 + 20));
  std::vector<std::string> ids;
  for (const auto& i : changes.at("invocations").as_array())
    ids.emplace_back(i.at("requestId").as_string());
  CHECK(ids == std::vector<std::string>{"b4", "a4", "b3", "a3"});
  // Fewer new than the limit: all of them.
  board.finished(invocation("B", "b5", t0 + 30, 1, 1));
  changes = json::parse(board.changes_json(cursor, t0 + 40));
  REQUIRE(changes.at("invocations").as_array().size() == 1);
  CHECK(changes.at("invocations").as_array()[0].at("requestId").as_string() == "b5");
  // The state still has every function's ring.
  CHECK(json::parse(board.state_json(t0 + 40)).at("invocations").as_array().size() == 11);
}

TEST_CASE("dashboard: bounded rings; logs of one request; projections") {
  Dashboard board(options());
  board.add_function(function("Fn"));
  const std::int64_t t0 = 1'790'000'000'000;
  for (int i = 0; i < 50; ++i) {
    board.started("Fn", t0 + i);
    board.finished(invocation("Fn", "r" + std::to_string(i), t0 + i, 2, 2));
    board.log("Fn", "r" + std::to_string(i), "line of r" + std::to_string(i), t0 + i);
  }
  const auto before = board.memory_bytes();
  for (int i = 50; i < 5000; ++i) {
    board.started("Fn", t0 + i);
    board.finished(invocation("Fn", "r" + std::to_string(i), t0 + i, 2, 2));
    board.log("Fn", "r" + std::to_string(i), std::string(100, 'x'), t0 + i);
  }
  CHECK(board.memory_bytes() < before + 2048); // rings, not growth
  const auto state = json::parse(board.state_json(t0 + 6000));
  CHECK(state.at("invocations").as_array().size() == 5);
  CHECK(function_of(state, "Fn").at("invocations").to_number<int>() == 5000);
  const auto logs = json::parse(board.logs_json("Fn", "r4999"));
  REQUIRE(logs.at("lines").as_array().size() == 1);
  CHECK(json::parse(board.logs_json("Fn", "r1")).at("lines").as_array().empty()); // evicted

  // 10 requests a second for a month, at 2 ms billed and 256 MB each.
  const auto projection = json::parse(board.projection_json("Fn", 10));
  const double requests = 10.0 * 730 * 3600;
  const double gbs = requests * 0.002 * 0.25;
  CHECK(projection.at("monthlyRequests").to_number<double>() == doctest::Approx(requests));
  CHECK(projection.at("monthlyCostWithoutFreeTier").at("total").to_number<double>() ==
        doctest::Approx(requests * 0.2e-6 + gbs * 0.0000166667));
  CHECK(projection.at("monthlyCost").at("total").to_number<double>() ==
        doctest::Approx((requests - 1e6) * 0.2e-6)); // 13,140 GB-s: all within the free tier
  CHECK(json::parse(board.projection_json("Nope", 1)).as_object().contains("error"));
}

TEST_CASE("dashboard: a function running twice in one trace is a recursion trap") {
  Dashboard board(options());
  board.add_function(function("Loop"));
  const std::int64_t t0 = 1'790'000'000'000;
  for (int i = 0; i < 3; ++i) {
    auto inv = invocation("Loop", "r" + std::to_string(i), t0 + i, 1, 1);
    inv.trace_id = "Root=1-67890abc-0123456789abcdef01234567;Parent=" + std::to_string(i) +
                   ";Sampled=0;Lineage=1:abc:" + std::to_string(i);
    board.started("Loop", t0 + i);
    board.finished(inv);
  }
  const auto fn = function_of(json::parse(board.state_json(t0 + 10)), "Loop");
  const auto& traps = fn.at("traps").as_array();
  REQUIRE_FALSE(traps.empty());
  CHECK(traps[0].at("kind").as_string() == "recursion");
  CHECK(std::string(traps[0].at("message").as_string()).starts_with("ran 3 times in one trace"));
}

TEST_CASE("dashboard: the CPU share is over the invocations whose CPU time was measured") {
  // The engine measures a sample of a busy worker's invocations: those without cpu_ms do not
  // count as waiting.
  const auto kinds = [](const json::object& fn) {
    std::vector<std::string> out;
    for (const auto& trap : fn.at("traps").as_array())
      out.emplace_back(trap.at("kind").as_string());
    return out;
  };
  const std::int64_t t0 = 1'790'000'000'000;
  for (const double cpu : {90.0, 5.0}) {
    Dashboard board(options());
    board.add_function(function("Fn"));
    for (int i = 0; i < 10; ++i) {
      auto inv = invocation("Fn", "r" + std::to_string(i), t0 + i * 200, 100, 100);
      if (i % 5 == 0)
        inv.cpu_ms = cpu;
      board.started("Fn", inv.start_ms);
      board.finished(inv);
    }
    const auto fn = function_of(json::parse(board.state_json(t0 + 3000)), "Fn");
    const auto found = kinds(fn);
    CHECK((std::find(found.begin(), found.end(), "waiting") != found.end()) == (cpu < 20));
  }
}

TEST_CASE("cost traps") {
  TrapInputs in;
  in.invocations = 10;
  in.memory_size_mb = 1024;
  in.max_memory_used_mb = 100;
  in.timeout_s = 1;
  in.duration.p99 = 850;
  in.duration.mean = 400;
  in.cpu_share = 0.05;
  in.max_response_bytes = 5'500'000;
  in.async_over_256k = 2;
  const auto traps = find_traps(in);
  REQUIRE(traps.size() == 5);
  CHECK(traps[0].kind == "timeout");
  CHECK(traps[0].message.starts_with("p99 duration 850 ms is 85% of the 1 s Timeout"));
  CHECK(traps[1].kind == "memory");
  CHECK(traps[2].kind == "waiting");
  CHECK(traps[3].kind == "payload");
  CHECK(traps[4].kind == "payload");
  in = TrapInputs{};
  in.invocations = 10;
  in.duration.p99 = 100;
  in.timeout_s = 3;
  in.max_memory_used_mb = 60;
  CHECK(find_traps(in).empty()); // 128 MB at 60 used is fine; no CPU figure, no waiting trap
}

TEST_CASE("dashboard: /tmp used against EphemeralStorage, and the trap near its size") {
  Dashboard board(options());
  board.add_function(function("Files"));
  const std::int64_t t0 = 1'790'000'000'000;
  auto state = json::parse(board.state_json(t0));
  CHECK(function_of(state, "Files").at("maxTmpUsedBytes").is_null()); // not measured yet
  const std::uint64_t mib = 1024 * 1024;
  for (const std::uint64_t used : {30 * mib, 450 * mib, 10 * mib}) {
    auto inv = invocation("Files", "r" + std::to_string(used), t0, 5, 5);
    inv.tmp_used_bytes = used;
    board.started("Files", t0);
    board.finished(inv);
  }
  state = json::parse(board.state_json(t0 + 10));
  const auto fn = function_of(state, "Files");
  CHECK(fn.at("maxTmpUsedBytes").to_number<std::uint64_t>() == 450 * mib); // the most, kept
  CHECK(fn.at("ephemeralStorageMB").to_number<int>() == 512);
  std::vector<std::string> tmp_traps;
  for (const auto& trap : fn.at("traps").as_array())
    if (trap.at("kind").as_string() == "tmp")
      tmp_traps.emplace_back(trap.at("message").as_string());
  REQUIRE(tmp_traps.size() == 1);
  CHECK(tmp_traps[0].starts_with("/tmp holds up to 450.0 MB of its 512 MB (EphemeralStorage)"));

  TrapInputs in;
  in.invocations = 1;
  in.ephemeral_storage_mb = 1024;
  in.max_tmp_used_bytes = 800 * mib; // 78%: not yet
  CHECK(find_traps(in).empty());
  in.max_tmp_used_bytes = 820 * mib; // 80%
  REQUIRE(find_traps(in).size() == 1);
  CHECK(find_traps(in)[0].kind == "tmp");
}
