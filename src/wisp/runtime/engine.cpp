// The engine: per-worker Runtime API listeners (Boost.Beast), worker processes, the pool.
//
// Locking: one engine mutex guards every pool structure (functions, workers' states, queues,
// the invocation free list) and every asio object that is not a connection socket (timers,
// acceptors, descriptors are only touched with it held). A connection's socket is only
// touched by that connection's own handlers, or — for a parked /next — by the thread that
// takes it out of the worker under the mutex. Sinks are called without the engine mutex,
// under their invocation's own mutex, which also orders streamed chunks before on_complete.
// Each worker has a log mutex for its output pipe and log bookkeeping (and its log store's
// flush timer).

#include <wisp/runtime/engine.hpp>
#include <wisp/runtime/lambda_text.hpp>
#include <wisp/runtime/log_store.hpp>
#include <wisp/runtime/process.hpp>
#include <wisp/runtime/runtimes.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/template/rules.hpp>

// GCC 12 reports -Wnull-dereference inside Asio's own reactor code once it is inlined here
// (a false positive in system headers); silenced for those headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <deque>
#include <fcntl.h>
#include <map>
#include <memory_resource>
#include <mutex>
#include <random>
#include <set>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wisp::runtime {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
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

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
  case Outcome::success:
    return "success";
  case Outcome::function_error:
    return "function_error";
  case Outcome::timeout:
    return "timeout";
  case Outcome::throttled:
    return "throttled";
  case Outcome::init_error:
    return "init_error";
  case Outcome::exit_error:
    return "exit_error";
  case Outcome::response_too_large:
    return "response_too_large";
  case Outcome::request_too_large:
    return "request_too_large";
  case Outcome::engine_error:
    return "engine_error";
  }
  return "unknown";
}

namespace {

constexpr std::string_view k_api_prefix = "/2018-06-01/runtime/";
constexpr std::size_t k_max_line = 256u * 1024;
// Output read per readiness event; at completion, what is left in the pipe is read whole
// (bounded by k_final_drain so a child that keeps writing cannot hold the completion).
constexpr std::size_t k_drain_budget = 256u * 1024;
constexpr std::size_t k_final_drain = 64u * 1024 * 1024;
constexpr std::chrono::milliseconds k_store_delay{20};

bool is_plumbing(std::string_view name) {
  return name == "AWS_LAMBDA_RUNTIME_API" || name == "_HANDLER" || name == "LAMBDA_TASK_ROOT" ||
         name == "LAMBDA_RUNTIME_DIR" || name == "AWS_LAMBDA_LOG_STREAM_NAME";
}

// An ordered environment where a later set() replaces an earlier value in place.
class EnvBuilder {
public:
  void set(std::string_view key, std::string_view value) {
    auto it = m_index.find(std::string(key));
    if (it != m_index.end()) {
      m_entries[it->second].second = std::string(value);
      return;
    }
    m_index.emplace(std::string(key), m_entries.size());
    m_entries.emplace_back(std::string(key), std::string(value));
  }
  [[nodiscard]] std::vector<std::string> build() const {
    std::vector<std::string> out;
    out.reserve(m_entries.size());
    for (const auto& [key, value] : m_entries)
      out.push_back(key + "=" + value);
    return out;
  }

private:
  std::vector<std::pair<std::string, std::string>> m_entries;
  std::map<std::string, std::size_t> m_index;
};

std::string join_paths(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) {
    if (part.empty())
      continue;
    if (!out.empty())
      out += ':';
    out += part;
  }
  return out;
}

// Appends a header value, turning CR/LF into spaces so a value can never split the header.
void append_header(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  for (const char c : value)
    out += (c == '\r' || c == '\n') ? ' ' : c;
  out += "\r\n";
}

