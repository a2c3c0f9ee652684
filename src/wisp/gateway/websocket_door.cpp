// WebSocket APIs (websocket_door.hpp): the $connect handshake on the HTTP session, the
// connections after the upgrade (Beast's websocket), message routing, route responses,
// $disconnect, quotas, and the @connections management API.

#include <wisp/aws/sigv4_verify.hpp>
#include <wisp/gateway/authorizer.hpp>
#include <wisp/gateway/incoming.hpp>
#include <wisp/gateway/local_tls.hpp>
#include <wisp/gateway/text.hpp>
#include <wisp/gateway/websocket_door.hpp>
#include <wisp/gateway/websocket_http.hpp>
#include <wisp/gateway/websocket_mock.hpp>
#include <wisp/runtime/lambda_text.hpp>
#include <wisp/runtime/runtimes.hpp>
#include <wisp/support/hash.hpp>

// GCC 12 reports -Wnull-dereference inside Asio's own reactor code once it is inlined (a false
// positive in system headers); silenced for those headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/beast/websocket.hpp>
#pragma GCC diagnostic pop
#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <deque>
#include <optional>

namespace wisp::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;

namespace {

// API Gateway's WebSocket quotas.
constexpr std::size_t k_message_limit = 128u * 1024;          // payload per message
constexpr auto k_idle_timeout = std::chrono::minutes(10);     // no message either way
constexpr auto k_connection_duration = std::chrono::hours(2); // per connection
constexpr auto k_authorizer_timeout = std::chrono::seconds(10);
// Messages the management API may queue for a client that does not read, before answering
// LimitExceededException (API Gateway: "the WebSocket client side buffer is full").
constexpr std::size_t k_send_backlog = 1024u * 1024;

constexpr std::string_view k_forbidden = R"({"message":"Forbidden"})";
constexpr std::string_view k_unauthorized = R"({"message":"Unauthorized"})";
constexpr std::string_view k_internal = R"({"message":"Internal server error"})";
constexpr std::string_view k_authorizer_error = R"({"message": null})";
constexpr std::string_view k_timed_out = R"({"message": "Endpoint request timed out"})";

// ISO 8601 with milliseconds, as the management API's GetConnection answers.
// An HTTP / HTTP_PROXY integration wisp sends (websocket_http.hpp): a literal http(s) URI, on
// a route other than $connect.
bool is_http_integration(const sam::WebSocketRoute& route) {
  return (route.integration_type == "HTTP" || route.integration_type == "HTTP_PROXY") &&
         route.route_key != "$connect" &&
         (route.integration_uri.starts_with("http://") ||
          route.integration_uri.starts_with("https://"));
}

std::string iso_time(std::int64_t ms) {
  const std::time_t seconds = ms / 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

// What the client sees when API Gateway could not handle a message.
std::string error_message(std::string_view message, std::string_view connection_id,
                          std::string_view request_id) {
  std::string out = R"({"message": )";
  append_json_string(out, message);
  out.append(R"(, "connectionId":)");
  append_json_string(out, connection_id);
  out.append(R"(, "requestId":)");
  append_json_string(out, request_id);
  out.push_back('}');
  return out;
}

// The access key of a SigV4 Authorization header (`... Credential=<key>/<scope>, ...`).
std::string sigv4_access_key(std::string_view authorization) {
  const auto at = authorization.find("Credential=");
  if (at == std::string_view::npos)
    return {};
  auto rest = authorization.substr(at + 11);
  return std::string(rest.substr(0, rest.find('/')));
}

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    if (c < 0x80)
      extra = 0;
    else if ((c & 0xE0) == 0xC0 && c >= 0xC2)
      extra = 1;
    else if ((c & 0xF0) == 0xE0)
      extra = 2;
    else if ((c & 0xF8) == 0xF0 && c <= 0xF4)
      extra = 3;
    else
      return false;
    if (extra > 0 && i + extra >= text.size())
      return false;
    for (std::size_t k = 1; k <= extra; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80)
        return false;
    i += extra + 1;
  }
  return true;
}

} // namespace

// ------------------------------------------------------------------ the socket under Beast

// The connection's socket as Beast's websocket stream sees it: every byte the client sends
// also passes a FrameMeter, which notices frames over API Gateway's 32 KB quota (Beast limits
// whole messages only).
class MeteredSocket {
public:
  using executor_type = Strand;
  using next_layer_type = TcpSocket;
  using lowest_layer_type = TcpSocket;

  explicit MeteredSocket(TcpSocket&& socket) : m_socket(std::move(socket)) {}

  executor_type get_executor() noexcept { return m_socket.get_executor(); }
  next_layer_type& next_layer() noexcept { return m_socket; }
  lowest_layer_type& lowest_layer() noexcept { return m_socket; }
  [[nodiscard]] const FrameMeter& meter() const { return m_meter; }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, const Buffers& into) {
          auto executor = asio::get_associated_executor(handler, m_socket.get_executor());
          m_socket.async_read_some(
              into, asio::bind_executor(executor, [this, into, handler = std::move(handler)](
                                                      beast::error_code ec, std::size_t n) mutable {
                std::size_t left = n;
                for (auto it = asio::buffer_sequence_begin(into);
                     left > 0 && it != asio::buffer_sequence_end(into); ++it) {
                  const asio::mutable_buffer buffer = *it;
                  const auto take = std::min(left, buffer.size());
                  m_meter.consume(std::string_view(static_cast<const char*>(buffer.data()), take));
                  left -= take;
                }
                std::move(handler)(ec, n);
              }));
        },
        token, buffers);
  }

  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return m_socket.async_write_some(buffers, std::forward<Token>(token));
  }

private:
  TcpSocket m_socket;
  FrameMeter m_meter;
};

// Beast closes the TCP connection through these (found by argument-dependent lookup).
void teardown(beast::role_type role, MeteredSocket& socket, beast::error_code& ec) {
  websocket::teardown(role, socket.next_layer(), ec);
}

template <class Handler>
void async_teardown(beast::role_type role, MeteredSocket& socket, Handler&& handler) {
  websocket::async_teardown(role, socket.next_layer(), std::forward<Handler>(handler));
}

// ------------------------------------------------------------------ a connection

class WsConnection : public std::enable_shared_from_this<WsConnection> {
public:
  enum class Send : std::uint8_t { sent, gone, backlog };

  WsConnection(WebSocketDoor& door, TcpSocket&& socket, WsConnectionInfo info)
      : m_door(door), m_host(door.host()), m_ws(MeteredSocket(std::move(socket))),
        m_info(std::move(info)), m_timer(m_ws.get_executor()) {
    ++m_host.connections;
    m_connected = Clock::now();
    m_last_active = m_info.connected_at;
  }
  ~WsConnection() { --m_host.connections; }
  WsConnection(const WsConnection&) = delete;
  WsConnection& operator=(const WsConnection&) = delete;

  [[nodiscard]] const WsConnectionInfo& info() const { return m_info; }
  [[nodiscard]] std::int64_t last_active() const { return m_last_active; }

