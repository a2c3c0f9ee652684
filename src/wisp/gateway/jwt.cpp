// JWT and JWKS (jwt.hpp). OpenSSL 3 does the cryptography.

#include <wisp/gateway/jwt.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/http.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <ctime>

namespace wisp::gateway {

namespace json = boost::json;

namespace {

constexpr auto k_fresh = std::chrono::hours(1);
constexpr auto k_refetch = std::chrono::minutes(1);
constexpr std::size_t k_token_cache = 4096;

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string standard(text);
  for (auto& c : standard) {
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
  }
  while (standard.size() % 4 != 0)
    standard.push_back('=');
  return support::base64_decode(standard);
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

struct Key {
  std::string kty; // RSA | EC
  std::string crv; // P-256 | P-384
  Pkey pkey;
};

Pkey rsa_key(const std::string& n, const std::string& e) {
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                           static_cast<int>(n.size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                           static_cast<int>(e.size()), nullptr);
  OSSL_PARAM_BLD* build = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  EVP_PKEY* key = nullptr;
  if (bn_n != nullptr && bn_e != nullptr && build != nullptr &&
      OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1 &&
      (params = OSSL_PARAM_BLD_to_param(build)) != nullptr) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
    if (ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1)
      EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
  }
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(build);
  BN_free(bn_n);
  BN_free(bn_e);
  return Pkey(key);
}

Pkey ec_key(const std::string& curve, const std::string& x, const std::string& y) {
  const char* group = curve == "P-256" ? "prime256v1" : curve == "P-384" ? "secp384r1" : nullptr;
  const std::size_t size = curve == "P-256" ? 32 : 48;
  if (group == nullptr || x.size() != size || y.size() != size)
    return nullptr;
  std::string point(1, '\x04');
  point += x;
  point += y;
  OSSL_PARAM_BLD* build = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  EVP_PKEY* key = nullptr;
  if (build != nullptr &&
      OSSL_PARAM_BLD_push_utf8_string(build, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(build, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) == 1 &&
      (params = OSSL_PARAM_BLD_to_param(build)) != nullptr) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    if (ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1)
      EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
  }
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(build);
  return Pkey(key);
}

std::string string_at(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

bool verify_signature(const Key& key, std::string_view alg, std::string_view data,
                      const std::string& signature) {
  const EVP_MD* md = nullptr;
  bool ec = false;
  if (alg == "RS256" || alg == "ES256")
    md = EVP_sha256();
  else if (alg == "RS384" || alg == "ES384")
    md = EVP_sha384();
  else if (alg == "RS512")
    md = EVP_sha512();
  else
    return false;
  ec = alg.starts_with("ES");
  if (ec != (key.kty == "EC"))
    return false;
  std::string der;
  if (ec) {
    const std::size_t half = alg == "ES256" ? 32 : 48;
    if (signature.size() != 2 * half)
      return false;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()),
                          static_cast<int>(half), nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data() + half),
                          static_cast<int>(half), nullptr);
    if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
      BN_free(r);
      BN_free(s);
      ECDSA_SIG_free(sig);
      return false;
    }
    unsigned char* out = nullptr;
    const int length = i2d_ECDSA_SIG(sig, &out);
    if (length > 0)
      der.assign(reinterpret_cast<const char*>(out), static_cast<std::size_t>(length));
    OPENSSL_free(out);
    ECDSA_SIG_free(sig);
    if (der.empty())
      return false;
  }
  const std::string& sig = ec ? der : signature;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr &&
            EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, key.pkey.get()) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

// A claim's value as API Gateway hands it to the function: strings as they are, numbers and
// booleans as their JSON text, arrays as `[a b c]`, objects as JSON.
std::string claim_text(const json::value& value) {
  if (value.is_string())
    return std::string(value.as_string());
  if (value.is_array()) {
    std::string out = "[";
    bool first = true;
    for (const auto& item : value.as_array()) {
      if (!first)
        out.push_back(' ');
      first = false;
      out += item.is_string() ? std::string(item.as_string()) : json::serialize(item);
    }
    out.push_back(']');
    return out;
  }
  return json::serialize(value);
}

std::optional<std::int64_t> number_claim(const json::object& payload, std::string_view key) {
  const auto* value = payload.if_contains(key);
  if (value == nullptr)
    return std::nullopt;
  if (value->is_int64())
    return value->as_int64();
  if (value->is_uint64())
    return static_cast<std::int64_t>(value->as_uint64());
  if (value->is_double())
    return static_cast<std::int64_t>(value->as_double());
  return std::nullopt;
}

