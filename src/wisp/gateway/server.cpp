// The local gateway's servers (Boost.Beast on the engine's io_context): HTTP sessions, the API
// Gateway front door (one listener per API) and the Lambda Invoke API front door.
//
// Threads: one io_context run by N threads; each connection lives on its own strand. A
// request is read, routed and answered through an Exchange: the per-request state and the
// InvokeSink the engine completes (on any io thread). Whoever claims the exchange first
// (the invocation's completion, the integration timeout, a gateway-level answer) builds the
// response; the session writes it on its strand. An exchange that timed out is detached: it
// owns its parser (the request's views stay valid) and lives until its invocation completes,
// while the connection goes on with a new exchange. Workers are never tied to a connection,
// so a client that disconnects mid-invocation leaks nothing.

#include <wisp/gateway/authorizer.hpp>
#include <wisp/gateway/cors.hpp>
#include <wisp/gateway/event.hpp>
#include <wisp/gateway/invoke_api.hpp>
#include <wisp/gateway/response.hpp>
#include <wisp/gateway/router.hpp>
#include <wisp/gateway/server.hpp>
#include <wisp/gateway/text.hpp>
#include <wisp/gateway/throttle.hpp>
#include <wisp/gateway/watcher.hpp>
#include <wisp/runtime/engine.hpp>
#include <wisp/runtime/lambda_text.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

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
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <thread>
#include <unistd.h>

namespace wisp::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using WallClock = std::chrono::system_clock;
// Concrete executor types (no type-erased any_io_executor on the hot path).
using Executor = asio::io_context::executor_type;
using Strand = asio::strand<Executor>;
using Stream = beast::basic_stream<tcp, Strand>;
using Socket = asio::basic_stream_socket<tcp, Strand>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Timer = asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Strand>;

