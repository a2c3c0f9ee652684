// Verifying SigV4 on incoming requests (sigv4_verify.hpp).

#include <wisp/aws/sigv4.hpp>
#include <wisp/aws/sigv4_verify.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <optional>

namespace wisp::aws {

namespace {

constexpr auto k_skew = std::chrono::minutes(15);
constexpr std::string_view k_mismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::string decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i] == '+' ? ' ' : text[i]);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> query_pairs(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty())
      continue;
    const auto eq = part.find('=');
    pairs.emplace_back(decode(part.substr(0, eq)),
                       eq == std::string_view::npos ? std::string() : decode(part.substr(eq + 1)));
  }
  return pairs;
}

std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view text) {
  // YYYYMMDDTHHMMSSZ
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z')
    return std::nullopt;
  std::tm tm{};
  const auto number = [&](std::size_t at, std::size_t n) {
    int value = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9')
        return -1;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  tm.tm_year = number(0, 4) - 1900;
  tm.tm_mon = number(4, 2) - 1;
  tm.tm_mday = number(6, 2);
  tm.tm_hour = number(9, 2);
  tm.tm_min = number(11, 2);
  tm.tm_sec = number(13, 2);
  if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mday < 1 || tm.tm_hour < 0 || tm.tm_min < 0 ||
      tm.tm_sec < 0)
    return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

bool constant_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

struct Parsed {
  std::string credential;
  std::string signed_headers;
  std::string signature;
  std::string amz_date;
};

} // namespace

std::string_view signature_error_type(SignatureCheck check) {
  switch (check) {
  case SignatureCheck::ok:
    return {};
  case SignatureCheck::missing:
    return "MissingAuthenticationTokenException";
  case SignatureCheck::malformed:
    return "IncompleteSignatureException";
  case SignatureCheck::unknown_key:
    return "UnrecognizedClientException";
  case SignatureCheck::expired:
  case SignatureCheck::mismatch:
    return "InvalidSignatureException";
  }
  return {};
}

SignatureResult verify_sigv4(const IncomingRequest& request, const Credentials& credentials,
                             std::string_view expected_service,
                             std::chrono::system_clock::time_point now) {
  SignatureResult result;
  const auto header = [&](std::string_view name) -> std::optional<std::string_view> {
    for (const auto& [key, value] : request.headers)
      if (iequal(key, name))
        return value;
    return std::nullopt;
  };
  Parsed parsed;
  auto query = query_pairs(request.raw_query);
  if (const auto authorization = header("authorization")) {
    std::string_view text = support::trim(*authorization);
    constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";
    if (!text.starts_with(algorithm)) {
      result.check = SignatureCheck::malformed;
      result.message = fmt::format("Authorization header requires existence of either a "
                                   "'X-Amz-Date' or a 'Date' header. Authorization={}",
                                   text.substr(0, text.find(' ')));
      return result;
    }
    text.remove_prefix(algorithm.size());
    for (auto& part : support::split(text, ',')) {
      const auto item = support::trim(part);
      const auto eq = item.find('=');
      if (eq == std::string_view::npos)
        continue;
      const auto key = support::trim(item.substr(0, eq));
      const auto value = std::string(support::trim(item.substr(eq + 1)));
      if (key == "Credential")
        parsed.credential = value;
      else if (key == "SignedHeaders")
        parsed.signed_headers = value;
      else if (key == "Signature")
        parsed.signature = value;
    }
    if (const auto date = header("x-amz-date"))
      parsed.amz_date = std::string(support::trim(*date));
  } else {
    result.check = SignatureCheck::missing;
    result.message = "Missing Authentication Token";
    return result;
  }
  std::vector<std::string> missing;
  if (parsed.credential.empty())
    missing.emplace_back("Credential");
  if (parsed.signed_headers.empty())
    missing.emplace_back("SignedHeaders");
  if (parsed.signature.empty())
    missing.emplace_back("Signature");
  if (!missing.empty()) {
    result.check = SignatureCheck::malformed;
    std::string list;
    for (const auto& name : missing)
      list += fmt::format("{}Authorization header requires '{}' parameter.",
                          list.empty() ? "" : " ", name);
    result.message = list;
    return result;
  }
  // Credential=<key>/<yyyymmdd>/<region>/<service>/aws4_request
  const auto scope = support::split(parsed.credential, '/');
  if (scope.size() != 5 || scope[4] != "aws4_request") {
    result.check = SignatureCheck::malformed;
    result.message = fmt::format("Credential should be scoped to a valid region. ");
    return result;
  }
  result.access_key = scope[0];
  result.region = scope[2];
  result.service = scope[3];
  if (!expected_service.empty() && result.service != expected_service) {
    result.check = SignatureCheck::malformed;
    result.message =
        fmt::format("Credential should be scoped to correct service: '{}'. ", expected_service);
    return result;
  }
  if (credentials.access_key_id.empty() || result.access_key != credentials.access_key_id) {
    result.check = SignatureCheck::unknown_key;
    result.message = "The security token included in the request is invalid.";
    return result;
  }
  const auto when = parse_amz_date(parsed.amz_date);
  if (!when || parsed.amz_date.substr(0, 8) != scope[1]) {
    result.check = SignatureCheck::malformed;
    result.message = "Authorization header requires existence of either a 'X-Amz-Date' or a "
                     "'Date' header.";
    return result;
  }
  if (*when < now - k_skew || *when > now + k_skew) {
    result.check = SignatureCheck::expired;
    const auto stamp = [](std::chrono::system_clock::time_point t) { return amz_date(t); };
    result.message = fmt::format("Signature expired: {} is now earlier than {} ({} - 15 min.)",
                                 parsed.amz_date, stamp(now - k_skew), stamp(now));
    return result;
  }
  SigningRequest signing;
  signing.method = std::string(request.method);
  signing.path = request.raw_path.empty() ? std::string("/") : std::string(request.raw_path);
  signing.query = std::move(query);
  for (const auto& name : support::split(parsed.signed_headers, ';')) {
    const auto value = header(name);
    if (!value) {
      result.check = SignatureCheck::mismatch;
      result.message = std::string(k_mismatch);
      return result;
    }
    signing.headers.emplace_back(name, std::string(*value));
  }
  if (const auto content = header("x-amz-content-sha256"))
    signing.payload_sha256 = std::string(*content);
  else
    signing.payload_sha256 = support::sha256_hex(request.body);
  Credentials local;
  local.access_key_id = credentials.access_key_id;
  local.secret_access_key = credentials.secret_access_key;
  const auto signed_request =
      sign(signing, local, SigningScope{result.region, result.service, parsed.amz_date});
  if (!constant_equal(signed_request.signature, parsed.signature)) {
    result.check = SignatureCheck::mismatch;
    result.message = std::string(k_mismatch);
    return result;
  }
  result.check = SignatureCheck::ok;
  return result;
}

} // namespace wisp::aws
