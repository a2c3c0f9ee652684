#include <wisp/runtime/lambda_config.hpp>
#include <wisp/runtime/lambda_text.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <regex>
#include <string>
#include <sys/wait.h>

using namespace wisp::runtime;

TEST_CASE("START/END/REPORT lines in Lambda's format") {
  CHECK(start_line("id-1", "$LATEST") == "START RequestId: id-1 Version: $LATEST");
  CHECK(end_line("id-1") == "END RequestId: id-1");
  ReportFields fields;
  fields.duration_ms = 1.234;
  fields.billed_duration_ms = 2;
  fields.memory_size_mb = 128;
  fields.max_memory_used_mb = 40;
  CHECK(report_line("id-1", fields) ==
        "REPORT RequestId: id-1\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 "
        "MB\tMax Memory Used: 40 MB\t");
  fields.init_duration_ms = 110.2;
  fields.status = ReportStatus::timeout;
  CHECK(report_line("id-1", fields)
            .ends_with("Max Memory Used: 40 MB\tInit Duration: 110.20 ms\tStatus: timeout\t"));
  fields.status = ReportStatus::error;
  fields.error_type = "Runtime.ExitError";
  CHECK(report_line("id-1", fields).ends_with("Status: error\tError Type: Runtime.ExitError\t"));
}

TEST_CASE("billed duration: 1 ms granularity, init billed on cold starts") {
  CHECK(billed_duration_ms(1.01, 0) == 2);
  CHECK(billed_duration_ms(3.0, 0) == 3);
  CHECK(billed_duration_ms(0.2, 0) == 1);
  CHECK(billed_duration_ms(1.5, 100.2) == 102);
}

TEST_CASE("exit texts follow Go's os.ProcessState") {
  CHECK(describe_exit(1 << 8) == "exit status 1"); // WEXITSTATUS 1
  CHECK(describe_exit(SIGKILL) == "signal: killed");
  CHECK(describe_exit(SIGSEGV | 0x80) == "signal: segmentation fault (core dumped)");
  CHECK(exit_error_message("r", 0) ==
        "RequestId: r Error: Runtime exited without providing a reason");
  CHECK(exit_error_message("r", 2 << 8) ==
        "RequestId: r Error: Runtime exited with error: exit status 2");
}

TEST_CASE("platform error payloads") {
  CHECK(timeout_text(3.0004) == "Task timed out after 3.00 seconds");
  CHECK(timeout_text(3.079) == "Task timed out after 3.07 seconds");
  CHECK(error_payload("Runtime.ExitError", "a \"b\"\n") ==
        R"({"errorType":"Runtime.ExitError","errorMessage":"a \"b\"\n"})");
  CHECK(
      runtime_413_body() ==
      R"({"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"})");
  CHECK(response_too_large_message(7000000) ==
        "Response payload size (7000000 bytes) exceeded maximum allowed payload size (6291556 "
        "bytes).");
}

TEST_CASE("ids, trace headers and stream names have Lambda's shapes") {
  std::mt19937_64 rng(42);
  CHECK(std::regex_match(
      make_uuid(rng),
      std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  CHECK(std::regex_match(make_trace_id(rng, now),
                         std::regex("Root=1-6553f100-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0")));
  CHECK(std::regex_match(make_log_stream_name(rng, "$LATEST", now),
                         std::regex(R"(2023/11/14/\[\$LATEST\][0-9a-f]{32})")));
  CHECK(iso8601_ms(now + std::chrono::milliseconds(7)) == "2023-11-14T22:13:20.007Z");
}

TEST_CASE("LogFormat JSON: platform records in the shape CloudWatch shows") {
  using namespace std::chrono;
  const auto time =
      system_clock::time_point(milliseconds(1791444628235)); // 2026-10-08T07:30:28.235Z
  std::string out;
  write_platform_start(out, time, "79b5", "arn:aws:lambda:eu-central-1:1:function:f", "$LATEST");
  CHECK(out == R"({"time":"2026-10-08T07:30:28.235Z","type":"platform.start","record":)"
               R"({"requestId":"79b5","functionArn":"arn:aws:lambda:eu-central-1:1:function:f",)"
               R"("version":"$LATEST"}})");
  ReportFields fields;
  fields.duration_ms = 1233.96;
  fields.billed_duration_ms = 1698;
  fields.memory_size_mb = 256;
  fields.max_memory_used_mb = 123;
  fields.init_duration_ms = 463.5124;
  write_platform_report(out, time, "79b5", fields);
  CHECK(out == R"({"time":"2026-10-08T07:30:28.235Z","type":"platform.report","record":)"
               R"({"requestId":"79b5","metrics":{"durationMs":1233.96,"billedDurationMs":1698,)"
               R"("memorySizeMB":256,"maxMemoryUsedMB":123,"initDurationMs":463.512},)"
               R"("status":"success"}})");
  fields.init_duration_ms.reset();
  fields.duration_ms = 2;
  fields.status = ReportStatus::timeout;
  write_platform_report(out, time, "79b5", fields);
  CHECK(out.find(R"("metrics":{"durationMs":2,"billedDurationMs":1698,)") != std::string::npos);
  CHECK(out.ends_with(R"("maxMemoryUsedMB":123},"status":"timeout"}})"));
  fields.status = ReportStatus::error;
  fields.error_type = "Runtime.ExitError";
  write_platform_report(out, time, "79b5", fields);
  CHECK(out.ends_with(R"("status":"error","errorType":"Runtime.ExitError"}})"));
  CHECK(platform_init_start(time, "tenner", "$LATEST", "2026/10/08/[$LATEST]22be", 256) ==
        R"({"time":"2026-10-08T07:30:28.235Z","type":"platform.initStart","record":)"
        R"({"initializationType":"on-demand","phase":"init","functionName":"tenner",)"
        R"("functionVersion":"$LATEST","instanceId":"2026/10/08/[$LATEST]22be",)"
        R"("instanceMaxMemory":268435456}})");
  CHECK(platform_init_report(time, 12.3456, "Runtime.ExitError") ==
        R"({"time":"2026-10-08T07:30:28.235Z","type":"platform.initReport","record":)"
        R"({"initializationType":"on-demand","phase":"init","status":"error",)"
        R"("errorType":"Runtime.ExitError","metrics":{"durationMs":12.346}}})");
}

TEST_CASE("log levels and tenancy texts") {
  CHECK(log_level_rank("TRACE") == 1);
  CHECK(log_level_rank("info") == 3);
  CHECK(log_level_rank("FATAL") == 6);
  CHECK(log_level_rank("VERBOSE") == 0);
  CHECK(tenant_id_problem(false, "").empty());
  CHECK(tenant_id_problem(true, "t-1").empty());
  CHECK(tenant_id_problem(true, "") ==
        "The invoked function is enabled with tenancy configuration. Add a valid tenant ID in "
        "your request and try again.");
  CHECK(tenant_id_problem(false, "t-1") ==
        "The invoked function is not enabled with tenancy configuration. Remove the tenant ID "
        "from your request and try again.");
  CHECK(tenant_id_format_problem("--tenant-id", "org/a=b+c-d@e.f:g h_i").empty());
  CHECK(tenant_id_format_problem("--tenant-id", "   ") ==
        "--tenant-id cannot be empty or contain only whitespace");
  CHECK(tenant_id_format_problem("--tenant-id", std::string(257, 'a')) ==
        "--tenant-id must be between 1 and 256 characters");
  CHECK(tenant_id_format_problem("--tenant-id", "a;b")
            .starts_with("--tenant-id contains invalid characters."));
}