  // The 101 answer (with the subprotocol $connect chose), then the message loop.
  void start(http::request<http::string_body> request, std::string subprotocol) {
    m_ws.set_option(websocket::stream_base::timeout{std::chrono::seconds(30),
                                                    websocket::stream_base::none(), false});
    m_ws.set_option(websocket::stream_base::decorator(
        [subprotocol = std::move(subprotocol)](websocket::response_type& response) {
          response.erase(http::field::server);
          if (!subprotocol.empty())
            response.set(http::field::sec_websocket_protocol, subprotocol);
        }));
    m_ws.read_message_max(k_message_limit);
    m_ws.auto_fragment(false);
    m_ws.control_callback([this](websocket::frame_type, beast::string_view) { touch(); });
    m_ws.async_accept(request, [self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return self->ended(1006, "");
      {
        std::lock_guard lock(self->m_mutex);
        self->m_open = true;
      }
      self->m_door.established(self);
      self->arm_timer();
      self->read();
      self->write_next();
    });
  }

  // Queues a message for the client (any thread).
  Send send(std::string data) {
    {
      std::lock_guard lock(m_mutex);
      if (!m_open || m_closing)
        return Send::gone;
      if (m_out_bytes + data.size() > k_send_backlog)
        return Send::backlog;
      m_out_bytes += data.size();
      m_out.push_back(Outgoing{std::move(data), 0});
      if (m_writing)
        return Send::sent;
    }
    asio::post(m_ws.get_executor(), [self = shared_from_this()] { self->write_next(); });
    return Send::sent;
  }

  // Closes the connection with `code` after what is queued (any thread); false when it is
  // already closing.
  bool close(std::uint16_t code, std::string reason) {
    {
      std::lock_guard lock(m_mutex);
      if (!m_open || m_closing)
        return false;
      m_closing = true;
      m_out.push_back(Outgoing{std::move(reason), code});
      if (m_writing)
        return true;
    }
    asio::post(m_ws.get_executor(), [self = shared_from_this()] { self->write_next(); });
    return true;
  }

private:
  struct Outgoing {
    std::string data;
    std::uint16_t close_code = 0; // non-zero: a close frame, `data` its reason
  };
  class Invocation;

  void touch() { m_last_active = now_ms(); }

  void read() {
    m_ws.async_read(m_in, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (ec == websocket::error::message_too_big)
        return ended(1009, "Message too big");
      if (ec == websocket::error::closed) {
        if (m_close_sent != 0)
          return ended(m_close_sent, m_close_reason);
        const auto& reason = m_ws.reason();
        return ended(reason.code == 0 ? 1005 : reason.code,
                     std::string(reason.reason.data(), reason.reason.size()));
      }
      return ended(m_close_sent != 0 ? m_close_sent : 1006, m_close_reason);
    }
    touch();
    if (m_ws.next_layer().meter().oversized()) {
      // A frame over 32 KB: API Gateway closes the connection with 1009.
      m_in.consume(m_in.size());
      close(1009, "Frame too big. Maximum frame size is 32768 bytes");
      read();
      return;
    }
    std::string body = beast::buffers_to_string(m_in.data());
    m_in.consume(m_in.size());
    const bool binary = !m_ws.got_text();
    read();
    route(std::move(body), binary);
  }

  void route(std::string body, bool binary);
  // An HTTP / HTTP_PROXY integration: the message (or, for $disconnect, nothing) to the
  // endpoint; a two-way route sends back its answer.
  void integrate_http(const WsRouteSlot& slot, std::string body, bool binary,
                      std::string request_id, std::string_view event_type);

  void write_next() {
    std::unique_lock lock(m_mutex);
    if (m_writing || m_out.empty() || !m_open)
      return;
    m_writing = true;
    m_current = std::move(m_out.front());
    m_out.pop_front();
    lock.unlock();
    auto self = shared_from_this();
    if (m_current.close_code != 0) {
      m_close_sent = m_current.close_code;
      m_close_reason = m_current.data;
      websocket::close_reason reason;
      reason.code = m_current.close_code;
      reason.reason.assign(m_current.data.data(),
                           std::min<std::size_t>(m_current.data.size(), 123));
      m_ws.async_close(reason, [self](beast::error_code) {
        // The read loop sees the connection end.
        std::lock_guard guard(self->m_mutex);
        self->m_writing = false;
      });
      return;
    }
    m_ws.text(valid_utf8(m_current.data));
    m_ws.async_write(asio::buffer(m_current.data),
                     [self](beast::error_code ec, std::size_t) { self->on_written(ec); });
  }

  void on_written(beast::error_code ec) {
    {
      std::lock_guard lock(m_mutex);
      m_writing = false;
      m_out_bytes -= std::min(m_out_bytes, m_current.data.size());
    }
    m_current.data.clear();
    if (ec)
      return; // the read loop sees the connection end
    touch();
    write_next();
  }

  // Idle and duration quotas: one timer, re-armed lazily.
  void arm_timer() {
    const auto idle_at =
        Clock::now() +
        (k_idle_timeout - std::chrono::milliseconds(now_ms() - m_last_active.load()));
    m_timer.expires_at(std::min(idle_at, m_connected + k_connection_duration));
    m_timer.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return;
      const bool expired = Clock::now() >= self->m_connected + k_connection_duration;
      const bool idle =
          now_ms() - self->m_last_active >=
          std::chrono::duration_cast<std::chrono::milliseconds>(k_idle_timeout).count();
      if (expired || idle) {
        self->close(1001, "Going away");
        return;
      }
      self->arm_timer();
    });
  }

  // Once: the connection is gone (unregistered; $disconnect invoked).
  void ended(int code, std::string reason);

  WebSocketDoor& m_door;
  Host& m_host;
  websocket::stream<MeteredSocket> m_ws;
  beast::flat_buffer m_in;
  WsConnectionInfo m_info;
  Timer m_timer;
  Clock::time_point m_connected;
  std::atomic<std::int64_t> m_last_active{0};
  std::mutex m_mutex;
  std::deque<Outgoing> m_out;
  Outgoing m_current;
  std::size_t m_out_bytes = 0;
  bool m_writing = false;
  bool m_open = false;
  bool m_closing = false;
  bool m_ended = false;
  std::uint16_t m_close_sent = 0; // the close code wisp sent (on the strand)
  std::string m_close_reason;
};

// One message's (or $disconnect's) invocation: the engine's sink, alive until it completes.
class WsConnection::Invocation final : public runtime::InvokeSink {
public:
  Invocation(std::shared_ptr<WsConnection> connection, const WsRouteSlot& slot)
      : m_connection(std::move(connection)), m_slot(slot),
        m_timer(m_connection->m_ws.get_executor()) {}

  std::string event;
  std::string request_id;
  std::string trace_id;
  Clock::time_point started;
  std::shared_ptr<Invocation> self;

  void start() {
    auto& host = m_connection->m_host;
    started = Clock::now();
    trace_id = runtime::make_trace_id(rng(), WallClock::now());
    if (m_slot.route.route_key != "$disconnect") {
      m_timer.expires_after(std::chrono::milliseconds(m_slot.route.timeout_ms));
      m_timer.async_wait([keep = self](beast::error_code ec) {
        if (!ec && !keep->m_done.exchange(true))
          keep->m_connection->send(error_message("Endpoint request timed out",
                                                 keep->m_connection->m_info.connection_id,
                                                 keep->request_id));
      });
    }
    runtime::InvokeRequest invoke;
    invoke.payload = event;
    invoke.trace_id = trace_id;
    host.invoke(*m_slot.function, invoke, *this);
  }

