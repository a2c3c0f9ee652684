#pragma once
// What the engine tells whoever watches it: every invocation's start and end (its REPORT
// figures, cold or warm, outcome), every log line, and the start and end of every worker. The local
// log store, the servers' function log and the console are all observers (ARCHITECTURE.md "Growing
// the model": one observer interface).
//
// Contract
// - Observers are added before the engine's first invocation (Engine::add_observer, or
//   EngineOptions for the built-in ones) and are called in the order they were added.
// - Calls come from the threads that run the io_context (or that call Engine::invoke), and are
//   on the invocation's path: keep them cheap, never block, never call back into the engine.
// - on_invoke_start is called with the engine's lock held, when an invocation is accepted (a
//   worker runs it, starts for it, or it waits for one); throttled invocations and those
//   refused at once never start. on_invoke_end is called exactly once per invocation, started
//   or not, before its caller gets the result.
// - on_log: per worker, lines arrive in the order the worker wrote them, each with its
//   stream; on_worker_end follows a worker's last line.
// - Views are valid only during the call.

#include <cstdint>
#include <optional>
#include <string_view>

namespace wisp::runtime {

enum class Outcome : std::uint8_t;

struct InvocationStart {
  std::string_view function_id;
  std::string_view request_id;
  std::int64_t time_ms = 0; // Unix epoch milliseconds
};

struct InvocationRecord {
  std::string_view function_id;
  std::string_view request_id;
  std::string_view trace_id; // X-Amzn-Trace-Id as the function got it
  std::string_view version;
  bool started = false;      // on_invoke_start was called for it
  std::int64_t start_ms = 0; // accepted (epoch ms)
  std::int64_t end_ms = 0;   // completed (epoch ms)
  Outcome outcome{};
  std::string_view error_type;
  bool cold = false;
  double duration_ms = 0;
  double init_duration_ms = 0;
  std::uint64_t billed_duration_ms = 0;
  int memory_size_mb = 0;
  int max_memory_used_mb = 0;
  // The worker's main thread on a CPU (when asked for): measured for a sample of a busy
  // worker's invocations (one per 10 ms at most), every one of a worker's below ~100 a second.
  std::optional<double> cpu_ms;
  // Bytes in use in the worker's private /tmp when the invocation ended (when asked for; only
  // for workers in Lambda's layout: with host paths /tmp is the machine's).
  std::optional<std::uint64_t> tmp_used_bytes;
  std::size_t request_bytes = 0;
  std::size_t response_bytes = 0; // buffered or streamed
};

// One line of a function's log (its own output or START/END/REPORT/platform lines).
struct LogLine {
  std::string_view function_id;
  std::string_view request_id; // empty while no invocation is running
  std::string_view text;       // without the trailing newline
  std::int64_t time_ms = 0;    // Unix epoch milliseconds
  std::string_view log_group;  // the function's log group
  std::string_view log_stream; // the worker's stream; empty for lines without a worker
};

struct WorkerStart {
  std::string_view function_id;
  std::string_view log_stream;
  int pid = 0; // the worker's process (its own process group)
};

struct WorkerEnd {
  std::string_view function_id;
  std::string_view log_stream;
};

class EngineObserver {
public:
  virtual ~EngineObserver() = default;
  virtual void on_invoke_start(const InvocationStart& start) { (void)start; }
  virtual void on_invoke_end(const InvocationRecord& record) { (void)record; }
  virtual void on_log(const LogLine& line) { (void)line; }
  // A worker process started (engine lock held); on_worker_end follows its last line.
  virtual void on_worker_start(const WorkerStart& start) { (void)start; }
  virtual void on_worker_end(const WorkerEnd& end) { (void)end; }
  // Measure invocations' CPU time (two reads of /proc/<pid>/schedstat per measured invocation;
  // InvocationRecord::cpu_ms says which are).
  [[nodiscard]] virtual bool wants_cpu_time() const { return false; }
  // Measure the worker's private /tmp after each invocation (one fstatfs).
  [[nodiscard]] virtual bool wants_tmp_usage() const { return false; }

protected:
  EngineObserver() = default;
  EngineObserver(const EngineObserver&) = default;
  EngineObserver& operator=(const EngineObserver&) = default;
};

} // namespace wisp::runtime
