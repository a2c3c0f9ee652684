#pragma once
// JWT verification for API Gateway's JWT authorizers (HTTP APIs) and Cognito user pool
// authorizers (REST APIs): signatures (RS256/384/512, ES256/384) against the issuer's JSON Web
// Key Set, the registered claims, and the claims and scopes as API Gateway hands them to the
// function (docs/local-api.md, "JWT and Cognito authorizers").
//
// Keys come from a local file, a URL, or the issuer's discovery document
// ({issuer}/.well-known/openid-configuration → jwks_uri); fetched key sets are cached for an
// hour and refetched (at most once a minute) when a token names a kid the set lacks. Fetches
// run on a background thread with a 5 s bound; a request that needs keys waits for the fetch
// (never blocking an I/O thread) and an issuer that cannot be reached answers 401.
// Verified tokens are cached (signature only: the time claims are checked every time).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace wisp::gateway {

// One key set (parsed JWKS: kid → public key). Opaque; shared between threads.
class KeySet;

// Parses a JWKS document; keys of other types or algorithms are skipped. nullptr with
// `error` set when the document is not a JWKS.
std::shared_ptr<const KeySet> parse_jwks(std::string_view json, std::string& error);
std::size_t key_count(const KeySet& keys);

// What the authorizer checks besides the signature.
struct JwtRules {
  std::string issuer;                // iss must equal it (empty: not checked)
  std::vector<std::string> audience; // aud (or client_id when there is no aud) ∈ audience
  bool cognito = false;              // REST Cognito: token_use id, or access with scopes
  std::vector<std::string> scopes;   // the route's authorization scopes (any one suffices)
};

struct JwtOutcome {
  enum class Kind : std::uint8_t { ok, invalid, forbidden };
  Kind kind = Kind::invalid;
  std::string reason; // for the log and WWW-Authenticate (never the token)
  std::vector<std::pair<std::string, std::string>> claims; // name → API Gateway's text
  std::vector<std::string> scopes;                         // the token's scopes (scope or scp)
  bool has_scopes = false;
  std::optional<std::int64_t> expires;    // exp (seconds), re-checked on a cache hit
  std::optional<std::int64_t> not_before; // nbf
};

// Verifies `token` (without a "Bearer " prefix) against `keys` and `rules` at `now`.
JwtOutcome verify_jwt(std::string_view token, const KeySet& keys, const JwtRules& rules,
                      std::chrono::system_clock::time_point now);

// Where an issuer's keys come from: `location` is a file path or an http(s) URL of a JWKS;
// empty: discovery from the issuer.
struct JwksSource {
  std::string issuer; // empty: any issuer without its own source
  std::string location;
};

// Parses a `--jwks [ISSUER=]FILE|URL` value.
JwksSource parse_jwks_flag(std::string_view value);

class JwksCache {
public:
  explicit JwksCache(std::vector<JwksSource> sources,
                     std::chrono::milliseconds fetch_timeout = std::chrono::seconds(5));
  ~JwksCache();
  JwksCache(const JwksCache&) = delete;
  JwksCache& operator=(const JwksCache&) = delete;

  // The issuer's keys when cached and fresh (nullptr otherwise).
  std::shared_ptr<const KeySet> keys(const std::string& issuer);
  // Fetches (or refetches, `kid_missing`) the issuer's keys in the background; `done` is called
  // on the fetch thread with the keys (nullptr on failure, with the reason logged through
  // `on_problem`). A fetch that is already running is joined; a refetch within a minute of
  // the last one answers from the cache.
  void fetch(const std::string& issuer, bool kid_missing,
             std::function<void(std::shared_ptr<const KeySet>)> done);
  // Loads file sources now; returns one message per problem.
  std::vector<std::string> preload();

  std::function<void(std::string_view)> on_problem;

  // Token → verification result cache for repeated tokens (bounded).
  std::optional<JwtOutcome> cached(const std::string& key);
  void remember(const std::string& key, const JwtOutcome& outcome);

private:
  struct Entry {
    std::shared_ptr<const KeySet> keys;
    std::chrono::steady_clock::time_point fetched{};
    bool fetching = false;
    std::vector<std::function<void(std::shared_ptr<const KeySet>)>> waiters;
  };
  void run();
  std::shared_ptr<const KeySet> load(const std::string& issuer, std::string& error);
  std::string location_for(const std::string& issuer) const;

  std::vector<JwksSource> m_sources;
  std::chrono::milliseconds m_timeout;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::map<std::string, Entry> m_entries;
  std::vector<std::string> m_queue;
  bool m_stop = false;
  std::thread m_thread;
  std::mutex m_token_mutex;
  std::map<std::string, JwtOutcome> m_tokens;
};

// Strips "Bearer " (any case) from an Authorization value.
std::string_view bearer_token(std::string_view value);

} // namespace wisp::gateway