  void on_complete(const runtime::InvokeResult& result) override {
    auto keep = std::move(self);
    auto& connection = *m_connection;
    auto& host = connection.m_host;
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    host.log.line(fmt::format(
        "{} WS {} {} {} {} {} {} {:.2f} ms", clock_text(), connection.m_info.connection_id,
        m_slot.route.route_key, result.ok() ? "ok" : runtime::to_string(result.outcome),
        m_slot.function->id,
        result.executed_version.empty() ? std::string_view("$LATEST") : result.executed_version,
        result.cold ? "cold" : "warm", ms));
    asio::post(m_timer.get_executor(), [keep] { keep->m_timer.cancel(); });
    if (m_done.exchange(true) || m_slot.route.route_key == "$disconnect")
      return;
    if (!result.ok()) {
      connection.send(
          error_message("Internal server error", connection.m_info.connection_id, request_id));
      return;
    }
    if (!m_slot.route.two_way)
      return;
    const std::string_view output = result.streamed ? std::string_view(m_streamed) : result.body;
    boost::system::error_code ec;
    auto value = json::parse(output, ec);
    if (!ec && value.is_object()) {
      const auto& object = value.as_object();
      const auto* body = object.if_contains("body");
      if (body == nullptr || body->is_null())
        return; // nothing to send back
      std::string text =
          body->is_string() ? std::string(body->as_string()) : json::serialize(*body);
      const auto* base64 = object.if_contains("isBase64Encoded");
      if (base64 != nullptr && base64->is_bool() && base64->as_bool())
        if (auto decoded = support::base64_decode(text))
          text = std::move(*decoded);
      connection.send(std::move(text));
      return;
    }
    connection.send(std::string(output));
  }

  void on_stream_data(std::string_view bytes) override { m_streamed.append(bytes); }

private:
  std::shared_ptr<WsConnection> m_connection;
  const WsRouteSlot& m_slot;
  Timer m_timer;
  std::atomic<bool> m_done{false};
  std::string m_streamed;
};

void WsConnection::route(std::string body, bool binary) {
  const auto request_id = make_short_request_id(rng());
  const auto* slot = m_door.select(body);
  if (slot == nullptr) {
    send(error_message("Forbidden", m_info.connection_id, request_id));
    return;
  }
  if (slot->route.integration_type == "MOCK") {
    const auto message_id = make_short_request_id(rng());
    MockContext context;
    context.connection_id = m_info.connection_id;
    context.request_id = request_id;
    context.route_key = slot->route.route_key;
    context.event_type = "MESSAGE";
    context.message_id = message_id;
    context.stage = m_door.info().stage;
    context.api_id = m_door.info().api_id;
    context.domain_name = m_info.domain_name;
    context.body = body;
    auto mock = run_mock(slot->route, context);
    m_host.log.line(fmt::format("{} WS {} {} MOCK {}", clock_text(), m_info.connection_id,
                                slot->route.route_key, mock.status));
    if (slot->route.two_way && mock.body)
      send(std::move(*mock.body));
    return;
  }
  if (is_http_integration(slot->route)) {
    integrate_http(*slot, std::move(body), binary, request_id, "MESSAGE");
    return;
  }
  if (slot->function == nullptr || !slot->function->ok) {
    send(error_message("Internal server error", m_info.connection_id, request_id));
    return;
  }
  auto invocation = std::make_shared<Invocation>(shared_from_this(), *slot);
  invocation->request_id = request_id;
  WsEventInfo info;
  info.route_key = slot->route.route_key;
  info.request_id = invocation->request_id;
  info.time_ms = now_ms();
  const auto message_id = make_short_request_id(rng());
  invocation->event.reserve(768 + body.size() * 4 / 3);
  write_ws_message_event(invocation->event, m_door.info(), m_info, info, message_id, body, binary);
  invocation->self = invocation;
  invocation->start();
}

void WsConnection::ended(int code, std::string reason) {
  {
    std::lock_guard lock(m_mutex);
    if (m_ended)
      return;
    m_ended = true;
    m_open = false;
    m_out.clear();
    m_out_bytes = 0;
  }
  m_timer.cancel();
  m_door.gone(m_info.connection_id);
  m_host.log.line(fmt::format("{} WS {} closed {}{}{}", clock_text(), m_info.connection_id, code,
                              reason.empty() ? "" : " ", reason));
  const auto* slot = m_door.route_for("$disconnect");
  if (slot != nullptr && is_http_integration(slot->route)) {
    integrate_http(*slot, {}, false, make_short_request_id(rng()), "DISCONNECT");
    return;
  }
  if (slot == nullptr || slot->function == nullptr || !slot->function->ok)
    return;
  auto invocation = std::make_shared<Invocation>(shared_from_this(), *slot);
  invocation->request_id = make_short_request_id(rng());
  WsEventInfo info;
  info.route_key = "$disconnect";
  info.request_id = invocation->request_id;
  info.time_ms = now_ms();
  write_ws_disconnect_event(invocation->event, m_door.info(), m_info, info, code, reason);
  invocation->self = invocation;
  invocation->start();
}

