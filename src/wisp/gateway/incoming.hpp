#pragma once
// A request a door received, as SigV4 verification reads it (aws/sigv4_verify.hpp): IAM-authorized
// routes, AWS_IAM function URLs, WebSocket `$connect` and the `@connections` management API.

#include <wisp/aws/sigv4_verify.hpp>
#include <wisp/gateway/door.hpp>

#include <string_view>

namespace wisp::gateway {

// Views into the exchange's request and parser: valid while `ex` is.
inline aws::IncomingRequest incoming_request(const Exchange& ex) {
  aws::IncomingRequest incoming;
  incoming.method = ex.request.method;
  incoming.raw_path = ex.request.raw_path;
  incoming.raw_query = ex.request.raw_query;
  for (const auto& field : ex.parser->get())
    incoming.headers.emplace_back(
        std::string_view(field.name_string().data(), field.name_string().size()),
        std::string_view(field.value().data(), field.value().size()));
  incoming.body = ex.request.body;
  return incoming;
}

} // namespace wisp::gateway
