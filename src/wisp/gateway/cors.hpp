#pragma once
// CORS as API Gateway does it (docs/local-api.md).
// REST `Cors`: SAM adds a MOCK OPTIONS method to every resource path; it answers 200 with
// Access-Control-Allow-Origin (as configured), -Allow-Methods (as configured, else the path's
// methods plus OPTIONS, or all methods for ANY, sorted), -Allow-Headers, -Max-Age and
// -Allow-Credentials when configured. Actual responses carry only what the function returns.
// HTTP API `CorsConfiguration`: API Gateway answers preflight requests (OPTIONS with Origin and
// Access-Control-Request-Method) with 204, and for an allowed Origin adds
// Access-Control-Allow-Origin / -Allow-Credentials / -Expose-Headers to actual responses,
// ignoring the CORS headers the function returns.

#include <wisp/gateway/event.hpp>
#include <wisp/gateway/response.hpp>
#include <wisp/template/model.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace wisp::gateway {

// REST: the MOCK preflight response for a path whose route methods are `path_methods`.
void rest_preflight(const sam::Cors& cors, const std::vector<std::string>& path_methods,
                    MappedResponse& out);

// HTTP API: whether the request is a CORS preflight.
bool is_preflight(const Request& request);
// HTTP API: whether `origin` is allowed ("*" allows any).
bool origin_allowed(const sam::Cors& cors, std::string_view origin);
// HTTP API: the preflight response (204; CORS headers only for an allowed origin).
void http_preflight(const sam::Cors& cors, const Request& request, MappedResponse& out);
// HTTP API: drops the function's Access-Control-* headers and adds the configured ones for an
// allowed `origin` (none when the request has no Origin).
void http_apply_cors(const sam::Cors& cors, std::string_view origin, MappedResponse& out);

} // namespace wisp::gateway
