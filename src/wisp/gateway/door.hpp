#pragma once
// Internal to the gateway: HTTP front doors on the Host's io_context (Boost.Beast).
//
// - A Door is one listener and the protocol behind it. Session (one per connection, on its own
//   strand) reads each HTTP/1.1 request under the limits and timeouts, fills an Exchange and
//   calls the door's hooks; keep-alive, `Expect: 100-continue`, 400 on malformed HTTP and the
//   write path are Session's. Writing a new kind of door means deriving from Door and
//   implementing its hooks (below); serve_* composes doors on one Host (host.hpp).
// - An Exchange is one request's state and the runtime::InvokeSink the engine completes (on
//   any io thread). Whoever claims the exchange first (the invocation's completion, a door's
//   timer, a gateway-level answer) fills `mapped` and calls Door::finish, which serializes it
//   and hands it to the session's strand. An exchange that timed out is detached: it owns its
//   parser (the request's views stay valid) and lives, through `self`, until its invocation
//   completes, while the connection goes on with a new exchange. Workers are never tied to a
//   connection, so a client that disconnects mid-invocation leaks nothing.

#include <wisp/gateway/event.hpp>
#include <wisp/gateway/host.hpp>
#include <wisp/gateway/response.hpp>
#include <wisp/gateway/router.hpp>
#include <wisp/runtime/engine.hpp>
#include <wisp/support/error.hpp>

// GCC 12 reports -Wnull-dereference inside Asio's own reactor code once it is inlined (a false
// positive in system headers); silenced for those headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace wisp::gateway {

namespace http = boost::beast::http;
// Concrete executor types (no type-erased any_io_executor on the hot path).
using Executor = boost::asio::io_context::executor_type;
using Strand = boost::asio::strand<Executor>;
using Timer = boost::asio::basic_waitable_timer<Clock, boost::asio::wait_traits<Clock>, Strand>;

// 431's body, the same for every door.
inline constexpr std::string_view k_header_too_large =
    R"({"message":"Request Header Fields Too Large"})";

class Door;
class Session;
class ResponseStream;

struct Exchange final : runtime::InvokeSink, std::enable_shared_from_this<Exchange> {
  explicit Exchange(const Strand& strand) : timer(strand) {}

  // Ready for the connection's next request.
  void reset();

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

  // A streamed function response: the door's on_stream_start / on_stream_data (by default
  // the bytes are collected in `streamed` and answered whole by on_complete).
  void on_stream_start(std::string_view content_type) override;
  void on_stream_data(std::string_view bytes) override;
  // Hands the result to door->on_complete.
  void on_complete(const runtime::InvokeResult& result) override;

  // What the exchange waits for (the door's to set and read; reset to none).
  enum class Phase : std::uint8_t { none, authorizer, integration };

  // ---- the connection (Session sets these)
  Door* door = nullptr; // the door that answers (an API door may hand it to another)
  std::shared_ptr<Session> session;
  std::shared_ptr<Exchange> self; // alive while an invocation runs
  std::optional<http::request_parser<http::string_body>> parser;
  Request request; // views into the parser's message
  Clock::time_point started;
  Timer timer; // on the session's strand; the door's to arm (timeouts)
  std::mutex mutex;
  bool answered = false;
  bool detached = false;
  Phase phase = Phase::none;
  // ---- per-door request state (API Gateway: route, ids, authorizer; Invoke API: qualifier)
  std::size_t route = SIZE_MAX;
  RouteMatch match;
  std::string request_id; // set by the door (common_headers at the latest)
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
  bool response_stream = false; // InvokeWithResponseStream
  // ---- buffers, reused across the connection's requests
  std::string event;                      // the invocation's payload
  std::string streamed;                   // a streamed invocation's output (on_stream_data)
  MappedResponse mapped;                  // the answer Door::finish serializes
  std::string out;                        // the serialized answer the session writes
  std::shared_ptr<ResponseStream> stream; // a streamed answer in progress (Door::start_stream)
  std::string prelude;     // a door's scratch while a streamed answer begins (function URLs)
  std::string stream_type; // a streamed function response's content type
  std::uint64_t streamed_bytes = 0; // and its size so far
  // ---- access log
  std::string_view function_id;
  std::string version;
  bool cold = false;
  bool invoked = false;
  unsigned status = 0;
  bool close_after = false; // Connection: close after this answer
  bool quiet = false;       // no access-log line (a durable function's checkpoints)
  std::string_view error_type;
};

// A listener on the Host and the protocol behind it. Hooks are called on the session's strand
// unless said otherwise; every request must be answered eventually (claim, then finish or
// answer), or the connection stalls until the client gives up.
class Door {
public:
  explicit Door(Host& host);
  virtual ~Door() = default;
  Door(const Door&) = delete;
  Door& operator=(const Door&) = delete;

  support::Status listen(const std::string& host, int port);
  void start_accepting() { accept(); }
  void close();
  [[nodiscard]] int port() const { return m_port; }
  Host& host() { return m_host; }

  // ---- hooks
  // The request is complete (ex.request filled). Must answer eventually.
  virtual void handle(Exchange& ex) = 0;
  // An invocation this door started with `ex` as its sink completed (any io thread).
  virtual void on_complete(Exchange& ex, const runtime::InvokeResult& result) = 0;
  // The largest request body this door reads; past it, payload_too_large.
  [[nodiscard]] virtual std::uint64_t body_limit() const = 0;
  // Answers to requests the session could not read whole (ex is claimed; the connection
  // closes after the answer).
  virtual void payload_too_large(Exchange& ex) = 0;
  virtual void headers_too_large(Exchange& ex) = 0;
  // Response headers every answer of this door carries (after the mapped ones).
  virtual void common_headers(Exchange& ex, std::string& out) { (void)ex, (void)out; }
  // A function this door invoked streams its response (any io thread, in order, before
  // on_complete). By default the bytes are collected in ex.streamed.
  virtual void on_stream_start(Exchange& ex, std::string_view content_type) {
    (void)ex, (void)content_type;
  }
  virtual void on_stream_data(Exchange& ex, std::string_view bytes) { ex.streamed.append(bytes); }

