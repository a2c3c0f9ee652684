// HTTP / HTTP_PROXY integrations of WebSocket routes: the exchange (websocket_http.hpp).

#include <wisp/gateway/websocket_http.hpp>
#include <wisp/support/http.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>

#include <memory>
#include <optional>

namespace wisp::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint64_t k_response_limit = 10U * 1024U * 1024U; // API Gateway's payload limit

// One client context for every https integration: the system's CAs, peers verified.
ssl::context& client_context() {
  static ssl::context context = [] {
    ssl::context made(ssl::context::tls_client);
    made.set_default_verify_paths();
    made.set_verify_mode(ssl::verify_peer);
    return made;
  }();
  return context;
}

class Call : public std::enable_shared_from_this<Call> {
public:
  Call(const asio::any_io_executor& executor, HttpIntegrationRequest request,
       std::function<void(HttpIntegrationResult)> done)
      : m_resolver(executor), m_request(std::move(request)), m_done(std::move(done)) {
    m_deadline = std::chrono::steady_clock::now() + m_request.timeout;
  }

  void start() {
    auto url = support::http::parse_url(m_request.url);
    if (!url)
      return finish_failed(fmt::format("'{}' is not an http(s) URL", m_request.url));
    m_url = std::move(*url);
    const bool tls = m_url.scheme == "https";
    if (tls) {
      m_tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(m_resolver.get_executor(),
                                                                     client_context());
      // SNI and the name the certificate must carry.
      if (SSL_ctrl(m_tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                   m_url.host.data()) == 0)
        return finish_failed("cannot set the TLS server name");
      m_tls->set_verify_callback(ssl::host_name_verification(m_url.host));
    } else {
      m_plain = std::make_unique<beast::tcp_stream>(m_resolver.get_executor());
    }
    build_request();
    const auto port = std::to_string(m_url.port != 0 ? m_url.port : (tls ? 443 : 80));
    m_resolver.async_resolve(
        m_url.host, port,
        [self = shared_from_this()](beast::error_code ec, const tcp::resolver::results_type& to) {
          if (ec)
            return self->finish_error(ec, "cannot resolve " + self->m_url.host);
          self->tcp().expires_at(self->m_deadline);
          self->tcp().async_connect(
              to, [self](beast::error_code ec2, const tcp::endpoint&) { self->on_connect(ec2); });
        });
  }

private:
  beast::tcp_stream& tcp() { return m_tls ? beast::get_lowest_layer(*m_tls) : *m_plain; }

  void build_request() {
    std::string target = m_url.path.empty() ? std::string("/") : m_url.path;
    std::string query = m_url.query;
    for (const auto& [name, value] : m_request.query) {
      if (!query.empty())
        query.push_back('&');
      query += support::http::url_encode(name) + "=" + support::http::url_encode(value);
    }
    if (!query.empty())
      target += "?" + query;
    m_http.method_string(m_request.method);
    m_http.target(target);
    m_http.version(11);
    m_http.set(http::field::host, m_url.authority());
    for (const auto& [name, value] : m_request.headers)
      m_http.set(name, value);
    m_http.body() = std::move(m_request.body);
    m_http.prepare_payload();
  }

  void on_connect(beast::error_code ec) {
    if (ec)
      return finish_error(ec, "cannot connect to " + m_url.authority());
    if (!m_tls)
      return write();
    tcp().expires_at(m_deadline);
    m_tls->async_handshake(ssl::stream_base::client,
                           [self = shared_from_this()](beast::error_code ec2) {
                             if (ec2)
                               return self->finish_error(ec2, "TLS handshake failed");
                             self->write();
                           });
  }

  void write() {
    tcp().expires_at(m_deadline);
    auto next = [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec)
        return self->finish_error(ec, "cannot send the request");
      self->read();
    };
    if (m_tls)
      http::async_write(*m_tls, m_http, std::move(next));
    else
      http::async_write(*m_plain, m_http, std::move(next));
  }

  void read() {
    tcp().expires_at(m_deadline);
    m_parser.body_limit(k_response_limit);
    auto next = [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec)
        return self->finish_error(ec, "no valid response");
      HttpIntegrationResult result;
      result.kind = HttpIntegrationResult::Kind::answered;
      result.status = self->m_parser.get().result_int();
      result.body = std::move(self->m_parser.get().body());
      self->finish(std::move(result));
    };
    if (m_tls)
      http::async_read(*m_tls, m_buffer, m_parser, std::move(next));
    else
      http::async_read(*m_plain, m_buffer, m_parser, std::move(next));
  }

  void finish_error(beast::error_code ec, const std::string& what) {
    HttpIntegrationResult result;
    const bool late = ec == beast::error::timeout || std::chrono::steady_clock::now() >= m_deadline;
    result.kind =
        late ? HttpIntegrationResult::Kind::timed_out : HttpIntegrationResult::Kind::failed;
    result.error = late ? "timed out" : what + ": " + ec.message();
    finish(std::move(result));
  }

  void finish_failed(std::string why) {
    HttpIntegrationResult result;
    result.error = std::move(why);
    // Always answered through the executor, never inside the caller's own call.
    asio::post(m_resolver.get_executor(),
               [self = shared_from_this(), result = std::move(result)]() mutable {
                 self->finish(std::move(result));
               });
  }

  void finish(HttpIntegrationResult result) {
    if (!m_done)
      return;
    beast::error_code ignored;
    if (m_plain || m_tls)
      tcp().socket().close(ignored);
    auto done = std::move(m_done);
    m_done = nullptr;
    done(std::move(result));
  }

  tcp::resolver m_resolver;
  HttpIntegrationRequest m_request;
  std::function<void(HttpIntegrationResult)> m_done;
  std::chrono::steady_clock::time_point m_deadline;
  support::http::Url m_url;
  std::unique_ptr<beast::tcp_stream> m_plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> m_tls;
  http::request<http::string_body> m_http;
  beast::flat_buffer m_buffer;
  http::response_parser<http::string_body> m_parser;
};

} // namespace

void send_http_integration(const asio::any_io_executor& executor, HttpIntegrationRequest request,
                           std::function<void(HttpIntegrationResult)> done) {
  std::make_shared<Call>(executor, std::move(request), std::move(done))->start();
}

} // namespace wisp::gateway
