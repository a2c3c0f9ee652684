#include <wisp/console/prices.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <string>

using namespace wisp::console;

namespace {

const char* const k_minimal = R"(as_of = 2026-01-02
[regions.default]
requests_per_million = 0.2
ephemeral_storage_per_gb_second = 0.0000000309
x86_64 = [{ up_to_gb_seconds = 100, per_gb_second = 0.5 }, { per_gb_second = 0.25 }]
arm64 = [{ per_gb_second = 0.4 }]
)";

std::string first_error(const wisp::support::Error& error) {
  REQUIRE_FALSE(error.diagnostics.empty());
  const auto& d = error.diagnostics.front();
  return d.file + ":" + std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message;
}

} // namespace

TEST_CASE("the built-in price table: us-east-1's prices, tiers, free tier, INIT billing date") {
  const auto& table = builtin_prices();
  CHECK(table.origin == "built-in");
  CHECK(table.currency == "USD");
  CHECK(table.as_of.size() == 10);
  CHECK(table.init_billing_since == "2025-08-01");
  CHECK(table.free_requests == 1000000);
  CHECK(table.free_gb_seconds == 400000);
  CHECK(table.month_hours == 730);
  const auto& us = table.region("us-east-1"); // not listed: the default region
  CHECK(us.requests_per_million == doctest::Approx(0.20));
  REQUIRE(us.x86_64.size() == 3);
  CHECK(us.x86_64[0].up_to_gb_seconds == 6e9);
  CHECK(us.x86_64[0].per_gb_second == doctest::Approx(0.0000166667).epsilon(1e-12));
  CHECK(us.x86_64[1].up_to_gb_seconds == 15e9);
  CHECK(us.x86_64[1].per_gb_second == doctest::Approx(0.000015).epsilon(1e-12));
  CHECK(std::isinf(us.x86_64[2].up_to_gb_seconds));
  CHECK(us.x86_64[2].per_gb_second == doctest::Approx(0.0000133334).epsilon(1e-12));
  REQUIRE(us.arm64.size() == 3);
  CHECK(us.arm64[0].up_to_gb_seconds == 7.5e9);
  CHECK(us.arm64[0].per_gb_second == doctest::Approx(0.0000133334).epsilon(1e-12));
  CHECK(us.arm64[1].up_to_gb_seconds == 18.75e9);
  CHECK(us.arm64[2].per_gb_second == doctest::Approx(0.0000106667).epsilon(1e-12));
  // A region priced apart keeps the default's request price.
  const auto& cape = table.region("af-south-1");
  CHECK(cape.x86_64.front().per_gb_second == doctest::Approx(0.0000221).epsilon(1e-12));
  CHECK(cape.arm64.front().per_gb_second == doctest::Approx(0.00001768).epsilon(1e-12));
  CHECK(cape.requests_per_million == doctest::Approx(0.20));
  CHECK(cape.ephemeral_storage_per_gb_second == us.ephemeral_storage_per_gb_second);
}

TEST_CASE("a price file replaces the table; listed regions inherit from default") {
  const std::string text = std::string(k_minimal) + R"(
[regions.xx-test-1]
arm64 = [{ per_gb_second = 0.1 }]
)";
  auto table = parse_prices(text, "my-prices.toml");
  REQUIRE(table);
  CHECK(table->origin == "my-prices.toml");
  CHECK(table->as_of == "2026-01-02");
  CHECK(table->free_requests == 0); // no free tier given: none
  CHECK(table->region("xx-test-1").arm64.front().per_gb_second == 0.1);
  CHECK(table->region("xx-test-1").x86_64.size() == 2);
  CHECK(table->region("elsewhere").arm64.front().per_gb_second == 0.4);
}

TEST_CASE("price file errors: file:line:col, every problem reported") {
  SUBCASE("TOML syntax") {
    auto table = parse_prices("as_of = 2026-01-02\n[regions.default\n", "p.toml");
    REQUIRE_FALSE(table);
    CHECK(first_error(table.error()).starts_with("p.toml:2:"));
  }
  SUBCASE("unknown key, with the known ones") {
    auto table = parse_prices(std::string(k_minimal) + "requests_per_milion = 1\n", "p.toml");
    REQUIRE_FALSE(table);
    // The key lands in [regions.default], the last table opened.
    CHECK(first_error(table.error()) ==
          "p.toml:7:1: unknown key 'requests_per_milion' in region default (known: "
          "requests_per_million, ephemeral_storage_per_gb_second, x86_64, arm64)");
  }
  SUBCASE("a price that is not a number, tiers out of order, an open tier not last") {
    const char* text = R"(as_of = 2026-01-02
[regions.default]
requests_per_million = "0.2"
ephemeral_storage_per_gb_second = -1
x86_64 = [{ up_to_gb_seconds = 100, per_gb_second = 1 }, { up_to_gb_seconds = 50, per_gb_second = 1 }, { per_gb_second = 1 }]
arm64 = [{ per_gb_second = 1 }, { per_gb_second = 2 }]
)";
    auto table = parse_prices(text, "p.toml");
    REQUIRE_FALSE(table);
    const auto& d = table.error().diagnostics;
    REQUIRE(d.size() == 4);
    CHECK(table.error().message == "4 problems in price file p.toml");
    CHECK(d[0].line == 3);
    CHECK(d[0].column == 24);
    CHECK(d[0].message == "requests_per_million must be a number");
    CHECK(d[1].line == 4);
    CHECK(d[1].message == "ephemeral_storage_per_gb_second must be a finite number of at least 0");
    CHECK(d[2].line == 5);
    CHECK(d[2].message == "up_to_gb_seconds of regions.default.x86_64 tier 2 must be above the "
                          "tier before it (100)");
    CHECK(d[3].line == 6);
    CHECK(d[3].message == "regions.default.arm64 tier 1 needs up_to_gb_seconds (only the last "
                          "tier is open-ended)");
  }
  SUBCASE("no default region") {
    auto table = parse_prices("as_of = 2026-01-02\n[regions.eu-west-1]\n", "p.toml");
    REQUIRE_FALSE(table);
    CHECK(first_error(table.error()).find("needs [regions.default]") != std::string::npos);
  }
  SUBCASE("as_of as a string") {
    auto table = parse_prices(std::string("as_of = \"2026-01-02\"\n") + (k_minimal + 19), "p.toml");
    REQUIRE_FALSE(table);
    CHECK(first_error(table.error()) ==
          "p.toml:1:9: as_of must be a date (YYYY-MM-DD, without quotes)");
  }
}

TEST_CASE("load_prices reads a file, and names a missing one") {
  auto missing = load_prices("/nonexistent/prices.toml");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("/nonexistent/prices.toml") != std::string::npos);
}