std::int64_t epoch_ms(WallClock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// errorType of a JSON error body, or empty.
std::string error_type_of(std::string_view body) {
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec);
  if (ec || !value.is_object())
    return {};
  const auto* type = value.as_object().if_contains("errorType");
  if (type == nullptr || !type->is_string())
    return {};
  return std::string(type->as_string());
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
  std::vector<std::string> base_env;
  std::string arn;
  std::string log_group;
  std::filesystem::path log_dir;
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

struct Worker : std::enable_shared_from_this<Worker> {
  enum class State { starting, idle, busy, dead };

  Worker(asio::io_context& io, std::shared_ptr<Engine::Impl> owner_, Function* function_)
      : owner(std::move(owner_)), function(function_), acceptor(io.get_executor()),
        exit_watch(io.get_executor()), output(io.get_executor()), deadline(io.get_executor()),
        store_timer(io.get_executor()) {}

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
  int schedstat_fd = -1;              // /proc/<pid>/schedstat: time on and waiting for a CPU
  std::uint64_t sched_ns = 0;         // its on-CPU + runnable total at the last look
  Clock::time_point sched_at;         // when that was read
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
  std::unique_ptr<LogStoreWriter> store;
  Timer store_timer; // a pending store flush
  bool store_flush_armed = false;
  std::atomic<bool> output_closed{false};
  std::atomic<int> final_max_memory_mb{0}; // from wait4's rusage once the process is gone

  ~Worker() {
    if (status_fd >= 0)
      ::close(status_fd);
    if (schedstat_fd >= 0)
      ::close(schedstat_fd);
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

// The Runtime API request body: buffered (capped at k_max_response_size, counting what is
// dropped) or, for a streaming response, forwarded as it arrives.
struct RuntimeBody {
  struct value_type {
    std::string* store = nullptr;
    std::uint64_t total = 0;
    Connection* stream = nullptr;
  };
  class reader {
  public:
    template <bool is_request, class Fields>
    reader(http::header<is_request, Fields>& /*header*/, value_type& body) : m_body(body) {}
    void init(const boost::optional<std::uint64_t>& length, beast::error_code& ec) {
      ec = {};
      m_body.total = 0;
      if (m_body.store != nullptr) {
        m_body.store->clear();
        if (length && *length <= k_max_response_size)
          m_body.store->reserve(static_cast<std::size_t>(*length));
      }
    }
    template <class Buffers> std::size_t put(const Buffers& buffers, beast::error_code& ec) {
      ec = {};
      std::size_t n = 0;
      for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
           ++it) {
        const asio::const_buffer buffer = *it;
        absorb(std::string_view(static_cast<const char*>(buffer.data()), buffer.size()));
        n += buffer.size();
      }
      return n;
    }
    void finish(beast::error_code& ec) { ec = {}; }

  private:
    void absorb(std::string_view data);
    value_type& m_body;
  };
};

} // namespace

struct Engine::Impl : std::enable_shared_from_this<Engine::Impl> {
  Impl(asio::io_context& io_, EngineOptions options_)
      : io(io_), options(std::move(options_)), rng(std::random_device{}()),
        sweep(io_.get_executor()) {
    if (options.cache_dir.empty())
      options.cache_dir = default_cache_dir();
    if (options.max_concurrency < 1)
      options.max_concurrency = 1;
  }

  asio::io_context& io;
  EngineOptions options;
  mutable std::mutex mutex;
  std::vector<std::unique_ptr<Function>> functions;
  std::vector<std::unique_ptr<Invocation>> free_invocations;
  std::mt19937_64 rng;
  Timer sweep;
  bool sweeping = false;
  bool stopped = false;
  EngineStats stats;

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

  support::Status spawn(Function& fn, Invocation* bound, std::shared_ptr<Worker>& out);
  void dispatch_locked(Worker& worker, Invocation& inv);
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

  // ---- completion (no engine mutex) ----
  void emit_line(Worker& worker, std::string_view request_id, std::string_view text,
                 std::int64_t time_ms);
  void emit_start_locked_log(Worker& worker, Invocation& inv, std::int64_t time_ms);
  void drain_output_locked_log(Worker& worker, std::size_t budget = k_drain_budget);
  void flush_store_soon_locked_log(Worker& worker);
  void finish(Worker* worker, Invocation& inv, Outcome outcome, ReportStatus status,
              std::string_view extra_log, bool write_report);
  void complete_simple(Invocation& inv, Outcome outcome);

  void on_exit(const std::shared_ptr<Worker>& worker);
  void on_output(const std::shared_ptr<Worker>& worker);
  void on_deadline(const std::shared_ptr<Worker>& worker, std::uint64_t seq);
  bool defer_if_delivering(Invocation& inv, const std::shared_ptr<Worker>& worker, Outcome outcome,
                           ReportStatus status, std::string& extra_log);
  void accept(const std::shared_ptr<Worker>& worker);
};

namespace {

// One connection from a worker to its Runtime API port.
class Connection : public std::enable_shared_from_this<Connection> {
public:
  Connection(Socket socket, std::shared_ptr<Worker> worker)
      : m_socket(std::move(socket)), m_worker(std::move(worker)) {}

  void start() { read_header(); }

  // Answers a /next with `inv` (engine mutex held: the deadline cannot release it first).
  // A held 202 (see reply_accepted) goes out in the same write.
  void deliver(Invocation& inv) {
    inv.delivering = true;
    std::array<asio::const_buffer, 3> buffers{asio::buffer(m_held), asio::buffer(inv.head),
                                              asio::buffer(inv.payload)};
    asio::async_write(m_socket, buffers,
                      [self = shared_from_this(), target = &inv,
                       seq = inv.seq](beast::error_code ec, std::size_t) {
                        self->m_held.clear();
                        self->delivered(*target, seq);
                        if (!ec)
                          self->read_header();
                      });
  }
  void delivered(Invocation& inv, std::uint64_t seq);

  void on_stream_bytes(std::string_view data);
  bool keep_alive() const { return m_keep_alive; }

private:
  enum class Route { next, response, error, init_error, not_found, bad_method };

  void read_header();
  void on_header(beast::error_code ec);
  void read_body();
  void on_body(beast::error_code ec);
  void handle();
  void handle_next();
  void handle_response();
  void handle_error();
  void handle_init_error();
  void handle_stream_end(beast::error_code ec);
  void reply(unsigned status, std::string_view reason, std::string_view body);
  void reply_accepted();
  template <class Then> void write_held(Then then);
  Engine::Impl& engine() { return *m_worker->owner; }

  Socket m_socket;
  std::shared_ptr<Worker> m_worker;
  beast::flat_buffer m_buffer;
  // Header fields live in a per-connection arena, reset for every request: parsing a
  // Runtime API request allocates nothing once the connection is warm.
  std::array<std::byte, 4096> m_arena_buffer{};
  std::pmr::monotonic_buffer_resource m_arena{m_arena_buffer.data(), m_arena_buffer.size()};
  std::optional<http::request_parser<RuntimeBody, std::pmr::polymorphic_allocator<char>>> m_parser;
  std::string m_body;
  std::string m_reply;
  // Answers held back while a pipelined request is already buffered: they are written with
  // the next answer, one write (and one wake-up of the runtime) instead of two.
  std::string m_held;
  std::string m_id;
  Route m_route = Route::not_found;
  bool m_keep_alive = true;
  // streaming response in progress
  Invocation* m_stream_inv = nullptr;
  std::uint64_t m_stream_seq = 0;
};

void RuntimeBody::reader::absorb(std::string_view data) {
  m_body.total += data.size();
  if (m_body.stream != nullptr) {
    m_body.stream->on_stream_bytes(data);
    return;
  }
  if (m_body.store == nullptr)
    return;
  const auto room = k_max_response_size - std::min(k_max_response_size, m_body.store->size());
  m_body.store->append(data.substr(0, std::min(room, data.size())));
}

void Connection::delivered(Invocation& inv, std::uint64_t seq) {
  auto& eng = engine();
  Invocation::Deferred deferred;
  {
    std::lock_guard lock(eng.mutex);
    if (inv.seq != seq)
      return;
    inv.delivering = false;
    std::swap(deferred, inv.deferred);
  }
  if (deferred.pending)
    eng.finish(deferred.worker.get(), inv, deferred.outcome, deferred.status, deferred.extra_log,
               true);
}

void Connection::read_header() {
  m_parser.reset();
  m_arena.release();
  m_parser.emplace(std::piecewise_construct, std::make_tuple(),
                   std::make_tuple(std::pmr::polymorphic_allocator<char>(&m_arena)));
  m_parser->body_limit(boost::none);
  m_parser->header_limit(256u * 1024);
  m_parser->get().body().store = &m_body;
  http::async_read_header(
      m_socket, m_buffer, *m_parser,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
}

void Connection::on_header(beast::error_code ec) {
  if (ec)
    return; // the worker went away or sent garbage: drop the connection
  const auto& req = m_parser->get();
  m_keep_alive = req.keep_alive();
  std::string_view target(req.target().data(), req.target().size());
  if (const auto q = target.find('?'); q != std::string_view::npos)
    target = target.substr(0, q);
  m_route = Route::not_found;
  m_id.clear();
  if (target.starts_with(k_api_prefix)) {
    auto rest = target.substr(k_api_prefix.size());
    if (rest == "invocation/next") {
      m_route = req.method() == http::verb::get ? Route::next : Route::bad_method;
    } else if (rest == "init/error") {
      m_route = req.method() == http::verb::post ? Route::init_error : Route::bad_method;
    } else if (rest.starts_with("invocation/")) {
      rest.remove_prefix(11);
      const auto slash = rest.find('/');
      if (slash != std::string_view::npos && slash > 0) {
        const auto action = rest.substr(slash + 1);
        m_id.assign(rest.substr(0, slash));
        if (action == "response")
          m_route = req.method() == http::verb::post ? Route::response : Route::bad_method;
        else if (action == "error")
          m_route = req.method() == http::verb::post ? Route::error : Route::bad_method;
      }
    }
  }
  if (m_route == Route::response) {
    const auto mode = req["Lambda-Runtime-Function-Response-Mode"];
    if (!mode.empty() && !beast::iequals(mode, "streaming")) {
      m_route = Route::not_found; // answered below as InvalidFunctionResponseMode
      m_id = "\x01mode";
    } else if (!mode.empty()) {
      // Streaming: bind to the invocation now and forward chunks as they arrive.
      auto& eng = engine();
      const auto type = req[http::field::content_type];
      const std::string_view content_type = type.empty()
                                                ? std::string_view("application/octet-stream")
                                                : std::string_view(type.data(), type.size());
      std::unique_lock lock(eng.mutex);
      auto* cur = m_worker->current;
      if (cur != nullptr && cur->request_id == m_id && !cur->streaming &&
          cur->state == Invocation::State::running) {
        cur->streaming = true;
        m_stream_inv = cur;
        m_stream_seq = cur->seq;
        m_parser->get().body().stream = this;
        std::unique_lock sink_lock(cur->sink_mutex);
        cur->stream_started = true;
        cur->content_type_out.assign(content_type);
        lock.unlock();
        cur->sink->on_stream_start(content_type);
      }
    }
  }
  if (beast::iequals(req[http::field::expect], "100-continue")) {
    auto self = shared_from_this();
    m_reply.assign(m_held);
    m_held.clear();
    m_reply += "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(m_socket, asio::buffer(m_reply),
                      [self](beast::error_code error, std::size_t) {
                        if (!error)
                          self->read_body();
                      });
    return;
  }
  read_body();
}

void Connection::read_body() {
  if (m_parser->is_done()) {
    handle();
    return;
  }
  if (m_stream_inv != nullptr) {
    http::async_read(m_socket, m_buffer, *m_parser,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->handle_stream_end(ec);
                     });
    return;
  }
  http::async_read(
      m_socket, m_buffer, *m_parser,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
}

void Connection::on_body(beast::error_code ec) {
  if (ec)
    return;
  handle();
}

void Connection::handle() {
  switch (m_route) {
  case Route::next:
    handle_next();
    return;
  case Route::response:
    handle_response();
    return;
  case Route::error:
    handle_error();
    return;
  case Route::init_error:
    handle_init_error();
    return;
  case Route::bad_method:
    reply(405, "Method Not Allowed", "405 method not allowed\n");
    return;
  case Route::not_found:
    if (m_id == "\x01mode") {
      reply(400, "Bad Request",
            runtime_api_error("InvalidFunctionResponseMode", "Invalid function response mode"));
      return;
    }
    reply(404, "Not Found", "404 page not found\n");
    return;
  }
}

void Connection::reply(unsigned status, std::string_view reason, std::string_view body) {
  const bool json = !body.empty() && body.front() == '{';
  m_reply.assign(m_held);
  m_held.clear();
  fmt::format_to(std::back_inserter(m_reply),
                 "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}\r\n", status,
                 reason, json ? "application/json" : "text/plain; charset=utf-8", body.size(),
                 m_keep_alive ? "" : "Connection: close\r\n");
  m_reply += body;
  asio::async_write(m_socket, asio::buffer(m_reply),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      if (!ec && self->m_keep_alive)
                        self->read_header();
                    });
}

void Connection::reply_accepted() {
  static constexpr std::string_view k_accepted = "HTTP/1.1 202 Accepted\r\n"
                                                 "Content-Type: application/json\r\n"
                                                 "Content-Length: 15\r\n\r\n"
                                                 "{\"status\":\"OK\"}";
  static constexpr std::string_view k_accepted_close = "HTTP/1.1 202 Accepted\r\n"
                                                       "Content-Type: application/json\r\n"
                                                       "Content-Length: 15\r\n"
                                                       "Connection: close\r\n\r\n"
                                                       "{\"status\":\"OK\"}";
  m_held += m_keep_alive ? k_accepted : k_accepted_close;
  if (m_keep_alive && m_buffer.size() > 0) {
    // The runtime pipelined its next request (wisp's bootstraps send /next with the result):
    // the 202 waits for that request's answer. A runtime that waits for the 202 before
    // sending anything never has bytes buffered here and gets it at once.
    read_header();
    return;
  }
  write_held([self = shared_from_this()] {
    if (self->m_keep_alive)
      self->read_header();
  });
}

template <class Then> void Connection::write_held(Then then) {
  asio::async_write(m_socket, asio::buffer(m_held),
                    [self = shared_from_this(), then = std::move(then)](beast::error_code ec,
                                                                        std::size_t) mutable {
                      self->m_held.clear();
                      if (!ec)
                        then();
                    });
}

void Connection::handle_next() {
  auto& eng = engine();
  auto& worker = *m_worker;
  std::string_view refusal;
  {
    std::lock_guard lock(eng.mutex);
    auto& fn = *worker.function;
    if (worker.state == Worker::State::dead || worker.killed)
      return; // the worker is being torn down: leave the request unanswered
    if (worker.current != nullptr) {
      refusal = "Running";
    } else if (worker.parked != nullptr) {
      refusal = "Ready";
    } else {
      const auto now = Clock::now();
      if (worker.state == Worker::State::starting)
        worker.pending_init_ms = ms_between(worker.spawned, now);
      if (worker.generation != fn.generation && worker.bound == nullptr) {
        // The code changed (reload): retire instead of taking more work.
        eng.retire_locked(worker);
        return;
      }
      Invocation* inv = nullptr;
      if (worker.bound != nullptr) {
        inv = worker.bound;
        worker.bound = nullptr;
      } else if (!fn.queue.empty()) {
        inv = fn.queue.front();
        fn.queue.pop_front();
      }
      if (inv != nullptr) {
        eng.dispatch_locked(worker, *inv);
        deliver(*inv); // initiated under the mutex: the deadline cannot release `inv` first
        return;
      }
      if (!m_held.empty()) {
        // Nothing to run: the held 202 goes out before the connection parks (a parked
        // connection is written by whoever delivers to it), then /next is looked at again.
        write_held([self = shared_from_this()] { self->handle_next(); });
        return;
      }
      worker.state = Worker::State::idle;
      worker.last_used = now;
      worker.parked = shared_from_this();
      fn.idle.push_back(&worker);
      eng.schedule_sweep();
      return;
    }
  }
  reply(403, "Forbidden",
        runtime_api_error("InvalidStateTransition",
                          fmt::format("State transition from {} to Ready failed for runtime. "
                                      "Error: State transition is not allowed",
                                      refusal)));
}

// Takes the worker's current invocation when `id` names it (engine mutex not held).
Invocation* take_current(Engine::Impl& eng, Worker& worker, std::string_view id) {
  std::lock_guard lock(eng.mutex);
  auto* cur = worker.current;
  if (cur == nullptr || cur->request_id != id || cur->state != Invocation::State::running ||
      cur->streaming)
    return nullptr;
  worker.current = nullptr;
  cur->state = Invocation::State::completing;
  worker.deadline.cancel();
  return cur;
}

void Connection::handle_response() {
  auto& eng = engine();
  auto& worker = *m_worker;
  Invocation* inv = take_current(eng, worker, m_id);
  if (inv == nullptr) {
    reply(400, "Bad Request", runtime_api_error("InvalidRequestID", "Invalid request ID"));
    return;
  }
  // Everything needed from the request is taken before replying: once the reply is written
  // another thread may start reading the next request on this connection.
  const auto total = m_parser->get().body().total;
  if (total > k_max_response_size) {
    inv->body = error_payload("Function.ResponseSizeTooLarge", response_too_large_message(total));
    inv->error_type = "Function.ResponseSizeTooLarge";
    inv->content_type_out = "application/json";
    reply(413, "Request Entity Too Large", runtime_413_body());
    eng.finish(&worker, *inv, Outcome::response_too_large, ReportStatus::ok, {}, true);
    return;
  }
  const auto type = m_parser->get()[http::field::content_type];
  inv->content_type_out.assign(type.empty() ? std::string_view("application/json")
                                            : std::string_view(type.data(), type.size()));
  inv->body.swap(m_body); // the connection keeps the invocation's old buffer
  reply_accepted();
  eng.finish(&worker, *inv, Outcome::success, ReportStatus::ok, {}, true);
}

void Connection::handle_error() {
  auto& eng = engine();
  auto& worker = *m_worker;
  Invocation* inv = take_current(eng, worker, m_id);
  if (inv == nullptr) {
    reply(400, "Bad Request", runtime_api_error("InvalidRequestID", "Invalid request ID"));
    return;
  }
  const auto header = m_parser->get()["Lambda-Runtime-Function-Error-Type"];
  inv->error_type.assign(header.data(), header.size());
  if (inv->error_type.empty())
    inv->error_type = error_type_of(m_body);
  if (inv->error_type.empty())
    inv->error_type = "Unhandled";
  inv->content_type_out = "application/json";
  inv->body.swap(m_body);
  reply_accepted();
  eng.finish(&worker, *inv, Outcome::function_error, ReportStatus::ok, {}, true);
}

void Connection::handle_init_error() {
  auto& eng = engine();
  auto& worker = *m_worker;
  Invocation* inv = nullptr;
  bool allowed = false;
  double init_ms = 0;
  {
    std::lock_guard lock(eng.mutex);
    if (worker.state == Worker::State::starting && !worker.killed) {
      allowed = true;
      init_ms = ms_between(worker.spawned, Clock::now());
      inv = worker.bound;
      worker.bound = nullptr;
      eng.retire_locked(worker); // Lambda discards an environment whose init failed
      if (inv != nullptr) {
        inv->state = Invocation::State::completing;
        inv->worker = m_worker;
        inv->started = Clock::now();
        inv->cold = true;
        inv->init_ms = init_ms;
      }
    }
  }
  if (!allowed) {
    reply(403, "Forbidden",
          runtime_api_error("InvalidStateTransition",
                            "State transition from Running to InitError failed for runtime. "
                            "Error: State transition is not allowed"));
    return;
  }
  const auto header = m_parser->get()["Lambda-Runtime-Function-Error-Type"];
  std::string type(header.data(), header.size());
  if (type.empty())
    type = error_type_of(m_body);
  if (type.empty())
    type = "Runtime.Unknown";
  std::string body;
  body.swap(m_body);
  reply_accepted();
  {
    std::lock_guard log_lock(worker.log_mutex);
    eng.drain_output_locked_log(worker, k_final_drain);
    eng.emit_line(worker, {}, init_report_line(init_ms, type), epoch_ms(WallClock::now()));
    if (worker.store)
      worker.store->flush();
  }
  if (inv == nullptr)
    return;
  inv->error_type = type;
  inv->content_type_out = "application/json";
  inv->body = std::move(body);
  eng.finish(&worker, *inv, Outcome::init_error, ReportStatus::error, {}, true);
}

void Connection::on_stream_bytes(std::string_view data) {
  if (data.empty())
    return;
  auto& eng = engine();
  std::unique_lock lock(eng.mutex);
  auto* inv = m_stream_inv;
  if (inv == nullptr || inv->seq != m_stream_seq || inv->state != Invocation::State::running)
    return;
  std::lock_guard sink_lock(inv->sink_mutex);
  lock.unlock();
  inv->sink->on_stream_data(data);
}

void Connection::handle_stream_end(beast::error_code ec) {
  auto& eng = engine();
  auto& worker = *m_worker;
  Invocation* inv = nullptr;
  {
    std::lock_guard lock(eng.mutex);
    auto* cur = m_stream_inv;
    if (cur != nullptr && cur->seq == m_stream_seq && cur->state == Invocation::State::running &&
        worker.current == cur) {
      inv = cur;
      worker.current = nullptr;
      inv->state = Invocation::State::completing;
      worker.deadline.cancel();
    }
  }
  m_stream_inv = nullptr;
  if (inv == nullptr)
    return;
  inv->content_type_out = "application/json";
  if (ec) {
    // The runtime dropped the stream mid-way (Lambda: Runtime.TruncatedResponse).
    inv->error_type = "Runtime.TruncatedResponse";
    inv->body = error_payload(inv->error_type, "Response payload was truncated");
    eng.finish(&worker, *inv, Outcome::function_error, ReportStatus::ok, {}, true);
    return;
  }
  const auto& req = m_parser->get();
  const auto type = req["Lambda-Runtime-Function-Error-Type"];
  const auto body = req["Lambda-Runtime-Function-Error-Body"];
  const bool failed = !type.empty() || !body.empty();
  if (failed) {
    inv->error_type.assign(type.data(), type.size());
    auto decoded = support::base64_decode(std::string_view(body.data(), body.size()));
    inv->body = decoded ? *decoded : std::string(body.data(), body.size());
    if (inv->error_type.empty())
      inv->error_type = error_type_of(inv->body);
    if (inv->error_type.empty())
      inv->error_type = "Unhandled";
  } else {
    inv->body.clear();
  }
  reply_accepted();
  eng.finish(&worker, *inv, failed ? Outcome::function_error : Outcome::success, ReportStatus::ok,
             {}, true);
}

} // namespace

