#pragma once
// The local execution engine's internals, shared by its translation units. Never include
// this outside src/wisp/runtime/: engine.hpp is the API.
//
//   engine.cpp             the public Engine API (add_function, invoke, prewarm, reload,
//                          stop, stats), completing invocations (finish, complete_simple),
//                          the observers, CollectingSink
//   engine_connection.cpp  the Runtime API server: per-worker listeners, connections, and
//                          handing an event to a worker (dispatch_locked: the /next answer)
//   engine_pool.cpp        the worker pool: spawning, scaling on demand, the sweep (idle
//                          retirement, --enforce-memory), retirement, deadlines, exits
//   engine_output.cpp      worker output and log lines: the output pipe, START/END/REPORT,
//                          each line to the observers (the log store is one)
//
// Locking: one engine mutex guards every pool structure (functions, workers' states, queues,
// the invocation free list) and every asio object that is not a connection socket (timers,
// acceptors, descriptors are only touched with it held). A connection's socket is only
// touched by that connection's own handlers, or — for a parked /next — by the thread that
// takes it out of the worker under the mutex. Sinks are called without the engine mutex,
// under their invocation's own mutex, which also orders streamed chunks before on_complete.
// Each worker has a log mutex for its output pipe and log bookkeeping; observers' on_log is
// called under it.

#include <wisp/runtime/engine.hpp>
#include <wisp/runtime/lambda_config.hpp>
#include <wisp/runtime/lambda_text.hpp>
#include <wisp/runtime/log_store.hpp>
#include <wisp/runtime/runtimes.hpp>
#include <wisp/runtime/worker_setup.hpp>

// GCC 12 reports -Wnull-dereference inside Asio's own reactor code once it is inlined here
// (a false positive in system headers); silenced for those headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio.hpp>
#pragma GCC diagnostic pop
#include <boost/beast/core/error.hpp>

#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace wisp::runtime::engine_detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
// Concrete executor types (no type-erased any_io_executor on the hot path).
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;
using Descriptor = asio::posix::basic_stream_descriptor<Executor>;
using Clock = std::chrono::steady_clock;
using WallClock = std::chrono::system_clock;

// Output read per readiness event; at completion, what is left in the pipe is read whole
// (bounded by k_final_drain so a child that keeps writing cannot hold the completion).
constexpr std::size_t k_drain_budget = 256u * 1024;
constexpr std::size_t k_final_drain = 64u * 1024 * 1024;

