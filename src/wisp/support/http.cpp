#include <wisp/support/http.hpp>

#include <wisp/support/shared_library.hpp>
#include <wisp/support/strings.hpp>

// libcurl is loaded on first use (dlopen), not linked: its dependency tree (gnutls, krb5,
// ldap, ...) cost every wisp command ~20 ms of dynamic linking at start, HTTP or not.
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <random>
#include <stdexcept>
#include <unistd.h>

namespace wisp::support::http {

namespace fs = std::filesystem;

namespace {

// The libcurl functions wisp calls, resolved from libcurl.so.4 once.
struct CurlApi {
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_easy_reset) easy_reset = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;
};

CurlApi load_curl() {
  const SharedLibrary library("libcurl.so.4", "libcurl4");
  CurlApi api;
  library.resolve("curl_global_init", api.global_init);
  library.resolve("curl_easy_init", api.easy_init);
  library.resolve("curl_easy_cleanup", api.easy_cleanup);
  library.resolve("curl_easy_reset", api.easy_reset);
  library.resolve("curl_easy_setopt", api.easy_setopt);
  library.resolve("curl_easy_perform", api.easy_perform);
  library.resolve("curl_easy_getinfo", api.easy_getinfo);
  library.resolve("curl_easy_strerror", api.easy_strerror);
  library.resolve("curl_slist_append", api.slist_append);
  library.resolve("curl_slist_free_all", api.slist_free_all);
  api.global_init(CURL_GLOBAL_DEFAULT);
  return api; // the library stays loaded for the life of the process
}

const CurlApi& curl() {
  static const CurlApi api = load_curl();
  return api;
}

void init_curl() {
  (void)curl();
}

FailureKind classify(CURLcode code) {
  switch (code) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
    return FailureKind::connect;
  case CURLE_OPERATION_TIMEDOUT:
    return FailureKind::timeout;
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_BAD_CONTENT_ENCODING:
    return FailureKind::transfer;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
    return FailureKind::tls;
  case CURLE_READ_ERROR:
  case CURLE_WRITE_ERROR:
    return FailureKind::local;
  default:
    return FailureKind::other;
  }
}

// State shared with libcurl's callbacks for one transfer.
struct Transfer {
  CURL* handle = nullptr;
  Response response;
  const Request* request = nullptr;
  std::FILE* upload = nullptr;
  // Streaming download: decided on the first body bytes.
  bool decided = false;
  int download_fd = -1;
  fs::path download_temp;
  std::string local_error; // a local file problem, reported instead of curl's message
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t length = size * count;
  std::string_view line(data, length);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
    line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    // A new status line (after 100 Continue or a redirect): start over.
    transfer->response.headers.clear();
    return length;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos)
    return length;
  transfer->response.headers.emplace_back(to_lower(trim(line.substr(0, colon))),
                                          std::string(trim(line.substr(colon + 1))));
  return length;
}

bool open_download(Transfer& transfer) {
  const auto& target = *transfer.request->response_file;
  std::error_code ec;
  if (target.has_parent_path())
    fs::create_directories(target.parent_path(), ec);
  std::random_device random;
  transfer.download_temp = target;
  transfer.download_temp += fmt::format(".wisp-tmp-{:08x}", random());
  transfer.download_fd =
      ::open(transfer.download_temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (transfer.download_fd < 0) {
    transfer.local_error =
        fmt::format("cannot write {}: {}", transfer.download_temp.string(), std::strerror(errno));
    return false;
  }
  return true;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t length = size * count;
  if (!transfer->decided) {
    transfer->decided = true;
    long status = 0;
    curl().easy_getinfo(transfer->handle, CURLINFO_RESPONSE_CODE, &status);
    if (transfer->request->response_file && status >= 200 && status < 300 &&
        !open_download(*transfer))
      return 0; // aborts the transfer with CURLE_WRITE_ERROR
  }
  if (transfer->download_fd < 0) {
    transfer->response.body.append(data, length);
    return length;
  }
  std::size_t written = 0;
  while (written < length) {
    const auto n = ::write(transfer->download_fd, data + written, length - written);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      transfer->local_error = fmt::format("cannot write {}: {}", transfer->download_temp.string(),
                                          std::strerror(errno));
      return 0;
    }
    written += static_cast<std::size_t>(n);
  }
  return length;
}

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const auto n = std::fread(buffer, 1, size * count, transfer->upload);
  if (n == 0 && std::ferror(transfer->upload) != 0) {
    transfer->local_error =
        fmt::format("cannot read {}: read error", transfer->request->body_file->string());
    return CURL_READFUNC_ABORT;
  }
  return n;
}