// ---------------------------------------------------------------------------------------
// Engine::Impl

void Engine::Impl::accept(const std::shared_ptr<Worker>& worker) {
  worker->acceptor.async_accept([this, worker](beast::error_code ec, Socket socket) {
    if (ec)
      return;
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<Connection>(std::move(socket), worker)->start();
    std::lock_guard lock(mutex);
    if (worker->state != Worker::State::dead && worker->acceptor.is_open())
      accept(worker);
  });
}

support::Status Engine::Impl::spawn(Function& fn, Invocation* bound, std::shared_ptr<Worker>& out) {
  auto worker = std::make_shared<Worker>(io, shared_from_this(), &fn);
  worker->generation = fn.generation;
  beast::error_code ec;
  const tcp::endpoint endpoint(asio::ip::address_v4::loopback(), 0);
  worker->acceptor.open(endpoint.protocol(), ec);
  if (!ec)
    worker->acceptor.bind(endpoint, ec);
  if (!ec)
    worker->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return support::failf("cannot listen on 127.0.0.1 for a worker: {}", ec.message());
  worker->port = worker->acceptor.local_endpoint().port();
  const auto wall = WallClock::now();
  worker->log_stream = make_log_stream_name(rng, fn.config.version, wall);

  detail::SpawnSpec spec;
  spec.executable = fn.launch.executable;
  spec.args = fn.launch.args;
  spec.cwd = fn.config.code_dir;
  spec.env = fn.base_env;
  spec.env.push_back(fmt::format("AWS_LAMBDA_RUNTIME_API=127.0.0.1:{}", worker->port));
  spec.env.push_back("AWS_LAMBDA_LOG_STREAM_NAME=" + worker->log_stream);
  // --env-vars may not move the plumbing, but may override everything else, so the
  // per-worker variables go before the overrides that base_env already applied.
  auto spawned = detail::spawn_worker(spec);
  if (!spawned)
    return tl::unexpected(spawned.error());
  worker->pid = spawned->pid;
  worker->spawned = Clock::now();
  worker->last_used = worker->spawned;
  worker->exit_watch.assign(spawned->pidfd);
  worker->output.assign(spawned->output_fd);
  worker->status_fd =
      ::open(fmt::format("/proc/{}/status", spawned->pid).c_str(), O_RDONLY | O_CLOEXEC);
  if (fn.eager > 0)
    worker->schedstat_fd =
        ::open(fmt::format("/proc/{}/schedstat", spawned->pid).c_str(), O_RDONLY | O_CLOEXEC);
  if (!options.log_store_dir.empty())
    worker->store = std::make_unique<LogStoreWriter>(fn.log_dir, fn.log_group, worker->log_stream);
  worker->bound = bound;
  if (bound != nullptr) {
    bound->state = Invocation::State::bound;
    bound->worker = worker;
  }
  fn.workers.push_back(worker);
  ++stats.cold_starts;
  if (options.enforce_memory)
    schedule_sweep();
  accept(worker);
  worker->exit_watch.async_wait(Descriptor::wait_read,
                                [this, worker](beast::error_code) { on_exit(worker); });
  worker->output.async_wait(Descriptor::wait_read, [this, worker](beast::error_code error) {
    if (!error)
      on_output(worker);
  });
  out = std::move(worker);
  return {};
}