JwtOutcome invalid(std::string reason) {
  JwtOutcome outcome;
  outcome.kind = JwtOutcome::Kind::invalid;
  outcome.reason = std::move(reason);
  return outcome;
}

bool check_times(JwtOutcome& outcome, std::chrono::system_clock::time_point now) {
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (outcome.expires && *outcome.expires <= seconds) {
    outcome = invalid("the token has expired");
    return false;
  }
  if (outcome.not_before && *outcome.not_before > seconds) {
    outcome = invalid("the token is not valid yet");
    return false;
  }
  return true;
}

} // namespace

class KeySet {
public:
  std::map<std::string, Key> keys; // by kid ("" when the key has none)
};

std::shared_ptr<const KeySet> parse_jwks(std::string_view text, std::string& error) {
  boost::system::error_code ec;
  const auto value = json::parse(text, ec);
  if (ec || !value.is_object() || !value.as_object().contains("keys") ||
      !value.as_object().at("keys").is_array()) {
    error = "not a JSON Web Key Set (an object with a \"keys\" array)";
    return nullptr;
  }
  auto set = std::make_shared<KeySet>();
  for (const auto& item : value.as_object().at("keys").as_array()) {
    if (!item.is_object())
      continue;
    const auto& jwk = item.as_object();
    Key key;
    key.kty = string_at(jwk, "kty");
    const auto use = string_at(jwk, "use");
    if (!use.empty() && use != "sig")
      continue;
    if (key.kty == "RSA") {
      auto n = base64url_decode(string_at(jwk, "n"));
      auto e = base64url_decode(string_at(jwk, "e"));
      if (n && e && !n->empty() && !e->empty())
        key.pkey = rsa_key(*n, *e);
    } else if (key.kty == "EC") {
      key.crv = string_at(jwk, "crv");
      auto x = base64url_decode(string_at(jwk, "x"));
      auto y = base64url_decode(string_at(jwk, "y"));
      if (x && y)
        key.pkey = ec_key(key.crv, *x, *y);
    }
    if (key.pkey)
      set->keys.emplace(string_at(jwk, "kid"), std::move(key));
  }
  return set;
}

std::size_t key_count(const KeySet& keys) {
  return keys.keys.size();
}

JwtOutcome verify_jwt(std::string_view token, const KeySet& keys, const JwtRules& rules,
                      std::chrono::system_clock::time_point now) {
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return invalid("the token is not a JWS (header.payload.signature)");
  const auto header_text = base64url_decode(token.substr(0, first));
  const auto payload_text = base64url_decode(token.substr(first + 1, second - first - 1));
  const auto signature = base64url_decode(token.substr(second + 1));
  if (!header_text || !payload_text || !signature)
    return invalid("the token is not base64url-encoded");
  boost::system::error_code ec;
  const auto header = json::parse(*header_text, ec);
  if (ec || !header.is_object())
    return invalid("the token's header is not JSON");
  const auto payload_value = json::parse(*payload_text, ec);
  if (ec || !payload_value.is_object())
    return invalid("the token's payload is not a JSON object");
  const auto& payload = payload_value.as_object();
  const auto alg = string_at(header.as_object(), "alg");
  const auto kid = string_at(header.as_object(), "kid");
  auto it = keys.keys.find(kid);
  if (it == keys.keys.end())
    return invalid(fmt::format("no key with kid '{}' in the issuer's key set", kid));
  if (!verify_signature(it->second, alg, token.substr(0, second), *signature))
    return invalid(fmt::format("the signature does not verify ({})", alg.empty() ? "no alg" : alg));
  JwtOutcome outcome;
  outcome.kind = JwtOutcome::Kind::ok;
  outcome.expires = number_claim(payload, "exp");
  outcome.not_before = number_claim(payload, "nbf");
  if (!check_times(outcome, now))
    return outcome;
  if (const auto iat = number_claim(payload, "iat");
      iat &&
      *iat > std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() + 300)
    return invalid("the token was issued in the future");
  if (!rules.issuer.empty() && string_at(payload, "iss") != rules.issuer)
    return invalid(fmt::format("the token's issuer is not {}", rules.issuer));
  if (!rules.audience.empty()) {
    std::vector<std::string> audiences;
    if (const auto* aud = payload.if_contains("aud")) {
      if (aud->is_string())
        audiences.emplace_back(aud->as_string());
      else if (aud->is_array())
        for (const auto& item : aud->as_array())
          if (item.is_string())
            audiences.emplace_back(item.as_string());
    } else if (auto client = string_at(payload, "client_id"); !client.empty()) {
      audiences.push_back(client);
    }
    const bool match = std::any_of(audiences.begin(), audiences.end(), [&](const auto& a) {
      return std::find(rules.audience.begin(), rules.audience.end(), a) != rules.audience.end();
    });
    if (!match)
      return invalid("the token's audience (aud or client_id) is not accepted");
  }
  // Scopes: `scope` (space separated) or `scp` (a list or a string).
  if (const auto* scope = payload.if_contains("scope"); scope != nullptr && scope->is_string()) {
    outcome.has_scopes = true;
    for (auto& part : support::split(std::string(scope->as_string()), ' '))
      if (!part.empty())
        outcome.scopes.push_back(std::move(part));
  } else if (const auto* scp = payload.if_contains("scp"); scp != nullptr) {
    outcome.has_scopes = true;
    if (scp->is_array()) {
      for (const auto& item : scp->as_array())
        if (item.is_string())
          outcome.scopes.emplace_back(item.as_string());
    } else if (scp->is_string()) {
      for (auto& part : support::split(std::string(scp->as_string()), ' '))
        if (!part.empty())
          outcome.scopes.push_back(std::move(part));
    }
  }
  if (rules.cognito) {
    const auto use = string_at(payload, "token_use");
    if (rules.scopes.empty() && use != "id")
      return invalid("an ID token is required (token_use id)");
    if (!rules.scopes.empty() && use != "access")
      return invalid("an access token is required (token_use access)");
  }
  if (!rules.scopes.empty()) {
    const bool granted = std::any_of(rules.scopes.begin(), rules.scopes.end(), [&](const auto& s) {
      return std::find(outcome.scopes.begin(), outcome.scopes.end(), s) != outcome.scopes.end();
    });
    if (!granted) {
      outcome.kind = rules.cognito ? JwtOutcome::Kind::invalid : JwtOutcome::Kind::forbidden;
      outcome.reason = "the token has none of the route's authorization scopes";
      return outcome;
    }
  }
  for (const auto& [name, value] : payload)
    outcome.claims.emplace_back(std::string(name), claim_text(value));
  return outcome;
}