void WsConnection::integrate_http(const WsRouteSlot& slot, std::string body, bool binary,
                                  std::string request_id, std::string_view event_type) {
  const auto& route = slot.route;
  auto message_id = event_type == "MESSAGE" ? make_short_request_id(rng()) : std::string();
  MockContext context;
  context.connection_id = m_info.connection_id;
  context.request_id = request_id;
  context.route_key = route.route_key;
  context.event_type = event_type;
  context.message_id = message_id;
  context.stage = m_door.info().stage;
  context.api_id = m_door.info().api_id;
  context.domain_name = m_info.domain_name;
  context.body = body;
  HttpIntegrationRequest request;
  request.method = route.integration_method == "ANY" ? "POST" : route.integration_method;
  request.url = route.integration_uri;
  request.timeout = std::chrono::milliseconds(route.timeout_ms);
  // RequestParameters: integration.request.header.X / .querystring.X from `context.<name>`,
  // `route.request.body.<field>` (a top-level member of a JSON message) or a 'literal'.
  std::optional<json::value> parsed;
  for (const auto& [target, source] : route.request_parameters) {
    std::optional<std::string> value;
    if (source.size() >= 2 && source.front() == '\'' && source.back() == '\'') {
      value = source.substr(1, source.size() - 2);
    } else if (source.starts_with("context.")) {
      if (auto known = mock_context_value(std::string_view(source).substr(8), context))
        value = std::string(*known);
    } else if (source.starts_with("route.request.body.") && !binary) {
      if (!parsed) {
        boost::system::error_code ec;
        parsed = json::parse(body, ec);
        if (ec)
          parsed = json::value();
      }
      if (parsed->is_object())
        if (const auto* member = parsed->as_object().if_contains(source.substr(19)))
          value = member->is_string() ? std::string(member->as_string()) : json::serialize(*member);
    }
    if (!value)
      continue;
    constexpr std::string_view header = "integration.request.header.";
    constexpr std::string_view query = "integration.request.querystring.";
    if (target.starts_with(header))
      request.headers.emplace_back(target.substr(header.size()), std::move(*value));
    else if (target.starts_with(query))
      request.query.emplace_back(target.substr(query.size()), std::move(*value));
  }
  if (route.integration_type == "HTTP") {
    if (auto rendered = request_template(route, context))
      request.body = std::move(*rendered);
    else
      request.body = body; // PassthroughBehavior WHEN_NO_MATCH
  } else {
    request.body = body;
  }
  if (std::none_of(request.headers.begin(), request.headers.end(),
                   [](const auto& h) { return iequals_ascii(h.first, "content-type"); }) &&
      !request.body.empty())
    request.headers.emplace_back("Content-Type", binary ? "application/octet-stream"
                                                        : "application/json; charset=utf-8");
  const auto started = Clock::now();
  send_http_integration(
      m_ws.get_executor(), std::move(request),
      [self = shared_from_this(), &slot, request_id = std::move(request_id),
       message_id = std::move(message_id), started](HttpIntegrationResult result) {
        const auto& answered = slot.route;
        auto& connection = *self;
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
        connection.m_host.log.line(fmt::format(
            "{} WS {} {} {} {} {:.2f} ms", clock_text(), connection.m_info.connection_id,
            answered.route_key, answered.integration_type,
            result.kind == HttpIntegrationResult::Kind::answered ? std::to_string(result.status)
                                                                 : result.error,
            ms));
        if (answered.route_key == "$disconnect")
          return;
        if (result.kind == HttpIntegrationResult::Kind::timed_out) {
          connection.send(error_message("Endpoint request timed out",
                                        connection.m_info.connection_id, request_id));
          return;
        }
        if (result.kind == HttpIntegrationResult::Kind::failed) {
          connection.send(
              error_message("Internal server error", connection.m_info.connection_id, request_id));
          return;
        }
        if (!answered.two_way)
          return;
        if (answered.integration_type == "HTTP") {
          MockContext reply;
          reply.connection_id = connection.m_info.connection_id;
          reply.request_id = request_id;
          reply.route_key = answered.route_key;
          reply.event_type = "MESSAGE";
          reply.message_id = message_id;
          reply.stage = connection.m_door.info().stage;
          reply.api_id = connection.m_door.info().api_id;
          reply.domain_name = connection.m_info.domain_name;
          reply.body = result.body;
          if (auto rendered = integration_response(answered, result.status, reply)) {
            connection.send(std::move(*rendered));
            return;
          }
        }
        if (!result.body.empty())
          connection.send(std::move(result.body));
      });
}

// ------------------------------------------------------------------ the door

WebSocketDoor::WebSocketDoor(Host& host, const sam::Model& model, const sam::WebSocketApi& api,
                             const ServeOptions& options, const std::string& stage,
                             std::shared_ptr<TlsContext> tls)
    : Door(host), m_api(api), m_tls(std::move(tls)) {
  m_info.api_id = stable_id(api.logical_id, 10);
  m_info.stage = !stage.empty() ? stage : api.stage_name;
  if (m_info.stage.empty())
    m_info.stage = "$default";
  m_info.region = options.region;
  m_info.account_id = options.account_id;
  m_info.stage_variables = api.stage_variables;
  m_routes.reserve(api.routes.size());
  for (const auto& route : api.routes) {
    WsRouteSlot slot;
    slot.route = route;
    if (!route.function_logical_id.empty()) {
      slot.function = &host.function(model, route.function_logical_id);
    } else if (route.integration_type == "MOCK") {
      // answered by websocket_mock.cpp
    } else if (is_http_integration(route)) {
      // sent by websocket_http.cpp
    } else if (route.integration_type.empty()) {
      host.warn(fmt::format("WebSocket API {}: route {} has no integration; its messages are "
                            "answered \"Internal server error\"",
                            api.logical_id, route.route_key));
    } else if (route.integration_type == "HTTP" || route.integration_type == "HTTP_PROXY") {
      host.warn(fmt::format(
          "WebSocket API {}: route {} integrates {} {}, which wisp does not run locally; {}",
          api.logical_id, route.route_key, route.integration_type,
          route.route_key == "$connect"
              ? std::string("on $connect")
              : fmt::format("with the URI '{}' (an http(s) URL written in the template is "
                            "needed)",
                            route.integration_uri),
          route.route_key == "$connect" ? "connections answer 500"
                                        : "its messages are answered \"Internal server error\""));
    } else {
      host.warn(fmt::format("WebSocket API {}: route {} integrates {} {}, which wisp does not run "
                            "locally (Lambda proxy, MOCK and HTTP integrations only); its messages "
                            "are answered \"Internal server error\"",
                            api.logical_id, route.route_key, route.integration_type,
                            route.integration_type == "AWS_PROXY" ? "with a function outside the "
                                                                    "template"
                                                                  : "integration"));
    }
    m_routes.push_back(std::move(slot));
  }
  for (const auto& slot : m_routes) {
    if (slot.route.route_key == "$connect")
      m_connect = &slot;
    else if (slot.route.route_key == "$default")
      m_default = &slot;
  }
  if (m_connect != nullptr && m_connect->route.authorization_type == "CUSTOM") {
    const auto it = m_api.authorizers.find(m_connect->route.authorizer);
    if (it == m_api.authorizers.end()) {
      host.warn(fmt::format("WebSocket API {}: the $connect authorizer '{}' is not defined; "
                            "connections are not authorized",
                            api.logical_id, m_connect->route.authorizer));
    } else {
      m_authorizer = &it->second;
      if (!it->second.function_logical_id.empty())
        m_authorizer_function = &host.function(model, it->second.function_logical_id);
      else
        host.warn(fmt::format("WebSocket API {}: authorizer '{}' calls {}, which is not a "
                              "function of this template; connections answer 500",
                              api.logical_id, it->first, it->second.function_arn));
    }
  } else if (m_connect != nullptr && m_connect->route.authorization_type == "AWS_IAM") {
    m_iam = true;
  }
  if (m_connect != nullptr && m_connect->route.api_key_required) {
    m_api_key_required = true;
    m_api_keys = ApiKeys(model);
    const auto& expression = api.api_key_selection_expression;
    constexpr std::string_view header_prefix = "$request.header.";
    if (expression == "$context.authorizer.usageIdentifierKey") {
      m_api_key_from_authorizer = true;
    } else if (expression.starts_with(header_prefix)) {
      m_api_key_header = expression.substr(header_prefix.size());
    } else {
      host.warn(fmt::format("WebSocket API {}: ApiKeySelectionExpression '{}' is not one API "
                            "Gateway accepts; keys are read from x-api-key",
                            api.logical_id, expression));
      m_api_key_header = "x-api-key";
    }
    host.info(fmt::format(
        "WebSocket API {}: $connect needs an API key ({}; {})", api.logical_id,
        m_api_key_from_authorizer ? std::string("the authorizer's "
                                                "usageIdentifierKey")
                                  : "header " + m_api_key_header,
        m_api_keys.any_key()
            ? std::string("any non-empty key: the template gives no key value")
            : fmt::format("one of the template's {} API key value(s)", m_api_keys.count())));
  }
}

WebSocketDoor::~WebSocketDoor() = default;

std::uint64_t WebSocketDoor::body_limit() const {
  return k_message_limit + 1024; // @connections POSTs (the management API's 128 KB)
}