inline std::int64_t epoch_ms(WallClock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

inline double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

class Connection;
struct Worker;
struct Function;

struct Invocation {
  std::mutex sink_mutex;
  InvokeSink* sink = nullptr;
  Function* function = nullptr;
  std::uint64_t seq = 0;
  enum class State { free, queued, bound, running, completing } state = State::free;
  // request (views stay valid until completion: the caller's promise)
  std::string_view payload;
  std::string_view content_type;
  std::string_view client_context;
  std::string_view cognito_identity;
  std::string_view tenant_id;
  std::string request_id;
  std::string arn;
  std::string trace_id;
  std::chrono::milliseconds timeout{0};
  bool tail_log = false;
  // running
  std::shared_ptr<Worker> worker;
  Clock::time_point started;
  bool cold = false;
  double init_ms = 0;
  bool start_logged = false;
  bool streaming = false;
  bool stream_started = false;
  std::string head;
  std::string tail;
  // The /next response is still being written (it references `head` and `payload`): a
  // completion decided meanwhile (timeout, crash) waits for the write to end.
  bool delivering = false;
  struct Deferred {
    bool pending = false;
    Outcome outcome = Outcome::engine_error;
    ReportStatus status = ReportStatus::ok;
    std::string extra_log;
    std::shared_ptr<Worker> worker;
  } deferred;
  // completion scratch
  std::string body;
  std::string error_type;
  std::string content_type_out;
  // observers (observer.hpp)
  std::int64_t accepted_ms = 0;              // when invoke() accepted it (epoch ms)
  bool observed_start = false;               // on_invoke_start was called
  std::optional<std::uint64_t> cpu_start_ns; // the worker's CPU time when it got the event
  std::size_t streamed_bytes = 0;

  void append_tail(std::string_view line) {
    if (!tail_log)
      return;
    tail.append(line);
    tail.push_back('\n');
    if (tail.size() > 2 * k_log_tail_size)
      tail.erase(0, tail.size() - k_log_tail_size);
  }
  [[nodiscard]] std::string_view tail_view() const {
    std::string_view view(tail);
    if (view.size() > k_log_tail_size)
      view.remove_prefix(view.size() - k_log_tail_size);
    return view;
  }
};

struct Function {
  FunctionHandle handle;
  FunctionConfig config;
  Launch launch;
  detail::WorkerVariant host;                  // host paths
  std::optional<detail::WorkerVariant> lambda; // Lambda's file layout (while the OS allows it)
  std::string arn;
  std::string lineage_hash; // its key in the trace header's Lineage (lineage.hpp)
  std::string log_group;
  bool json_logs = false;    // LoggingConfig LogFormat JSON: platform records as JSON, no END
  bool platform_logs = true; // platform records pass SystemLogLevel (they are INFO)
  int limit = 10;
  bool reserved = false;
  std::uint64_t generation = 0;
  std::vector<std::shared_ptr<Worker>> workers; // alive
  std::vector<Worker*> idle;                    // LIFO: the warmest first
  std::deque<Invocation*> queue;
  int eager = 0;                      // workers started without waiting (0: up to limit)
  std::unique_ptr<Timer> scale_timer; // looks at a waiting queue (scale on demand)
  bool scale_armed = false;
  int quiet_looks = 0; // consecutive looks that found the running workers off the CPU
};

// The line a failed init leaves in the log: INIT_REPORT, or its JSON record (none when
// SystemLogLevel filters platform records out).
inline std::string init_report_for(const Function& fn, double init_ms, std::string_view type) {
  if (!fn.json_logs)
    return init_report_line(init_ms, type);
  if (!fn.platform_logs)
    return {};
  return platform_init_report(WallClock::now(), init_ms, type);
}

struct Worker : std::enable_shared_from_this<Worker> {
  enum class State { starting, idle, busy, dead };

  Worker(asio::io_context& io, std::shared_ptr<Engine::Impl> owner_, Function* function_)
      : owner(std::move(owner_)), function(function_), acceptor(io.get_executor()),
        exit_watch(io.get_executor()), output(io.get_executor()), deadline(io.get_executor()) {}

  std::shared_ptr<Engine::Impl> owner;
  Function* function;
  std::uint64_t generation = 0;
  State state = State::starting;
  pid_t pid = -1;
  Acceptor acceptor;
  std::uint16_t port = 0;
  Descriptor exit_watch;
  Descriptor output;
  Timer deadline;
  int status_fd = -1;
  int schedstat_fd = -1;      // /proc/<pid>/schedstat: time on and waiting for a CPU
  std::uint64_t sched_ns = 0; // its on-CPU + runnable total at the last look
  Clock::time_point sched_at; // when that was read
  // An invocation's CPU time (for observers that want it) is measured with two reads of
  // schedstat, for one invocation per k_cpu_sample at most: every invocation of a worker that
  // gets at most ~100 a second, a sample of a busier one's (the reads are a syscall each on
  // the I/O thread's path, a tenth of what a no-op invocation costs it). Guarded by the mutex.
  Clock::time_point cpu_sampled;
  static constexpr std::chrono::milliseconds k_cpu_sample{10};
  bool in_layout = false; // runs in Lambda's layout: a private /tmp
  int tmp_fd = -1;        // O_PATH of /proc/<pid>/root/tmp, opened when first asked
  // /tmp (for observers that want it) is measured after every invocation of 1 ms or more and
  // after one of a worker's shorter ones per k_tmp_sample at most (an fstatfs on the I/O
  // thread's path; a sub-millisecond invocation writes little). Touched only by the thread
  // completing the worker's invocation (one at a time).
  Clock::time_point tmp_sampled;
  static constexpr std::chrono::milliseconds k_tmp_sample{10};
  std::shared_ptr<Connection> parked; // holds a /next request
  Invocation* current = nullptr;      // dispatched, not yet answered
  Invocation* bound = nullptr;        // waits for this worker's first /next
  Clock::time_point spawned;
  Clock::time_point last_used;
  std::optional<double> pending_init_ms; // for the first invocation
  bool killed = false;                   // timeout, init error, retirement, stop
  bool oom = false;
  std::string log_stream;

  // Guarded by log_mutex.
  std::mutex log_mutex;
  std::string partial;
  std::string active_request_id;
  Invocation* log_target = nullptr;
  std::string scratch; // START/END/REPORT lines, reused
  std::atomic<bool> output_closed{false};
  std::atomic<int> final_max_memory_mb{0}; // from wait4's rusage once the process is gone

  ~Worker(); // tells the observers the worker's stream has ended (engine_pool.cpp)
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Nanoseconds the main thread has spent on a CPU; nullopt if unknown.
  [[nodiscard]] std::optional<std::uint64_t> cpu_run_ns() const {
    if (schedstat_fd < 0)
      return std::nullopt;
    std::array<char, 128> buffer{};
    const auto n = ::pread(schedstat_fd, buffer.data(), buffer.size() - 1, 0);
    if (n <= 0)
      return std::nullopt;
    std::uint64_t run = 0;
    if (std::from_chars(buffer.data(), buffer.data() + n, run).ec != std::errc())
      return std::nullopt;
    return run;
  }

  // Bytes in use in the worker's private /tmp (a tmpfs in its mount namespace, reached through
  // /proc/<pid>/root); nullopt with host paths or once the process is gone.
  [[nodiscard]] std::optional<std::uint64_t> tmp_used_bytes(); // engine_pool.cpp
  // Whether to measure /tmp after an invocation of `duration_ms` that ended at `now`.
  [[nodiscard]] bool tmp_due(double duration_ms, Clock::time_point now) {
    if (duration_ms < 1.0 && now - tmp_sampled < k_tmp_sample)
      return false;
    tmp_sampled = now;
    return true;
  }

  // Nanoseconds the main thread has spent on a CPU or waiting for one; nullopt if unknown.
  [[nodiscard]] std::optional<std::uint64_t> cpu_demand_ns() const {
    if (schedstat_fd < 0)
      return std::nullopt;
    std::array<char, 128> buffer{};
    const auto n = ::pread(schedstat_fd, buffer.data(), buffer.size() - 1, 0);
    if (n <= 0)
      return std::nullopt;
    // "<ns on a CPU> <ns runnable, waiting for one> <timeslices>"
    std::uint64_t run = 0;
    std::uint64_t wait = 0;
    const char* end = buffer.data() + n;
    const auto first = std::from_chars(buffer.data(), end, run);
    if (first.ec != std::errc() || first.ptr >= end ||
        std::from_chars(first.ptr + 1, end, wait).ec != std::errc())
      return std::nullopt;
    return run + wait;
  }

  // Peak RSS so far for an invocation that ran `duration_ms`, in MB. Reading the status file
  // costs a syscall in which the kernel formats ~50 fields: an invocation shorter than 10 ms
  // within 25 ms of the last reading reuses it (failures and cold starts always read; the
  // next reading catches up). Guarded by log_mutex.
  int max_memory_mb_for(double duration_ms, Clock::time_point now, bool fresh) {
    if (fresh || memory_sampled_mb <= 0 || duration_ms >= 10.0 ||
        now - memory_sampled >= k_memory_sample) {
      memory_sampled_mb = max_memory_mb();
      memory_sampled = now;
    }
    return memory_sampled_mb;
  }
  static constexpr std::chrono::milliseconds k_memory_sample{25};
  int memory_sampled_mb = 0;
  Clock::time_point memory_sampled;

  // Peak RSS so far, in MB (VmHWM of the worker's main process).
  int max_memory_mb() const {
    if (status_fd < 0)
      return final_max_memory_mb;
    std::array<char, 4096> buffer{};
    const auto n = ::pread(status_fd, buffer.data(), buffer.size() - 1, 0);
    if (n <= 0)
      return final_max_memory_mb;
    std::string_view text(buffer.data(), static_cast<std::size_t>(n));
    const auto kb = field_kb(text, "VmHWM:");
    return kb > 0 ? static_cast<int>((kb + 1023) / 1024) : final_max_memory_mb.load();
  }
  std::int64_t rss_kb() const {
    if (status_fd < 0)
      return 0;
    std::array<char, 4096> buffer{};
    const auto n = ::pread(status_fd, buffer.data(), buffer.size() - 1, 0);
    if (n <= 0)
      return 0;
    return field_kb(std::string_view(buffer.data(), static_cast<std::size_t>(n)), "VmRSS:");
  }
  static std::int64_t field_kb(std::string_view text, std::string_view field) {
    const auto at = text.find(field);
    if (at == std::string_view::npos)
      return 0;
    auto rest = text.substr(at + field.size());
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
      rest.remove_prefix(1);
    std::int64_t value = 0;
    std::from_chars(rest.data(), rest.data() + rest.size(), value);
    return value;
  }
};

} // namespace wisp::runtime::engine_detail

