#include <wisp/support/lambda_runtimes.hpp>

#include <doctest/doctest.h>

#include <regex>
#include <set>
#include <string>

using namespace wisp::support;

TEST_CASE("the Lambda runtime table is well formed") {
  const std::regex date(R"(\d{4}-\d{2}-\d{2})");
  std::set<std::string_view> names;
  for (const auto& runtime : lambda_runtimes()) {
    INFO(runtime.name);
    CHECK(names.insert(runtime.name).second);
    CHECK(std::regex_match(std::string(runtime.deprecated), date));
    CHECK(std::regex_match(std::string(runtime.create_blocked), date));
    CHECK(std::regex_match(std::string(runtime.update_blocked), date));
    CHECK(runtime.create_blocked < runtime.update_blocked);
    if (runtime.successor.empty())
      continue;
    // A successor is a runtime of the same family that is still creatable after this one.
    const auto* successor = find_lambda_runtime(runtime.successor);
    REQUIRE(successor != nullptr);
    CHECK((successor->family == runtime.family || runtime.family == RuntimeFamily::go));
    CHECK(successor->successor.empty());
    CHECK(successor->create_blocked >= runtime.create_blocked);
  }
}

TEST_CASE("lookups by name") {
  const auto* python = find_lambda_runtime("python3.11");
  REQUIRE(python != nullptr);
  CHECK(python->family == RuntimeFamily::python);
  CHECK(python->deprecated == "2026-06-30");
  CHECK(python->create_blocked == "2026-07-31");
  CHECK(python->update_blocked == "2026-08-31");
  CHECK(python->successor == "python3.14");
  CHECK(find_lambda_runtime("nodejs24.x")->successor.empty());
  CHECK(find_lambda_runtime("python3.11 ") == nullptr);
  CHECK(find_lambda_runtime("") == nullptr);
}

TEST_CASE("today_utc is an ISO date") {
  CHECK(std::regex_match(today_utc(), std::regex(R"(20\d{2}-\d{2}-\d{2})")));
}
