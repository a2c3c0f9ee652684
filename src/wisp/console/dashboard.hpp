#pragma once
// The live console's figures: what the page at /_wisp/ shows while `local start-api` /
// `start-lambda` run. Fed with every invocation's start and end (and log lines) by the
// engine's observer; read as JSON by the page (a full state, then changes over SSE).
//
// Contract
// - Thread-safe; started()/finished()/log() are cheap and allocate nothing once the rings
//   are full (a lock, a few counters, a histogram bucket, a ring slot whose strings are
//   reused, a fixed table of trace roots): they run on the engine's completion path, on the
//   gateway's I/O thread, for every invocation (docs/benchmarks.md: the console's share).
// - Bounded memory whatever the traffic: per function a ring of recent invocations, a ring of
//   recent log lines (by count and bytes), histograms, a per-second concurrency timeline of
//   fixed length; recursion detection keeps a bounded set of trace roots.
// - Never holds secrets: a function's environment is kept as variable names only.

#include <wisp/console/prices.hpp>
#include <wisp/console/stats.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::console {

struct FunctionInfo {
  std::string id;   // logical id
  std::string name; // FunctionName, else the logical id
  std::string runtime;
  std::string handler;
  std::string architecture = "x86_64";
  std::string log_group;
  std::filesystem::path code_dir;
  int memory_size_mb = 128;
  int timeout_s = 3;
  int ephemeral_storage_mb = 512;
  std::optional<int> reserved_concurrency;
  std::vector<std::string> environment_names; // the values are never kept
};

// One finished invocation, as the engine reports it.
struct Invocation {
  std::string function_id;
  std::string request_id;
  std::string trace_id; // X-Amzn-Trace-Id (Root=…): recursion detection
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::string outcome; // runtime::to_string(Outcome): success, function_error, timeout, ...
  std::string error_type;
  bool cold = false;
  double duration_ms = 0;
  double init_duration_ms = 0;
  std::uint64_t billed_duration_ms = 0;
  int memory_size_mb = 0;
  int max_memory_used_mb = 0;
  std::optional<double> cpu_ms;
  std::optional<std::uint64_t> tmp_used_bytes; // the worker's private /tmp at the end
  std::size_t request_bytes = 0;
  std::size_t response_bytes = 0;
  bool asynchronous = false; // an event invocation (256 KB payload limit)
  bool started = true;       // counted in flight by started() (throttles never are)
};

struct DashboardOptions {
  PriceTable prices;
  std::string region = "us-east-1";
  std::string app;                      // the template's name/description for the header
  std::size_t recent_invocations = 200; // per function
  // The newest invocations a `changes` event carries, all functions together: the page lists
  // 60 (the ring's others are in `state`).
  std::size_t changes_invocations = 60;
  std::size_t log_lines = 2000;        // per function
  std::size_t log_bytes = 1024 * 1024; // per function
  int timeline_seconds = 600;          // concurrency over time
  std::size_t trace_roots = 4096;      // remembered for recursion detection
};

class Dashboard {
public:
  explicit Dashboard(DashboardOptions options);
  ~Dashboard();
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  void add_function(FunctionInfo info);

  // An invocation was accepted (concurrency +1); `finished` ends it. Throttled invocations
  // (and those refused at once) finish without having started (Invocation::started false).
  void started(std::string_view function_id, std::int64_t now_ms);
  void finished(const Invocation& invocation);
  void log(std::string_view function_id, std::string_view request_id, std::string_view text,
           std::int64_t time_ms);

  // Everything the page shows, as JSON.
  [[nodiscard]] std::string state_json(std::int64_t now_ms) const;
  // What changed since `cursor`, or empty when nothing did; moves the cursor. The functions
  // that changed, each with its concurrency timeline from the second before the last
  // `changes` that had it (all of it the first time: the page merges by second), and the newest
  // new invocations (at most `changes_invocations`, of all functions).
  [[nodiscard]] std::string changes_json(std::uint64_t& cursor, std::int64_t now_ms) const;
  // A request's log lines still in the ring (most recent invocations).
  [[nodiscard]] std::string logs_json(std::string_view function_id,
                                      std::string_view request_id) const;
  // The month's cost of a function at `requests_per_second` (its observed GB-s per request).
  [[nodiscard]] std::string projection_json(std::string_view function_id,
                                            double requests_per_second) const;
  // The change counter (bumps on every recorded event).
  [[nodiscard]] std::uint64_t version() const;
  // Approximate bytes held (the benchmark checks it stays bounded).
  [[nodiscard]] std::size_t memory_bytes() const;

  struct Function;

private:
  mutable std::mutex m_mutex;
  DashboardOptions m_options;
  std::int64_t m_started_ms = 0;
  std::uint64_t m_seq = 0;
  std::map<std::string, std::unique_ptr<Function>, std::less<>> m_functions;
  // (trace root, function) → how often the function ran in that trace (recursion detection):
  // a fixed table of hashed keys in sets of 4, the least recently added of a set replaced.
  struct TraceRuns {
    std::uint64_t key = 0; // 0: empty
    std::uint64_t added = 0;
    int runs = 0;
  };
  std::vector<TraceRuns> m_traces;
  std::uint64_t m_trace_clock = 0;
  int runs_in_trace(std::string_view trace_id, std::string_view function_id);
};

} // namespace wisp::console
