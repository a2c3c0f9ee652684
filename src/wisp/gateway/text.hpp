#pragma once
// Small text helpers of the local gateway: JSON string writing (valid UTF-8 guaranteed),
// percent-decoding, API Gateway's id and time formats, media-type matching. Pure, no I/O,
// allocation only into the caller's buffers.

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>

namespace wisp::gateway {

// Appends `text` as a JSON string (with quotes). Control characters are escaped; bytes
// that are not valid UTF-8 become U+FFFD, so the result is always valid JSON.
void append_json_string(std::string& out, std::string_view text);

// Percent-decodes `text` into `out` (appended). `plus_as_space`: query strings ('+' is a
// space there, not in paths). Malformed escapes ("%4", "%zz") are kept literally.
void append_percent_decoded(std::string& out, std::string_view text, bool plus_as_space);
std::string percent_decoded(std::string_view text, bool plus_as_space);

// API Gateway's request time: `21/Apr/2020:15:08:21 +0000` (UTC).
std::string format_request_time(std::int64_t epoch_ms);
// HTTP Date header value: `Tue, 21 Apr 2020 15:08:21 GMT`.
std::string format_http_date(std::int64_t epoch_seconds);

// A REST API request id (UUID v4) and an HTTP API / extended request id (15 base64url
// characters and '=' as in `LV7fzho-PHcEJPw=`).
std::string make_rest_request_id(std::mt19937_64& rng);
std::string make_short_request_id(std::mt19937_64& rng);

// A stable identifier of `length` lowercase letters and digits derived from `seed`: API ids
// (10) and resource ids (6) stay the same across restarts.
std::string stable_id(std::string_view seed, std::size_t length);

// The media type of a Content-Type / Accept entry: lower case, parameters and blanks removed
// (`Text/HTML; charset=utf-8` → `text/html`).
std::string media_type(std::string_view value);
// The first media type of an Accept header (API Gateway honours only the first).
std::string first_accept_type(std::string_view accept);
// Whether `type` (already a media type) matches one of `patterns` (binaryMediaTypes:
// `image/png`, `image/*`, `*/*`).
bool matches_media_types(std::string_view type, std::span<const std::string> patterns);
// HTTP APIs deliver a request body as text only for text/*, application/json,
// application/xml and application/javascript; everything else (and no Content-Type) is
// base64-encoded.
bool is_http_api_text_type(std::string_view content_type);

// Case-insensitive ASCII comparison.
bool iequals_ascii(std::string_view a, std::string_view b);
void append_lower(std::string& out, std::string_view text);

} // namespace wisp::gateway
