#pragma once
// Internal to the gateway: the HTTP exchange of a WebSocket route's HTTP / HTTP_PROXY
// integration (docs/local-api.md, "WebSocket APIs"). One request to the integration's
// endpoint, made with Beast on the caller's executor (the event loop is never blocked: the
// resolve, connect, TLS handshake, write and read are all asynchronous), bounded as a whole by
// the integration timeout. `https` endpoints are verified against the system's CAs.

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace wisp::gateway {

struct HttpIntegrationRequest {
  std::string method = "POST";
  std::string url; // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::pair<std::string, std::string>> query; // added to the URL's own query
  std::string body;
  std::chrono::milliseconds timeout{29000};
};

struct HttpIntegrationResult {
  enum class Kind : std::uint8_t { answered, timed_out, failed };
  Kind kind = Kind::failed;
  unsigned status = 0;
  std::string body;
  std::string error; // failed / timed_out: why (for the log)
};

// Sends `request`; `done` runs once on `executor` with the endpoint's answer. Responses over
// 10 MB fail (API Gateway's payload limit).
void send_http_integration(const boost::asio::any_io_executor& executor,
                           HttpIntegrationRequest request,
                           std::function<void(HttpIntegrationResult)> done);

} // namespace wisp::gateway
