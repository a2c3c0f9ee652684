#pragma once
// The exact texts Lambda produces: START/END/REPORT log lines, platform error payloads
// (Runtime.ExitError, Sandbox.Timedout, Function.ResponseSizeTooLarge, throttling), request
// ids, X-Ray trace headers and log stream names. Pure functions, no I/O.
// Sources: ../shared/reference/protocols.md §1 (RIE) and docs/local-execution.md.

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace wisp::runtime {

// `START RequestId: <id> Version: <version>`
std::string start_line(std::string_view request_id, std::string_view version);
// `END RequestId: <id>`
std::string end_line(std::string_view request_id);

enum class ReportStatus : std::uint8_t { ok, timeout, error };

struct ReportFields {
  double duration_ms = 0;
  std::uint64_t billed_duration_ms = 0;
  int memory_size_mb = 128;
  int max_memory_used_mb = 0;
  std::optional<double> init_duration_ms; // cold starts only
  ReportStatus status = ReportStatus::ok;
  std::string_view error_type; // with ReportStatus::error
};

// `REPORT RequestId: <id>\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t
// Max Memory Used: 40 MB\t[Init Duration: 110.20 ms\t][Status: timeout\t|Status: error\t
// Error Type: Runtime.ExitError\t]` — the field order of Lambda's own REPORT lines.
std::string report_line(std::string_view request_id, const ReportFields& fields);

// `INIT_REPORT Init Duration: 12.34 ms\tPhase: init\tStatus: error\tError Type: <type>`
std::string init_report_line(double init_duration_ms, std::string_view error_type);

// Billed duration: 1 ms granularity, rounded up; a cold start also bills its init phase
// (Lambda bills INIT for every on-demand function since August 2025).
std::uint64_t billed_duration_ms(double duration_ms, double init_duration_ms);

// Go's os.ProcessState text for a wait status: `exit status 1`, `signal: killed`,
// `signal: segmentation fault (core dumped)`.
std::string describe_exit(int wait_status);

// Runtime.ExitError message: `RequestId: <id> Error: Runtime exited with error: exit status 1`
// or `RequestId: <id> Error: Runtime exited without providing a reason` (exit status 0).
std::string exit_error_message(std::string_view request_id, int wait_status);

// `Task timed out after 3.00 seconds` (the elapsed time, two decimals).
std::string timeout_text(double elapsed_seconds);

// A JSON object {"errorType":..,"errorMessage":..} (in that order, as Lambda writes it).
std::string error_payload(std::string_view error_type, std::string_view error_message);

// Lambda's throttling error body (429 TooManyRequestsException).
std::string throttle_payload(std::string_view reason);
inline constexpr std::string_view k_throttle_reason_reserved =
    "ReservedFunctionConcurrentInvocationLimitExceeded";

// Function.ResponseSizeTooLarge message and the 413 body the runtime receives.
std::string response_too_large_message(std::uint64_t size);
std::string runtime_413_body();
// RequestTooLargeException body for an oversized event.
std::string request_too_large_payload();

// Runtime API error body {"errorMessage":..,"errorType":..} (RIE's key order).
std::string runtime_api_error(std::string_view error_type, std::string_view message);

// Lowercase hex UUID v4 (8-4-4-4-12).
std::string make_uuid(std::mt19937_64& rng);
// X-Ray trace header `Root=1-<8 hex epoch>-<24 hex>;Parent=<16 hex>;Sampled=0`.
std::string make_trace_id(std::mt19937_64& rng, std::chrono::system_clock::time_point now);

// The same texts written into `out` (cleared first), reusing its capacity: the hot path.
void write_uuid(std::string& out, std::mt19937_64& rng);
void write_trace_id(std::string& out, std::mt19937_64& rng,
                    std::chrono::system_clock::time_point now);
void write_start_line(std::string& out, std::string_view request_id, std::string_view version);
void write_end_line(std::string& out, std::string_view request_id);
void write_report_line(std::string& out, std::string_view request_id, const ReportFields& fields);
// Lambda's log stream name `YYYY/MM/DD/[<version>]<32 hex>`.
std::string make_log_stream_name(std::mt19937_64& rng, std::string_view version,
                                 std::chrono::system_clock::time_point now);

// `2026-11-23T10:45:48.123Z`
std::string iso8601_ms(std::chrono::system_clock::time_point time);

// Escapes `text` as the contents of a JSON string (no quotes added).
void append_json_escaped(std::string& out, std::string_view text);

} // namespace wisp::runtime