void Engine::Impl::dispatch_locked(Worker& worker, Invocation& inv) {
  auto& fn = *worker.function;
  worker.state = Worker::State::busy;
  worker.current = &inv;
  inv.state = Invocation::State::running;
  inv.worker = worker.shared_from_this();
  inv.started = Clock::now();
  inv.cold = worker.pending_init_ms.has_value();
  inv.init_ms = worker.pending_init_ms.value_or(0);
  worker.pending_init_ms.reset();
  inv.start_logged = false;
  inv.streaming = false;
  inv.stream_started = false;
  inv.tail.clear();
  const auto timeout =
      inv.timeout.count() > 0 ? inv.timeout : std::chrono::milliseconds(fn.config.timeout * 1000LL);
  const auto deadline_ms = epoch_ms(WallClock::now()) + timeout.count();
  auto& head = inv.head;
  head.clear();
  head += "HTTP/1.1 200 OK\r\n";
  append_header(head, "Content-Type",
                inv.content_type.empty() ? std::string_view("application/json") : inv.content_type);
  append_header(head, "Lambda-Runtime-Aws-Request-Id", inv.request_id);
  head += "Lambda-Runtime-Deadline-Ms: ";
  fmt::format_to(std::back_inserter(head), "{}\r\n", deadline_ms);
  append_header(head, "Lambda-Runtime-Invoked-Function-Arn", inv.arn);
  append_header(head, "Lambda-Runtime-Trace-Id", inv.trace_id);
  if (!inv.client_context.empty())
    append_header(head, "Lambda-Runtime-Client-Context", inv.client_context);
  if (!inv.cognito_identity.empty())
    append_header(head, "Lambda-Runtime-Cognito-Identity", inv.cognito_identity);
  if (!inv.tenant_id.empty())
    append_header(head, "Lambda-Runtime-Aws-Tenant-Id", inv.tenant_id);
  fmt::format_to(std::back_inserter(head), "Content-Length: {}\r\n\r\n", inv.payload.size());
  {
    std::lock_guard log_lock(worker.log_mutex);
    worker.active_request_id = inv.request_id;
    worker.log_target = &inv;
  }
  worker.deadline.expires_after(timeout);
  worker.deadline.async_wait(
      [this, w = worker.shared_from_this(), seq = inv.seq](beast::error_code ec) {
        if (!ec)
          on_deadline(w, seq);
      });
  ++stats.invocations;
}

// Scale on demand (Function::eager): while invocations wait, every k_scale_period the
// function's running workers are looked at; if k_scale_looks looks in a row find that
// together they used a CPU (or waited for one) less than k_scale_busy of the time, they are
// waiting on something else (I/O, a sleep) and one more worker starts for the oldest
// waiting invocation. Busy CPU-bound workers get no company: more workers there only cost
// context switches and memory. (On 2 cores, hello-world handlers under load use 45-60%,
// the rest waiting for the gateway's next event; a single 10 ms look dips below 25% now and
// then, three in a row did not.)
constexpr std::chrono::milliseconds k_scale_period{10};
constexpr double k_scale_busy = 0.25;
constexpr int k_scale_looks = 3;

// Starts a look k_scale_period from now. `mark`: first read every worker's CPU demand as the
// start of that look's window (a look re-arming has just read them itself).
void Engine::Impl::arm_scale_locked(Function& fn, bool mark) {
  if (fn.scale_armed || stopped || !fn.scale_timer)
    return;
  fn.scale_armed = true;
  if (mark) {
    const auto now = Clock::now();
    for (const auto& worker : fn.workers)
      mark_cpu_demand(*worker, worker->cpu_demand_ns(), now);
  }
  fn.scale_timer->expires_after(k_scale_period);
  fn.scale_timer->async_wait([self = shared_from_this(), target = &fn](beast::error_code ec) {
    if (!ec)
      self->on_scale(*target);
  });
}