  // ---- answering (any thread; ex must be claimed)
  // Serializes ex.mapped (status line, Date, headers, common_headers, Content-Length,
  // Connection) and hands it to the session.
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

  // Starts a streamed answer (ex must be claimed): ex.mapped's status and headers go out at
  // once with `Transfer-Encoding: chunked` (HTTP/1.0 clients: the body ends with the
  // connection), then whatever is written to the returned stream, chunk by chunk as it comes
  // (ex.mapped.body, if any, is its first bytes). Also kept in ex.stream.
  std::shared_ptr<ResponseStream> start_stream(Exchange& ex);

protected:
  Host& m_host;

private:
  using Acceptor = boost::asio::basic_socket_acceptor<boost::asio::ip::tcp, Executor>;
  void accept();
  Acceptor m_acceptor;
  int m_port = 0;
};

// A streamed answer (Door::start_stream): any thread writes; the bytes go to the client as
// chunks in the order written, each as soon as the previous write finished (writes that
// arrive meanwhile are coalesced into one chunk). Flow control: `write` copies the bytes and
// returns false once more than the high-water mark waits for the client; the producer should
// stop until `on_drain` is called (once the backlog is under the low-water mark). A client
// that reads nothing for 60 s is disconnected (closed() turns true, later writes are
// dropped), so a stalled reader costs at most the high-water mark plus what a producer wrote
// past it.
class ResponseStream : public std::enable_shared_from_this<ResponseStream> {
public:
  static constexpr std::size_t k_high_water = 256u * 1024;
  static constexpr std::size_t k_low_water = 64u * 1024;

  ResponseStream(std::shared_ptr<Session> session, std::shared_ptr<Exchange> ex, std::string head,
                 bool chunked, bool head_only);

  // Queues bytes; false when the producer should pause (or the stream is closed).
  bool write(std::string_view bytes);
  // Ends the answer: the last chunk with `trailers` ("Name: value\r\n" lines), then the
  // connection serves its next request.
  void end(std::string_view trailers = {});
  // Ends the answer without the last chunk and closes the connection: the client sees a
  // truncated response (how a stream fails mid-way).
  void abort();
  // Called (once per pause, on an io thread) when the backlog falls under the low-water mark.
  void on_drain(std::function<void()> callback);
  [[nodiscard]] bool closed() const;
  [[nodiscard]] std::size_t backlog() const;
  [[nodiscard]] std::uint64_t bytes_written() const;

private:
  friend class Session;
  friend class Door;
  void kick(); // on the strand: start a write if none runs
  void on_written(boost::beast::error_code ec);

  std::shared_ptr<Session> m_session;
  std::shared_ptr<Exchange> m_exchange;
  mutable std::mutex m_mutex;
  std::string m_pending; // body bytes not yet framed
  std::string m_writing; // the frame being written
  std::string m_trailers;
  std::function<void()> m_drain;
  std::uint64_t m_total = 0;
  bool m_chunked = true;
  bool m_head_only = false; // HEAD: no body bytes
  bool m_busy = false;
  bool m_ended = false;
  bool m_aborted = false;
  bool m_closed = false;
  bool m_paused = false;
  bool m_kick_posted = false;
  bool m_bound = false; // the session writes this stream (first kick)
  bool m_last = false;  // the write in flight ends the answer
};

// One HTTP/1.1 connection of a door (keep-alive, header and body limits and timeouts, the
// write path, one access-log line per answer). Lives while a read, a write or an exchange
// holds it.
class Session : public std::enable_shared_from_this<Session> {
public:
  using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Strand>;

  Session(Socket&& socket, Door& door);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();
  // Writes ex.out (from any thread).
  void send(std::shared_ptr<Exchange> ex);
  // The strand every write of this connection runs on.
  [[nodiscard]] Strand executor() { return m_stream.get_executor(); }

  const std::string& peer() const { return m_peer; }
  const std::string& local_port() const { return m_local_port; }
  Door& door() { return m_door; }

private:
  using Stream = boost::beast::basic_stream<boost::asio::ip::tcp, Strand>;

  void read_header();
  void on_header(boost::beast::error_code ec);
  void read_body();
  void on_body(boost::beast::error_code ec);
  void begin(Exchange& ex);
  void write(const std::shared_ptr<Exchange>& ex);
  void on_write(boost::beast::error_code ec);
  void close();
  friend class ResponseStream;
  // ResponseStream's half (on the strand).
  bool stream_begin(const std::shared_ptr<Exchange>& ex);
  template <class Buffers, class Handler> void stream_write(const Buffers& buffers, Handler&& h);
  void stream_done(const std::shared_ptr<Exchange>& ex, bool keep_alive);

  Stream m_stream;
  boost::beast::flat_buffer m_buffer;
  Door& m_door;
  std::shared_ptr<Exchange> m_exchange;
  std::shared_ptr<Exchange> m_writing;
  std::string m_peer;
  std::string m_local_port;
  std::atomic<int>& m_connections;
};

} // namespace wisp::gateway