JwksSource parse_jwks_flag(std::string_view value) {
  // ISSUER=LOCATION, where ISSUER is a URL (it contains "://" before the '=').
  const auto eq = value.find('=');
  const auto scheme = value.find("://");
  if (eq != std::string_view::npos && scheme != std::string_view::npos && scheme < eq)
    return {std::string(value.substr(0, eq)), std::string(value.substr(eq + 1))};
  return {std::string(), std::string(value)};
}

std::string_view bearer_token(std::string_view value) {
  while (!value.empty() && value.front() == ' ')
    value.remove_prefix(1);
  if (value.size() > 7 && (value.substr(0, 7) == "Bearer " || value.substr(0, 7) == "bearer "))
    value.remove_prefix(7);
  return value;
}

// ------------------------------------------------------------------ cache

JwksCache::JwksCache(std::vector<JwksSource> sources, std::chrono::milliseconds fetch_timeout)
    : m_sources(std::move(sources)), m_timeout(fetch_timeout) {
  m_thread = std::thread([this] { run(); });
}

JwksCache::~JwksCache() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_all();
  m_thread.join();
}

std::string JwksCache::location_for(const std::string& issuer) const {
  for (const auto& source : m_sources)
    if (source.issuer == issuer)
      return source.location;
  for (const auto& source : m_sources)
    if (source.issuer.empty())
      return source.location;
  return {};
}

std::shared_ptr<const KeySet> JwksCache::keys(const std::string& issuer) {
  std::lock_guard lock(m_mutex);
  const auto it = m_entries.find(issuer);
  if (it == m_entries.end() || !it->second.keys)
    return nullptr;
  const bool file = [&] {
    const auto location = location_for(issuer);
    return !location.empty() && location.find("://") == std::string::npos;
  }();
  if (!file && std::chrono::steady_clock::now() - it->second.fetched > k_fresh)
    return nullptr;
  return it->second.keys;
}

void JwksCache::fetch(const std::string& issuer, bool kid_missing,
                      std::function<void(std::shared_ptr<const KeySet>)> done) {
  std::shared_ptr<const KeySet> answer_now;
  bool answer = false;
  {
    std::lock_guard lock(m_mutex);
    auto& entry = m_entries[issuer];
    const auto age = std::chrono::steady_clock::now() - entry.fetched;
    if (entry.keys && !entry.fetching && (kid_missing ? age < k_refetch : age < k_fresh)) {
      answer_now = entry.keys;
      answer = true;
    } else {
      entry.waiters.push_back(std::move(done));
      if (!entry.fetching) {
        entry.fetching = true;
        m_queue.push_back(issuer);
      }
    }
  }
  if (answer) {
    done(answer_now);
    return;
  }
  m_cv.notify_all();
}