void WebSocketDoor::payload_too_large(Exchange& ex) {
  answer(ex, 413, R"({"message":"Request Entity Too Large"})", "application/json",
         "PayloadTooLargeException");
}

void WebSocketDoor::headers_too_large(Exchange& ex) {
  answer(ex, 431, k_header_too_large);
}

const WsRouteSlot* WebSocketDoor::route_for(std::string_view key) const {
  for (const auto& slot : m_routes)
    if (slot.route.route_key == key)
      return &slot;
  return nullptr;
}

const WsRouteSlot* WebSocketDoor::select(std::string_view body) const {
  if (!m_api.route_selection_expression.empty()) {
    if (auto key = select_route_key(m_api.route_selection_expression, body);
        key && !key->starts_with("$")) {
      if (const auto* slot = route_for(*key))
        return slot;
    }
  }
  return m_default;
}

void WebSocketDoor::established(const std::shared_ptr<WsConnection>& connection) {
  std::lock_guard lock(m_mutex);
  m_connections[connection->info().connection_id] = connection;
}

void WebSocketDoor::gone(const std::string& connection_id) {
  std::lock_guard lock(m_mutex);
  m_connections.erase(connection_id);
}

// ---- requests on the HTTP session: upgrades and @connections

void WebSocketDoor::handle(Exchange& ex) {
  if (ex.request.raw_path.find("/@connections") != std::string_view::npos) {
    manage_http(ex);
    return;
  }
  if (!websocket::is_upgrade(ex.parser->get())) {
    if (ex.claim())
      answer(ex, 403, k_forbidden, "application/json", "ForbiddenException");
    return;
  }
  upgrade(ex);
}

void WebSocketDoor::manage_http(Exchange& ex) {
  const auto incoming = incoming_request(ex);
  auto result = manage(incoming);
  if (!ex.claim())
    return;
  ex.mapped.clear();
  ex.mapped.status = result.status;
  if (result.status != 204)
    ex.mapped.headers.emplace_back("Content-Type", "application/json");
  if (!result.error_type.empty())
    ex.mapped.headers.emplace_back("x-amzn-ErrorType", result.error_type);
  ex.mapped.headers.emplace_back("x-amzn-RequestId", runtime::make_uuid(rng()));
  ex.mapped.body = std::move(result.body);
  finish(ex);
}

std::optional<WebSocketDoor::Answer>
WebSocketDoor::verify_signature(const aws::IncomingRequest& request,
                                bool functions_credentials) const {
  aws::Credentials credentials;
  credentials.access_key_id = m_host.options.access_key_id;
  credentials.secret_access_key = m_host.options.secret_access_key;
  if (functions_credentials && credentials.access_key_id.empty()) {
    // What runtime/worker_setup.cpp gives functions when no credentials are configured.
    credentials.access_key_id = "defaultkey";
    credentials.secret_access_key = "defaultsecret";
  }
  const auto result =
      aws::verify_sigv4(request, credentials, "execute-api", std::chrono::system_clock::now());
  if (result.check == aws::SignatureCheck::ok)
    return std::nullopt;
  if (result.check == aws::SignatureCheck::missing)
    return Answer{403, "MissingAuthenticationTokenException",
                  R"({"message":"Missing Authentication Token"})"};
  std::string body = R"({"message":)";
  append_json_string(body, result.message);
  body.push_back('}');
  return Answer{403, std::string(aws::signature_error_type(result.check)), std::move(body)};
}

WebSocketDoor::Answer WebSocketDoor::manage(const aws::IncomingRequest& request) {
  const auto method = request.method;
  const auto body = request.body;
  auto target = request.raw_path;
  if (const auto question = target.find('?'); question != std::string_view::npos)
    target = target.substr(0, question);
  constexpr std::string_view marker = "/@connections/";
  const auto at = target.find(marker);
  const auto prefix = at == std::string_view::npos ? std::string_view() : target.substr(0, at);
  // `/@connections/<id>` or `/<stage>/@connections/<id>`.
  const bool stage_ok = prefix.empty() || prefix.substr(1) == m_info.stage ||
                        prefix.find('/', 1) == std::string_view::npos;
  const auto raw_id =
      at == std::string_view::npos ? std::string_view() : target.substr(at + marker.size());
  if (at == std::string_view::npos || !stage_ok || raw_id.empty() ||
      raw_id.find('/') != std::string_view::npos)
    return {403, "ForbiddenException", std::string(k_forbidden)};
  if (auto refused = verify_signature(request, true))
    return std::move(*refused);
  const auto id = percent_decoded(raw_id, false);
  std::shared_ptr<WsConnection> connection;
  {
    std::lock_guard lock(m_mutex);
    if (const auto it = m_connections.find(id); it != m_connections.end())
      connection = it->second.lock();
  }
  if (method == "POST") {
    if (body.size() > k_message_limit)
      return {413, "PayloadTooLargeException",
              R"({"message":"Message too long. Maximum message size is 131072 bytes"})"};
    if (!connection)
      return {410, "GoneException", "{}"};
    switch (connection->send(std::string(body))) {
    case WsConnection::Send::sent:
      return {200, "", ""};
    case WsConnection::Send::gone:
      return {410, "GoneException", "{}"};
    case WsConnection::Send::backlog:
      return {429, "LimitExceededException",
              R"({"message":"The WebSocket client side buffer is full"})"};
    }
    return {410, "GoneException", "{}"};
  }
  if (method == "GET") {
    if (!connection)
      return {410, "GoneException", "{}"};
    const auto& info = connection->info();
    std::string out = R"({"connectedAt":")" + iso_time(info.connected_at) + R"(","identity":{)";
    out.append(R"("sourceIp":)");
    append_json_string(out, info.source_ip);
    out.append(R"(,"userAgent":)");
    append_json_string(out, info.user_agent);
    out.append(R"(},"lastActiveAt":")" + iso_time(connection->last_active()) + R"("})");
    return {200, "", std::move(out)};
  }
  if (method == "DELETE") {
    if (!connection || !connection->close(1000, ""))
      return {410, "GoneException", "{}"};
    return {204, "", ""};
  }
  return {403, "ForbiddenException", std::string(k_forbidden)};
}

// ---- $connect: authorizer, integration, upgrade

void WebSocketDoor::upgrade(Exchange& ex) {
  auto& request = ex.request;
  ex.request_id = make_short_request_id(rng());
  ex.extended_id = make_short_request_id(rng()); // the connection id
  ex.time_ms = now_ms();
  ex.authorizer_json.clear();
  // X-Forwarded-* and the trace id, as API Gateway's front end adds them.
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
  ex.auth_key.clear(); // the connection's API key
  if (m_api_key_required && !m_api_key_from_authorizer)
    ex.auth_key = std::string(request.header(m_api_key_header));
  if (m_iam && !m_disable_auth && !authorize_iam(ex))
    return;
  if (m_authorizer != nullptr && !m_disable_auth) {
    authorize(ex);
    return;
  }
  connect(ex);
}