namespace wisp::runtime {

// The engine's state and the functions its translation units share. Suffixes: `_locked`:
// the engine mutex is held; `_locked_log`: the worker's log mutex is held.
struct Engine::Impl : std::enable_shared_from_this<Engine::Impl> {
  using Function = engine_detail::Function;
  using Invocation = engine_detail::Invocation;
  using Worker = engine_detail::Worker;
  using Timer = engine_detail::Timer;
  using Clock = engine_detail::Clock;

  Impl(boost::asio::io_context& io_, EngineOptions options_)
      : io(io_), options(std::move(options_)), rng(std::random_device{}()),
        sweep(io_.get_executor()) {
    if (options.cache_dir.empty())
      options.cache_dir = default_cache_dir();
    if (options.max_concurrency < 1)
      options.max_concurrency = 1;
  }

  boost::asio::io_context& io;
  EngineOptions options;
  mutable std::mutex mutex;
  std::vector<std::unique_ptr<Function>> functions;
  std::vector<std::unique_ptr<Invocation>> free_invocations;
  std::mt19937_64 rng;
  Timer sweep;
  bool sweeping = false;
  bool stopped = false;
  bool layout_refused = false; // the OS refused Lambda's file layout: host paths from now on
  EngineStats stats;
  // Added before the first invocation, read without a lock afterwards (observer.hpp).
  std::vector<std::shared_ptr<EngineObserver>> observers;
  bool wants_cpu = false; // an observer wants each invocation's CPU time
  bool wants_tmp = false; // an observer wants each worker's /tmp usage

