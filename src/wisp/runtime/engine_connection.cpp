// The Runtime API server: each worker's listener (its own port on 127.0.0.1), the
// connections a worker opens to it (Boost.Beast: /next, /response, /error, /init/error,
// streamed responses), and dispatch, which hands an invocation to a worker and builds the
// /next answer that Connection::deliver writes (the two run together on every invocation).

#include <wisp/runtime/engine_impl.hpp>
#include <wisp/support/hash.hpp>

// GCC 12 reports -Wnull-dereference inside Asio's own reactor code once it is inlined here
// (a false positive in system headers); silenced for those headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <memory>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

namespace wisp::runtime::engine_detail {

namespace http = beast::http;

namespace {

constexpr std::string_view k_api_prefix = "/2018-06-01/runtime/";

// Appends a header value, turning CR/LF into spaces so a value can never split the header.
void append_header(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  for (const char c : value)
    out += (c == '\r' || c == '\n') ? ' ' : c;
  out += "\r\n";
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

} // namespace

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
  // Reading a paused streamed response goes on (the sink's resume; any thread).
  void resume_stream();

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
  void read_stream();
  void on_stream_read(beast::error_code ec);
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
  // Flow control of a streamed response: the sink asked to pause during a read (pausing),
  // the read ended and no read is outstanding (paused), or the sink resumed before the read
  // ended (resumed); reading otherwise.
  enum Flow : int { reading, pausing, paused, resumed };
  std::atomic<int> m_flow{reading};
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
        m_flow = reading;
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
    read_stream();
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

namespace {

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

} // namespace

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
    if (auto line = init_report_for(*worker.function, init_ms, type); !line.empty())
      eng.emit_line(worker, {}, line, epoch_ms(WallClock::now()));
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
  inv->streamed_bytes += data.size();
  inv->sink->on_stream_data(data);
  if (m_flow.load() != reading)
    return;
  // Pausing before asking: a resume that comes at once (another thread) is not lost.
  m_flow = pausing;
  if (inv->sink->stream_ready([self = shared_from_this()] { self->resume_stream(); })) {
    int state = pausing;
    m_flow.compare_exchange_strong(state, reading);
  }
}

// A streamed response is read piece by piece, so that a sink whose client does not keep up
// can pause it (InvokeSink::stream_ready): the runtime's writes then block, as in Lambda.
void Connection::read_stream() {
  http::async_read_some(
      m_socket, m_buffer, *m_parser,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_stream_read(ec); });
}

void Connection::on_stream_read(beast::error_code ec) {
  if (ec || m_parser->is_done()) {
    m_flow = reading;
    handle_stream_end(ec);
    return;
  }
  int state = pausing;
  if (m_flow.compare_exchange_strong(state, paused))
    return; // resume_stream reads on
  m_flow = reading;
  read_stream();
}

void Connection::resume_stream() {
  int state = m_flow.load();
  while (true) {
    if (state == paused) {
      if (m_flow.compare_exchange_weak(state, reading)) {
        asio::post(m_socket.get_executor(), [self = shared_from_this()] { self->read_stream(); });
        return;
      }
    } else if (state == pausing) {
      if (m_flow.compare_exchange_weak(state, resumed))
        return;
    } else {
      return;
    }
  }
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

} // namespace wisp::runtime::engine_detail

namespace wisp::runtime {

using namespace engine_detail;

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
  inv.streamed_bytes = 0;
  inv.tail.clear();
  inv.cpu_start_ns.reset();
  if (wants_cpu && inv.started - worker.cpu_sampled >= Worker::k_cpu_sample) {
    worker.cpu_sampled = inv.started;
    inv.cpu_start_ns = worker.cpu_run_ns();
  }
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

void Engine::Impl::answer_parked_locked(Worker& worker, Invocation& inv) {
  auto connection = std::move(worker.parked);
  dispatch_locked(worker, inv);
  connection->deliver(inv); // initiated under the mutex: the deadline cannot release `inv`
}

} // namespace wisp::runtime
