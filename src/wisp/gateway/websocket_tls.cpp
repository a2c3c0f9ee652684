// HTTPS for a WebSocket API's @connections management API (websocket_door.hpp): the server
// context with wisp's local CA (local_tls.hpp) and one keep-alive HTTPS connection, whose
// requests WebSocketDoor::manage answers. Kept apart from the door so that only this file
// compiles Asio's SSL layer.

#include <wisp/aws/sigv4_verify.hpp>
#include <wisp/gateway/local_tls.hpp>
#include <wisp/gateway/websocket_door.hpp>
#include <wisp/runtime/lambda_text.hpp>

// GCC 12 reports -Wnull-dereference inside Asio's own reactor code once it is inlined (a false
// positive in system headers); silenced for those headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#pragma GCC diagnostic pop

#include <optional>
#include <utility>

namespace wisp::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;

class TlsContext {
public:
  TlsContext() : context(ssl::context::tls_server) {}
  ssl::context context;
};

std::shared_ptr<TlsContext> make_tls_context(const LocalTls& tls, std::string& problem) {
  auto made = std::make_shared<TlsContext>();
  boost::system::error_code ec;
  made->context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                                ssl::context::no_tlsv1_1,
                            ec);
  if (!ec)
    made->context.use_certificate_chain(asio::buffer(tls.cert_pem), ec);
  if (!ec)
    made->context.use_private_key(asio::buffer(tls.key_pem), ssl::context::pem, ec);
  if (ec) {
    problem = "cannot set up TLS: " + ec.message();
    return nullptr;
  }
  return made;
}

namespace {

constexpr auto k_idle = std::chrono::seconds(30);

class TlsSession : public std::enable_shared_from_this<TlsSession> {
public:
  TlsSession(std::shared_ptr<TlsContext> context, TcpSocket&& socket, WebSocketDoor& door)
      : m_context(std::move(context)), m_stream(std::move(socket), m_context->context),
        m_door(door), m_timer(m_stream.get_executor()) {
    ++m_door.host().connections;
  }
  ~TlsSession() { --m_door.host().connections; }
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  void start() {
    arm();
    m_stream.async_handshake(ssl::stream_base::server,
                             [self = shared_from_this()](beast::error_code ec) {
                               if (ec)
                                 return self->close();
                               self->read();
                             });
  }

private:
  void arm() {
    m_timer.expires_after(k_idle);
    m_timer.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec)
        self->close();
    });
  }

  void read() {
    m_parser.emplace();
    m_parser->header_limit(16u * 1024);
    m_parser->body_limit(m_door.body_limit());
    arm();
    http::async_read(
        m_stream, m_buffer, *m_parser,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      respond(413, "PayloadTooLargeException", R"({"message":"Request Entity Too Large"})", false);
      return;
    }
    if (ec)
      return close();
    const auto& request = m_parser->get();
    const std::string_view target(request.target().data(), request.target().size());
    const auto question = target.find('?');
    aws::IncomingRequest incoming;
    incoming.method =
        std::string_view(request.method_string().data(), request.method_string().size());
    incoming.raw_path = target.substr(0, question);
    if (question != std::string_view::npos)
      incoming.raw_query = target.substr(question + 1);
    for (const auto& field : request)
      incoming.headers.emplace_back(
          std::string_view(field.name_string().data(), field.name_string().size()),
          std::string_view(field.value().data(), field.value().size()));
    incoming.body = request.body();
    auto answer = m_door.manage(incoming);
    respond(answer.status, answer.error_type, answer.body, request.keep_alive());
  }

  void respond(unsigned status, std::string_view error_type, std::string_view body,
               bool keep_alive) {
    auto& response = m_response;
    response = {};
    response.version(11);
    response.result(status);
    response.set("x-amzn-RequestId", runtime::make_uuid(rng()));
    if (status != 204)
      response.set(http::field::content_type, "application/json");
    if (!error_type.empty())
      response.set("x-amzn-ErrorType", error_type);
    response.keep_alive(keep_alive);
    response.body().assign(body);
    response.prepare_payload();
    http::async_write(m_stream, response,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                        if (ec || !keep_alive)
                          return self->close();
                        self->read();
                      });
  }

  void close() {
    if (std::exchange(m_closing, true))
      return;
    m_timer.cancel();
    m_stream.async_shutdown([self = shared_from_this()](beast::error_code) {
      beast::error_code ignored;
      self->m_stream.next_layer().close(ignored);
    });
  }

  std::shared_ptr<TlsContext> m_context;
  ssl::stream<TcpSocket> m_stream;
  WebSocketDoor& m_door;
  Timer m_timer;
  beast::flat_buffer m_buffer;
  std::optional<http::request_parser<http::string_body>> m_parser;
  http::response<http::string_body> m_response;
  bool m_closing = false;
};

} // namespace

void serve_tls(const std::shared_ptr<TlsContext>& context, TcpSocket&& socket,
               WebSocketDoor& door) {
  std::make_shared<TlsSession>(context, std::move(socket), door)->start();
}

} // namespace wisp::gateway