void Engine::Impl::on_scale(Function& fn) {
  std::lock_guard lock(mutex);
  fn.scale_armed = false;
  if (stopped || fn.queue.empty()) {
    fn.quiet_looks = 0;
    return;
  }
  if (static_cast<int>(fn.workers.size()) >= fn.limit)
    return;
  const auto now = Clock::now();
  double used = 0;
  double span = 0;
  bool known = false;
  // One reading per worker: it ends this look's window and starts the next one's.
  for (const auto& worker : fn.workers) {
    const auto ns = worker->cpu_demand_ns();
    const bool running = !worker->killed && worker->state != Worker::State::dead &&
                         worker->state != Worker::State::idle;
    if (running && ns && worker->sched_at != Clock::time_point{}) {
      known = true;
      used += static_cast<double>(*ns - std::min(*ns, worker->sched_ns)) / 1e6;
      span += ms_between(worker->sched_at, now);
    }
    mark_cpu_demand(*worker, ns, now);
  }
  // Without schedstat (or no running worker to look at) the queue itself is the signal.
  fn.quiet_looks = (!known || used < k_scale_busy * span) ? fn.quiet_looks + 1 : 0;
  if (fn.quiet_looks >= k_scale_looks) {
    fn.quiet_looks = 0;
    auto* inv = fn.queue.front();
    fn.queue.pop_front();
    std::shared_ptr<Worker> worker;
    if (auto spawned = spawn(fn, inv, worker); !spawned) {
      fn.queue.push_front(inv); // retried at the next look; a worker may free up first
      warn(spawned.error().message);
    } else {
      mark_cpu_demand(*worker, worker->cpu_demand_ns(), Clock::now());
    }
  }
  if (!fn.queue.empty() && static_cast<int>(fn.workers.size()) < fn.limit)
    arm_scale_locked(fn, false);
}

void Engine::Impl::schedule_sweep() {
  if (sweeping || stopped)
    return;
  if (options.idle_timeout.count() <= 0 && !options.enforce_memory)
    return;
  sweeping = true;
  auto period = options.enforce_memory ? std::chrono::milliseconds(20)
                                       : std::chrono::milliseconds(std::clamp<std::int64_t>(
                                             options.idle_timeout.count() / 4, 10, 1000));
  sweep.expires_after(period);
  sweep.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec)
      self->on_sweep();
  });
}

void Engine::Impl::on_sweep() {
  {
    std::lock_guard lock(mutex);
    sweeping = false;
    if (stopped)
      return;
    const auto now = Clock::now();
    bool any = false;
    for (auto& fn : functions) {
      const auto workers = fn->workers; // retiring removes from fn->workers
      for (const auto& worker : workers) {
        if (worker->state == Worker::State::dead || worker->killed)
          continue;
        any = true;
        if (options.idle_timeout.count() > 0 && worker->state == Worker::State::idle &&
            now - worker->last_used >= options.idle_timeout) {
          retire_locked(*worker);
          continue;
        }
        if (options.enforce_memory &&
            worker->rss_kb() > static_cast<std::int64_t>(fn->config.memory_size) * 1024) {
          worker->oom = true;
          retire_locked(*worker); // the exit handler reports Runtime.OutOfMemory
        }
      }
    }
    if (any)
      schedule_sweep();
  }
}

// Kills a worker; its exit handler reports what it was doing.
void Engine::Impl::retire_locked(Worker& worker) {
  if (worker.killed)
    return;
  worker.killed = true;
  remove_locked(worker);
  detail::kill_group(worker.pid);
}

// Takes the worker out of its function's pool (it may still be exiting).
void Engine::Impl::remove_locked(Worker& worker) {
  auto& fn = *worker.function;
  fn.idle.erase(std::remove(fn.idle.begin(), fn.idle.end(), &worker), fn.idle.end());
  fn.workers.erase(std::remove_if(fn.workers.begin(), fn.workers.end(),
                                  [&](const auto& w) { return w.get() == &worker; }),
                   fn.workers.end());
  worker.parked.reset();
}

void Engine::Impl::emit_line(Worker& worker, std::string_view request_id, std::string_view text,
                             std::int64_t time_ms) {
  if (options.on_log)
    options.on_log(LogLine{worker.function->config.id, request_id, text, time_ms});
  if (worker.store)
    worker.store->append(time_ms, request_id, text);
}

void Engine::Impl::emit_start_locked_log(Worker& worker, Invocation& inv, std::int64_t time_ms) {
  if (inv.start_logged)
    return;
  inv.start_logged = true;
  auto& line = worker.scratch;
  write_start_line(line, inv.request_id, worker.function->config.version);
  emit_line(worker, inv.request_id, line, time_ms);
  inv.append_tail(line);
}

// Reads what the worker has written, at most `budget` bytes (so a flooding worker cannot
// starve the io thread: the rest is read on the next readiness).
void Engine::Impl::drain_output_locked_log(Worker& worker, std::size_t budget) {
  if (worker.output_closed || !worker.output.is_open())
    return;
  thread_local std::array<char, 65536> buffer;
  const int fd = worker.output.native_handle();
  const auto time_ms = epoch_ms(WallClock::now());
  bool eof = false;
  std::size_t taken = 0;
  while (taken < budget) {
    const auto n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      eof = n == 0;
      break;
    }
    taken += static_cast<std::size_t>(n);
    std::string_view data(buffer.data(), static_cast<std::size_t>(n));
    while (!data.empty()) {
      const auto nl = data.find('\n');
      if (nl == std::string_view::npos) {
        const auto room = k_max_line - std::min(k_max_line, worker.partial.size());
        worker.partial.append(data.substr(0, room));
        if (worker.partial.size() >= k_max_line) {
          // A line longer than the cap is cut into several.
          auto* target = worker.log_target;
          if (target != nullptr)
            emit_start_locked_log(worker, *target, time_ms);
          emit_line(worker, worker.active_request_id, worker.partial, time_ms);
          if (target != nullptr)
            target->append_tail(worker.partial);
          worker.partial.clear();
          data.remove_prefix(std::min(room, data.size()));
          continue;
        }
        break;
      }
      std::string_view line = data.substr(0, nl);
      data.remove_prefix(nl + 1);
      if (!worker.partial.empty()) {
        worker.partial.append(
            line.substr(0, k_max_line - std::min(k_max_line, worker.partial.size())));
        line = worker.partial;
      }
      auto* target = worker.log_target;
      if (target != nullptr)
        emit_start_locked_log(worker, *target, time_ms);
      emit_line(worker, worker.active_request_id, line, time_ms);
      if (target != nullptr)
        target->append_tail(line);
      worker.partial.clear();
    }
  }
  flush_store_soon_locked_log(worker);
  if (eof) {
    if (!worker.partial.empty()) {
      emit_line(worker, worker.active_request_id, worker.partial, time_ms);
      worker.partial.clear();
    }
    worker.output_closed = true;
  }
}

// The log store is written at most every k_store_delay per worker (or once 64 KB wait): one
// write per invocation was a syscall on the hot path. `wisp logs --local` sees a line within
// that delay; the writer's destructor writes what is left. Worker's log mutex held.
void Engine::Impl::flush_store_soon_locked_log(Worker& worker) {
  if (!worker.store || worker.store->buffered() == 0)
    return;
  if (worker.store->buffered() >= 64u * 1024) {
    worker.store->flush();
    return;
  }
  if (worker.store_flush_armed)
    return;
  worker.store_flush_armed = true;
  worker.store_timer.expires_after(k_store_delay);
  worker.store_timer.async_wait([weak = worker.weak_from_this()](beast::error_code) {
    const auto alive = weak.lock();
    if (!alive)
      return;
    std::lock_guard log_lock(alive->log_mutex);
    alive->store_flush_armed = false;
    if (alive->store)
      alive->store->flush();
  });
}

void Engine::Impl::on_output(const std::shared_ptr<Worker>& worker) {
  {
    std::lock_guard log_lock(worker->log_mutex);
    drain_output_locked_log(*worker);
  }
  // Lock order: engine mutex, then a worker's log mutex (never the other way round).
  std::lock_guard lock(mutex);
  if (worker->output_closed || worker->state == Worker::State::dead)
    return;
  worker->output.async_wait(Descriptor::wait_read, [this, worker](beast::error_code ec) {
    if (!ec)
      on_output(worker);
  });
}

