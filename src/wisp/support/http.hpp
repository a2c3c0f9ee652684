#pragma once
// A small HTTP/1.1 client (libcurl underneath, never visible here) for the AWS APIs and
// OCI registries.
//
// Contract:
// - `Client::send` is thread-safe. Connections are kept alive: a finished request returns
//   its handle to a pool that later requests reuse.
// - A request body comes from memory (`body`) or is streamed from a file (`body_file`).
//   A response body goes to memory, or is streamed to `response_file` when the status is
//   2xx (written to a temp file beside it and renamed, so no half-written file remains);
//   non-2xx bodies always land in `Response::body` so errors can be read.
// - A transport failure (no connection, timeout, reset, TLS) is a `TransportError`; every
//   HTTP status, 4xx and 5xx included, is a `Response`.
// - TLS peers are verified unless a request says otherwise. Debug logs name the method,
//   URL (without query string) and status, never header values or bodies: secrets are
//   never logged.

#include <wisp/support/error.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wisp::support::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method = "GET";
  std::string url;
  Headers headers;                                    // sent as given (names keep their case)
  std::string body;                                   // sent when `body_file` is empty
  std::optional<std::filesystem::path> body_file;     // streamed upload
  std::optional<std::filesystem::path> response_file; // streamed download (2xx only)
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{120'000}; // the whole exchange; 0 = none
  // A transfer slower than 1 byte/s for this long is a timeout (0 = off).
  std::chrono::seconds low_speed_time{60};
  bool verify_tls = true;
};

struct Response {
  long status = 0;
  Headers headers; // names in lower case, in the order received
  std::string body;
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
};

enum class FailureKind {
  connect,  // could not resolve or connect
  timeout,  // connect or transfer timed out
  transfer, // the connection broke (reset, closed, malformed response)
  tls,      // certificate or handshake failure
  local,    // a local file could not be read or written
  other,
};

struct TransportError {
  FailureKind kind = FailureKind::other;
  std::string message; // e.g. "cannot connect to 127.0.0.1:1: Connection refused"
  [[nodiscard]] bool retryable() const {
    return kind == FailureKind::connect || kind == FailureKind::timeout ||
           kind == FailureKind::transfer;
  }
};

template <class T> using HttpResult = tl::expected<T, TransportError>;

class Client {
public:
  Client();
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  HttpResult<Response> send(const Request& request) const;

  // Receives one line per request (method, URL without query, status, milliseconds).
  void set_logger(std::function<void(std::string_view)> logger);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Percent-encodes everything except unreserved characters (A-Z a-z 0-9 - _ . ~); with
// `keep_slash`, '/' is kept too.
std::string url_encode(std::string_view text, bool keep_slash = false);
// Decodes %XX escapes ('+' stays '+'). Malformed escapes are kept as written.
std::string url_decode(std::string_view text);

// The parts of an http(s) URL wisp needs. nullopt when it is not an http(s) URL.
struct Url {
  std::string scheme;                          // http | https
  std::string host;                            // without brackets for IPv6
  int port = 0;                                // 0 when not given
  std::string path;                            // "/" when empty
  std::string query;                           // without '?'
  [[nodiscard]] std::string authority() const; // host[:port], port only when explicit
};
std::optional<Url> parse_url(std::string_view text);

} // namespace wisp::support::http