WsConnectionInfo WebSocketDoor::connection_info(const Exchange& ex) const {
  WsConnectionInfo info;
  info.connection_id = ex.extended_id;
  info.connected_at = ex.time_ms;
  info.domain_name = std::string(ex.request.header("host"));
  info.source_ip = std::string(ex.request.source_ip);
  info.user_agent = std::string(ex.request.header("user-agent"));
  info.authorizer_json = ex.authorizer_json;
  if (m_iam && !m_disable_auth) {
    // AWS_IAM: requestContext.identity of every event of the connection names the caller (the
    // access key of the signature authorize_iam verified).
    const auto access_key = sigv4_access_key(ex.request.header("authorization"));
    const auto& account = m_host.options.account_id;
    auto& identity = info.identity_json;
    identity = R"("accessKey":)";
    append_json_string(identity, access_key);
    identity.append(R"(,"accountId":)");
    append_json_string(identity, account);
    identity.append(R"(,"caller":)");
    append_json_string(identity, access_key);
    identity.append(R"(,"user":)");
    append_json_string(identity, access_key);
    identity.append(R"(,"userArn":)");
    append_json_string(identity, fmt::format("arn:aws:iam::{}:root", account));
    identity.push_back(',');
  }
  if (m_api_key_required) {
    if (const auto id = m_api_keys.id_of(ex.auth_key)) {
      auto& identity = info.identity_json;
      identity.append(R"("apiKey":)");
      append_json_string(identity, ex.auth_key);
      identity.append(R"(,"apiKeyId":)");
      append_json_string(identity, *id);
      identity.push_back(',');
    }
  }
  return info;
}

bool WebSocketDoor::authorize_iam(Exchange& ex) {
  const auto incoming = incoming_request(ex);
  auto refused = verify_signature(incoming, false);
  if (!refused)
    return true;
  if (ex.claim())
    answer(ex, refused->status, refused->body, "application/json", refused->error_type);
  return false;
}

void WebSocketDoor::authorize(Exchange& ex) {
  const auto& authorizer = *m_authorizer;
  for (const auto& source : authorizer.identity_sources)
    if (!ws_identity_value(source, ex.request, m_info)) {
      if (ex.claim())
        answer(ex, 401, k_unauthorized, "application/json", "UnauthorizedException");
      return;
    }
  if (m_authorizer_function == nullptr || !m_authorizer_function->ok) {
    if (ex.claim())
      answer(ex, 500, k_authorizer_error, "application/json", "AuthorizerConfigurationException");
    return;
  }
  const auto conn = connection_info(ex);
  WsEventInfo info;
  info.route_key = "$connect";
  info.request_id = ex.request_id;
  info.time_ms = ex.time_ms;
  const auto arn = fmt::format("arn:aws:execute-api:{}:{}:{}/{}/$connect", m_info.region,
                               m_info.account_id, m_info.api_id, m_info.stage);
  ex.event.clear();
  write_ws_authorizer_event(ex.event, m_info, conn, ex.request, info, arn);
  ex.phase = Exchange::Phase::authorizer;
  ex.auth_started = Clock::now();
  ex.self = ex.shared_from_this();
  ex.timer.expires_after(k_authorizer_timeout);
  ex.timer.async_wait([this, ex_ptr = ex.shared_from_this()](beast::error_code ec) {
    if (!ec && ex_ptr->phase == Exchange::Phase::authorizer && ex_ptr->claim()) {
      ex_ptr->detached = true;
      answer(*ex_ptr, 500, k_authorizer_error, "application/json",
             "AuthorizerConfigurationException");
    }
  });
  runtime::InvokeRequest invoke;
  invoke.payload = ex.event;
  invoke.trace_id = ex.trace_id;
  ex.function_id = m_authorizer_function->id;
  m_host.invoke(*m_authorizer_function, invoke, ex);
}

void WebSocketDoor::on_authorizer(Exchange& ex, const runtime::InvokeResult& result) {
  auto keep = std::move(ex.self);
  if (ex.is_answered())
    return;
  const auto latency =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - ex.auth_started).count();
  std::optional<AuthorizerResult> parsed;
  if (result.outcome == runtime::Outcome::success) {
    parsed = parse_authorizer_output(result.streamed ? std::string_view(ex.streamed) : result.body,
                                     false, true);
  } else if (result.outcome == runtime::Outcome::function_error) {
    boost::system::error_code ec;
    const auto body = json::parse(result.body, ec);
    const auto* message =
        !ec && body.is_object() ? body.as_object().if_contains("errorMessage") : nullptr;
    if (message != nullptr && message->is_string() && message->as_string() == "Unauthorized") {
      if (ex.claim())
        answer(ex, 401, k_unauthorized, "application/json", "UnauthorizedException");
      return;
    }
  }
  if (!parsed) {
    m_host.log.line(fmt::format(
        "{} WebSocket API {}: authorizer {} failed: {} {}", clock_text(), m_api.logical_id,
        m_authorizer->name, runtime::to_string(result.outcome),
        result.outcome == runtime::Outcome::success ? "(invalid answer)" : result.error_type));
    if (ex.claim())
      answer(ex, 500, k_authorizer_error, "application/json", "AuthorizerConfigurationException");
    return;
  }
  const auto arn = fmt::format("arn:aws:execute-api:{}:{}:{}/{}/$connect", m_info.region,
                               m_info.account_id, m_info.api_id, m_info.stage);
  if (evaluate(*parsed, arn) != PolicyDecision::allow) {
    if (ex.claim())
      answer(ex, 403, k_forbidden, "application/json", "AccessDeniedException");
    return;
  }
  ex.authorizer_json = rest_authorizer_json(*parsed, latency);
  if (m_api_key_from_authorizer) {
    boost::system::error_code ec;
    const auto output = json::parse(
        result.streamed ? std::string_view(ex.streamed) : std::string_view(result.body), ec);
    const auto* key =
        !ec && output.is_object() ? output.as_object().if_contains("usageIdentifierKey") : nullptr;
    if (key != nullptr && key->is_string())
      ex.auth_key = std::string(key->as_string());
  }
  asio::dispatch(ex.timer.get_executor(), [this, ex_ptr = ex.shared_from_this()] {
    ex_ptr->timer.cancel();
    if (!ex_ptr->is_answered())
      connect(*ex_ptr);
  });
}

void WebSocketDoor::connect(Exchange& ex) {
  if (m_connect == nullptr) {
    accept_upgrade(ex, {});
    return;
  }
  // ApiKeyRequired: after the authorizer, as API Gateway checks keys.
  if (m_api_key_required && !m_api_keys.id_of(ex.auth_key)) {
    if (ex.claim())
      answer(ex, 403, k_forbidden, "application/json", "ForbiddenException");
    return;
  }
  if (m_connect->route.integration_type == "MOCK") {
    const auto host_header = ex.request.header("host");
    MockContext context;
    context.connection_id = ex.extended_id;
    context.request_id = ex.request_id;
    context.route_key = "$connect";
    context.event_type = "CONNECT";
    context.stage = m_info.stage;
    context.api_id = m_info.api_id;
    context.domain_name = host_header;
    const auto mock = run_mock(m_connect->route, context);
    if (mock.status >= 200 && mock.status < 300) {
      accept_upgrade(ex, {});
    } else if (ex.claim()) {
      const auto body = mock.body.value_or(std::string());
      answer(ex, mock.status, body, body.empty() ? std::string_view() : "application/json", "");
    }
    return;
  }
  if (m_connect->function == nullptr || !m_connect->function->ok) {
    if (ex.claim())
      answer(ex, 500, k_internal, "application/json", "InternalServerErrorException");
    return;
  }
  const auto conn = connection_info(ex);
  WsEventInfo info;
  info.route_key = "$connect";
  info.request_id = ex.request_id;
  info.time_ms = ex.time_ms;
  ex.event.clear();
  write_ws_connect_event(ex.event, m_info, conn, ex.request, info);
  ex.function_id = m_connect->function->id;
  ex.version = m_connect->function->version;
  ex.invoked = true;
  ex.phase = Exchange::Phase::integration;
  ex.streamed.clear();
  ex.timer.expires_after(std::chrono::milliseconds(m_connect->route.timeout_ms));
  ex.timer.async_wait([this, ex_ptr = ex.shared_from_this()](beast::error_code ec) {
    if (!ec && ex_ptr->claim()) {
      ex_ptr->detached = true;
      answer(*ex_ptr, 504, k_timed_out, "application/json", "");
    }
  });
  ex.self = ex.shared_from_this();
  runtime::InvokeRequest invoke;
  invoke.payload = ex.event;
  invoke.trace_id = ex.trace_id;
  m_host.invoke(*m_connect->function, invoke, ex);
}

