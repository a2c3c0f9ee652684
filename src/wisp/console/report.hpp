#pragma once
// Lambda's per-invocation REPORT, read from a log message: the text line
//   REPORT RequestId: <id>\tDuration: 4.29 ms\tBilled Duration: 228 ms\tMemory Size: 128 MB\t
//   Max Memory Used: 44 MB\tInit Duration: 222.77 ms\t[Status: timeout | Status: error\t
//   Error Type: <type>]
// (tab- or space-separated; older lines have "Billed Duration: 100 ms \t"; X-Ray and SnapStart
// fields are read or skipped), or the JSON log format's platform.report record
//   {"time":..,"type":"platform.report","record":{"requestId":..,"metrics":{"durationMs":..,
//    "billedDurationMs":..,"memorySizeMB":..,"maxMemoryUsedMB":..,"initDurationMs":..},
//    "status":"success"|"error"|"failure"|"timeout","errorType":..}}
//
// Billed Duration is taken as written: since 2025-08-01 it includes a billed INIT phase on
// cold starts; Init Duration is never added to it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wisp::console {

struct Report {
  std::string request_id;
  double duration_ms = 0;
  std::uint64_t billed_duration_ms = 0;
  int memory_size_mb = 0;
  int max_memory_used_mb = 0;
  std::optional<double> init_duration_ms;         // cold starts
  std::optional<double> restore_duration_ms;      // SnapStart
  std::optional<std::uint64_t> billed_restore_ms; // SnapStart
  std::string status;                             // "" (success), "timeout", "error", "failure"
  std::string error_type;                         // with status error

  [[nodiscard]] bool cold() const { return init_duration_ms.has_value(); }
  [[nodiscard]] bool failed() const { return !status.empty() && status != "success"; }
};

// The REPORT a message carries, or nothing (any other line, or a REPORT without the
// duration fields).
std::optional<Report> parse_report(std::string_view message);

} // namespace wisp::console
