#include <wisp/support/lambda_runtimes.hpp>

#include <fmt/format.h>

#include <array>
#include <chrono>

namespace wisp::support {

namespace {

using F = RuntimeFamily;

// AWS Lambda's runtime lifecycle (docs: "Lambda runtimes", "Runtime deprecation policy"; the
// same dates as cfn-lint 1.51's LmbdRuntimeLifecycle data).
constexpr std::array k_runtimes = {
    LambdaRuntime{"python3.14", F::python, "2029-06-30", "2029-07-31", "2029-08-31", ""},
    LambdaRuntime{"python3.13", F::python, "2029-06-30", "2029-07-31", "2029-08-31", "python3.14"},
    LambdaRuntime{"python3.12", F::python, "2028-10-31", "2028-11-30", "2029-01-10", "python3.14"},
    LambdaRuntime{"python3.11", F::python, "2026-06-30", "2026-07-31", "2026-08-31", "python3.14"},
    LambdaRuntime{"python3.10", F::python, "2026-06-30", "2026-07-31", "2026-08-31", "python3.14"},
    LambdaRuntime{"python3.9", F::python, "2025-12-15", "2026-06-01", "2026-07-01", "python3.14"},
    LambdaRuntime{"python3.8", F::python, "2024-10-14", "2026-06-01", "2026-07-01", "python3.14"},
    LambdaRuntime{"python3.7", F::python, "2023-12-04", "2024-01-09", "2026-03-09", "python3.14"},
    LambdaRuntime{"python3.6", F::python, "2022-07-18", "2022-07-18", "2022-08-29", "python3.14"},
    LambdaRuntime{"python2.7", F::python, "2021-07-15", "2021-07-15", "2022-05-30", "python3.14"},
    LambdaRuntime{"nodejs24.x", F::nodejs, "2028-04-30", "2028-06-01", "2028-07-01", ""},
    LambdaRuntime{"nodejs22.x", F::nodejs, "2027-04-30", "2027-06-01", "2027-07-01", "nodejs24.x"},
    LambdaRuntime{"nodejs20.x", F::nodejs, "2026-04-30", "2026-06-01", "2026-07-01", "nodejs24.x"},
    LambdaRuntime{"nodejs18.x", F::nodejs, "2025-09-01", "2026-06-01", "2026-07-01", "nodejs24.x"},
    LambdaRuntime{"nodejs16.x", F::nodejs, "2024-06-12", "2026-06-01", "2026-07-01", "nodejs24.x"},
    LambdaRuntime{"nodejs14.x", F::nodejs, "2023-12-04", "2024-01-09", "2026-07-01", "nodejs24.x"},
    LambdaRuntime{"nodejs12.x", F::nodejs, "2023-03-31", "2023-03-31", "2023-04-30", "nodejs24.x"},
    LambdaRuntime{"nodejs10.x", F::nodejs, "2021-07-30", "2021-07-30", "2022-02-14", "nodejs24.x"},
    LambdaRuntime{"nodejs8.10", F::nodejs, "2020-03-06", "2020-02-04", "2020-03-06", "nodejs24.x"},
    LambdaRuntime{"nodejs6.10", F::nodejs, "2019-08-12", "2019-07-12", "2019-08-12", "nodejs24.x"},
    LambdaRuntime{"nodejs4.3", F::nodejs, "2020-03-05", "2020-02-03", "2020-03-05", "nodejs24.x"},
    LambdaRuntime{"nodejs4.3-edge", F::nodejs, "2020-03-05", "2019-03-31", "2019-04-30",
                  "nodejs24.x"},
    LambdaRuntime{"nodejs", F::nodejs, "2016-08-30", "2016-09-30", "2016-10-31", "nodejs24.x"},
    LambdaRuntime{"java25", F::java, "2029-06-30", "2029-07-31", "2029-08-31", ""},
    LambdaRuntime{"java21", F::java, "2029-06-30", "2029-07-31", "2029-08-31", "java25"},
    LambdaRuntime{"java17", F::java, "2026-06-30", "2026-07-31", "2026-08-31", "java25"},
    LambdaRuntime{"java11", F::java, "2026-06-30", "2026-07-31", "2026-08-31", "java25"},
    LambdaRuntime{"java8.al2", F::java, "2026-06-30", "2026-07-31", "2026-08-31", "java25"},
    LambdaRuntime{"java8", F::java, "2024-01-08", "2024-02-08", "2026-07-01", "java25"},
    LambdaRuntime{"dotnet10", F::dotnet, "2028-11-10", "2028-12-10", "2029-01-11", ""},
    LambdaRuntime{"dotnet8", F::dotnet, "2026-11-10", "2026-12-10", "2027-01-11", "dotnet10"},
    LambdaRuntime{"dotnet6", F::dotnet, "2024-12-20", "2026-06-01", "2026-07-01", "dotnet10"},
    LambdaRuntime{"dotnetcore3.1", F::dotnet, "2023-04-03", "2023-04-03", "2023-05-03", "dotnet10"},
    LambdaRuntime{"dotnetcore2.1", F::dotnet, "2022-01-05", "2022-01-05", "2022-04-13", "dotnet10"},
    LambdaRuntime{"dotnetcore2.0", F::dotnet, "2019-05-30", "2019-04-30", "2019-05-30", "dotnet10"},
    LambdaRuntime{"dotnetcore1.0", F::dotnet, "2019-06-27", "2019-06-30", "2019-07-30", "dotnet10"},
    LambdaRuntime{"ruby3.4", F::ruby, "2028-03-31", "2028-04-30", "2028-05-31", ""},
    LambdaRuntime{"ruby3.3", F::ruby, "2027-03-31", "2027-04-30", "2027-05-31", "ruby3.4"},
    LambdaRuntime{"ruby3.2", F::ruby, "2026-03-31", "2026-06-01", "2026-07-01", "ruby3.4"},
    LambdaRuntime{"ruby2.7", F::ruby, "2023-12-07", "2024-01-09", "2026-07-01", "ruby3.4"},
    LambdaRuntime{"ruby2.5", F::ruby, "2021-07-30", "2021-07-30", "2022-03-31", "ruby3.4"},
    LambdaRuntime{"provided.al2023", F::provided, "2029-06-30", "2029-07-31", "2029-08-31", ""},
    LambdaRuntime{"provided.al2", F::provided, "2026-06-30", "2026-07-31", "2026-08-31",
                  "provided.al2023"},
    LambdaRuntime{"provided", F::provided, "2024-01-08", "2024-02-08", "2026-07-01",
                  "provided.al2023"},
    LambdaRuntime{"go1.x", F::go, "2024-01-08", "2024-02-08", "2026-07-01", "provided.al2023"},
};

} // namespace

std::span<const LambdaRuntime> lambda_runtimes() {
  return k_runtimes;
}

const LambdaRuntime* find_lambda_runtime(std::string_view name) {
  for (const auto& runtime : k_runtimes)
    if (runtime.name == name)
      return &runtime;
  return nullptr;
}

std::string today_utc() {
  const auto now = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
  const std::chrono::year_month_day date{now};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
}

} // namespace wisp::support
