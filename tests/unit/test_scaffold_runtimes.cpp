#include <wisp/scaffold/runtimes.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <regex>

using namespace wisp::scaffold;

TEST_CASE("every served runtime has a lifecycle in the shared table") {
  for (const auto& runtime : served_runtimes()) {
    CHECK_MESSAGE(find_lifecycle(runtime) != nullptr, runtime);
    CHECK(find_lifecycle(runtime) == wisp::support::find_lambda_runtime(runtime));
  }
}

TEST_CASE("blocked runtimes are refused with the date and what to use") {
  const auto check = check_runtime("python3.11", "2026-11-23");
  CHECK(check.state == RuntimeState::blocked);
  CHECK(check.message == "python3.11 can no longer be created on AWS Lambda (blocked since "
                         "2026-07-31); use python3.14, python3.13 or python3.12");
  CHECK(check_runtime("nodejs20.x", "2026-11-23").message ==
        "nodejs20.x can no longer be created on AWS Lambda (blocked since 2026-06-01); use "
        "nodejs24.x or nodejs22.x");
  CHECK(check_runtime("python3.10", "2026-11-23").state == RuntimeState::blocked);
  // The day before the block it was still creatable, with a warning.
  const auto before = check_runtime("nodejs20.x", "2026-05-31");
  CHECK(before.state == RuntimeState::deprecated);
  CHECK(before.message == "nodejs20.x is deprecated on AWS Lambda since 2026-04-30 and can no "
                          "longer be created from 2026-06-01; consider nodejs24.x or nodejs22.x");
  CHECK(check_runtime("python3.11", "2026-06-29").state == RuntimeState::supported);
}

TEST_CASE("current runtimes are supported; others are explained") {
  for (const char* runtime :
       {"python3.12", "python3.13", "python3.14", "nodejs22.x", "nodejs24.x", "provided.al2023"})
    CHECK_MESSAGE(check_runtime(runtime, "2026-11-23").state == RuntimeState::supported, runtime);
  const auto al2 = check_runtime("provided.al2", "2026-11-23");
  CHECK(al2.state == RuntimeState::blocked);
  CHECK(al2.message.ends_with("use provided.al2023"));
  const auto unknown = check_runtime("pyhton3.13", "2026-11-23");
  CHECK(unknown.state == RuntimeState::unknown);
  CHECK(unknown.message == "unknown runtime 'pyhton3.13'; did you mean python3.13? wisp init "
                           "scaffolds python3.14, python3.13, python3.12, nodejs24.x, nodejs22.x "
                           "or provided.al2023");
  CHECK(check_runtime("nodejs22.x", "2027-05-01").state == RuntimeState::deprecated);
  CHECK(check_runtime("nodejs22.x", "2027-06-01").state == RuntimeState::blocked);
}

TEST_CASE("creatable runtimes and the default move with the date") {
  const auto now = creatable_runtimes("2026-11-23");
  CHECK(now == std::vector<std::string>{"python3.14", "python3.13", "python3.12", "nodejs24.x",
                                        "nodejs22.x", "provided.al2023"});
  CHECK(creatable_runtimes(k_lifecycle_reviewed) == now);
  CHECK(default_runtime("2026-11-23") == "python3.13");
  const auto later = creatable_runtimes("2027-06-01");
  CHECK(std::find(later.begin(), later.end(), "nodejs22.x") == later.end());
  CHECK(default_runtime("2028-12-01") == "python3.13");
  CHECK(default_runtime("2029-08-01").empty()); // every served runtime blocked by then
}

TEST_CASE("today is an ISO date") {
  CHECK(std::regex_match(today(), std::regex(R"(20\d{2}-\d{2}-\d{2})")));
}
