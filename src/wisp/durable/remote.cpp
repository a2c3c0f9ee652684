#include <wisp/durable/remote.hpp>

#include <wisp/durable/service.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/http.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <cerrno>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace wisp::durable {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::string_view k_forwarded = "wisp-forwarded=1";

} // namespace

ServerRecord::~ServerRecord() {
  if (m_fd >= 0) {
    std::error_code ec;
    fs::remove(m_path, ec);
    ::close(m_fd);
  }
}

bool ServerRecord::publish(const fs::path& store_root, const std::string& url) {
  const auto dir = store_root / "servers";
  std::error_code ec;
  fs::create_directories(dir, ec);
  m_path = dir / fmt::format("{}.json", ::getpid());
  m_fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (m_fd < 0)
    return false;
  if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(m_fd);
    m_fd = -1;
    return false;
  }
  json::object record;
  record["url"] = url;
  record["pid"] = static_cast<std::int64_t>(::getpid());
  const auto text = json::serialize(record);
  return ::write(m_fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

std::vector<std::string> live_servers(const fs::path& store_root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(store_root / "servers", ec)) {
    const auto& path = entry.path();
    if (path.extension() != ".json")
      continue;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      continue;
    const bool live = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    ::close(fd);
    if (!live) {
      fs::remove(path, ec); // its wisp is gone
      continue;
    }
    auto text = support::read_file(path, 64 * 1024);
    if (!text)
      continue;
    boost::system::error_code jec;
    const auto value = json::parse(*text, jec);
    if (jec || !value.is_object())
      continue;
    if (const auto it = value.as_object().find("url");
        it != value.as_object().end() && it->value().is_string())
      out.emplace_back(it->value().as_string());
  }
  return out;
}

bool is_forwarded(std::string_view raw_query) {
  return raw_query.find(k_forwarded) != std::string_view::npos;
}

std::optional<HttpResponse> forward(std::string_view url, const HttpRequest& request) {
  static const support::http::Client client;
  support::http::Request out;
  out.method = std::string(request.method);
  out.url = fmt::format("{}{}?{}{}{}", url, request.raw_path, request.raw_query,
                        request.raw_query.empty() ? "" : "&", k_forwarded);
  out.body = std::string(request.body);
  out.headers.emplace_back("Content-Type", "application/json");
  out.timeout = std::chrono::milliseconds(30'000);
  out.connect_timeout = std::chrono::milliseconds(2'000);
  auto response = client.send(out);
  if (!response)
    return std::nullopt;
  HttpResponse answer;
  answer.status = static_cast<int>(response->status);
  answer.body = std::move(response->body);
  if (auto type = response->header("x-amzn-errortype"))
    answer.error_type = *type;
  if (auto type = response->header("content-type"))
    answer.content_type = *type;
  return answer;
}

std::optional<std::string> callback_execution(std::string_view callback_id) {
  if (callback_id.empty() || callback_id.size() > 1024)
    return std::nullopt;
  auto decoded = support::base64_decode(callback_id);
  if (!decoded)
    return std::nullopt;
  const auto bar = decoded->find('|');
  if (bar == std::string::npos || !decoded->starts_with("arn:"))
    return std::nullopt;
  return decoded->substr(0, bar);
}

} // namespace wisp::durable
