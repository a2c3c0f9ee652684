// HTTP front doors: the listener, the HTTP/1.1 session, the exchange and the write path.
//
// Threads: one io_context run by N threads; each connection lives on its own strand. A
// request is read, handed to its door and answered through an Exchange (door.hpp).

#include <wisp/gateway/door.hpp>
#include <wisp/gateway/text.hpp>

#include <fmt/format.h>

#include <chrono>

namespace wisp::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint32_t k_header_limit = 16u * 1024;        // parser's hard limit
constexpr auto k_header_timeout = std::chrono::seconds(30); // idle keep-alive + header
constexpr auto k_body_timeout = std::chrono::seconds(60);   // a body of up to 10 MB
constexpr int k_max_connections = 4096;

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

} // namespace

// ------------------------------------------------------------------ exchange

void Exchange::reset() {
  parser.emplace();
  parser->header_limit(k_header_limit);
  request = Request{};
  answered = false;
  detached = false;
  phase = Phase::none;
  event.clear();
  streamed.clear();
  stream.reset();
  prelude.clear();
  stream_type.clear();
  streamed_bytes = 0;
  response_stream = false;
  mapped.clear();
  out.clear();
  route = SIZE_MAX;
  // Ids belong to one request: a keep-alive connection's next request gets its own.
  request_id.clear();
  extended_id.clear();
  trace_id.clear();
  authorizer_json.clear();
  function_id = {};
  version.clear();
  cold = false;
  invoked = false;
  status = 0;
  close_after = false;
  quiet = false;
  error_type = {};
}

void Exchange::on_stream_start(std::string_view content_type) {
  door->on_stream_start(*this, content_type);
}

void Exchange::on_stream_data(std::string_view bytes) {
  door->on_stream_data(*this, bytes);
}

void Exchange::on_complete(const runtime::InvokeResult& result) {
  door->on_complete(*this, result);
}

// ------------------------------------------------------------------ session

Session::Session(Socket&& socket, Door& door)
    : m_stream(std::move(socket)), m_door(door), m_connections(door.host().connections) {
  boost::system::error_code ec;
  const auto remote = m_stream.socket().remote_endpoint(ec);
  m_peer = ec ? std::string("127.0.0.1") : remote.address().to_string();
  const auto local = m_stream.socket().local_endpoint(ec);
  m_local_port = ec ? std::string() : std::to_string(local.port());
  m_stream.socket().set_option(tcp::no_delay(true), ec);
  ++m_connections;
}

Session::~Session() {
  --m_connections;
}

void Session::start() {
  asio::dispatch(m_stream.get_executor(), [self = shared_from_this()] { self->read_header(); });
}

void Session::send(std::shared_ptr<Exchange> ex) {
  asio::dispatch(m_stream.get_executor(),
                 [self = shared_from_this(), ex = std::move(ex)] { self->write(ex); });
}

