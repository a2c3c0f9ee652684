#include <wisp/console/report.hpp>
#include <wisp/runtime/lambda_text.hpp>

#include <doctest/doctest.h>

using namespace wisp::console;

TEST_CASE("REPORT text lines as Lambda writes them") {
  const auto r = parse_report("REPORT RequestId: 5bb9c1aa-0c1d-4e4f-8a9b-0c1d2e3f4a5b\tDuration: "
                              "4.29 ms\tBilled Duration: 228 ms\tMemory Size: 128 MB\tMax Memory "
                              "Used: 44 MB\tInit Duration: 222.77 ms\t");
  REQUIRE(r);
  CHECK(r->request_id == "5bb9c1aa-0c1d-4e4f-8a9b-0c1d2e3f4a5b");
  CHECK(r->duration_ms == doctest::Approx(4.29));
  CHECK(r->billed_duration_ms == 228); // includes the billed INIT: never added again
  CHECK(r->memory_size_mb == 128);
  CHECK(r->max_memory_used_mb == 44);
  REQUIRE(r->init_duration_ms);
  CHECK(*r->init_duration_ms == doctest::Approx(222.77));
  CHECK(r->cold());
  CHECK_FALSE(r->failed());
}

TEST_CASE("REPORT variants: warm, timeout, error, old spacing, X-Ray, SnapStart, JSON") {
  SUBCASE("warm, written by wisp's own engine") {
    wisp::runtime::ReportFields fields;
    fields.duration_ms = 12.5;
    fields.billed_duration_ms = 13;
    fields.memory_size_mb = 512;
    fields.max_memory_used_mb = 71;
    const auto r = parse_report(wisp::runtime::report_line("id-1", fields));
    REQUIRE(r);
    CHECK(r->request_id == "id-1");
    CHECK(r->billed_duration_ms == 13);
    CHECK(r->memory_size_mb == 512);
    CHECK_FALSE(r->cold());
  }
  SUBCASE("timeout and platform error") {
    auto r = parse_report("REPORT RequestId: a\tDuration: 3000.00 ms\tBilled Duration: 3000 "
                          "ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\tStatus: timeout");
    REQUIRE(r);
    CHECK(r->status == "timeout");
    CHECK(r->failed());
    r = parse_report("REPORT RequestId: b\tDuration: 5.00 ms\tBilled Duration: 6 ms\tMemory "
                     "Size: 128 MB\tMax Memory Used: 40 MB\tStatus: error\tError Type: "
                     "Runtime.ExitError\t");
    REQUIRE(r);
    CHECK(r->status == "error");
    CHECK(r->error_type == "Runtime.ExitError");
  }
  SUBCASE("before 1 ms billing, a space before the tab; X-Ray fields") {
    const auto r = parse_report(
        "REPORT RequestId: f420d819-d07e-11e8-9ef2-4d8f649fd167\tDuration: 158.15 ms\tBilled "
        "Duration: 200 ms \tMemory Size: 128 MB\tMax Memory Used: 38 MB\t\nXRAY TraceId: "
        "1-5bc7e3d5-2d3c8e3c\tSegmentId: 0c35b25c0a7a1c41\tSampled: true\t\n");
    REQUIRE(r);
    CHECK(r->billed_duration_ms == 200);
    CHECK(r->max_memory_used_mb == 38);
  }
  SUBCASE("fields separated by spaces instead of tabs") {
    const auto r = parse_report("REPORT RequestId: 1b6c  Init Duration: 0.35 ms  Duration: 2.01 "
                                "ms  Billed Duration: 3 ms  Memory Size: 128 MB  Max Memory "
                                "Used: 128 MB");
    REQUIRE(r);
    CHECK(r->request_id == "1b6c");
    CHECK(r->duration_ms == doctest::Approx(2.01));
    CHECK(r->billed_duration_ms == 3);
    CHECK(*r->init_duration_ms == doctest::Approx(0.35));
  }
  SUBCASE("SnapStart restore") {
    const auto r = parse_report("REPORT RequestId: x\tDuration: 10.00 ms\tBilled Duration: 11 "
                                "ms\tMemory Size: 256 MB\tMax Memory Used: 90 MB\tRestore "
                                "Duration: 300.50 ms\tBilled Restore Duration: 301 ms\t");
    REQUIRE(r);
    CHECK(*r->restore_duration_ms == doctest::Approx(300.5));
    CHECK(*r->billed_restore_ms == 301);
    CHECK_FALSE(r->cold());
  }
  SUBCASE("JSON log format: platform.report") {
    const auto r = parse_report(
        R"({"time":"2026-11-23T10:00:00.000Z","type":"platform.report","record":{"requestId":"6d68ca91","metrics":{"durationMs":693.92,"billedDurationMs":1092,"memorySizeMB":128,"maxMemoryUsedMB":84,"initDurationMs":397.68},"status":"success"}})");
    REQUIRE(r);
    CHECK(r->request_id == "6d68ca91");
    CHECK(r->duration_ms == doctest::Approx(693.92));
    CHECK(r->billed_duration_ms == 1092);
    CHECK(r->memory_size_mb == 128);
    CHECK(r->max_memory_used_mb == 84);
    CHECK(*r->init_duration_ms == doctest::Approx(397.68));
    CHECK(r->status.empty());
    const auto t = parse_report(
        R"({"type":"platform.report","record":{"requestId":"z","metrics":{"durationMs":3000,"billedDurationMs":3000,"memorySizeMB":128,"maxMemoryUsedMB":50},"status":"timeout"}})");
    REQUIRE(t);
    CHECK(t->status == "timeout");
  }
}

TEST_CASE("lines that are not a REPORT") {
  CHECK_FALSE(parse_report("START RequestId: a Version: $LATEST"));
  CHECK_FALSE(parse_report("END RequestId: a"));
  CHECK_FALSE(parse_report("2026-11-23T10:00:00.000Z\tid\tINFO\tREPORT RequestId: x"));
  CHECK_FALSE(parse_report("REPORT RequestId: a\tMemory Size: 128 MB")); // no durations
  CHECK_FALSE(parse_report("REPORT RequestId: a\tDuration: -1 ms\tBilled Duration: 1 ms"));
  CHECK_FALSE(parse_report(R"({"type":"platform.start","record":{"requestId":"a"}})"));
  CHECK_FALSE(parse_report(R"({"type":"platform.report","record":{"requestId":"a"}})"));
  CHECK_FALSE(parse_report(R"({"message":"platform.report", broken)"));
  CHECK_FALSE(parse_report(""));
}