std::vector<std::string> JwksCache::preload() {
  std::vector<std::string> problems;
  for (const auto& source : m_sources) {
    if (source.location.find("://") != std::string::npos)
      continue;
    std::string error;
    auto keys = load(source.issuer, error);
    if (!keys) {
      problems.push_back(fmt::format("--jwks {}: {}", source.location, error));
      continue;
    }
    std::lock_guard lock(m_mutex);
    auto& entry = m_entries[source.issuer];
    entry.keys = keys;
    entry.fetched = std::chrono::steady_clock::now();
  }
  return problems;
}

std::shared_ptr<const KeySet> JwksCache::load(const std::string& issuer, std::string& error) {
  std::string location = location_for(issuer);
  support::http::Client client;
  const auto get = [&](const std::string& url) -> std::optional<std::string> {
    support::http::Request request;
    request.url = url;
    request.connect_timeout = m_timeout;
    request.timeout = m_timeout;
    request.low_speed_time = std::chrono::seconds(0);
    auto response = client.send(request);
    if (!response) {
      error = fmt::format("cannot fetch {}: {}", url, response.error().message);
      return std::nullopt;
    }
    if (response->status != 200) {
      error = fmt::format("{} answered {}", url, response->status);
      return std::nullopt;
    }
    return std::move(response->body);
  };
  std::optional<std::string> text;
  if (location.empty()) {
    if (issuer.empty()) {
      error = "no issuer";
      return nullptr;
    }
    auto base = issuer;
    while (!base.empty() && base.back() == '/')
      base.pop_back();
    const auto discovery = get(base + "/.well-known/openid-configuration");
    if (!discovery)
      return nullptr;
    boost::system::error_code ec;
    const auto document = json::parse(*discovery, ec);
    std::string jwks_uri;
    if (!ec && document.is_object())
      jwks_uri = string_at(document.as_object(), "jwks_uri");
    if (jwks_uri.empty())
      jwks_uri = base + "/.well-known/jwks.json"; // Cognito's location
    text = get(jwks_uri);
  } else if (location.find("://") != std::string::npos) {
    text = get(location);
  } else {
    auto read = support::read_file(location, 4u * 1024 * 1024);
    if (!read) {
      error = read.error().message;
      return nullptr;
    }
    text = std::move(*read);
  }
  if (!text)
    return nullptr;
  return parse_jwks(*text, error);
}

void JwksCache::run() {
  while (true) {
    std::string issuer;
    {
      std::unique_lock lock(m_mutex);
      m_cv.wait(lock, [&] { return m_stop || !m_queue.empty(); });
      if (m_stop)
        return;
      issuer = m_queue.front();
      m_queue.erase(m_queue.begin());
    }
    std::string error;
    auto keys = load(issuer, error);
    std::vector<std::function<void(std::shared_ptr<const KeySet>)>> waiters;
    std::shared_ptr<const KeySet> answer;
    {
      std::lock_guard lock(m_mutex);
      auto& entry = m_entries[issuer];
      entry.fetching = false;
      entry.fetched = std::chrono::steady_clock::now();
      if (keys)
        entry.keys = keys;
      answer = entry.keys; // a failed refetch keeps the cached keys
      waiters.swap(entry.waiters);
    }
    if (!keys && on_problem)
      on_problem(fmt::format("JWKS of {}: {}", issuer.empty() ? "(any issuer)" : issuer, error));
    for (auto& waiter : waiters)
      waiter(answer);
  }
}

std::optional<JwtOutcome> JwksCache::cached(const std::string& key) {
  std::lock_guard lock(m_token_mutex);
  const auto it = m_tokens.find(key);
  if (it == m_tokens.end())
    return std::nullopt;
  auto outcome = it->second;
  check_times(outcome, std::chrono::system_clock::now());
  return outcome;
}

void JwksCache::remember(const std::string& key, const JwtOutcome& outcome) {
  std::lock_guard lock(m_token_mutex);
  if (m_tokens.size() >= k_token_cache)
    m_tokens.erase(m_tokens.begin());
  m_tokens[key] = outcome;
}

} // namespace wisp::gateway
