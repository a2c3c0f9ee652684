#pragma once
// Lambda authorizers (docs/local-api.md): reading an authorizer's output, evaluating its IAM
// policy against a method/route ARN, and the result cache keyed by identity source values.
//
// - IAM policy output (REST TOKEN/REQUEST, HTTP API format 1.0 and 2.0 without simple
//   responses): {"principalId": .., "policyDocument": {"Statement": [..]}, "context": {..}}.
//   An explicit Deny matching the ARN wins, then an Allow; otherwise the request is implicitly
//   denied. Resource and Action patterns take `*` and `?`.
// - Simple output (HTTP API 2.0 with EnableSimpleResponses): {"isAuthorized": bool, "context"}.
// - REST context values must be strings, numbers or booleans; HTTP API context is any JSON.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wisp::gateway {

enum class PolicyDecision : std::uint8_t { allow, explicit_deny, implicit_deny };

struct PolicyStatement {
  bool allow = false;
  std::vector<std::string> actions;
  std::vector<std::string> resources;
};

// What an authorizer answered, kept for the cache.
struct AuthorizerResult {
  bool simple = false;     // simple response (isAuthorized)
  bool authorized = false; // simple responses
  std::vector<PolicyStatement> statements;
  std::string principal_id;
  // The context object's entries: key and the value serialized as JSON, in order.
  std::vector<std::pair<std::string, std::string>> context;
};

// Reads an authorizer's output; nullopt when it is not a valid answer (API Gateway then
// answers 500). `simple`: HTTP API simple responses; `rest`: scalar context values only.
std::optional<AuthorizerResult> parse_authorizer_output(std::string_view output, bool simple,
                                                        bool rest);

// The decision of `result`'s policy (or simple answer) for `arn`.
PolicyDecision evaluate(const AuthorizerResult& result, std::string_view arn);

// IAM-style wildcard match: `*` any run of characters, `?` one character.
bool wildcard_match(std::string_view pattern, std::string_view text);

// The requestContext.authorizer object for the integration's event.
// REST and HTTP API 1.0 events: {"principalId": .., "integrationLatency": ms, <context>...}.
std::string rest_authorizer_json(const AuthorizerResult& result, std::int64_t latency_ms);
// HTTP API 2.0 events: {"lambda": <context>}.
std::string http_authorizer_json(const AuthorizerResult& result);

// Authorizer results by (authorizer, identity values), each for its TTL. Thread-safe.
class AuthorizerCache {
public:
  std::optional<AuthorizerResult> find(const std::string& key);
  void store(const std::string& key, const AuthorizerResult& result, std::chrono::seconds ttl);

private:
  struct Entry {
    AuthorizerResult result;
    std::chrono::steady_clock::time_point expires;
  };
  std::mutex m_mutex;
  std::map<std::string, Entry> m_entries;
};

} // namespace wisp::gateway
