#include <wisp/aws/sigv4.hpp>

#include <wisp/support/hash.hpp>
#include <wisp/support/http.hpp>
#include <wisp/support/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <map>

namespace wisp::aws {

namespace {

// RFC 3986 section 5.2.4, also dropping empty segments (AWS collapses repeated slashes).
std::string normalize_path(std::string_view path) {
  if (path.empty())
    return "/";
  std::vector<std::string> output;
  for (auto& segment : support::split(path, '/')) {
    if (segment.empty() || segment == ".")
      continue;
    if (segment == "..") {
      if (!output.empty())
        output.pop_back();
      continue;
    }
    output.push_back(std::move(segment));
  }
  std::string result(1, '/');
  result.append(support::join(output, "/"));
  if (path.back() == '/' && result != "/")
    result += '/';
  return result;
}

std::string collapse_spaces(std::string_view value) {
  std::string out;
  bool space = false;
  for (const char c : support::trim(value)) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty())
      out += ' ';
    space = false;
    out += c;
  }
  return out;
}

} // namespace

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [key, value] : query)
    encoded.emplace_back(support::http::url_encode(key), support::http::url_encode(value));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [key, value] : encoded) {
    if (!out.empty())
      out += '&';
    out += key;
    out += '=';
    out += value;
  }
  return out;
}

std::string amz_date(std::chrono::system_clock::time_point when) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &tm);
  return buffer;
}

SignedRequest sign(const SigningRequest& request, const Credentials& credentials,
                   const SigningScope& scope) {
  SignedRequest signed_request;
  // Headers to sign: lower-cased, values trimmed with inner runs of spaces collapsed,
  // repeated names joined with ','.
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : request.headers) {
    auto key = support::to_lower(name);
    if (key == "user-agent" || key == "expect" || key == "x-amzn-trace-id" ||
        key == "authorization")
      continue;
    auto& slot = headers[key];
    if (!slot.empty())
      slot += ',';
    slot += collapse_spaces(value);
  }
  if (!headers.contains("x-amz-date")) {
    headers["x-amz-date"] = scope.amz_date;
    signed_request.add_headers.emplace_back("X-Amz-Date", scope.amz_date);
  }
  if (!credentials.session_token.empty() && !headers.contains("x-amz-security-token")) {
    headers["x-amz-security-token"] = credentials.session_token;
    signed_request.add_headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }

  std::string canonical_headers;
  std::string signed_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ":" + value + "\n";
    if (!signed_headers.empty())
      signed_headers += ';';
    signed_headers += name;
  }

  const std::string canonical_uri =
      scope.service == "s3"
          ? (request.path.empty() ? std::string("/") : request.path)
          : support::http::url_encode(normalize_path(request.path), /*keep_slash=*/true);

  signed_request.canonical_request = fmt::format(
      "{}\n{}\n{}\n{}\n{}\n{}", request.method, canonical_uri, canonical_query(request.query),
      canonical_headers, signed_headers, request.payload_sha256);

  const std::string date = scope.amz_date.substr(0, 8);
  const std::string credential_scope =
      fmt::format("{}/{}/{}/aws4_request", date, scope.region, scope.service);
  signed_request.string_to_sign =
      fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", scope.amz_date, credential_scope,
                  support::sha256_hex(signed_request.canonical_request));

  auto key = support::hmac_sha256("AWS4" + credentials.secret_access_key, date);
  key = support::hmac_sha256(support::as_bytes(key), scope.region);
  key = support::hmac_sha256(support::as_bytes(key), scope.service);
  key = support::hmac_sha256(support::as_bytes(key), "aws4_request");
  signed_request.signature =
      support::to_hex(support::hmac_sha256(support::as_bytes(key), signed_request.string_to_sign));

  signed_request.add_headers.emplace_back(
      "Authorization", fmt::format("AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, "
                                   "Signature={}",
                                   credentials.access_key_id, credential_scope, signed_headers,
                                   signed_request.signature));
  return signed_request;
}

} // namespace wisp::aws
