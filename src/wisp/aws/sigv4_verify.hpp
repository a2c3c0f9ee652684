#pragma once
// Verifying AWS Signature Version 4 on requests a local server receives (function URLs with
// AuthType AWS_IAM, IAM-authorized API routes): the Authorization header form
// (`AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request,
// SignedHeaders=a;b, Signature=<hex>`). Presigned URLs (the signature in the query) are not
// accepted (they count as missing).
//
// The signature is recomputed with sigv4.hpp's signer from the headers the client named,
// against the one secret key configured locally, and compared in constant time. The outcome
// names the failure the way AWS's services answer it (the caller maps it to a status, an
// error type and a body).

#include <wisp/aws/config.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wisp::aws {

enum class SignatureCheck {
  ok,
  missing,     // no Authorization header
  malformed,   // IncompleteSignatureException
  unknown_key, // UnrecognizedClientException: the access key is not the configured one
  expired,     // InvalidSignatureException: "Signature expired: ..."
  mismatch,    // InvalidSignatureException: the signature does not match
};

struct IncomingRequest {
  std::string_view method;
  std::string_view raw_path;  // as sent (percent-encoded)
  std::string_view raw_query; // as sent
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view body;
};

struct SignatureResult {
  SignatureCheck check = SignatureCheck::missing;
  std::string access_key; // from the credential scope
  std::string region;
  std::string service;
  std::string message; // AWS's message for the failure
};

// `expected_service`: empty accepts any signing name. `now` bounds the request time
// (15 minutes either way, as AWS allows).
SignatureResult verify_sigv4(const IncomingRequest& request, const Credentials& credentials,
                             std::string_view expected_service,
                             std::chrono::system_clock::time_point now);

// The error type AWS answers for a failed check (IncompleteSignatureException,
// UnrecognizedClientException, InvalidSignatureException, MissingAuthenticationTokenException).
std::string_view signature_error_type(SignatureCheck check);

} // namespace wisp::aws