// libcurl rewinds an upload to send it again (a reused connection that died, a redirect).
int on_seek(void* user, curl_off_t offset, int origin) {
  auto* transfer = static_cast<Transfer*>(user);
  if (transfer->upload == nullptr)
    return CURL_SEEKFUNC_CANTSEEK;
  return ::fseeko(transfer->upload, static_cast<off_t>(offset), origin) == 0 ? CURL_SEEKFUNC_OK
                                                                             : CURL_SEEKFUNC_FAIL;
}

bool has_header(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers)
    if (iequals(key, name))
      return true;
  return false;
}

std::string strip_query(std::string_view url) {
  const auto question = url.find('?');
  return std::string(url.substr(0, question));
}

} // namespace

std::optional<std::string> Response::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (iequals(key, name))
      return value;
  return std::nullopt;
}

struct Client::Impl {
  mutable std::mutex mutex;
  mutable std::vector<CURL*> idle;
  std::function<void(std::string_view)> logger;

  CURL* acquire() const {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        CURL* handle = idle.back();
        idle.pop_back();
        curl().easy_reset(handle); // keeps the connection cache
        return handle;
      }
    }
    CURL* handle = curl().easy_init();
    if (handle == nullptr)
      throw std::runtime_error("libcurl: cannot create a handle");
    return handle;
  }

  void release(CURL* handle) const {
    std::lock_guard lock(mutex);
    idle.push_back(handle);
  }

  ~Impl() {
    for (CURL* handle : idle)
      curl().easy_cleanup(handle);
  }
};

Client::Client() : m_impl(std::make_unique<Impl>()) {
  init_curl();
}

Client::~Client() = default;

void Client::set_logger(std::function<void(std::string_view)> logger) {
  m_impl->logger = std::move(logger);
}

HttpResult<Response> Client::send(const Request& request) const {
  Transfer transfer;
  transfer.request = &request;

  std::uintmax_t upload_size = 0;
  if (request.body_file) {
    std::error_code ec;
    upload_size = fs::file_size(*request.body_file, ec);
    if (ec)
      return tl::unexpected(TransportError{
          FailureKind::local,
          fmt::format("cannot read {}: {}", request.body_file->string(), ec.message())});
    transfer.upload = std::fopen(request.body_file->c_str(), "rbe");
    if (transfer.upload == nullptr)
      return tl::unexpected(TransportError{
          FailureKind::local,
          fmt::format("cannot read {}: {}", request.body_file->string(), std::strerror(errno))});
  }

  CURL* handle = m_impl->acquire();
  transfer.handle = handle;
  char error_buffer[CURL_ERROR_SIZE] = {0};

  curl().easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl().easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl().easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl().easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
  curl().easy_setopt(handle, CURLOPT_TCP_NODELAY, 1L);
  curl().easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl().easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(request.connect_timeout.count()));
  curl().easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  if (request.low_speed_time.count() > 0) {
    curl().easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl().easy_setopt(handle, CURLOPT_LOW_SPEED_TIME,
                       static_cast<long>(request.low_speed_time.count()));
  }
  curl().easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, request.verify_tls ? 1L : 0L);
  curl().easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, request.verify_tls ? 2L : 0L);
  curl().easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
  curl().easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
  curl().easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
  curl().easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);

  const bool has_body = request.body_file.has_value() || !request.body.empty() ||
                        request.method == "POST" || request.method == "PUT" ||
                        request.method == "PATCH";
  if (request.method == "HEAD") {
    curl().easy_setopt(handle, CURLOPT_NOBODY, 1L);
  } else if (request.body_file) {
    curl().easy_setopt(handle, CURLOPT_UPLOAD, 1L);
    curl().easy_setopt(handle, CURLOPT_READFUNCTION, on_read);
    curl().easy_setopt(handle, CURLOPT_READDATA, &transfer);
    curl().easy_setopt(handle, CURLOPT_SEEKFUNCTION, on_seek);
    curl().easy_setopt(handle, CURLOPT_SEEKDATA, &transfer);
    curl().easy_setopt(handle, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(upload_size));
    curl().easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  } else if (has_body) {
    curl().easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
    curl().easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    curl().easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  } else if (request.method != "GET") {
    curl().easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  curl_slist* header_list = nullptr;
  for (const auto& [name, value] : request.headers) {
    std::string line = name;
    line.append(value.empty() ? ";" : ": ").append(value);
    header_list = curl().slist_append(header_list, line.c_str());
  }
  // libcurl adds these on its own; the caller's headers are what gets signed.
  if (!has_header(request.headers, "Expect"))
    header_list = curl().slist_append(header_list, "Expect:");
  if (has_body && !has_header(request.headers, "Content-Type"))
    header_list = curl().slist_append(header_list, "Content-Type:");
  if (!has_header(request.headers, "Accept"))
    header_list = curl().slist_append(header_list, "Accept:");
  curl().easy_setopt(handle, CURLOPT_HTTPHEADER, header_list);

  const auto started = std::chrono::steady_clock::now();
  const CURLcode code = curl().easy_perform(handle);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  curl().easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &transfer.response.status);
  curl().slist_free_all(header_list);
  if (transfer.upload != nullptr)
    std::fclose(transfer.upload);

  // Finish a streamed download: flush, then rename into place, or remove on failure.
  bool download_ok = code == CURLE_OK;
  if (transfer.download_fd >= 0) {
    if (download_ok && ::fsync(transfer.download_fd) != 0) {
      transfer.local_error =
          fmt::format("cannot write {}: {}", transfer.download_temp.string(), std::strerror(errno));
      download_ok = false;
    }
    ::close(transfer.download_fd);
    std::error_code ec;
    if (download_ok) {
      fs::rename(transfer.download_temp, *request.response_file, ec);
      if (ec) {
        transfer.local_error =
            fmt::format("cannot write {}: {}", request.response_file->string(), ec.message());
        download_ok = false;
      }
    }
    if (!download_ok)
      fs::remove(transfer.download_temp, ec);
  } else if (code == CURLE_OK && request.response_file && transfer.response.status >= 200 &&
             transfer.response.status < 300) {
    // An empty 2xx body never reached the write callback: the file is empty.
    if (!open_download(transfer)) {
      download_ok = false;
    } else {
      ::close(transfer.download_fd);
      std::error_code ec;
      fs::rename(transfer.download_temp, *request.response_file, ec);
    }
  }

  // The connection stays in the handle's cache for the next request.
  m_impl->release(handle);

  if (m_impl->logger) {
    m_impl->logger(fmt::format("http {} {} → {} ({} ms)", request.method, strip_query(request.url),
                               code == CURLE_OK ? std::to_string(transfer.response.status)
                                                : std::string(curl().easy_strerror(code)),
                               elapsed.count()));
  }

  if (!transfer.local_error.empty())
    return tl::unexpected(TransportError{FailureKind::local, transfer.local_error});
  if (code != CURLE_OK) {
    std::string detail = error_buffer[0] != '\0' ? error_buffer : curl().easy_strerror(code);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == '.'))
      detail.pop_back();
    return tl::unexpected(
        TransportError{classify(code),
                       fmt::format("{} {}: {}", request.method, strip_query(request.url), detail)});
  }
  if (!download_ok)
    return tl::unexpected(TransportError{FailureKind::local, transfer.local_error});
  return std::move(transfer.response);
}

