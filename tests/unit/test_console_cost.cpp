#include <wisp/console/advice.hpp>
#include <wisp/console/cost.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace wisp::console;

namespace {

FunctionUsage usage(std::string id, double requests, double gbs,
                    Architecture arch = Architecture::x86_64, std::string region = "us-east-1") {
  FunctionUsage u;
  u.id = std::move(id);
  u.region = std::move(region);
  u.architecture = arch;
  u.requests = requests;
  u.gb_seconds = gbs;
  return u;
}

} // namespace

TEST_CASE("GB-seconds: billed milliseconds times memory") {
  CHECK(gb_seconds(1000, 1024) == 1.0);
  CHECK(gb_seconds(100, 128) == doctest::Approx(0.0125));
  CHECK(gb_seconds(228, 128) == doctest::Approx(0.0285));
}

TEST_CASE("requests and duration at the first tier, no free tier") {
  // 1,000 invocations of 100 ms billed at 128 MB: 12.5 GB-s.
  const std::vector<FunctionUsage> u{usage("Fn", 1000, 12.5)};
  const auto cost = price(builtin_prices(), u, false);
  CHECK(cost.functions[0].requests == doctest::Approx(0.0002));
  CHECK(cost.functions[0].duration == doctest::Approx(12.5 * 0.0000166667));
  CHECK(cost.total.total() == doctest::Approx(0.0002 + 0.00020833375));
  CHECK(cost.free_tier_credit.total() == 0);
}

TEST_CASE("duration tiers aggregate per region and architecture") {
  const auto& table = builtin_prices();
  // 7 billion GB-s of x86: 6 billion at the first price, 1 billion at the second.
  CHECK(tiered_duration_cost(table.region("us-east-1").x86_64, 7e9) ==
        doctest::Approx(6e9 * 0.0000166667 + 1e9 * 0.000015));
  // Counted from 14 billion already used this month: 1 billion in tier 2, 1 in tier 3.
  CHECK(tiered_duration_cost(table.region("us-east-1").x86_64, 2e9, 14e9) ==
        doctest::Approx(1e9 * 0.000015 + 1e9 * 0.0000133334));
  // Two functions sharing a group share its tiers in proportion; arm64 is a group apart.
  const std::vector<FunctionUsage> u{usage("A", 0, 4e9), usage("B", 0, 3e9),
                                     usage("C", 0, 7e9, Architecture::arm64)};
  const auto cost = price(table, u, false);
  const double group = 6e9 * 0.0000166667 + 1e9 * 0.000015;
  CHECK(cost.functions[0].duration == doctest::Approx(group * 4 / 7));
  CHECK(cost.functions[1].duration == doctest::Approx(group * 3 / 7));
  CHECK(cost.functions[2].duration == doctest::Approx(7e9 * 0.0000133334)); // arm's tier 1: 7.5B
}

TEST_CASE("the monthly free tier: AWS's pricing example 1") {
  // 512 MB, 3M invocations of 1 s: 1,500,000 GB-s; free 400,000 GB-s and 1M requests.
  const std::vector<FunctionUsage> u{usage("Fn", 3e6, 1.5e6)};
  const auto cost = price(builtin_prices(), u, true);
  CHECK(cost.functions[0].duration == doctest::Approx(1.1e6 * 0.0000166667));
  CHECK(cost.functions[0].requests == doctest::Approx(0.40));
  CHECK(cost.total.total() == doctest::Approx(18.33337 + 0.40));
  CHECK(cost.free_gb_seconds_used == 400000);
  CHECK(cost.free_requests_used == 1e6);
  CHECK(cost.free_tier_credit.duration == doctest::Approx(400000 * 0.0000166667));
  CHECK(cost.free_tier_credit.requests == doctest::Approx(0.20));
}

TEST_CASE("the free tier is shared by both architectures in proportion to their usage") {
  const std::vector<FunctionUsage> u{usage("X", 500000, 300000),
                                     usage("A", 1500000, 500000, Architecture::arm64)};
  const auto cost = price(builtin_prices(), u, true);
  // 800,000 GB-s in all: x86 takes 3/8 of the 400,000 free, arm64 5/8.
  CHECK(cost.functions[0].duration == doctest::Approx((300000 - 150000) * 0.0000166667));
  CHECK(cost.functions[1].duration == doctest::Approx((500000 - 250000) * 0.0000133334));
  // 2M requests, 1M free: each pays for half of its own.
  CHECK(cost.functions[0].requests == doctest::Approx(250000 * 0.2 / 1e6));
  CHECK(cost.functions[1].requests == doctest::Approx(750000 * 0.2 / 1e6));
}

TEST_CASE("usage below the free tier costs nothing for the month") {
  const std::vector<FunctionUsage> u{usage("Fn", 1000, 12.5)};
  CHECK(price(builtin_prices(), u, true).total.total() == 0);
}

