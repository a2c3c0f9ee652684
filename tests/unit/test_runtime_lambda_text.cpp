#include <wisp/runtime/lambda_text.hpp>

#include <doctest/doctest.h>

#include <regex>
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
