#pragma once
// From a function's output to the client's HTTP response, as API Gateway maps it.
//
// Payload 1.0 (REST, HTTP API 1.0): the output must be a JSON object with an integer
// statusCode (100–599; a string of digits is accepted), optional `headers` (scalars),
// `multiValueHeaders` (arrays of scalars; a key-value pair given in both appears once),
// `body` (a string or null) and `isBase64Encoded` (a boolean); anything else is malformed
// (REST answers 502, HTTP APIs 500). REST decodes a base64 body only when the client's first
// Accept type matches binaryMediaTypes; HTTP APIs whenever `isBase64Encoded` is true.
// REST adds `Content-Type: application/json` when the function sets none.
// Payload 2.0: an object with `statusCode` is read as above plus `cookies` (each a
// Set-Cookie); any other valid JSON is the body of a 200 application/json response (a JSON
// string: its text). Unknown keys are ignored.
// Headers the gateway owns (Connection, Content-Length, Date, Server, Transfer-Encoding and,
// on REST, WWW-Authenticate) are passed as X-Amzn-Remapped-<name> on REST and dropped on
// HTTP APIs; CR/LF inside a value become spaces.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wisp::gateway {

struct MappedResponse {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  void clear() {
    status = 200;
    headers.clear();
    body.clear();
  }
  [[nodiscard]] bool has_header(std::string_view name) const;
};

// REST and HTTP API payload 1.0. `rest_binary_accept`: REST only — the request's first Accept
// type matches the API's binaryMediaTypes. False when the output is malformed.
bool map_v1_response(std::string_view output, bool rest, bool rest_binary_accept,
                     MappedResponse& out);

// HTTP API payload 2.0. False when the output is not valid JSON or a malformed response.
bool map_v2_response(std::string_view output, MappedResponse& out);

} // namespace wisp::gateway
