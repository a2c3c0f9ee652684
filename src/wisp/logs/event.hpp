#pragma once
// A log event as `wisp logs` handles it, from CloudWatch Logs or the local log store, and
// what can be read from a Lambda log line: the function version of its stream and the
// request id of the invocation it belongs to.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wisp::logs {

struct LogEvent {
  std::int64_t timestamp = 0;      // epoch ms (CloudWatch's event timestamp)
  std::int64_t ingestion_time = 0; // epoch ms; 0 when unknown (the local store)
  std::string log_group;
  std::string log_stream;
  std::string event_id; // CloudWatch's; empty for local events
  std::string message;
  std::string request_id; // the store's, or found in the message; may be empty
  std::size_t source = 0; // which of the sources being read it came from
};

// "2026/11/23/[$LATEST]3f2a…" → "$LATEST", "…/[12]…" → "12"; empty when the stream is not
// named the way Lambda names its streams.
std::string_view stream_version(std::string_view log_stream);

// The request id a Lambda log line carries, or empty: "START|END|REPORT RequestId: <id>",
// runtime lines with a tab- or space-separated id near the start (Node's
// "<time>\t<id>\tINFO\t…", Python's "[INFO]\t<time>\t<id>\t…", "<time> <id> Task timed out"),
// and JSON lines ("requestId", "record.requestId", "AWSRequestId", "function_request_id").
std::string request_id_of(std::string_view message);

// True for Lambda's platform lines (START, END, REPORT, INIT_START, INIT_REPORT, ...).
bool is_platform_line(std::string_view message);

// True for lines that report an error (runtime ERROR level, Python's [ERROR], timeouts,
// crashes, JSON lines with level ERROR or errorType).
bool is_error_line(std::string_view message);

} // namespace wisp::logs