  // ---- helpers (engine mutex held unless noted) ----
  Invocation* acquire_invocation() {
    if (free_invocations.empty())
      return new Invocation(); // NOLINT: owned by the pool once released
    auto* inv = free_invocations.back().release();
    free_invocations.pop_back();
    return inv;
  }
  void release_invocation(Invocation* inv) {
    inv->state = Invocation::State::free;
    inv->sink = nullptr;
    inv->worker.reset();
    inv->delivering = false;
    inv->deferred = Invocation::Deferred{};
    ++inv->seq;
    free_invocations.emplace_back(inv);
  }

  void warn(std::string_view message) const {
    if (options.on_warning)
      options.on_warning(message);
  }

  // ---- observers (engine.cpp) ----
  void add_observer(std::shared_ptr<EngineObserver> observer);
  // `inv` was accepted: a worker runs it, starts for it, or it waits for one.
  void notify_start_locked(Invocation& inv);
  // `inv` ended with `result` (no engine mutex; before its sink hears of it).
  void notify_end(Invocation& inv, const InvokeResult& result, engine_detail::Worker* worker);

  // ---- the Runtime API server (engine_connection.cpp) ----
  void accept(const std::shared_ptr<Worker>& worker);
  // Hands `inv` to `worker` (state, the /next answer's head, the deadline). Beside the
  // connection that writes that answer: the two run together on every invocation.
  void dispatch_locked(Worker& worker, Invocation& inv);
  // Answers the /next an idle worker has parked with `inv`.
  void answer_parked_locked(Worker& worker, Invocation& inv);

  // ---- the pool (engine_pool.cpp) ----
  support::Status spawn(Function& fn, Invocation* bound, std::shared_ptr<Worker>& out);
  void schedule_sweep();
  void on_sweep();
  void arm_scale_locked(Function& fn, bool mark);
  void on_scale(Function& fn);
  static void mark_cpu_demand(Worker& worker, std::optional<std::uint64_t> ns,
                              Clock::time_point now) {
    if (ns) {
      worker.sched_ns = *ns;
      worker.sched_at = now;
    }
  }
  void retire_locked(Worker& worker);
  void remove_locked(Worker& worker);
  void on_exit(const std::shared_ptr<Worker>& worker);
  void on_deadline(const std::shared_ptr<Worker>& worker, std::uint64_t seq);
  bool defer_if_delivering(Invocation& inv, const std::shared_ptr<Worker>& worker, Outcome outcome,
                           ReportStatus status, std::string& extra_log);

  // ---- worker output and log lines (engine_output.cpp; no engine mutex) ----
  void emit_line(Worker& worker, std::string_view request_id, std::string_view text,
                 std::int64_t time_ms);
  void emit_start_locked_log(Worker& worker, Invocation& inv, std::int64_t time_ms);
  void drain_output_locked_log(Worker& worker, std::size_t budget = engine_detail::k_drain_budget);
  void on_output(const std::shared_ptr<Worker>& worker);
  // An invocation's closing log lines (START if not yet, output, `extra_log`, END, REPORT);
  // sets result.max_memory_used_mb. Takes the worker's log mutex.
  void log_completion(Worker& worker, Invocation& inv, InvokeResult& result, ReportStatus status,
                      std::string_view extra_log, bool write_report, Clock::time_point now);

  // ---- completion (engine.cpp; no engine mutex) ----
  void finish(Worker* worker, Invocation& inv, Outcome outcome, ReportStatus status,
              std::string_view extra_log, bool write_report);
  void complete_simple(Invocation& inv, Outcome outcome);
};

} // namespace wisp::runtime