void Session::read_header() {
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

void Session::on_header(beast::error_code ec) {
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

void Session::read_body() {
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

void Session::on_body(beast::error_code ec) {
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

// Fills the exchange's request views from the parsed message. The client's X-Forwarded-For,
// -Port and -Proto are left out of the headers (a door that forwards them sets its own, as the
// API door does from the parsed message).
void Session::begin(Exchange& ex) {
  ex.session = shared_from_this();
  const auto& message = ex.parser->get();
  auto& request = ex.request;
  request.method = std::string_view(message.method_string().data(), message.method_string().size());
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

void Session::write(const std::shared_ptr<Exchange>& ex) {
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

void Session::on_write(beast::error_code ec) {
  auto ex = std::move(m_writing);
  if (!ex->quiet)
    m_door.host().log.line(access_line(*ex));
  ex->session.reset();
  if (ec || ex->close_after || m_door.host().stopping) {
    close();
    return;
  }
  read_header();
}

bool Session::stream_begin(const std::shared_ptr<Exchange>& ex) {
  ex->timer.cancel();
  if (ex != m_exchange)
    return false; // detached: its client was answered already
  m_writing = ex;
  return true;
}

template <class Buffers, class Handler>
void Session::stream_write(const Buffers& buffers, Handler&& handler) {
  m_stream.expires_after(std::chrono::seconds(60));
  asio::async_write(m_stream, buffers, std::forward<Handler>(handler));
}

void Session::stream_done(const std::shared_ptr<Exchange>& ex, bool keep_alive) {
  m_door.host().log.line(access_line(*ex));
  if (m_writing == ex)
    m_writing.reset();
  ex->session.reset();
  ex->stream.reset();
  if (!keep_alive || ex->close_after || m_door.host().stopping) {
    close();
    return;
  }
  read_header();
}

void Session::close() {
  beast::error_code ignored;
  m_stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  m_stream.close();
}

// ------------------------------------------------------------------ streamed answers

ResponseStream::ResponseStream(std::shared_ptr<Session> session, std::shared_ptr<Exchange> ex,
                               std::string head, bool chunked, bool head_only)
    : m_session(std::move(session)), m_exchange(std::move(ex)), m_writing(std::move(head)),
      m_chunked(chunked), m_head_only(head_only) {}

bool ResponseStream::write(std::string_view bytes) {
  bool post = false;
  bool go_on = true;
  {
    std::lock_guard lock(m_mutex);
    if (m_closed || m_ended || m_aborted)
      return false;
    if (!m_head_only)
      m_pending.append(bytes);
    if (!m_busy && !m_kick_posted && !m_pending.empty()) {
      m_kick_posted = true;
      post = true;
    }
    if (m_pending.size() + m_writing.size() > k_high_water) {
      m_paused = true;
      go_on = false;
    }
  }
  if (post)
    asio::post(m_session->executor(), [self = shared_from_this()] { self->kick(); });
  return go_on;
}

void ResponseStream::end(std::string_view trailers) {
  {
    std::lock_guard lock(m_mutex);
    if (m_ended || m_aborted)
      return;
    m_ended = true;
    m_trailers.assign(trailers);
    m_kick_posted = true;
  }
  asio::post(m_session->executor(), [self = shared_from_this()] { self->kick(); });
}

void ResponseStream::abort() {
  {
    std::lock_guard lock(m_mutex);
    if (m_ended || m_aborted)
      return;
    m_aborted = true;
    m_kick_posted = true;
  }
  asio::post(m_session->executor(), [self = shared_from_this()] { self->kick(); });
}

void ResponseStream::on_drain(std::function<void()> callback) {
  std::lock_guard lock(m_mutex);
  m_drain = std::move(callback);
}

bool ResponseStream::closed() const {
  std::lock_guard lock(m_mutex);
  return m_closed;
}

std::size_t ResponseStream::backlog() const {
  std::lock_guard lock(m_mutex);
  return m_pending.size() + m_writing.size();
}

std::uint64_t ResponseStream::bytes_written() const {
  std::lock_guard lock(m_mutex);
  return m_total;
}

// On the session's strand. The first kick binds the stream to the connection; the head (in
// m_writing from the start) goes out with whatever was written by then.
void ResponseStream::kick() {
  std::unique_lock lock(m_mutex);
  m_kick_posted = false;
  if (m_busy || m_closed)
    return;
  if (!m_bound) {
    m_bound = true;
    lock.unlock();
    const bool bound = m_session->stream_begin(m_exchange);
    lock.lock();
    if (!bound) {
      m_closed = true;
      return;
    }
  }
  if (m_aborted) {
    m_closed = true;
    lock.unlock();
    m_exchange->close_after = true;
    m_session->stream_done(m_exchange, false);
    return;
  }
  // m_writing holds the head on the first write; later ones start empty.
  if (!m_pending.empty()) {
    m_total += m_pending.size();
    if (m_chunked) {
      m_writing.append(fmt::format("{:x}\r\n", m_pending.size()));
      m_writing.append(m_pending);
      m_writing.append("\r\n");
    } else {
      m_writing.append(m_pending);
    }
    m_pending.clear();
  }
  m_last = m_ended;
  if (m_last && m_chunked && !m_head_only) {
    m_writing.append("0\r\n");
    m_writing.append(m_trailers);
    m_writing.append("\r\n");
  }
  if (m_writing.empty()) {
    if (m_last) {
      m_closed = true;
      lock.unlock();
      m_session->stream_done(m_exchange, m_chunked || m_head_only);
    }
    return;
  }
  m_busy = true;
  lock.unlock();
  m_session->stream_write(
      asio::buffer(m_writing),
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_written(ec); });
}

void ResponseStream::on_written(beast::error_code ec) {
  std::function<void()> drain;
  bool finished = false;
  bool failed = false;
  bool again = false;
  {
    std::lock_guard lock(m_mutex);
    m_busy = false;
    m_writing.clear();
    if (ec) {
      m_closed = true;
      failed = true;
    } else if (m_last) {
      m_closed = true;
      finished = true;
    } else {
      again = !m_pending.empty() || m_ended || m_aborted;
    }
    if (m_paused && (failed || m_pending.size() < k_low_water)) {
      m_paused = false;
      drain = m_drain;
    }
  }
  if (failed) {
    m_exchange->close_after = true;
    m_session->stream_done(m_exchange, false);
  } else if (finished) {
    m_session->stream_done(m_exchange, m_chunked || m_head_only);
  } else if (again) {
    kick();
  }
  if (drain)
    drain();
}

// ------------------------------------------------------------------ door

Door::Door(Host& host) : m_host(host), m_acceptor(host.io.get_executor()) {}

void Door::close() {
  boost::system::error_code ignored;
  m_acceptor.close(ignored);
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

std::shared_ptr<ResponseStream> Door::start_stream(Exchange& ex) {
  auto& mapped = ex.mapped;
  ex.status = mapped.status;
  const bool http11 = ex.request.protocol != "HTTP/1.0";
  std::string head;
  head.reserve(256);
  head.append("HTTP/1.1 ");
  head.append(std::to_string(mapped.status));
  head.push_back(' ');
  const auto reason = http::obsolete_reason(static_cast<http::status>(mapped.status));
  head.append(reason.data(), reason.size());
  head.append("\r\nDate: ");
  head.append(http_date());
  head.append("\r\n");
  for (const auto& [name, value] : mapped.headers) {
    head.append(name);
    head.append(": ");
    head.append(value);
    head.append("\r\n");
  }
  common_headers(ex, head);
  if (http11)
    head.append("Transfer-Encoding: chunked\r\n");
  if (!http11 || ex.close_after || m_host.stopping) {
    ex.close_after = true;
    head.append("Connection: close\r\n");
  }
  head.append("\r\n");
  if (!ex.session)
    return nullptr;
  auto stream = std::make_shared<ResponseStream>(ex.session, ex.shared_from_this(), std::move(head),
                                                 http11, ex.request.method == "HEAD");
  ex.stream = stream;
  if (!mapped.body.empty())
    stream->write(mapped.body);
  else
    asio::post(ex.session->executor(), [stream] { stream->kick(); });
  return stream;
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
                          [this](beast::error_code ec, Session::Socket socket) {
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

} // namespace wisp::gateway
