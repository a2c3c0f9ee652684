// wisp_native_runtime: a custom runtime (`provided.al2023` bootstrap) whose every invocation
// costs next to nothing, for tests/bench/bench_gateway.py. It answers each event with the
// benchmark handlers' response and does nothing else: no interpreter, no JSON parsing, one
// keep-alive connection, the result and the next /next in one write (as wisp's own
// bootstraps pipeline them). Through `wisp local start-api` it measures what the gateway and
// the Runtime API hop cost by themselves, the bound for any runtime on the machine.
//
// Reads AWS_LAMBDA_RUNTIME_API (host:port, IPv4); exits when the connection closes.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view k_next =
    "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: runtime\r\n\r\n";
constexpr std::string_view k_body = R"({"statusCode":200,"body":"hello world"})";

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent <= 0)
      return false;
    data.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

// The value of header `name` (lower case) in `head`, or an empty view.
std::string_view header(std::string_view head, std::string_view name) {
  std::size_t at = head.find("\r\n");
  while (at != std::string_view::npos && at + 2 < head.size()) {
    const auto start = at + 2;
    const auto end = std::min(head.find("\r\n", start), head.size());
    const auto line = head.substr(start, end - start);
    const auto colon = line.find(':');
    if (colon == name.size() &&
        std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        })) {
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.remove_prefix(1);
      return value;
    }
    at = end == head.size() ? std::string_view::npos : end;
  }
  return {};
}

int connect_api(const char* api) {
  const std::string_view text(api);
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return -1;
  const std::string host(text.substr(0, colon));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(std::atoi(api + colon + 1)));
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1)
    return -1;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    return -1;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

} // namespace

int main() {
  const char* api = std::getenv("AWS_LAMBDA_RUNTIME_API");
  const int fd = api ? connect_api(api) : -1;
  if (fd < 0) {
    std::fprintf(stderr, "wisp_native_runtime: cannot reach AWS_LAMBDA_RUNTIME_API\n");
    return 1;
  }
  if (!send_all(fd, k_next))
    return 1;
  std::string buffer;
  std::string out;
  char chunk[65536];
  for (;;) {
    // One whole answer (head + Content-Length body) in `buffer`, then act on it.
    const auto end = buffer.find("\r\n\r\n");
    if (end != std::string::npos) {
      const std::string_view head(buffer.data(), end);
      const auto length =
          std::strtoul(std::string(header(head, "content-length")).c_str(), nullptr, 10);
      const auto total = end + 4 + length;
      if (buffer.size() >= total) {
        const bool accepted = head.substr(9, 3) == "202"; // the answer to a posted result
        const std::string id(header(head, "lambda-runtime-aws-request-id"));
        buffer.erase(0, total);
        if (!accepted) {
          out.assign("POST /2018-06-01/runtime/invocation/");
          out.append(id).append("/response HTTP/1.1\r\nHost: runtime\r\nContent-Length: ");
          out.append(std::to_string(k_body.size())).append("\r\n\r\n");
          out.append(k_body).append(k_next);
          if (!send_all(fd, out))
            return 1;
        }
        continue;
      }
    }
    const auto got = ::recv(fd, chunk, sizeof chunk, 0);
    if (got <= 0)
      return 0;
    buffer.append(chunk, static_cast<std::size_t>(got));
  }
}