TEST_CASE("ephemeral storage beyond 512 MB") {
  auto u = usage("Fn", 0, 0);
  u.ephemeral_gb_seconds = 1000; // e.g. 1,536 MB of /tmp: 1 GB beyond 512 MB for 1,000 s
  const std::vector<FunctionUsage> us{u};
  CHECK(price(builtin_prices(), us, false).total.ephemeral == doctest::Approx(1000 * 0.0000000309));
}

TEST_CASE("regions priced apart") {
  const std::vector<FunctionUsage> u{usage("Fn", 0, 100, Architecture::x86_64, "af-south-1")};
  CHECK(price(builtin_prices(), u, false).total.duration == doctest::Approx(100 * 0.0000221));
}

TEST_CASE("projecting a window to a month (730 hours)") {
  const std::vector<FunctionUsage> u{usage("Fn", 10, 2)};
  const auto month = project_month(builtin_prices(), u, 60); // 10 requests in a minute
  CHECK(month[0].requests == doctest::Approx(10.0 * 730 * 60));
  CHECK(month[0].gb_seconds == doctest::Approx(2.0 * 730 * 60));
  CHECK(project_month(builtin_prices(), u, 0)[0].requests == 0);
}

TEST_CASE("memory advice: CPU-bound work gets faster up to one vCPU") {
  Workload w;
  w.memory_mb = 128;
  w.duration_ms = 100;
  w.cpu_ms = 100;
  w.measured_unthrottled = true; // 100 ms of CPU at a full core
  w.max_memory_used_mb = 60;
  CHECK(predicted_duration_ms(w, 1769) == doctest::Approx(100));
  CHECK(predicted_duration_ms(w, 3008) == doctest::Approx(100)); // single-threaded
  CHECK(predicted_duration_ms(w, 128) == doctest::Approx(100.0 * 1769 / 128));
  const auto advice = advise_memory(builtin_prices(), "us-east-1", Architecture::x86_64, w);
  // GB-s are the same at every size up to 1,769 MB (duration × memory constant): the faster
  // size wins the tie; above it cost only grows.
  CHECK(advice.duration_minimising_mb == 1769);
  CHECK(advice.cost_minimising_mb == 1769);
}

TEST_CASE("memory advice: waiting functions are cheapest small") {
  Workload w;
  w.memory_mb = 1024;
  w.duration_ms = 200;
  w.cpu_ms = 2; // 198 ms waiting on I/O
  w.measured_unthrottled = true;
  w.max_memory_used_mb = 100;
  const auto advice = advise_memory(builtin_prices(), "us-east-1", Architecture::x86_64, w);
  CHECK(advice.cost_minimising_mb == 128);
  CHECK(predicted_duration_ms(w, 128) == doctest::Approx(198 + 2.0 * 1769 / 128));
  // Duration bottoms out at 200 ms from 1,769 MB; the smallest size within 1% (202 ms) is
  // 1,024 MB (198 + 2 × 1769/1024 = 201.5 ms; 768 MB: 202.6 ms).
  CHECK(advice.duration_minimising_mb == 1024);
  CHECK(advice.sizes.front().fits); // 100 MB used + 10% fits in 128 MB
}

TEST_CASE("memory advice: sizes below the memory used are not advised") {
  Workload w;
  w.memory_mb = 1024;
  w.duration_ms = 50;
  w.cpu_ms = 1;
  w.measured_unthrottled = true;
  w.max_memory_used_mb = 300;
  const auto advice = advise_memory(builtin_prices(), "us-east-1", Architecture::x86_64, w);
  CHECK(advice.cost_minimising_mb == 512); // 330 MB needed: 512 is the smallest that fits
}

TEST_CASE("memory advice from REPORT lines alone (no CPU time)") {
  Workload w;
  w.memory_mb = 512;
  w.duration_ms = 400; // on Lambda at 512 MB: taken as CPU work at 512/1769 of a vCPU
  const double at_1769 = 400.0 * 512 / 1769;
  CHECK(predicted_duration_ms(w, 1769) == doctest::Approx(at_1769));
  CHECK(predicted_duration_ms(w, 512) == doctest::Approx(400));
  const auto advice = advise_memory(builtin_prices(), "us-east-1", Architecture::x86_64, w);
  CHECK(advice.basis.find("all CPU work") != std::string::npos);
}

TEST_CASE("cost of one invocation: cold starts add their billed INIT, never twice") {
  const auto& t = builtin_prices();
  const double warm = invocation_cost(t, "us-east-1", Architecture::x86_64, 1024, 99.2);
  CHECK(warm == doctest::Approx(0.2 / 1e6 + 0.1 * 0.0000166667)); // 100 ms billed at 1 GB
  const double half_cold =
      invocation_cost(t, "us-east-1", Architecture::x86_64, 1024, 99.2, 0.5, 200);
  // Half the invocations bill 100 ms, half ceil(99.2 + 200) = 300 ms.
  CHECK(half_cold == doctest::Approx(0.2 / 1e6 + 0.2 * 0.0000166667));
}
