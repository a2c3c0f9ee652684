#pragma once
// AWS Signature Version 4 (AWS4-HMAC-SHA256 in the Authorization header).
//
// The caller gives the request as it will be sent: method, the path exactly as it appears
// in the URL (already percent-encoded), the raw query parameters, every header to sign
// (including `host`, and `x-amz-date` is added when missing), and the hex SHA-256 of the
// payload. `sign` returns the headers to add. Non-S3 services encode the path a second
// time and normalise it (RFC 3986 dot segments, repeated slashes), as AWS specifies; S3
// uses the path as sent.

#include <wisp/aws/config.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wisp::aws {

struct SigningRequest {
  std::string method;                                       // GET, PUT, ...
  std::string path;                                         // as in the URL, e.g. "/a%20b"
  std::vector<std::pair<std::string, std::string>> query;   // raw (not encoded) pairs
  std::vector<std::pair<std::string, std::string>> headers; // name, value (any case)
  std::string payload_sha256;                               // hex
};

struct SigningScope {
  std::string region;
  std::string service;  // signing name: s3, lambda, apigateway, logs, monitoring, iam, sts
  std::string amz_date; // YYYYMMDDTHHMMSSZ
};

struct SignedRequest {
  std::vector<std::pair<std::string, std::string>> add_headers; // x-amz-date, token, Authorization
  std::string canonical_request; // for tests and --debug (contains no secret)
  std::string string_to_sign;
  std::string signature;
};

SignedRequest sign(const SigningRequest& request, const Credentials& credentials,
                   const SigningScope& scope);

// The canonical query string: pairs URI-encoded, sorted by key then value.
std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query);

// "YYYYMMDDTHHMMSSZ" for a point in time (UTC).
std::string amz_date(std::chrono::system_clock::time_point when);

} // namespace wisp::aws