std::string url_encode(std::string_view text, bool keep_slash) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '_' || u == '.' || u == '~' || (keep_slash && u == '/')) {
      out += c;
    } else {
      out += '%';
      out += k_hex[u >> 4u];
      out += k_hex[u & 0xfu];
    }
  }
  return out;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}
} // namespace

std::string url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::string Url::authority() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  std::string out;
  out.reserve(host.size() + 8);
  if (ipv6)
    out.push_back('[');
  out.append(host);
  if (ipv6)
    out.push_back(']');
  if (port != 0) {
    out.push_back(':');
    out.append(std::to_string(port));
  }
  return out;
}

std::optional<Url> parse_url(std::string_view text) {
  Url url;
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos)
    return std::nullopt;
  url.scheme = to_lower(text.substr(0, scheme_end));
  if (url.scheme != "http" && url.scheme != "https")
    return std::nullopt;
  auto rest = text.substr(scheme_end + 3);
  const auto path_start = rest.find_first_of("/?#");
  auto authority = rest.substr(0, path_start);
  rest = path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos)
    authority = authority.substr(at + 1); // never keep credentials from a URL
  if (authority.empty())
    return std::nullopt;
  std::string_view port_text;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    url.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':')
        return std::nullopt;
      port_text = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos)
      port_text = authority.substr(colon + 1);
  }
  if (url.host.empty())
    return std::nullopt;
  if (!port_text.empty()) {
    int port = 0;
    for (const char c : port_text) {
      if (c < '0' || c > '9')
        return std::nullopt;
      port = port * 10 + (c - '0');
      if (port > 65535)
        return std::nullopt;
    }
    url.port = port;
  }
  if (const auto hash = rest.find('#'); hash != std::string_view::npos)
    rest = rest.substr(0, hash);
  const auto question = rest.find('?');
  url.path = std::string(rest.substr(0, question));
  if (question != std::string_view::npos)
    url.query = std::string(rest.substr(question + 1));
  if (url.path.empty())
    url.path.push_back('/');
  return url;
}

} // namespace wisp::support::http