namespace {

// ------------------------------------------------------------------ limits and texts

constexpr std::uint32_t k_header_limit = 16u * 1024;            // parser's hard limit
constexpr std::size_t k_header_values_limit = 10240;            // API Gateway's limit
constexpr std::uint64_t k_api_payload_limit = 10485760;         // 10 MB
constexpr std::uint64_t k_invoke_payload_limit = 6291456;       // 6 MB (InvokeFunction)
constexpr std::uint64_t k_async_payload_limit = 1048576;        // 1 MB (asynchronous Invoke)
constexpr auto k_header_timeout = std::chrono::seconds(30);     // idle keep-alive + header
constexpr auto k_body_timeout = std::chrono::seconds(60);       // a body of up to 10 MB
constexpr auto k_authorizer_timeout = std::chrono::seconds(10); // API Gateway's
constexpr int k_max_connections = 4096;

constexpr std::string_view k_rest_missing_token = R"({"message":"Missing Authentication Token"})";
constexpr std::string_view k_rest_internal = R"({"message": "Internal server error"})";
constexpr std::string_view k_rest_timeout = R"({"message": "Endpoint request timed out"})";
constexpr std::string_view k_too_many = R"({"message":"Too Many Requests"})";
constexpr std::string_view k_unauthorized = R"({"message":"Unauthorized"})";
constexpr std::string_view k_rest_explicit_deny =
    R"({"Message":"User is not authorized to access this resource with an explicit deny"})";
constexpr std::string_view k_rest_implicit_deny =
    R"({"Message":"User is not authorized to access this resource"})";
constexpr std::string_view k_rest_authorizer_error = R"({"message": null})";
constexpr std::string_view k_request_too_long = R"({"message": "Request Too Long"})";
constexpr std::string_view k_http_not_found = R"({"message":"Not Found"})";
constexpr std::string_view k_http_internal = R"({"message":"Internal Server Error"})";
constexpr std::string_view k_http_unavailable = R"({"message":"Service Unavailable"})";
constexpr std::string_view k_http_forbidden = R"({"message":"Forbidden"})";
constexpr std::string_view k_payload_exceeded = "HTTP content length exceeded 10485760 bytes.";
constexpr std::string_view k_header_too_large = R"({"message":"Request Header Fields Too Large"})";

bool api_method(std::string_view method) {
  return method == "GET" || method == "POST" || method == "PUT" || method == "DELETE" ||
         method == "PATCH" || method == "HEAD" || method == "OPTIONS";
}

std::mt19937_64& rng() {
  thread_local std::mt19937_64 generator(std::random_device{}());
  return generator;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(WallClock::now().time_since_epoch())
      .count();
}

// The Date header, formatted once per second per thread.
std::string_view http_date() {
  thread_local std::int64_t second = -1;
  thread_local std::string text;
  const auto now = now_ms() / 1000;
  if (now != second) {
    second = now;
    text = format_http_date(now);
  }
  return text;
}

// API Gateway's request time, formatted once per second per thread.
std::string_view request_time(std::int64_t ms) {
  thread_local std::int64_t second = -1;
  thread_local std::string text;
  if (ms / 1000 != second) {
    second = ms / 1000;
    text = format_request_time(ms);
  }
  return text;
}

// HH:MM:SS.mmm local time (the local-time conversion is done once per second per thread).
std::string clock_text() {
  thread_local std::int64_t second = -1;
  thread_local std::string prefix;
  const auto now = now_ms();
  if (now / 1000 != second) {
    second = now / 1000;
    const auto seconds = static_cast<std::time_t>(second);
    std::tm tm{};
    ::localtime_r(&seconds, &tm);
    prefix = fmt::format("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
  }
  return fmt::format("{}.{:03}", prefix, now % 1000);
}

// ------------------------------------------------------------------ asynchronous log

// Lines are queued by any thread and written by one background thread in batches (one write
// per batch, at most every 20 ms), so the request path never blocks on the terminal and
// never wakes another thread per line.
class AsyncLog {
public:
  explicit AsyncLog(std::function<void(std::string_view)> sink) : m_sink(std::move(sink)) {
    m_thread = std::thread([this] { run(); });
  }
  ~AsyncLog() {
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_cv.notify_one();
    m_thread.join();
  }
  AsyncLog(const AsyncLog&) = delete;
  AsyncLog& operator=(const AsyncLog&) = delete;

  void line(std::string_view text) {
    bool wake = false;
    {
      std::lock_guard lock(m_mutex);
      if (m_pending.size() > 64u * 1024 * 1024)
        return; // a terminal that cannot keep up loses lines, never memory
      m_pending.append(text);
      m_pending.push_back('\n');
      wake = m_pending.size() > 256u * 1024;
    }
    if (wake)
      m_cv.notify_one();
  }

private:
  void run() {
    std::string batch;
    while (true) {
      {
        std::unique_lock lock(m_mutex);
        m_cv.wait_for(lock, std::chrono::milliseconds(20),
                      [&] { return m_stop || m_pending.size() > 256u * 1024; });
        batch.swap(m_pending);
        if (batch.empty() && m_stop)
          return;
      }
      if (!batch.empty() && m_sink) {
        batch.pop_back(); // the sink writes lines: the block without its last newline
        m_sink(batch);
      }
      batch.clear();
    }
  }

  std::function<void(std::string_view)> m_sink;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::string m_pending;
  bool m_stop = false;
  std::thread m_thread;
};

// ------------------------------------------------------------------ host: io, engine, functions

// The gateway's share of a request is small next to the worker's: up to 4 cores one I/O
// thread (no cross-thread hand-offs, no lock contention; on 2 cores it served ~12% more
// requests than two threads, measured with tests/bench/bench_gateway.py), then one per 4 cores.
int core_count() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int io_threads(const ServeOptions& options) {
  if (options.threads > 0)
    return options.threads;
  const int cores = core_count();
  return cores <= 4 ? 1 : cores / 4;
}

struct FunctionSlot {
  std::string id;
  bool ok = false;
  std::string problem;
  runtime::FunctionHandle handle;
  int timeout = 3;
  std::string version = "$LATEST";
  std::string auto_publish_alias;
  std::string name; // FunctionName, else the logical id
  std::vector<fs::path> watch_dirs;
};

class Door;

class Host {
public:
  Host(const ServeOptions& serve_options, const ServeOutput& serve_output)
      : options(serve_options), output(serve_output), io(io_threads(serve_options)),
        log(serve_output.log) {
    runtime::EngineOptions engine_options;
    // Locally, workers the CPU cannot run only add context switches and memory: on 2 cores,
    // 10 Node workers spent 3× the CPU per request of 4, and 4 spent ~1.4× that of 2
    // (gateway benchmark, CPU time per request). One worker per core starts at once; more
    // (up to the maximum) only while the running ones wait on I/O (EngineOptions).
    const int cores = core_count();
    engine_options.max_concurrency =
        serve_options.max_concurrency > 0 ? serve_options.max_concurrency : std::max(4, 2 * cores);
    engine_options.eager_workers = cores;
    engine_options.region = serve_options.region;
    engine_options.account_id = serve_options.account_id;
    engine_options.cache_dir = serve_options.cache_dir;
    engine_options.log_store_dir = serve_options.log_store_dir;
    engine_options.on_log = [this](const runtime::LogLine& line) { log.line(line.text); };
    engine_options.on_warning = [this](std::string_view warning) { warn(warning); };
    engine = std::make_unique<runtime::Engine>(io, std::move(engine_options));
  }
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  void warn(std::string_view text) const {
    if (output.warning)
      output.warning(text);
  }
  void info(std::string_view text) const {
    if (output.info)
      output.info(text);
  }

  // Registers the model's function `id` once; returns its slot (check ok).
  FunctionSlot& function(const sam::Model& model, const std::string& id) {
    if (auto it = functions.find(id); it != functions.end())
      return it->second;
    auto& slot = functions[id];
    slot.id = id;
    const auto* fn = model.find_function(id);
    if (fn == nullptr) {
      slot.problem = fmt::format("function '{}' is not in the template", id);
      return slot;
    }
    slot.name = fn->function_name.empty() ? fn->logical_id : fn->function_name;
    slot.auto_publish_alias = fn->auto_publish_alias;
    std::vector<std::string> warnings;
    auto config = runtime::make_function_config(model, *fn, options.env_vars, warnings);
    for (const auto& w : warnings)
      warn(w);
    if (!config) {
      slot.problem = config.error().message;
      warn(fmt::format("function {} cannot run locally: {}", id, slot.problem));
      return slot;
    }
    slot.timeout = config->timeout;
    slot.version = config->version;
    slot.watch_dirs.push_back(config->code_dir);
    for (const auto& layer : config->layer_dirs)
      slot.watch_dirs.push_back(layer);
    auto handle = engine->add_function(std::move(*config));
    if (!handle) {
      slot.problem = handle.error().message;
      warn(fmt::format("function {} cannot run locally: {}", id, slot.problem));
      return slot;
    }
    slot.handle = *handle;
    slot.ok = true;
    return slot;
  }

  void start_watching() {
    if (!options.watch)
      return;
    std::vector<FunctionSlot*> slots;
    for (auto& [id, slot] : functions)
      if (slot.ok)
        slots.push_back(&slot);
    watcher = std::make_unique<CodeWatcher>(
        io, [this, slots](std::size_t target, const std::string& path) {
          auto& slot = *slots.at(target);
          engine->reload(slot.handle);
          if (options.warm == WarmContainers::eager)
            engine->prewarm(slot.handle);
          log.line(fmt::format("{} Reloading {}: {} changed", clock_text(), slot.id, path));
        });
    std::set<std::string> warned;
    for (std::size_t i = 0; i < slots.size(); ++i)
      for (const auto& dir : slots[i]->watch_dirs)
        if (auto added = watcher->add(i, dir);
            !added && warned.insert(added.error().message).second)
          warn(added.error().message);
    watcher->start();
  }

  void prewarm() {
    if (options.warm != WarmContainers::eager)
      return;
    for (auto& [id, slot] : functions)
      if (slot.ok)
        engine->prewarm(slot.handle);
  }

  // Runs until SIGINT/SIGTERM.
  void run(std::vector<std::unique_ptr<Door>>& doors);

  const ServeOptions& options;
  const ServeOutput& output;
  // Declared before the io_context: handlers destroyed with it still count connections.
  std::atomic<int> connections{0};
  std::atomic<bool> stopping{false};
  asio::io_context io;
  AsyncLog log;
  std::unique_ptr<runtime::Engine> engine;
  std::map<std::string, FunctionSlot> functions;
  std::unique_ptr<CodeWatcher> watcher;
};

// ------------------------------------------------------------------ exchange and session

class Session;

struct Exchange final : runtime::InvokeSink, std::enable_shared_from_this<Exchange> {
  explicit Exchange(const Strand& strand) : timer(strand) {}

  void reset() {
    parser.emplace();
    parser->header_limit(k_header_limit);
    request = Request{};
    answered = false;
    detached = false;
    phase = Phase::none;
    event.clear();
    streamed.clear();
    mapped.clear();
    out.clear();
    route = SIZE_MAX;
    authorizer_json.clear();
    function_id = {};
    version.clear();
    cold = false;
    invoked = false;
    status = 0;
    close_after = false;
    error_type = {};
  }

  // The first responder wins; everyone else leaves the exchange alone.
  bool claim() {
    std::lock_guard lock(mutex);
    if (answered)
      return false;
    answered = true;
    return true;
  }
  bool is_answered() {
    std::lock_guard lock(mutex);
    return answered;
  }

  void on_stream_data(std::string_view bytes) override { streamed.append(bytes); }
  void on_complete(const runtime::InvokeResult& result) override;

  enum class Phase : std::uint8_t { none, authorizer, integration };

  Door* door = nullptr;
  std::shared_ptr<Session> session;
  std::shared_ptr<Exchange> self; // alive while an invocation runs
  std::optional<http::request_parser<http::string_body>> parser;
  Request request;
  Clock::time_point started;
  Timer timer;
  std::mutex mutex;
  bool answered = false;
  bool detached = false;
  Phase phase = Phase::none;
  // request state
  std::size_t route = SIZE_MAX;
  RouteMatch match;
  std::string request_id;
  std::string extended_id;
  std::int64_t time_ms = 0;
  std::string forwarded_for;
  std::string forwarded_port;
  std::string trace_id;
  std::string authorizer_json;
  std::string auth_key;
  Clock::time_point auth_started;
  std::string client_context; // Invoke API
  std::string qualifier;
  bool tail_log = false;
  // buffers
  std::string event;
  std::string streamed;
  MappedResponse mapped;
  std::string out;
  // access log
  std::string_view function_id;
  std::string version;
  bool cold = false;
  bool invoked = false;
  unsigned status = 0;
  bool close_after = false;
  std::string_view error_type;
};

class Door {
public:
  explicit Door(Host& host) : m_host(host), m_acceptor(host.io.get_executor()) {}
  virtual ~Door() = default;
  Door(const Door&) = delete;
  Door& operator=(const Door&) = delete;

  support::Status listen(const std::string& host, int port);
  void start_accepting() { accept(); }
  void close() {
    boost::system::error_code ignored;
    m_acceptor.close(ignored);
  }
  [[nodiscard]] int port() const { return m_port; }
  Host& host() { return m_host; }

  // The request is complete (on the session's strand). Must answer eventually.
  virtual void handle(Exchange& ex) = 0;
  // An invocation this door started completed (any io thread).
  virtual void on_complete(Exchange& ex, const runtime::InvokeResult& result) = 0;
  // The exchange's timer fired (session strand); the exchange is already claimed.
  virtual void on_timeout(Exchange& ex) { (void)ex; }
  [[nodiscard]] virtual std::uint64_t body_limit() const = 0;
  virtual void payload_too_large(Exchange& ex) = 0;
  virtual void headers_too_large(Exchange& ex) = 0;
  // Response headers every answer of this door carries (after the mapped ones).
  virtual void common_headers(Exchange& ex, std::string& out) { (void)ex, (void)out; }

  // Serializes ex.mapped and hands it to the session (any thread; ex must be claimed).
  void finish(Exchange& ex);
  // A small gateway-level answer.
  void answer(Exchange& ex, unsigned status, std::string_view body,
              std::string_view content_type = "application/json",
              std::string_view error_type = {}) {
    ex.mapped.clear();
    ex.mapped.status = status;
    if (!content_type.empty())
      ex.mapped.headers.emplace_back("Content-Type", std::string(content_type));
    if (!error_type.empty())
      ex.mapped.headers.emplace_back("x-amzn-ErrorType", std::string(error_type));
    ex.mapped.body.assign(body);
    ex.error_type = error_type;
    finish(ex);
  }

protected:
  Host& m_host;

private:
  void accept();
  Acceptor m_acceptor;
  int m_port = 0;
};

class Session : public std::enable_shared_from_this<Session> {
public:
  Session(Socket&& socket, Door& door)
      : m_stream(std::move(socket)), m_door(door), m_connections(door.host().connections) {
    boost::system::error_code ec;
    const auto remote = m_stream.socket().remote_endpoint(ec);
    m_peer = ec ? std::string("127.0.0.1") : remote.address().to_string();
    const auto local = m_stream.socket().local_endpoint(ec);
    m_local_port = ec ? std::string() : std::to_string(local.port());
    m_stream.socket().set_option(tcp::no_delay(true), ec);
    ++m_connections;
  }
  ~Session() { --m_connections; }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() {
    asio::dispatch(m_stream.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

  // Writes ex.out (from any thread).
  void send(std::shared_ptr<Exchange> ex) {
    asio::dispatch(m_stream.get_executor(),
                   [self = shared_from_this(), ex = std::move(ex)] { self->write(ex); });
  }

  const std::string& peer() const { return m_peer; }
  const std::string& local_port() const { return m_local_port; }
  Door& door() { return m_door; }

private:
  void read_header() {
    if (m_door.host().stopping) {
      close();
      return;
    }
    if (!m_exchange || m_exchange->detached)
      m_exchange = std::make_shared<Exchange>(m_stream.get_executor());
    m_exchange->reset();
    m_exchange->door = &m_door;
    m_exchange->parser->body_limit(m_door.body_limit());
    m_stream.expires_after(k_header_timeout);
    http::async_read_header(
        m_stream, m_buffer, *m_exchange->parser,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    auto& ex = *m_exchange;
    ex.started = Clock::now();
    if (ec == http::error::header_limit) {
      begin(ex);
      ex.close_after = true;
      if (ex.claim())
        m_door.headers_too_large(ex);
      return;
    }
    if (ec == http::error::body_limit) {
      begin(ex);
      ex.close_after = true;
      if (ex.claim())
        m_door.payload_too_large(ex);
      return;
    }
    if (ec) {
      if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
          ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
          ec != asio::error::eof) {
        // Malformed HTTP: answer 400 and close, as a server must.
        static constexpr std::string_view bad =
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        m_stream.expires_after(std::chrono::seconds(5));
        asio::async_write(
            m_stream, asio::buffer(bad),
            [self = shared_from_this()](beast::error_code, std::size_t) { self->close(); });
        return;
      }
      close();
      return;
    }
    const auto& header = ex.parser->get();
    if (beast::iequals(header[http::field::expect], "100-continue") && !ex.parser->is_done()) {
      static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(m_stream, asio::buffer(go_on),
                        [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
                          if (write_ec)
                            return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    auto& ex = *m_exchange;
    if (ex.parser->is_done()) {
      on_body({});
      return;
    }
    m_stream.expires_after(k_body_timeout);
    http::async_read(
        m_stream, m_buffer, *ex.parser,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    auto& ex = *m_exchange;
    if (ec == http::error::body_limit) {
      begin(ex);
      ex.close_after = true;
      if (ex.claim())
        m_door.payload_too_large(ex);
      return;
    }
    if (ec) {
      close();
      return;
    }
    m_stream.expires_never();
    begin(ex);
    m_door.handle(ex);
  }

  // Fills the exchange's request views from the parsed message.
  void begin(Exchange& ex) {
    ex.session = shared_from_this();
    const auto& message = ex.parser->get();
    auto& request = ex.request;
    request.method =
        std::string_view(message.method_string().data(), message.method_string().size());
    const std::string_view target(message.target().data(), message.target().size());
    std::string_view path = target;
    // absolute-form targets (http://host/path) carry the path after the authority
    if (path.starts_with("http://") || path.starts_with("https://")) {
      const auto slash = path.find('/', path.find("//") + 2);
      path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
    }
    const auto question = path.find('?');
    request.raw_path = path.substr(0, question);
    request.raw_query =
        question == std::string_view::npos ? std::string_view{} : path.substr(question + 1);
    if (const auto hash = request.raw_query.find('#'); hash != std::string_view::npos)
      request.raw_query = request.raw_query.substr(0, hash);
    if (request.raw_path.empty())
      request.raw_path = "/";
    request.headers.clear();
    std::string_view client_forwarded;
    for (const auto& field : message) {
      const std::string_view name(field.name_string().data(), field.name_string().size());
      const std::string_view value(field.value().data(), field.value().size());
      if (iequals_ascii(name, "x-forwarded-for")) {
        client_forwarded = value;
        continue;
      }
      if (iequals_ascii(name, "x-forwarded-port") || iequals_ascii(name, "x-forwarded-proto"))
        continue;
      request.headers.push_back({name, value});
    }
    request.body = message.body();
    request.source_ip = m_peer;
    request.protocol = message.version() == 10 ? "HTTP/1.0" : "HTTP/1.1";
    ex.close_after = !message.keep_alive();
  }

  void write(const std::shared_ptr<Exchange>& ex) {
    boost::system::error_code ignored;
    ex->timer.cancel();
    if (ex != m_exchange) {
      // A detached exchange's late answer: its client was answered already.
      return;
    }
    m_writing = ex;
    m_stream.expires_after(std::chrono::seconds(60));
    asio::async_write(
        m_stream, asio::buffer(ex->out),
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec);

  void close() {
    beast::error_code ignored;
    m_stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    m_stream.close();
  }

  Stream m_stream;
  beast::flat_buffer m_buffer;
  Door& m_door;
  std::shared_ptr<Exchange> m_exchange;
  std::shared_ptr<Exchange> m_writing;
  std::string m_peer;
  std::string m_local_port;
  std::atomic<int>& m_connections;
};

void Exchange::on_complete(const runtime::InvokeResult& result) {
  door->on_complete(*this, result);
}

// Access-log line: time method path status function version cold|warm duration.
std::string access_line(const Exchange& ex) {
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - ex.started).count();
  const std::string_view method = ex.request.method.empty() ? "-" : ex.request.method;
  const std::string_view path = ex.request.raw_path.empty() ? "-" : ex.request.raw_path;
  if (!ex.invoked)
    return fmt::format("{} {} {} {} - - - {:.2f} ms", clock_text(), method, path, ex.status, ms);
  return fmt::format("{} {} {} {} {} {} {} {:.2f} ms", clock_text(), method, path, ex.status,
                     ex.function_id, ex.version, ex.cold ? "cold" : "warm", ms);
}

void Session::on_write(beast::error_code ec) {
  auto ex = std::move(m_writing);
  m_door.host().log.line(access_line(*ex));
  ex->session.reset();
  if (ec || ex->close_after || m_door.host().stopping) {
    close();
    return;
  }
  read_header();
}

void Door::finish(Exchange& ex) {
  auto& out = ex.out;
  auto& mapped = ex.mapped;
  ex.status = mapped.status;
  out.clear();
  out.reserve(256 + mapped.body.size());
  out.append("HTTP/1.1 ");
  out.append(std::to_string(mapped.status));
  out.push_back(' ');
  const auto reason = http::obsolete_reason(static_cast<http::status>(mapped.status));
  out.append(reason.data(), reason.size());
  out.append("\r\nDate: ");
  out.append(http_date());
  out.append("\r\n");
  for (const auto& [name, value] : mapped.headers) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
  }
  common_headers(ex, out);
  const bool no_body = mapped.status == 204 || mapped.status == 304 || mapped.status < 200;
  if (!no_body) {
    out.append("Content-Length: ");
    out.append(std::to_string(mapped.body.size()));
    out.append("\r\n");
  }
  if (ex.close_after || m_host.stopping)
    out.append("Connection: close\r\n");
  else if (ex.request.protocol == "HTTP/1.0")
    out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
  if (!no_body && ex.request.method != "HEAD")
    out.append(mapped.body);
  auto session = ex.session;
  if (session)
    session->send(ex.shared_from_this());
}

support::Status Door::listen(const std::string& host, int port) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec)
    return support::failf("--host {}: not an IP address", host);
  const tcp::endpoint endpoint(address, static_cast<std::uint16_t>(port));
  m_acceptor.open(endpoint.protocol(), ec);
  if (!ec)
    m_acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec)
    m_acceptor.bind(endpoint, ec);
  if (!ec)
    m_acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return support::failf("cannot listen on {}:{}: {}", host, port, ec.message());
  m_port = m_acceptor.local_endpoint().port();
  return {};
}

void Door::accept() {
  m_acceptor.async_accept(asio::make_strand(m_host.io.get_executor()),
                          [this](beast::error_code ec, Socket socket) {
                            if (ec == asio::error::operation_aborted || !m_acceptor.is_open())
                              return;
                            if (!ec) {
                              if (m_host.connections >= k_max_connections) {
                                beast::error_code ignored;
                                socket.close(ignored);
                              } else {
                                std::make_shared<Session>(std::move(socket), *this)->start();
                              }
                            }
                            accept();
                          });
}

// ------------------------------------------------------------------ API Gateway front door

struct AuthBinding {
  sam::Authorizer authorizer;
  FunctionSlot* function = nullptr; // Lambda authorizers
  std::optional<std::regex> validation;
};

struct RouteSlot {
  sam::Route route;
  RouteEventInfo info;
  FunctionSlot* function = nullptr;
  AuthBinding* auth = nullptr; // Lambda authorizer to run
};

class ApiDoor final : public Door {
public:
  ApiDoor(Host& host, const sam::Model& model, const sam::Api& api, const StartApiOptions& options,
          std::vector<const sam::Route*> routes)
      : Door(host), m_api(api), m_http(api.kind == sam::ApiKind::http),
        m_disable_auth(options.disable_authorizer), m_throttle(api.method_settings) {
    m_info.http_api = m_http;
    m_info.api_id = stable_id(api.logical_id, 10);
    m_info.stage = options.stage.empty() ? api.stage_name : options.stage;
    if (m_info.stage.empty())
      m_info.stage = m_http ? "$default" : "Prod";
    m_info.account_id = options.account_id;
    m_info.region = options.region;
    m_info.stage_variables = api.stage_variables;
    m_auths.reserve(api.authorizers.size());
    std::vector<RouteSpec> specs;
    for (const auto* route : routes) {
      RouteSlot slot;
      slot.route = *route;
      slot.info.method = route->method;
      slot.info.resource_path = route->path;
      slot.info.route_key =
          route->path == "$default" ? std::string("$default") : route->method + " " + route->path;
      slot.info.resource_id = stable_id(api.logical_id + " " + route->path, 6);
      slot.info.v2 = m_http && route->payload_format_version != "1.0";
      slot.function = &host.function(model, route->function_logical_id);
      if (!m_disable_auth)
        slot.auth = bind_authorizer(model, *route);
      specs.push_back(RouteSpec{route->method, route->path});
      m_routes.push_back(std::move(slot));
    }
    const auto kind = m_http ? RouterKind::http : RouterKind::rest;
    for (const auto& problem : Router::conflicts(kind, specs))
      host.warn(fmt::format("API {}: {}", api.logical_id, problem));
    m_router = Router(kind, specs);
    if (!options.static_dir.empty())
      m_static_dir = options.static_dir;
  }

  [[nodiscard]] const sam::Api& api() const { return m_api; }
  [[nodiscard]] const ApiEventInfo& info() const { return m_info; }
  // Another API served on this door's port (its routes overlap none of this one's).
  void share_port(ApiDoor& other) { m_shared.push_back(&other); }
  [[nodiscard]] bool overlaps(const ApiDoor& other) const {
    for (const auto& a : m_routes)
      for (const auto& b : other.m_routes)
        if (Router::overlap(RouteSpec{a.route.method, a.route.path},
                            RouteSpec{b.route.method, b.route.path}))
          return true;
    return false;
  }
  [[nodiscard]] const std::vector<RouteSlot>& routes() const { return m_routes; }
  void clear_static_dir() { m_static_dir.clear(); }

  [[nodiscard]] std::uint64_t body_limit() const override { return k_api_payload_limit; }

  void payload_too_large(Exchange& ex) override {
    answer(ex, 413, k_payload_exceeded, "text; charset=utf-8");
  }
  void headers_too_large(Exchange& ex) override { answer(ex, 431, k_header_too_large); }

  void common_headers(Exchange& ex, std::string& out) override {
    if (ex.request_id.empty())
      ex.request_id = m_http ? make_short_request_id(rng()) : make_rest_request_id(rng());
    if (m_http) {
      out.append("Apigw-Requestid: ");
      out.append(ex.request_id);
      out.append("\r\n");
    } else {
      out.append("x-amzn-RequestId: ");
      out.append(ex.request_id);
      out.append("\r\n");
      if (!ex.extended_id.empty()) {
        out.append("x-amz-apigw-id: ");
        out.append(ex.extended_id);
        out.append("\r\n");
      }
    }
  }

  void handle(Exchange& ex) override;
  void on_complete(Exchange& ex, const runtime::InvokeResult& result) override;
  void on_timeout(Exchange& ex) override;

private:
  void handle_own(Exchange& ex);
  void handle_routed(Exchange& ex, bool matched);
  AuthBinding* bind_authorizer(const sam::Model& model, const sam::Route& route) {
    std::string name = route.authorizer;
    if (name.empty())
      name = m_api.default_authorizer;
    if (name.empty() || name == "NONE")
      return nullptr;
    const auto it = m_api.authorizers.find(name);
    if (it == m_api.authorizers.end()) {
      if (m_unverified.insert(name).second)
        m_host.warn(fmt::format("API {}: authorizer '{}' is not verified locally; requests to its "
                                "routes are not authenticated",
                                m_api.logical_id, name));
      return nullptr;
    }
    const auto& authorizer = it->second;
    using Kind = sam::Authorizer::Kind;
    if (authorizer.kind != Kind::lambda_token && authorizer.kind != Kind::lambda_request) {
      if (m_unverified.insert(name).second)
        m_host.warn(fmt::format(
            "API {}: {} authorizer '{}' is not verified locally yet (JWT, Cognito and IAM "
            "verification come later); requests to its routes are not authenticated",
            m_api.logical_id,
            authorizer.kind == Kind::jwt       ? "JWT"
            : authorizer.kind == Kind::cognito ? "Cognito"
                                               : "IAM",
            name));
      return nullptr;
    }
    for (auto& bound : m_auths)
      if (bound.authorizer.name == name)
        return &bound;
    AuthBinding binding;
    binding.authorizer = authorizer;
    if (!authorizer.function_logical_id.empty())
      binding.function = &m_host.function(model, authorizer.function_logical_id);
    else
      m_host.warn(fmt::format("API {}: authorizer '{}' calls {}, which is not a function of this "
                              "template; its routes answer 500",
                              m_api.logical_id, name, authorizer.function_arn));
    if (!authorizer.identity_validation_expression.empty()) {
      try {
        binding.validation.emplace(authorizer.identity_validation_expression,
                                   std::regex::ECMAScript);
      } catch (const std::regex_error&) {
        m_host.warn(fmt::format("API {}: authorizer '{}': ValidationExpression '{}' is not a "
                                "valid regular expression; it is ignored",
                                m_api.logical_id, name, authorizer.identity_validation_expression));
      }
    }
    m_auths.push_back(std::move(binding));
    return &m_auths.back();
  }

  void not_found(Exchange& ex) {
    if (m_http)
      answer(ex, 404, k_http_not_found);
    else
      answer(ex, 403, k_rest_missing_token, "application/json",
             "MissingAuthenticationTokenException");
  }
  void internal_error(Exchange& ex) {
    if (m_http)
      answer(ex, 500, k_http_internal);
    else
      answer(ex, 502, k_rest_internal, "application/json", "InternalServerErrorException");
  }
  void throttled_function(Exchange& ex) {
    if (m_http)
      answer(ex, 500, k_http_internal);
    else
      answer(ex, 500, k_rest_internal, "application/json", "InternalServerErrorException");
  }
  void authorizer_failure(Exchange& ex) {
    if (m_http)
      answer(ex, 500, k_http_internal);
    else
      answer(ex, 500, k_rest_authorizer_error, "application/json",
             "AuthorizerConfigurationException");
  }
  void unauthorized(Exchange& ex) {
    answer(ex, 401, k_unauthorized, "application/json", m_http ? "" : "UnauthorizedException");
  }
  void denied(Exchange& ex, PolicyDecision decision) {
    if (m_http)
      answer(ex, 403, k_http_forbidden);
    else
      answer(ex, 403,
             decision == PolicyDecision::explicit_deny ? k_rest_explicit_deny
                                                       : k_rest_implicit_deny,
             "application/json", "AccessDeniedException");
  }

  bool serve_static(Exchange& ex);
  void authorize(Exchange& ex);
  void on_authorizer(Exchange& ex, const runtime::InvokeResult& result);
  void apply_authorizer(Exchange& ex, const AuthorizerResult& result, std::int64_t latency_ms);
  void integrate(Exchange& ex);
  std::optional<std::string> identity_value(const Exchange& ex, std::string_view source) const;
  void fill_event_info(Exchange& ex, RequestEventInfo& info) const;
  void prepare_ids(Exchange& ex) const {
    if (ex.request_id.empty())
      ex.request_id = m_http ? make_short_request_id(rng()) : make_rest_request_id(rng());
    if (ex.extended_id.empty() && !m_http)
      ex.extended_id = make_short_request_id(rng());
  }

  sam::Api m_api;
  bool m_http;
  bool m_disable_auth;
  ApiEventInfo m_info;
  Router m_router;
  std::vector<RouteSlot> m_routes;
  std::vector<AuthBinding> m_auths;
  std::set<std::string> m_unverified;
  StageThrottle m_throttle;
  AuthorizerCache m_cache;
  fs::path m_static_dir;
  std::vector<ApiDoor*> m_shared;
};

std::string_view content_type_for(const fs::path& path) {
  static const std::map<std::string, std::string_view, std::less<>> types = {
      {".html", "text/html"},        {".htm", "text/html"},        {".css", "text/css"},
      {".js", "text/javascript"},    {".mjs", "text/javascript"},  {".json", "application/json"},
      {".txt", "text/plain"},        {".xml", "application/xml"},  {".svg", "image/svg+xml"},
      {".png", "image/png"},         {".jpg", "image/jpeg"},       {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},         {".webp", "image/webp"},      {".ico", "image/x-icon"},
      {".wasm", "application/wasm"}, {".pdf", "application/pdf"},  {".woff", "font/woff"},
      {".woff2", "font/woff2"},      {".map", "application/json"},
  };
  std::string ext;
  append_lower(ext, path.extension().string());
  const auto it = types.find(ext);
  return it == types.end() ? std::string_view("application/octet-stream") : it->second;
}

bool ApiDoor::serve_static(Exchange& ex) {
  if (m_static_dir.empty() || (ex.request.method != "GET" && ex.request.method != "HEAD"))
    return false;
  const auto decoded = percent_decoded(ex.request.raw_path, false);
  if (decoded.find('\0') != std::string::npos || decoded.find('\\') != std::string::npos)
    return false;
  // No `..` segment at all: traversal is refused before the filesystem is asked.
  std::string_view rest = decoded;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const auto segment = rest.substr(0, slash);
    if (segment == "..")
      return false;
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  }
  auto relative = fs::path(decoded).relative_path();
  if (relative.empty())
    relative = "index.html";
  auto path = m_static_dir / relative;
  std::error_code error;
  if (fs::is_directory(path, error))
    path /= "index.html";
  if (!fs::is_regular_file(path, error) || !support::is_within(path, m_static_dir))
    return false;
  auto content = support::read_file(path, k_api_payload_limit);
  if (!content)
    return false;
  if (!ex.claim())
    return true;
  ex.mapped.clear();
  ex.mapped.status = 200;
  ex.mapped.headers.emplace_back("Content-Type", std::string(content_type_for(path)));
  ex.mapped.body = std::move(*content);
  finish(ex);
  return true;
}

void ApiDoor::handle(Exchange& ex) {
  auto& request = ex.request;
  if (!api_method(request.method)) {
    if (ex.claim())
      not_found(ex);
    return;
  }
  // API Gateway's limit on the request line and header values.
  std::size_t header_bytes =
      request.method.size() + request.raw_path.size() + request.raw_query.size() + 10;
  for (const auto& header : request.headers)
    header_bytes += header.value.size();
  if (header_bytes > k_header_values_limit) {
    ex.close_after = true;
    if (ex.claim())
      headers_too_large(ex);
    return;
  }
  if (serve_static(ex))
    return;
  const bool matched = m_router.match(request.method, request.raw_path, ex.match);
  if (!m_shared.empty() && (!matched || m_routes[ex.match.index].route.path == "$default")) {
    // APIs sharing this port: the one that routes the request (or, for an OPTIONS request,
    // whose path it is) answers it; a request none of them routes is this API's.
    RouteMatch probe;
    for (auto* other : m_shared) {
      const bool routes = other->m_router.match(request.method, request.raw_path, probe) &&
                          other->m_routes[probe.index].route.path != "$default";
      const bool preflight = request.method == "OPTIONS" && other->m_api.cors &&
                             !other->m_router.path_methods(request.raw_path).empty();
      if (routes || preflight) {
        ex.door = other;
        other->handle_own(ex);
        return;
      }
    }
  }
  handle_routed(ex, matched);
}

void ApiDoor::handle_own(Exchange& ex) {
  handle_routed(ex, m_router.match(ex.request.method, ex.request.raw_path, ex.match));
}

void ApiDoor::handle_routed(Exchange& ex, bool matched) {
  auto& request = ex.request;
  const RouteSlot* slot = matched ? &m_routes[ex.match.index] : nullptr;
  // CORS preflights the gateway answers itself.
  if (m_api.cors && request.method == "OPTIONS" &&
      (slot == nullptr || slot->route.method != "OPTIONS")) {
    if (!m_http) {
      const auto methods = m_router.path_methods(request.raw_path);
      if (!methods.empty()) {
        if (ex.claim()) {
          rest_preflight(*m_api.cors, methods, ex.mapped);
          finish(ex);
        }
        return;
      }
    } else if (is_preflight(request) && (slot == nullptr || slot->route.path != "$default")) {
      if (ex.claim()) {
        http_preflight(*m_api.cors, request, ex.mapped);
        finish(ex);
      }
      return;
    }
  }
  if (slot == nullptr) {
    if (ex.claim())
      not_found(ex);
    return;
  }
  ex.route = ex.match.index;
  if (!m_throttle.empty() && !m_throttle.admit(slot->route.path, request.method)) {
    if (ex.claim())
      answer(ex, 429, k_too_many, "application/json", m_http ? "" : "TooManyRequestsException");
    return;
  }
  prepare_ids(ex);
  ex.time_ms = now_ms();
  // X-Forwarded-* as API Gateway's front end adds them.
  ex.forwarded_for.clear();
  for (const auto& header : ex.parser->get()) {
    const std::string_view name(header.name_string().data(), header.name_string().size());
    if (iequals_ascii(name, "x-forwarded-for")) {
      ex.forwarded_for.assign(header.value().data(), header.value().size());
      ex.forwarded_for.append(", ");
    }
  }
  ex.forwarded_for.append(request.source_ip);
  ex.forwarded_port = ex.session ? ex.session->local_port() : std::string();
  request.headers.push_back({"X-Forwarded-For", ex.forwarded_for});
  request.headers.push_back({"X-Forwarded-Port", ex.forwarded_port});
  request.headers.push_back({"X-Forwarded-Proto", "http"});
  if (!request.has_header("x-amzn-trace-id")) {
    ex.trace_id = runtime::make_trace_id(rng(), WallClock::now());
    request.headers.push_back({"X-Amzn-Trace-Id", ex.trace_id});
  } else {
    ex.trace_id = std::string(request.header("x-amzn-trace-id"));
  }
  if (slot->auth != nullptr) {
    authorize(ex);
    return;
  }
  integrate(ex);
}

std::optional<std::string> ApiDoor::identity_value(const Exchange& ex,
                                                   std::string_view source) const {
  const auto& request = ex.request;
  const auto query_value = [&](std::string_view name) -> std::optional<std::string> {
    std::string_view query = request.raw_query;
    std::optional<std::string> found;
    while (!query.empty()) {
      const auto amp = query.find('&');
      const auto part = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      const auto eq = part.find('=');
      if (percent_decoded(part.substr(0, eq), true) == name)
        found = eq == std::string_view::npos ? std::string()
                                             : percent_decoded(part.substr(eq + 1), true);
    }
    return found;
  };
  const auto strip = [&](std::string_view prefix) -> std::optional<std::string_view> {
    if (source.starts_with(prefix))
      return source.substr(prefix.size());
    return std::nullopt;
  };
  std::optional<std::string> value;
  if (auto name = strip(m_http ? "$request.header." : "method.request.header.")) {
    if (request.has_header(*name))
      value = std::string(request.header(*name));
  } else if (auto qname = strip(m_http ? "$request.querystring." : "method.request.querystring.")) {
    value = query_value(*qname);
  } else if (auto variable = strip(m_http ? "$stageVariables." : "stageVariables.")) {
    if (const auto it = m_info.stage_variables.find(std::string(*variable));
        it != m_info.stage_variables.end())
      value = it->second;
  } else if (auto context = strip(m_http ? "$context." : "context.")) {
    const auto& slot = m_routes[ex.route];
    if (*context == "routeKey")
      value = slot.info.route_key;
    else if (*context == "httpMethod")
      value = std::string(request.method);
    else if (*context == "stage")
      value = m_info.stage;
    else if (*context == "requestId")
      value = ex.request_id;
    else if (*context == "identity.sourceIp")
      value = std::string(request.source_ip);
    else if (*context == "resourcePath" || *context == "path")
      value = slot.route.path;
  }
  if (value && value->empty())
    return std::nullopt;
  return value;
}

void ApiDoor::fill_event_info(Exchange& ex, RequestEventInfo& info) const {
  info.request_id = ex.request_id;
  info.extended_request_id = ex.extended_id;
  info.time_ms = ex.time_ms;
  info.request_time = request_time(ex.time_ms);
  info.match = &ex.match;
  info.authorizer_json = ex.authorizer_json;
}

void ApiDoor::authorize(Exchange& ex) {
  const auto& slot = m_routes[ex.route];
  auto& binding = *slot.auth;
  const auto& authorizer = binding.authorizer;
  const bool token = authorizer.kind == sam::Authorizer::Kind::lambda_token;
  // Identity sources: missing ones answer 401 without calling the authorizer (REST REQUEST
  // authorizers only check them when caching is on).
  std::vector<std::string> identity;
  bool missing = false;
  for (const auto& source : authorizer.identity_sources) {
    auto value = identity_value(ex, source);
    if (!value)
      missing = true;
    identity.push_back(value.value_or(""));
  }
  const bool check_sources = m_http || token || authorizer.ttl_seconds > 0;
  if (check_sources && missing) {
    if (ex.claim())
      unauthorized(ex);
    return;
  }
  if (token && binding.validation && !identity.empty() &&
      !std::regex_match(identity.front(), *binding.validation)) {
    if (ex.claim())
      unauthorized(ex);
    return;
  }
  if (binding.function == nullptr || !binding.function->ok) {
    if (ex.claim())
      authorizer_failure(ex);
    return;
  }
  const auto arn = method_arn(m_info, ex.request.method,
                              m_http ? percent_decoded(ex.request.raw_path, false)
                                     : std::string(ex.request.raw_path));
  // The cache: identity values (per authorizer) within the TTL.
  ex.auth_key.clear();
  if (authorizer.ttl_seconds > 0 && !identity.empty()) {
    ex.auth_key = authorizer.name;
    for (const auto& value : identity) {
      ex.auth_key.push_back('\x1f');
      ex.auth_key.append(value);
    }
    if (auto cached = m_cache.find(ex.auth_key)) {
      const auto decision = evaluate(*cached, arn);
      if (decision != PolicyDecision::allow) {
        if (ex.claim())
          denied(ex, decision);
        return;
      }
      apply_authorizer(ex, *cached, 0);
      integrate(ex);
      return;
    }
  }
  // The authorizer's event.
  RequestEventInfo info;
  fill_event_info(ex, info);
  info.authorizer_json = {};
  ex.event.clear();
  if (token) {
    write_token_authorizer_event(ex.event, identity.empty() ? std::string() : identity.front(),
                                 arn);
  } else if (m_http && authorizer.payload_format_version != "1.0") {
    write_v2_authorizer_event(ex.event, ex.request, m_info, slot.info, info, arn, identity);
  } else {
    write_request_authorizer_event(ex.event, ex.request, m_info, slot.info, info, arn,
                                   m_http ? &identity : nullptr);
  }
  ex.phase = Exchange::Phase::authorizer;
  ex.auth_started = Clock::now();
  ex.self = ex.shared_from_this();
  ex.timer.expires_after(k_authorizer_timeout);
  ex.timer.async_wait([ex_ptr = ex.shared_from_this(), this](beast::error_code ec) {
    if (!ec && ex_ptr->phase == Exchange::Phase::authorizer && ex_ptr->claim()) {
      ex_ptr->detached = true;
      authorizer_failure(*ex_ptr);
    }
  });
  runtime::InvokeRequest invoke;
  invoke.payload = ex.event;
  invoke.trace_id = ex.trace_id;
  m_host.engine->invoke(binding.function->handle, invoke, ex);
}

void ApiDoor::apply_authorizer(Exchange& ex, const AuthorizerResult& result,
                               std::int64_t latency_ms) {
  const auto& slot = m_routes[ex.route];
  if (m_http && slot.info.v2)
    ex.authorizer_json = http_authorizer_json(result);
  else if (m_http)
    ex.authorizer_json = http_authorizer_json(result);
  else
    ex.authorizer_json = rest_authorizer_json(result, latency_ms);
}

void ApiDoor::on_authorizer(Exchange& ex, const runtime::InvokeResult& result) {
  const auto& slot = m_routes[ex.route];
  const auto& binding = *slot.auth;
  const auto& authorizer = binding.authorizer;
  if (ex.is_answered()) {
    auto keep = std::move(ex.self);
    return;
  }
  const auto latency =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - ex.auth_started).count();
  std::optional<AuthorizerResult> parsed;
  if (result.outcome == runtime::Outcome::success) {
    parsed = parse_authorizer_output(result.streamed ? std::string_view(ex.streamed) : result.body,
                                     m_http && authorizer.enable_simple_responses &&
                                         authorizer.payload_format_version != "1.0",
                                     !m_http);
  } else if (!m_http && result.outcome == runtime::Outcome::function_error) {
    // `throw new Error("Unauthorized")` / `raise Exception("Unauthorized")`: 401.
    boost::system::error_code ec;
    const auto body = boost::json::parse(result.body, ec);
    if (!ec && body.is_object()) {
      const auto* message = body.as_object().if_contains("errorMessage");
      if (message != nullptr && message->is_string() && message->as_string() == "Unauthorized") {
        auto keep = std::move(ex.self);
        if (ex.claim())
          unauthorized(ex);
        return;
      }
    }
  }
  if (!parsed) {
    m_host.log.line(fmt::format("{} authorizer {} failed: {} {}", clock_text(), authorizer.name,
                                runtime::to_string(result.outcome),
                                result.outcome == runtime::Outcome::success ? "(invalid answer)"
                                                                            : result.error_type));
    auto keep = std::move(ex.self);
    if (ex.claim())
      authorizer_failure(ex);
    return;
  }
  if (!ex.auth_key.empty())
    m_cache.store(ex.auth_key, *parsed, std::chrono::seconds(authorizer.ttl_seconds));
  const auto arn = method_arn(m_info, ex.request.method,
                              m_http ? percent_decoded(ex.request.raw_path, false)
                                     : std::string(ex.request.raw_path));
  const auto decision = evaluate(*parsed, arn);
  if (decision != PolicyDecision::allow) {
    auto keep = std::move(ex.self);
    if (ex.claim())
      denied(ex, decision);
    return;
  }
  apply_authorizer(ex, *parsed, latency);
  // The timer belongs to the session's strand: the integration re-arms it there.
  auto keep = std::move(ex.self);
  asio::dispatch(ex.timer.get_executor(), [this, ex_ptr = ex.shared_from_this()] {
    ex_ptr->timer.cancel();
    if (ex_ptr->is_answered())
      return;
    integrate(*ex_ptr);
  });
}

void ApiDoor::integrate(Exchange& ex) {
  const auto& slot = m_routes[ex.route];
  auto& request = ex.request;
  if (slot.function == nullptr || !slot.function->ok) {
    if (ex.claim())
      internal_error(ex);
    return;
  }
  // isBase64Encoded: binaryMediaTypes (REST) or the text-type rule (HTTP APIs).
  const auto content_type = request.header("content-type");
  const bool base64 = m_http
                          ? !is_http_api_text_type(content_type)
                          : matches_media_types(media_type(content_type), m_api.binary_media_types);
  RequestEventInfo info;
  fill_event_info(ex, info);
  info.base64_body = base64;
  ex.event.clear();
  ex.event.reserve(1024 + request.body.size() * 4 / 3);
  if (slot.info.v2)
    write_v2_event(ex.event, request, m_info, slot.info, info);
  else
    write_v1_event(ex.event, request, m_info, slot.info, info);
  ex.function_id = slot.function->id;
  ex.version = slot.function->version;
  ex.invoked = true;
  ex.phase = Exchange::Phase::integration;
  ex.streamed.clear();
  // The integration timeout (29 s REST, 30 s HTTP API) when the function may run longer.
  const auto integration_limit = std::chrono::seconds(m_http ? 30 : 29);
  if (std::chrono::seconds(slot.function->timeout) >= integration_limit) {
    ex.timer.expires_after(integration_limit);
    ex.timer.async_wait([this, ex_ptr = ex.shared_from_this()](beast::error_code ec) {
      if (!ec && ex_ptr->claim()) {
        ex_ptr->detached = true;
        on_timeout(*ex_ptr);
      }
    });
  }
  ex.self = ex.shared_from_this();
  runtime::InvokeRequest invoke;
  invoke.payload = ex.event;
  invoke.trace_id = ex.trace_id;
  m_host.engine->invoke(slot.function->handle, invoke, ex);
}

void ApiDoor::on_timeout(Exchange& ex) {
  if (m_http)
    answer(ex, 503, k_http_unavailable);
  else
    answer(ex, 504, k_rest_timeout, "application/json", "");
}

void ApiDoor::on_complete(Exchange& ex, const runtime::InvokeResult& result) {
  if (ex.phase == Exchange::Phase::authorizer) {
    on_authorizer(ex, result);
    return;
  }
  auto keep = std::move(ex.self);
  if (!ex.claim())
    return;
  ex.cold = result.cold;
  if (!result.executed_version.empty())
    ex.version.assign(result.executed_version);
  const auto& slot = m_routes[ex.route];
  using runtime::Outcome;
  switch (result.outcome) {
  case Outcome::success: {
    const std::string_view output = result.streamed ? std::string_view(ex.streamed) : result.body;
    bool ok = false;
    if (slot.info.v2) {
      ok = map_v2_response(output, ex.mapped);
    } else {
      const bool binary_accept =
          !m_http && matches_media_types(first_accept_type(ex.request.header("accept")),
                                         m_api.binary_media_types);
      ok = map_v1_response(output, !m_http, binary_accept, ex.mapped);
    }
    if (!ok) {
      m_host.log.line(fmt::format("{} {}: malformed Lambda proxy response from {}", clock_text(),
                                  m_api.logical_id, slot.function->id));
      internal_error(ex);
      return;
    }
    if (m_http && m_api.cors)
      http_apply_cors(*m_api.cors, ex.request.header("origin"), ex.mapped);
    finish(ex);
    return;
  }
  case Outcome::throttled:
  case Outcome::engine_error:
    throttled_function(ex);
    return;
  case Outcome::request_too_large:
    answer(ex, 413, k_request_too_long, "application/json", m_http ? "" : "BadRequestException");
    return;
  default:
    internal_error(ex);
    return;
  }
}

// ------------------------------------------------------------------ Lambda Invoke API front door

class LambdaDoor final : public Door {
public:
  LambdaDoor(Host& host, const sam::Model& model, const StartLambdaOptions& options)
      : Door(host), m_model(model), m_options(options) {}

  support::Status add(const std::string& id) {
    const auto* fn = m_model.find_function(id);
    if (fn == nullptr) {
      std::vector<std::string> ids;
      for (const auto& f : m_model.functions)
        ids.push_back(f.logical_id);
      std::string hint;
      if (auto close = support::closest_match(id, ids))
        hint = fmt::format("; did you mean '{}'?", *close);
      return support::failf("function '{}' is not in the template{}", id, hint);
    }
    auto& slot = m_host.function(m_model, fn->logical_id);
    m_slots.push_back(&slot);
    return {};
  }
  [[nodiscard]] const std::vector<FunctionSlot*>& slots() const { return m_slots; }

  [[nodiscard]] std::uint64_t body_limit() const override { return k_invoke_payload_limit; }
  void payload_too_large(Exchange& ex) override {
    const auto message = fmt::format("Request must be smaller than {} bytes for the InvokeFunction "
                                     "operation",
                                     k_invoke_payload_limit);
    answer(ex, 413, lambda_error_body(message), "application/json", "RequestTooLargeException");
  }
  void headers_too_large(Exchange& ex) override {
    answer(ex, 431, k_header_too_large, "application/json", "RequestHeaderFieldsTooLarge");
  }
  void common_headers(Exchange& ex, std::string& out) override {
    if (ex.request_id.empty())
      ex.request_id = runtime::make_uuid(rng());
    out.append("x-amzn-RequestId: ");
    out.append(ex.request_id);
    out.append("\r\n");
  }

  void handle(Exchange& ex) override;
  void on_complete(Exchange& ex, const runtime::InvokeResult& result) override;

private:
  void error(Exchange& ex, unsigned status, std::string_view type, std::string_view message) {
    if (ex.claim())
      answer(ex, status, lambda_error_body(message), "application/json", type);
  }

  const sam::Model& m_model;
  const StartLambdaOptions& m_options;
  std::vector<FunctionSlot*> m_slots;
};

// An asynchronous (Event) invocation: owns its payload, logs its outcome.
struct EventInvocation final : runtime::InvokeSink {
  std::string payload;
  std::string client_context;
  std::string function_id;
  AsyncLog* log = nullptr;
  std::unique_ptr<EventInvocation> self;
  void on_complete(const runtime::InvokeResult& result) override {
    auto keep = std::move(self);
    log->line(fmt::format("{} Event invocation of {} {}: {}", clock_text(), function_id,
                          result.request_id, runtime::to_string(result.outcome)));
  }
};

void LambdaDoor::handle(Exchange& ex) {
  auto& request = ex.request;
  const auto name = invocation_function(request.raw_path);
  if (!name || request.method != "POST") {
    error(ex, 404, "UnknownOperationException", "Unknown operation");
    return;
  }
  const auto ref = parse_function_reference(*name);
  if (!ref) {
    error(ex, 400, "ValidationException",
          fmt::format("1 validation error detected: Value '{}' at 'functionName' failed to "
                      "satisfy constraint: Member must satisfy regular expression pattern: "
                      "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?"
                      "(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
                      *name));
    return;
  }
  // ?Qualifier= (must agree with a qualifier in the name).
  std::string qualifier = ref->qualifier;
  {
    std::string_view query = request.raw_query;
    while (!query.empty()) {
      const auto amp = query.find('&');
      const auto part = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      const auto eq = part.find('=');
      if (part.substr(0, eq) == "Qualifier" && eq != std::string_view::npos) {
        const auto value = percent_decoded(part.substr(eq + 1), true);
        if (!qualifier.empty() && value != qualifier) {
          error(ex, 400, "InvalidParameterValueException",
                "The derived qualifier from the function name does not match the specified "
                "qualifier.");
          return;
        }
        qualifier = value;
      }
    }
  }
  FunctionSlot* slot = nullptr;
  for (auto* candidate : m_slots)
    if (candidate->id == ref->name || candidate->name == ref->name)
      slot = candidate;
  const bool qualifier_ok =
      slot != nullptr &&
      (qualifier.empty() || qualifier == "$LATEST" ||
       (!slot->auto_publish_alias.empty() && qualifier == slot->auto_publish_alias));
  if (!qualifier_ok) {
    error(ex, 404, "ResourceNotFoundException",
          function_not_found_message(m_options.region, m_options.account_id, ref->name, qualifier));
    return;
  }
  const auto invocation_type = request.header("x-amz-invocation-type");
  const std::string_view type = invocation_type.empty() ? "RequestResponse" : invocation_type;
  if (type != "RequestResponse" && type != "Event" && type != "DryRun") {
    error(ex, 400, "ValidationException",
          fmt::format("1 validation error detected: Value '{}' at 'invocationType' failed to "
                      "satisfy constraint: Member must satisfy enum value set: [Event, "
                      "RequestResponse, DryRun]",
                      type));
    return;
  }
  const auto log_type = request.header("x-amz-log-type");
  if (!log_type.empty() && log_type != "None" && log_type != "Tail") {
    error(ex, 400, "ValidationException",
          fmt::format("1 validation error detected: Value '{}' at 'logType' failed to satisfy "
                      "constraint: Member must satisfy enum value set: [Tail, None]",
                      log_type));
    return;
  }
  std::string_view payload = request.body;
  if (payload.empty())
    payload = "{}";
  {
    boost::system::error_code ec;
    boost::json::parse(payload, ec);
    if (ec) {
      error(ex, 400, "InvalidRequestContentException",
            fmt::format("Could not parse request body into json: Could not parse payload into "
                        "json: {}",
                        ec.message()));
      return;
    }
  }
  ex.client_context.clear();
  if (const auto context = request.header("x-amz-client-context"); !context.empty()) {
    auto decoded = support::base64_decode(context);
    boost::system::error_code ec;
    if (decoded)
      boost::json::parse(*decoded, ec);
    if (!decoded || ec || context.size() > 3583) {
      error(ex, 400, "InvalidRequestContentException",
            "Client context must be a valid Base64-encoded JSON object.");
      return;
    }
    ex.client_context = std::move(*decoded);
  }
  if (!slot->ok) {
    error(ex, 500, "ServiceException", slot->problem);
    return;
  }
  if (type == "DryRun") {
    if (ex.claim()) {
      ex.mapped.clear();
      ex.mapped.status = 204;
      finish(ex);
    }
    return;
  }
  if (type == "Event") {
    if (payload.size() > k_async_payload_limit) {
      error(ex, 413, "RequestTooLargeException",
            fmt::format("Request must be smaller than {} bytes for the InvokeAsync operation",
                        k_async_payload_limit));
      return;
    }
    auto event = std::make_unique<EventInvocation>();
    event->payload.assign(payload);
    event->client_context = ex.client_context;
    event->function_id = slot->id;
    event->log = &m_host.log;
    auto* raw = event.get();
    raw->self = std::move(event);
    runtime::InvokeRequest invoke;
    invoke.payload = raw->payload;
    invoke.client_context = raw->client_context;
    invoke.qualifier = qualifier;
    m_host.engine->invoke(slot->handle, invoke, *raw);
    if (ex.claim()) {
      ex.mapped.clear();
      ex.mapped.status = 202;
      ex.function_id = slot->id;
      ex.version = slot->version;
      finish(ex);
    }
    return;
  }
  ex.function_id = slot->id;
  ex.version = slot->version;
  ex.invoked = true;
  ex.qualifier = qualifier;
  ex.tail_log = log_type == "Tail";
  ex.phase = Exchange::Phase::integration;
  ex.self = ex.shared_from_this();
  runtime::InvokeRequest invoke;
  invoke.payload = payload;
  invoke.client_context = ex.client_context;
  invoke.qualifier = ex.qualifier;
  invoke.tail_log = ex.tail_log;
  invoke.trace_id = request.header("x-amzn-trace-id");
  const auto content_type = request.header("content-type");
  if (!content_type.empty())
    invoke.content_type = content_type;
  m_host.engine->invoke(slot->handle, invoke, ex);
}

void LambdaDoor::on_complete(Exchange& ex, const runtime::InvokeResult& result) {
  auto keep = std::move(ex.self);
  if (!ex.claim())
    return;
  ex.cold = result.cold;
  ex.request_id.assign(result.request_id);
  if (!result.executed_version.empty())
    ex.version.assign(result.executed_version);
  auto& mapped = ex.mapped;
  mapped.clear();
  using runtime::Outcome;
  switch (result.outcome) {
  case Outcome::throttled:
    mapped.status = 429;
    mapped.headers.emplace_back("x-amzn-ErrorType", "TooManyRequestsException");
    mapped.headers.emplace_back("Content-Type", "application/json");
    mapped.body.assign(result.body);
    finish(ex);
    return;
  case Outcome::request_too_large:
    mapped.status = 413;
    mapped.headers.emplace_back("x-amzn-ErrorType", "RequestTooLargeException");
    mapped.headers.emplace_back("Content-Type", "application/json");
    mapped.body.assign(result.body);
    finish(ex);
    return;
  case Outcome::engine_error:
    mapped.status = 500;
    mapped.headers.emplace_back("x-amzn-ErrorType", "ServiceException");
    mapped.headers.emplace_back("Content-Type", "application/json");
    mapped.body = lambda_error_body("the local engine could not run the function");
    finish(ex);
    return;
  default:
    break;
  }
  mapped.status = 200;
  const bool failed = result.outcome != Outcome::success;
  if (failed)
    mapped.headers.emplace_back("X-Amz-Function-Error", "Unhandled");
  mapped.headers.emplace_back("X-Amz-Executed-Version", ex.version);
  if (ex.tail_log)
    mapped.headers.emplace_back("X-Amz-Log-Result", support::base64_encode(result.log_tail));
  const std::string_view content_type = result.content_type.empty() || failed
                                            ? std::string_view("application/json")
                                            : result.content_type;
  mapped.headers.emplace_back("Content-Type", std::string(content_type));
  if (result.streamed && !failed)
    mapped.body = std::move(ex.streamed);
  else
    mapped.body.assign(result.body);
  finish(ex);
}

// ------------------------------------------------------------------ running

void Host::run(std::vector<std::unique_ptr<Door>>& doors) {
  asio::basic_signal_set<Executor> signals(io.get_executor(), SIGINT, SIGTERM);
  asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Executor> grace(io.get_executor());
  signals.async_wait([&](beast::error_code ec, int) {
    if (ec)
      return;
    stopping = true;
    log.line(fmt::format("{} Shutting down", clock_text()));
    for (auto& door : doors)
      door->close();
    if (watcher)
      watcher->stop();
    engine->stop();
    // Let the exit handlers reap the workers, then stop.
    grace.expires_after(std::chrono::milliseconds(300));
    grace.async_wait([&](beast::error_code) { io.stop(); });
  });
  for (auto& door : doors)
    door->start_accepting();
  prewarm();
  start_watching();
  if (output.ready)
    output.ready("ready");
  const int count = io_threads(options);
  std::vector<std::thread> threads;
  for (int i = 1; i < count; ++i)
    threads.emplace_back([this] { io.run(); });
  io.run();
  for (auto& thread : threads)
    thread.join();
}

std::string route_line(const sam::Route& route) {
  return fmt::format("  {:<7} {:<32} {}", route.method, route.path, route.function_logical_id);
}

} // namespace

support::Status serve_api(const sam::Model& model, const StartApiOptions& options,
                          const ServeOutput& output) {
  Host host(options, output);
  std::vector<std::unique_ptr<Door>> doors;
  std::vector<std::unique_ptr<Door>> shared_doors; // reached through a listening door
  std::vector<const sam::Api*> apis;
  for (const auto& api : model.apis) {
    const bool routed = std::any_of(model.routes.begin(), model.routes.end(), [&](const auto& r) {
      return r.api_logical_id == api.logical_id;
    });
    if (routed)
      apis.push_back(&api);
  }
  if (apis.empty())
    return support::fail("the template has no Api or HttpApi events to serve; `wisp local invoke` "
                         "runs functions without an API");
  int next_port = options.port;
  bool static_taken = false;
  fs::path static_dir;
  if (!options.static_dir.empty()) {
    std::error_code ec;
    if (fs::is_directory(options.static_dir, ec))
      static_dir = fs::canonical(options.static_dir, ec);
  }
  // APIs whose routes overlap none of another's share its port (as SAM CLI serves every
  // route on one port); the others get the following ports.
  std::vector<std::unique_ptr<ApiDoor>> api_doors;
  for (const auto* api : apis) {
    std::vector<const sam::Route*> routes;
    for (const auto& route : model.routes)
      if (route.api_logical_id == api->logical_id)
        routes.push_back(&route);
    StartApiOptions door_options = options;
    door_options.static_dir = static_taken ? fs::path() : static_dir;
    static_taken = true;
    api_doors.push_back(std::make_unique<ApiDoor>(host, model, *api, door_options, routes));
  }
  std::vector<std::vector<ApiDoor*>> groups;
  for (auto& door : api_doors) {
    bool placed = false;
    for (auto& group : groups) {
      const bool clash = std::any_of(group.begin(), group.end(), [&](const ApiDoor* member) {
        return member->overlaps(*door);
      });
      if (!clash) {
        group.front()->share_port(*door);
        group.push_back(door.get());
        placed = true;
        break;
      }
    }
    if (!placed)
      groups.push_back({door.get()});
  }
  for (auto& group : groups) {
    WISP_TRY(group.front()->listen(options.host, next_port));
    if (next_port != 0)
      ++next_port;
    for (auto* door : group) {
      const auto& info = door->info();
      host.info(fmt::format("{} ({} API, stage {}): http://{}:{}", door->api().logical_id,
                            info.http_api ? "HTTP" : "REST", info.stage, options.host,
                            group.front()->port()));
      for (const auto& slot : door->routes())
        host.info(route_line(slot.route));
    }
  }
  for (auto& door : api_doors) {
    // Only the first door of each group listens; the others are reached through it.
    const bool listens = std::any_of(groups.begin(), groups.end(), [&](const auto& group) {
      return group.front() == door.get();
    });
    if (listens)
      doors.push_back(std::move(door));
    else
      shared_doors.push_back(std::move(door));
  }
  if (!static_dir.empty())
    host.info(fmt::format("Static files from {} on http://{}:{}", static_dir.string(), options.host,
                          doors.front()->port()));
  host.run(doors);
  return {};
}

support::Status serve_lambda(const sam::Model& model, const StartLambdaOptions& options,
                             const ServeOutput& output) {
  Host host(options, output);
  auto door = std::make_unique<LambdaDoor>(host, model, options);
  if (options.functions.empty()) {
    for (const auto& fn : model.functions)
      WISP_TRY(door->add(fn.logical_id));
  } else {
    for (const auto& id : options.functions)
      WISP_TRY(door->add(id));
  }
  if (door->slots().empty())
    return support::fail("the template has no functions to serve");
  WISP_TRY(door->listen(options.host, options.port));
  host.info(fmt::format("Lambda Invoke API: http://{}:{}", options.host, door->port()));
  for (const auto* slot : door->slots())
    host.info(
        fmt::format("  {}{}", slot->id, slot->ok ? "" : " (cannot run: " + slot->problem + ")"));
  std::vector<std::unique_ptr<Door>> doors;
  doors.push_back(std::move(door));
  host.run(doors);
  return {};
}

} // namespace wisp::gateway