void WebSocketDoor::on_complete(Exchange& ex, const runtime::InvokeResult& result) {
  if (ex.phase == Exchange::Phase::authorizer) {
    on_authorizer(ex, result);
    return;
  }
  on_connect(ex, result);
}

void WebSocketDoor::on_connect(Exchange& ex, const runtime::InvokeResult& result) {
  auto keep = std::move(ex.self);
  ex.cold = result.cold;
  if (ex.is_answered())
    return;
  if (!result.ok()) {
    m_host.log.line(fmt::format("{} WebSocket API {}: $connect failed: {} {}", clock_text(),
                                m_api.logical_id, runtime::to_string(result.outcome),
                                result.error_type));
    if (ex.claim())
      answer(ex, 500, k_internal, "application/json", "InternalServerErrorException");
    return;
  }
  // A proxy answer: statusCode (2xx connects), headers (Sec-WebSocket-Protocol), body.
  const std::string_view output = result.streamed ? std::string_view(ex.streamed) : result.body;
  boost::system::error_code ec;
  const auto value = json::parse(output, ec);
  unsigned status = 200;
  std::string subprotocol;
  std::string body;
  if (!ec && value.is_object()) {
    const auto& object = value.as_object();
    if (const auto* code = object.if_contains("statusCode")) {
      if (code->is_int64())
        status = static_cast<unsigned>(code->as_int64());
      else if (code->is_uint64())
        status = static_cast<unsigned>(code->as_uint64());
      else if (code->is_string())
        status = static_cast<unsigned>(std::atoi(code->as_string().c_str()));
    }
    if (const auto* headers = object.if_contains("headers"); headers && headers->is_object())
      for (const auto& [name, header] : headers->as_object())
        if (iequals_ascii(name, "sec-websocket-protocol") && header.is_string())
          subprotocol = std::string(header.as_string());
    if (const auto* text = object.if_contains("body"); text && text->is_string())
      body = std::string(text->as_string());
  }
  if (status < 100 || status > 599)
    status = 502;
  if (status < 200 || status >= 300) {
    if (ex.claim())
      answer(ex, status, body, body.empty() ? std::string_view() : "text/plain", "");
    return;
  }
  accept_upgrade(ex, std::move(subprotocol));
}

void WebSocketDoor::accept_upgrade(Exchange& ex, std::string subprotocol) {
  if (!ex.claim() || !ex.session)
    return;
  auto info = connection_info(ex);
  ex.status = 101;
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - ex.started).count();
  m_host.log.line(fmt::format("{} GET {} 101 {} {} {} {:.2f} ms (WebSocket {})", clock_text(),
                              ex.request.raw_path.empty() ? "/" : ex.request.raw_path,
                              ex.invoked ? ex.function_id : std::string_view("-"),
                              ex.invoked ? std::string_view(ex.version) : std::string_view("-"),
                              ex.invoked ? (ex.cold ? "cold" : "warm") : "-", ms,
                              info.connection_id));
  // The request's views (ex.request) end here: the parser gives its message away.
  auto request = ex.parser->release();
  ex.request = Request{};
  ex.session->hand_over(
      ex.shared_from_this(), [this, info = std::move(info), request = std::move(request),
                              subprotocol = std::move(subprotocol)](
                                 TcpSocket&& socket, beast::flat_buffer&& /*rest*/) mutable {
        auto connection = std::make_shared<WsConnection>(*this, std::move(socket), std::move(info));
        connection->start(std::move(request), std::move(subprotocol));
      });
}

// ---- TLS sniffing: the first byte of a TLS connection is a handshake record (22)

void WebSocketDoor::on_accepted(TcpSocket&& socket) {
  if (!m_tls) {
    serve_http(std::move(socket));
    return;
  }
  auto held = std::make_shared<TcpSocket>(std::move(socket));
  held->async_wait(TcpSocket::wait_read, [this, held](beast::error_code ec) {
    if (ec)
      return;
    unsigned char first = 0;
    boost::system::error_code peek_ec;
    const auto n = held->receive(asio::buffer(&first, 1), TcpSocket::message_peek, peek_ec);
    if (!peek_ec && n == 1 && first == 0x16)
      serve_tls(m_tls, std::move(*held), *this);
    else
      serve_http(std::move(*held));
  });
}

// ------------------------------------------------------------------ composition