// Completes an invocation that had a worker: logs (START/extra/END/REPORT), then the sink,
// then returns the invocation to the pool. `inv.body`, `inv.error_type`,
// `inv.content_type_out` are set by the caller.
void Engine::Impl::finish(Worker* worker, Invocation& inv, Outcome outcome, ReportStatus status,
                          std::string_view extra_log, bool write_report) {
  const auto now = Clock::now();
  InvokeResult result;
  result.outcome = outcome;
  result.request_id = inv.request_id;
  result.duration_ms = ms_between(inv.started, now);
  result.cold = inv.cold;
  result.init_duration_ms = inv.init_ms;
  result.billed_duration_ms = billed_duration_ms(result.duration_ms, inv.cold ? inv.init_ms : 0);
  result.memory_size_mb = inv.function->config.memory_size;
  result.executed_version = inv.function->config.version;
  if (worker != nullptr) {
    std::lock_guard log_lock(worker->log_mutex);
    result.max_memory_used_mb =
        worker->max_memory_mb_for(result.duration_ms, now, outcome != Outcome::success || inv.cold);
    drain_output_locked_log(*worker, k_final_drain);
    const auto time_ms = epoch_ms(WallClock::now());
    emit_start_locked_log(*worker, inv, time_ms);
    if (!worker->partial.empty()) {
      // Output without a final newline still belongs to this invocation.
      emit_line(*worker, inv.request_id, worker->partial, time_ms);
      inv.append_tail(worker->partial);
      worker->partial.clear();
    }
    for (auto rest = extra_log; !rest.empty();) {
      const auto nl = rest.find('\n');
      const auto line = rest.substr(0, nl);
      emit_line(*worker, inv.request_id, line, time_ms);
      inv.append_tail(line);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
    if (write_report) {
      auto& line = worker->scratch;
      write_end_line(line, inv.request_id);
      emit_line(*worker, inv.request_id, line, time_ms);
      inv.append_tail(line);
      ReportFields fields;
      fields.duration_ms = result.duration_ms;
      fields.billed_duration_ms = result.billed_duration_ms;
      fields.memory_size_mb = result.memory_size_mb;
      fields.max_memory_used_mb = result.max_memory_used_mb;
      if (inv.cold)
        fields.init_duration_ms = inv.init_ms;
      fields.status = status;
      fields.error_type = inv.error_type;
      write_report_line(line, inv.request_id, fields);
      emit_line(*worker, inv.request_id, line, time_ms);
      inv.append_tail(line);
    }
    if (worker->log_target == &inv) {
      worker->log_target = nullptr;
      worker->active_request_id.clear();
    }
    flush_store_soon_locked_log(*worker);
  }
  result.body = inv.body;
  result.error_type = inv.error_type;
  result.content_type = inv.content_type_out;
  result.streamed = inv.stream_started;
  if (inv.tail_log)
    result.log_tail = inv.tail_view();
  {
    std::lock_guard sink_lock(inv.sink_mutex);
    inv.state = Invocation::State::completing;
    inv.sink->on_complete(result);
  }
  std::lock_guard lock(mutex);
  if (worker != nullptr && worker->state == Worker::State::busy && worker->current == nullptr)
    worker->last_used = now;
  release_invocation(&inv);
}

// Completes an invocation that never reached a worker (throttle, too large, stop, spawn
// failure). Caller sets body/error_type.
void Engine::Impl::complete_simple(Invocation& inv, Outcome outcome) {
  InvokeResult result;
  result.outcome = outcome;
  result.request_id = inv.request_id;
  result.body = inv.body;
  result.error_type = inv.error_type;
  result.content_type = "application/json";
  result.memory_size_mb = inv.function->config.memory_size;
  result.executed_version = inv.function->config.version;
  if (outcome == Outcome::throttled)
    result.throttle_reason = k_throttle_reason_reserved;
  {
    std::lock_guard sink_lock(inv.sink_mutex);
    inv.sink->on_complete(result);
  }
  std::lock_guard lock(mutex);
  release_invocation(&inv);
}

void Engine::Impl::on_deadline(const std::shared_ptr<Worker>& worker, std::uint64_t seq) {
  Invocation* inv = nullptr;
  {
    std::lock_guard lock(mutex);
    auto* cur = worker->current;
    if (cur == nullptr || cur->seq != seq || cur->state != Invocation::State::running)
      return;
    inv = cur;
    worker->current = nullptr;
    inv->state = Invocation::State::completing;
    retire_locked(*worker);
  }
  const double elapsed = ms_between(inv->started, Clock::now()) / 1000.0;
  const auto text = timeout_text(elapsed);
  inv->error_type = "Sandbox.Timedout";
  inv->body =
      error_payload(inv->error_type, fmt::format("RequestId: {} Error: {}", inv->request_id, text));
  inv->content_type_out = "application/json";
  auto line = fmt::format("{} {} {}", iso8601_ms(WallClock::now()), inv->request_id, text);
  if (defer_if_delivering(*inv, worker, Outcome::timeout, ReportStatus::timeout, line))
    return;
  finish(worker.get(), *inv, Outcome::timeout, ReportStatus::timeout, line, true);
}

// A completion decided while the /next response is still being written waits for the write
// (Connection::delivered finishes it). True when deferred.
bool Engine::Impl::defer_if_delivering(Invocation& inv, const std::shared_ptr<Worker>& worker,
                                       Outcome outcome, ReportStatus status,
                                       std::string& extra_log) {
  std::lock_guard lock(mutex);
  if (!inv.delivering)
    return false;
  inv.deferred.pending = true;
  inv.deferred.outcome = outcome;
  inv.deferred.status = status;
  inv.deferred.extra_log = std::move(extra_log);
  inv.deferred.worker = worker;
  return true;
}

void Engine::Impl::on_exit(const std::shared_ptr<Worker>& worker) {
  Invocation* inv = nullptr;
  bool during_init = false;
  std::shared_ptr<Worker> replacement;
  Invocation* replacement_for = nullptr;
  support::Status replacement_status;
  {
    std::lock_guard lock(mutex);
    if (worker->state == Worker::State::dead)
      return;
    during_init = worker->state == Worker::State::starting;
    worker->state = Worker::State::dead;
    remove_locked(*worker);
    worker->deadline.cancel();
    beast::error_code ignored;
    worker->acceptor.close(ignored);
    if (worker->current != nullptr && worker->current->state == Invocation::State::running) {
      inv = worker->current;
      inv->state = Invocation::State::completing;
    } else if (worker->bound != nullptr && during_init) {
      inv = worker->bound;
      inv->state = Invocation::State::completing;
      inv->worker = worker;
      inv->started = Clock::now();
      inv->cold = true;
      inv->init_ms = ms_between(worker->spawned, inv->started);
    } else if (worker->bound != nullptr) {
      // Promised to a worker that exited after answering: not its failure, back in line.
      auto* requeued = worker->bound;
      requeued->state = Invocation::State::queued;
      requeued->worker.reset();
      worker->function->queue.push_front(requeued);
    }
    worker->current = nullptr;
    worker->bound = nullptr;
    auto& fn = *worker->function;
    // Queued work that was waiting for capacity gets a fresh worker.
    if (!stopped && !fn.queue.empty() && static_cast<int>(fn.workers.size()) < fn.limit) {
      replacement_for = fn.queue.front();
      fn.queue.pop_front();
      replacement_status = spawn(fn, replacement_for, replacement);
    }
  }
  int status = 0;
  rusage usage{};
  while (::wait4(worker->pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  detail::kill_group(worker->pid); // leftovers of the group
  {
    std::lock_guard log_lock(worker->log_mutex);
    worker->final_max_memory_mb = static_cast<int>((usage.ru_maxrss + 1023) / 1024);
    drain_output_locked_log(*worker, k_final_drain);
  }
  {
    std::lock_guard lock(mutex);
    std::lock_guard log_lock(worker->log_mutex);
    beast::error_code ignored;
    worker->output.close(ignored);
    worker->output_closed = true;
    worker->exit_watch.close(ignored);
  }
  if (!replacement_status && replacement_for != nullptr) {
    replacement_for->body = error_payload("ServiceException", replacement_status.error().message);
    replacement_for->error_type = "ServiceException";
    complete_simple(*replacement_for, Outcome::engine_error);
  }
  if (inv == nullptr)
    return;
  // Stopped by the engine (stop()/reload) with an invocation: already completed there.
  const bool oom = worker->oom;
  const auto error_type =
      oom ? std::string("Runtime.OutOfMemory") : std::string("Runtime.ExitError");
  const auto message = exit_error_message(inv->request_id, status);
  inv->error_type = error_type;
  inv->body = error_payload(error_type, message);
  inv->content_type_out = "application/json";
  if (during_init) {
    std::lock_guard log_lock(worker->log_mutex);
    emit_line(*worker, {}, init_report_line(inv->init_ms, error_type), epoch_ms(WallClock::now()));
  }
  std::string extra = message + "\n" + error_type;
  const auto outcome = during_init ? Outcome::init_error : Outcome::exit_error;
  if (defer_if_delivering(*inv, worker, outcome, ReportStatus::error, extra))
    return;
  finish(worker.get(), *inv, outcome, ReportStatus::error, extra, true);
}

// ---------------------------------------------------------------------------------------
// Engine

Engine::Engine(asio::io_context& io, EngineOptions options)
    : m_impl(std::make_shared<Impl>(io, std::move(options))) {}

Engine::~Engine() {
  stop();
}

support::Result<FunctionHandle> Engine::add_function(FunctionConfig config) {
  auto& impl = *m_impl;
  std::vector<std::string> warnings;
  WISP_TRY_ASSIGN(auto launch, resolve_launch(config.runtime, config.code_dir, config.layer_dirs,
                                              impl.options.cache_dir, warnings));
  for (const auto& warning : warnings)
    impl.warn(warning);

  auto fn = std::make_unique<Function>();
  fn->config = std::move(config);
  fn->launch = std::move(launch);
  auto& cfg = fn->config;
  if (fn->launch.runtime.family == RuntimeFamily::nodejs) {
    auto flags = lambda_node_flags(cfg.memory_size);
    fn->launch.args.insert(fn->launch.args.begin(), flags.begin(), flags.end());
  }
  if (cfg.name.empty())
    cfg.name = cfg.id;
  fn->log_group = cfg.log_group.empty() ? "/aws/lambda/" + cfg.name : cfg.log_group;
  fn->arn = fmt::format("arn:aws:lambda:{}:{}:function:{}", impl.options.region,
                        impl.options.account_id, cfg.name);
  if (!impl.options.log_store_dir.empty())
    fn->log_dir = log_store_function_dir(impl.options.log_store_dir, cfg.id);
  fn->reserved = cfg.reserved_concurrency.has_value();
  fn->limit = fn->reserved ? std::max(0, *cfg.reserved_concurrency) : impl.options.max_concurrency;
  if (!fn->reserved && impl.options.eager_workers > 0 && impl.options.eager_workers < fn->limit) {
    fn->eager = impl.options.eager_workers;
    fn->scale_timer = std::make_unique<Timer>(impl.io.get_executor());
  }

  // The environment (docs/local-execution.md#environment).
  EnvBuilder env;
  for (const auto& name : impl.options.passthrough_env)
    if (const char* value = std::getenv(name.c_str()))
      env.set(name, value);
  if (const char* lang = std::getenv("LANG"))
    env.set("LANG", lang);
  std::vector<std::string> path_parts{
      std::getenv("PATH") != nullptr ? std::getenv("PATH") : "/usr/local/bin:/usr/bin:/bin"};
  std::vector<std::string> ld_parts;
  if (const char* ld = std::getenv("LD_LIBRARY_PATH"))
    ld_parts.emplace_back(ld);
  ld_parts.push_back(cfg.code_dir.string());
  ld_parts.push_back((cfg.code_dir / "lib").string());
  std::vector<std::string> layer_list;
  std::vector<std::string> node_path;
  for (const auto& layer : cfg.layer_dirs) {
    path_parts.push_back((layer / "bin").string());
    ld_parts.push_back((layer / "lib").string());
    layer_list.push_back(layer.string());
    node_path.push_back(
        (layer / "nodejs" / fmt::format("node{}", fn->launch.runtime.major) / "node_modules")
            .string());
    node_path.push_back((layer / "nodejs" / "node_modules").string());
  }
  env.set("PATH", join_paths(path_parts));
  env.set("LD_LIBRARY_PATH", join_paths(ld_parts));
  env.set("TZ", ":UTC");
  if (fn->launch.runtime.family == RuntimeFamily::nodejs) {
    node_path.push_back(cfg.code_dir.string());
    env.set("NODE_PATH", join_paths(node_path));
  }
  if (fn->launch.runtime.family == RuntimeFamily::python && !layer_list.empty())
    env.set("_WISP_LAYER_DIRS", join_paths(layer_list));
  for (const auto& [key, value] : cfg.environment) {
    if (sam::detail::is_reserved_env_name(key)) { // the rule validate applies
      impl.warn(fmt::format("function {}: environment variable {} is reserved by Lambda (a "
                            "deployment would be rejected); ignored",
                            cfg.id, key));
      continue;
    }
    env.set(key, value);
  }
  env.set("AWS_ACCESS_KEY_ID",
          impl.options.access_key_id.empty() ? "defaultkey" : impl.options.access_key_id);
  env.set("AWS_SECRET_ACCESS_KEY", impl.options.secret_access_key.empty()
                                       ? "defaultsecret"
                                       : impl.options.secret_access_key);
  if (!impl.options.session_token.empty())
    env.set("AWS_SESSION_TOKEN", impl.options.session_token);
  env.set("_HANDLER", cfg.handler);
  if (!fn->launch.execution_env.empty())
    env.set("AWS_EXECUTION_ENV", fn->launch.execution_env);
  env.set("AWS_LAMBDA_LOG_GROUP_NAME", fn->log_group);
  env.set("LAMBDA_TASK_ROOT", cfg.code_dir.string());
  env.set("LAMBDA_RUNTIME_DIR", fn->launch.runtime_dir.string());
  env.set("AWS_REGION", impl.options.region);
  env.set("AWS_DEFAULT_REGION", impl.options.region);
  env.set("AWS_LAMBDA_FUNCTION_NAME", cfg.name);
  env.set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(cfg.memory_size));
  env.set("AWS_LAMBDA_FUNCTION_VERSION", cfg.version);
  env.set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
  env.set("AWS_SAM_LOCAL", "true");
  for (const auto& [key, value] : cfg.env_overrides) {
    if (is_plumbing(key)) {
      impl.warn(fmt::format("function {}: --env-vars cannot set {}; ignored", cfg.id, key));
      continue;
    }
    env.set(key, value);
  }
  fn->base_env = env.build();

  std::lock_guard lock(impl.mutex);
  fn->handle.index = static_cast<std::uint32_t>(impl.functions.size());
  const auto handle = fn->handle;
  impl.functions.push_back(std::move(fn));
  return handle;
}

std::optional<FunctionHandle> Engine::find(std::string_view id) const {
  std::lock_guard lock(m_impl->mutex);
  for (const auto& fn : m_impl->functions)
    if (fn->config.id == id)
      return fn->handle;
  return std::nullopt;
}

const FunctionConfig& Engine::config(FunctionHandle function) const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->functions.at(function.index)->config;
}

void Engine::invoke(FunctionHandle function, const InvokeRequest& request, InvokeSink& sink) {
  auto& impl = *m_impl;
  std::unique_lock lock(impl.mutex);
  auto& fn = *impl.functions.at(function.index);
  auto* inv = impl.acquire_invocation();
  inv->sink = &sink;
  inv->function = &fn;
  inv->payload = request.payload;
  inv->content_type = request.content_type;
  inv->client_context = request.client_context;
  inv->cognito_identity = request.cognito_identity;
  inv->tenant_id = request.tenant_id;
  inv->timeout = request.timeout;
  inv->tail_log = request.tail_log;
  inv->body.clear();
  inv->error_type.clear();
  inv->content_type_out.clear();
  inv->tail.clear();
  if (request.request_id.empty())
    write_uuid(inv->request_id, impl.rng);
  else
    inv->request_id.assign(request.request_id);
  if (!request.invoked_arn.empty()) {
    inv->arn.assign(request.invoked_arn);
  } else {
    inv->arn = fn.arn;
    if (!request.qualifier.empty()) {
      inv->arn += ':';
      inv->arn += request.qualifier;
    }
  }
  if (request.trace_id.empty())
    write_trace_id(inv->trace_id, impl.rng, WallClock::now());
  else
    inv->trace_id.assign(request.trace_id);

  auto fail_now = [&](Outcome outcome, std::string type, std::string body) {
    inv->error_type = std::move(type);
    inv->body = std::move(body);
    lock.unlock();
    impl.complete_simple(*inv, outcome);
  };
  if (impl.stopped)
    return fail_now(Outcome::engine_error, "ServiceException",
                    error_payload("ServiceException", "the local engine has stopped"));
  if (request.payload.size() > k_max_request_size)
    return fail_now(Outcome::request_too_large, "RequestTooLargeException",
                    request_too_large_payload());
  if (!fn.launch.invalid_entrypoint.empty()) {
    // provided* without a bootstrap: Lambda fails the invoke as an init error.
    inv->state = Invocation::State::completing;
    inv->started = Clock::now();
    inv->error_type = "Runtime.InvalidEntrypoint";
    const auto message =
        fmt::format("RequestId: {} Error: {}", inv->request_id, fn.launch.invalid_entrypoint);
    inv->body = error_payload(inv->error_type, message);
    inv->content_type_out = "application/json";
    lock.unlock();
    InvokeResult result;
    result.outcome = Outcome::init_error;
    result.request_id = inv->request_id;
    result.body = inv->body;
    result.error_type = inv->error_type;
    result.content_type = inv->content_type_out;
    result.memory_size_mb = fn.config.memory_size;
    result.executed_version = fn.config.version;
    result.billed_duration_ms = 1;
    std::string tail;
    const auto now_ms = epoch_ms(WallClock::now());
    auto log = [&](const std::string& line) {
      if (impl.options.on_log)
        impl.options.on_log(LogLine{fn.config.id, inv->request_id, line, now_ms});
      tail += line + "\n";
    };
    log(init_report_line(0, inv->error_type));
    log(start_line(inv->request_id, fn.config.version));
    log(message);
    log(inv->error_type);
    log(end_line(inv->request_id));
    ReportFields fields;
    fields.billed_duration_ms = 1;
    fields.memory_size_mb = fn.config.memory_size;
    fields.status = ReportStatus::error;
    fields.error_type = inv->error_type;
    log(report_line(inv->request_id, fields));
    if (inv->tail_log)
      result.log_tail = std::string_view(tail).substr(
          tail.size() > k_log_tail_size ? tail.size() - k_log_tail_size : 0);
    {
      std::lock_guard sink_lock(inv->sink_mutex);
      sink.on_complete(result);
    }
    std::lock_guard relock(impl.mutex);
    impl.release_invocation(inv);
    return;
  }
  // 1. A warm worker waiting on /next: answer its long-poll right here (no queue, no hop).
  if (!fn.idle.empty()) {
    auto* worker = fn.idle.back();
    fn.idle.pop_back();
    auto connection = std::move(worker->parked);
    impl.dispatch_locked(*worker, *inv);
    connection->deliver(*inv); // initiated under the mutex: the deadline cannot release `inv`
    return;
  }
  // 2. A worker that has just answered and is about to ask for more, or a prewarmed one
  //    still starting, not yet promised to anyone: sequential callers stay on warm workers.
  for (auto& worker : fn.workers) {
    const bool finishing = worker->state == Worker::State::busy && worker->current == nullptr;
    const bool starting = worker->state == Worker::State::starting;
    if ((finishing || starting) && worker->bound == nullptr && !worker->killed &&
        worker->generation == fn.generation) {
      worker->bound = inv;
      inv->state = Invocation::State::bound;
      inv->worker = worker;
      return;
    }
  }
  // 3. Capacity left: a new worker, bound to this invocation (its cold start); past the
  //    eager workers only when the running ones leave the CPU unused (on_scale).
  const int alive = static_cast<int>(fn.workers.size());
  if (alive < fn.limit && fn.eager > 0 && alive >= fn.eager) {
    inv->state = Invocation::State::queued;
    fn.queue.push_back(inv);
    impl.arm_scale_locked(fn, true);
    return;
  }
  if (alive < fn.limit) {
    std::shared_ptr<Worker> worker;
    auto spawned = impl.spawn(fn, inv, worker);
    if (!spawned)
      return fail_now(Outcome::engine_error, "ServiceException",
                      error_payload("ServiceException", spawned.error().message));
    return;
  }
  // 4. Reserved concurrency reached: throttled at once, as Lambda does.
  if (fn.reserved) {
    ++impl.stats.throttles;
    return fail_now(Outcome::throttled, "TooManyRequestsException",
                    throttle_payload(k_throttle_reason_reserved));
  }
  // 5. The local maximum reached: wait for a worker.
  inv->state = Invocation::State::queued;
  fn.queue.push_back(inv);
}

void Engine::prewarm(FunctionHandle function, int count) {
  auto& impl = *m_impl;
  std::lock_guard lock(impl.mutex);
  if (impl.stopped)
    return;
  auto& fn = *impl.functions.at(function.index);
  if (!fn.launch.invalid_entrypoint.empty())
    return;
  for (int i = 0; i < count && static_cast<int>(fn.workers.size()) < fn.limit; ++i) {
    std::shared_ptr<Worker> worker;
    if (auto spawned = impl.spawn(fn, nullptr, worker); !spawned) {
      impl.warn(spawned.error().message);
      return;
    }
  }
}

void Engine::reload(FunctionHandle function) {
  auto& impl = *m_impl;
  std::lock_guard lock(impl.mutex);
  auto& fn = *impl.functions.at(function.index);
  ++fn.generation;
  auto idle = fn.idle;
  for (auto* worker : idle)
    impl.retire_locked(*worker);
  // Busy and starting workers notice the new generation at their next /next.
}

void Engine::stop() {
  auto& impl = *m_impl;
  std::vector<Invocation*> pending;
  {
    std::lock_guard lock(impl.mutex);
    if (impl.stopped)
      return;
    impl.stopped = true;
    beast::error_code ignored;
    impl.sweep.cancel();
    for (auto& fn : impl.functions) {
      if (fn->scale_timer)
        fn->scale_timer->cancel();
      for (auto* inv : fn->queue)
        pending.push_back(inv);
      fn->queue.clear();
      auto workers = fn->workers;
      for (auto& worker : workers) {
        if (worker->current != nullptr && worker->current->state == Invocation::State::running) {
          pending.push_back(worker->current);
          worker->current->state = Invocation::State::completing;
        }
        if (worker->bound != nullptr)
          pending.push_back(worker->bound);
        worker->current = nullptr;
        worker->bound = nullptr;
        impl.retire_locked(*worker);
      }
    }
  }
  for (auto* inv : pending) {
    inv->body = error_payload("ServiceException", "the local engine has stopped");
    inv->error_type = "ServiceException";
    impl.complete_simple(*inv, Outcome::engine_error);
  }
}

EngineStats Engine::stats() const {
  std::lock_guard lock(m_impl->mutex);
  auto stats = m_impl->stats;
  for (const auto& fn : m_impl->functions) {
    stats.workers += static_cast<std::uint32_t>(fn->workers.size());
    stats.idle_workers += static_cast<std::uint32_t>(fn->idle.size());
    stats.queued += static_cast<std::uint32_t>(fn->queue.size());
  }
  return stats;
}

// ---------------------------------------------------------------------------------------
// CollectingSink

void CollectingSink::on_stream_start(std::string_view content_type) {
  m_stream_type.assign(content_type);
}

void CollectingSink::on_stream_data(std::string_view bytes) {
  m_streamed.append(bytes);
  if (on_data)
    on_data(bytes);
}

void CollectingSink::on_complete(const InvokeResult& result) {
  m_body.assign(result.body);
  m_content_type.assign(result.content_type);
  m_error_type.assign(result.error_type);
  m_throttle_reason.assign(result.throttle_reason);
  m_request_id.assign(result.request_id);
  m_log_tail.assign(result.log_tail);
  m_version.assign(result.executed_version);
  m_result = result;
  m_result.body = m_body;
  m_result.content_type = m_content_type;
  m_result.error_type = m_error_type;
  m_result.throttle_reason = m_throttle_reason;
  m_result.request_id = m_request_id;
  m_result.log_tail = m_log_tail;
  m_result.executed_version = m_version;
  m_done.store(true, std::memory_order_release);
  if (on_done)
    on_done();
}

bool CollectingSink::done() const {
  return m_done.load(std::memory_order_acquire);
}

void CollectingSink::reset() {
  m_done.store(false, std::memory_order_release);
  m_result = InvokeResult{};
  m_streamed.clear();
  m_stream_type.clear();
}

} // namespace wisp::runtime