namespace {

struct LocalEndpoint {
  std::string logical_id;
  std::string stage_logical_id;
  std::string api_id;
  std::string stage;
  std::string address; // host:port
};

// The text of a template value built from an API's URL pieces (Fn::Sub, Fn::Join, Ref,
// Fn::GetAtt ApiEndpoint), with the API's local id; nullopt when it names anything else.
std::optional<std::string> evaluate(const json::value& value,
                                    const std::vector<LocalEndpoint>& endpoints,
                                    const std::string& region);

std::optional<std::string> named_value(std::string_view name,
                                       const std::vector<LocalEndpoint>& endpoints,
                                       const std::string& region, const json::object* variables) {
  if (variables != nullptr)
    if (const auto* bound = variables->if_contains(name))
      return evaluate(*bound, endpoints, region);
  if (name == "AWS::Region")
    return region;
  if (name == "AWS::URLSuffix")
    return std::string("amazonaws.com");
  for (const auto& endpoint : endpoints) {
    if (name == endpoint.logical_id)
      return endpoint.api_id;
    if (name == endpoint.logical_id + ".ApiEndpoint")
      return fmt::format("wss://{}.execute-api.{}.amazonaws.com", endpoint.api_id, region);
    if (name == endpoint.logical_id + ".ApiId")
      return endpoint.api_id;
    if (!endpoint.stage_logical_id.empty() && name == endpoint.stage_logical_id)
      return endpoint.stage;
  }
  return std::nullopt;
}

std::optional<std::string> evaluate(const json::value& value,
                                    const std::vector<LocalEndpoint>& endpoints,
                                    const std::string& region) {
  if (value.is_string())
    return std::string(value.as_string());
  if (!value.is_object() || value.as_object().size() != 1)
    return std::nullopt;
  const auto& [key, arg] = *value.as_object().begin();
  if (key == "Ref" && arg.is_string())
    return named_value(arg.as_string(), endpoints, region, nullptr);
  if (key == "Fn::GetAtt" && arg.is_array() && arg.as_array().size() == 2 &&
      arg.as_array()[0].is_string() && arg.as_array()[1].is_string())
    return named_value(fmt::format("{}.{}", std::string_view(arg.as_array()[0].as_string()),
                                   std::string_view(arg.as_array()[1].as_string())),
                       endpoints, region, nullptr);
  if (key == "Fn::Join" && arg.is_array() && arg.as_array().size() == 2 &&
      arg.as_array()[0].is_string() && arg.as_array()[1].is_array()) {
    std::string out;
    bool first = true;
    for (const auto& item : arg.as_array()[1].as_array()) {
      auto text = evaluate(item, endpoints, region);
      if (!text)
        return std::nullopt;
      if (!first)
        out.append(arg.as_array()[0].as_string());
      first = false;
      out.append(*text);
    }
    return out;
  }
  if (key == "Fn::Sub") {
    const json::value* text = &arg;
    const json::object* bound = nullptr;
    if (arg.is_array() && arg.as_array().size() == 2 && arg.as_array()[1].is_object()) {
      text = &arg.as_array()[0];
      bound = &arg.as_array()[1].as_object();
    }
    if (!text->is_string())
      return std::nullopt;
    std::string_view rest = text->as_string();
    std::string out;
    while (!rest.empty()) {
      const auto open = rest.find("${");
      if (open == std::string_view::npos) {
        out.append(rest);
        break;
      }
      out.append(rest.substr(0, open));
      if (rest.substr(open).starts_with("${!")) { // a literal ${
        out.append("${");
        rest.remove_prefix(open + 3);
        continue;
      }
      const auto close = rest.find('}', open);
      if (close == std::string_view::npos)
        return std::nullopt;
      auto part = named_value(rest.substr(open + 2, close - open - 2), endpoints, region, bound);
      if (!part)
        return std::nullopt;
      out.append(*part);
      rest.remove_prefix(close + 1);
    }
    return out;
  }
  return std::nullopt;
}

// `text` with each API's execute-api host replaced by its local address; nullopt when it has
// none.
std::optional<std::string> localized(std::string text, const std::vector<LocalEndpoint>& endpoints,
                                     const std::string& region) {
  bool changed = false;
  for (const auto& endpoint : endpoints) {
    const auto cloud = fmt::format("{}.execute-api.{}.amazonaws.com", endpoint.api_id, region);
    for (auto at = text.find(cloud); at != std::string::npos;
         at = text.find(cloud, at + endpoint.address.size())) {
      text.replace(at, cloud.size(), endpoint.address);
      changed = true;
    }
  }
  if (!changed)
    return std::nullopt;
  return text;
}

} // namespace

support::Status add_websocket_doors(Host& host, const sam::Model& model,
                                    const ServeOptions& options,
                                    const WebSocketOptions& websocket_options, int& next_port,
                                    std::vector<std::unique_ptr<Door>>& doors, int reserved_port) {
  const auto apis = sam::websocket_apis(model);
  if (apis.empty())
    return {};
  // wisp's local CA: functions reach @connections at https://<domainName>/<stage>.
  std::shared_ptr<TlsContext> tls;
  std::optional<LocalTls> local_tls;
  const auto cache = options.cache_dir.empty() ? runtime::default_cache_dir() : options.cache_dir;
  if (auto prepared = prepare_local_tls(cache / "tls", options.host)) {
    std::string problem;
    tls = make_tls_context(*prepared, problem);
    if (tls)
      local_tls = std::move(*prepared);
    else
      host.warn(
          fmt::format("WebSocket APIs: {}; functions reach @connections over http only", problem));
  } else {
    host.warn(fmt::format("WebSocket APIs: {}; functions reach @connections over http only",
                          prepared.error().message));
  }
  const std::string local_host =
      options.host == "0.0.0.0" || options.host == "::" ? std::string("127.0.0.1") : options.host;
  std::vector<LocalEndpoint> endpoints;
  for (const auto& api : apis) {
    auto door =
        std::make_unique<WebSocketDoor>(host, model, api, options, websocket_options.stage, tls);
    door->set_disable_authorizer(websocket_options.disable_authorizer);
    if (next_port != 0 && next_port == reserved_port)
      ++next_port;
    WISP_TRY(door->listen(options.host, next_port));
    if (next_port != 0)
      ++next_port;
    host.info(fmt::format("{} (WebSocket API, stage {}): ws://{}:{}", api.logical_id,
                          door->info().stage, options.host, door->port()));
    for (const auto& slot : door->routes())
      host.info(
          fmt::format("  {:<15} {}", slot.route.route_key,
                      !slot.route.function_logical_id.empty()
                          ? slot.route.function_logical_id
                          : std::string(slot.route.integration_type == "MOCK" ? "MOCK" : "-")));
    endpoints.push_back(LocalEndpoint{api.logical_id, api.stage_logical_id, door->info().api_id,
                                      door->info().stage,
                                      fmt::format("{}:{}", local_host, door->port())});
    doors.push_back(std::move(door));
  }
  if (options.access_key_id.empty())
    host.warn("WebSocket APIs: no AWS credentials are configured: the @connections API accepts "
              "requests signed with the stand-in credentials functions get (access key "
              "defaultkey)");
  // Every function's environment: the CA, and variables holding an API's URL made local.
  host.add_environment(
      [&host, &model, endpoints, local_tls, region = options.region](const FunctionSlot& slot) {
        std::vector<std::pair<std::string, std::string>> variables;
        const auto& config = host.engine->config(slot.handle);
        const auto overridden = [&](std::string_view name) {
          return std::any_of(config.env_overrides.begin(), config.env_overrides.end(),
                             [&](const auto& entry) { return entry.first == name; }) ||
                 std::any_of(config.environment.begin(), config.environment.end(),
                             [&](const auto& entry) { return entry.first == name; });
        };
        if (local_tls) {
          if (!overridden("NODE_EXTRA_CA_CERTS"))
            variables.emplace_back("NODE_EXTRA_CA_CERTS", local_tls->ca_file.string());
          if (!overridden("AWS_CA_BUNDLE"))
            variables.emplace_back("AWS_CA_BUNDLE", local_tls->bundle_file.string());
        }
        const auto* resource = model.find_resource(slot.id);
        const auto* environment =
            resource != nullptr ? resource->properties.if_contains("Environment") : nullptr;
        const auto* values = environment != nullptr && environment->is_object()
                                 ? environment->as_object().if_contains("Variables")
                                 : nullptr;
        if (values != nullptr && values->is_object()) {
          for (const auto& [name, value] : values->as_object()) {
            if (std::any_of(config.env_overrides.begin(), config.env_overrides.end(),
                            [&](const auto& entry) { return entry.first == name; }))
              continue; // --env-vars wins
            if (auto text = evaluate(value, endpoints, region))
              if (auto local = localized(std::move(*text), endpoints, region)) {
                // (the loader could not resolve it: this is what it is set to instead)
                host.info(fmt::format("{}: {} is a WebSocket API's local endpoint, {}", slot.id,
                                      std::string_view(name), *local));
                variables.emplace_back(std::string(name), std::move(*local));
              }
          }
        }
        return variables;
      });
  return {};
}

} // namespace wisp::gateway
