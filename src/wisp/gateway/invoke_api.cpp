#include <wisp/gateway/invoke_api.hpp>
#include <wisp/gateway/text.hpp>

#include <boost/crc.hpp>

#include <vector>

namespace wisp::gateway {

namespace {

std::vector<std::string_view> split_colons(std::string_view text) {
  std::vector<std::string_view> parts;
  while (true) {
    const auto colon = text.find(':');
    parts.push_back(text.substr(0, colon));
    if (colon == std::string_view::npos)
      break;
    text.remove_prefix(colon + 1);
  }
  return parts;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 140)
    return false;
  for (const char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.'))
      return false;
  return true;
}

bool valid_qualifier(std::string_view qualifier) {
  if (qualifier == "$LATEST")
    return true;
  return valid_name(qualifier) && qualifier.size() <= 128;
}

} // namespace

std::optional<FunctionReference> parse_function_reference(std::string_view text) {
  const auto parts = split_colons(text);
  FunctionReference ref;
  if (parts.size() == 1) {
    ref.name = std::string(parts[0]);
  } else if (parts.size() == 2) {
    ref.name = std::string(parts[0]);
    ref.qualifier = std::string(parts[1]);
  } else if (parts.size() >= 3 && parts[0] == "arn") {
    // arn:aws:lambda:region:account:function:name[:qualifier]
    if (parts.size() < 7 || parts.size() > 8 || parts[2] != "lambda" || parts[5] != "function")
      return std::nullopt;
    ref.name = std::string(parts[6]);
    if (parts.size() == 8)
      ref.qualifier = std::string(parts[7]);
  } else if (parts.size() >= 3 && parts[1] == "function") {
    // account:function:name[:qualifier]
    if (parts.size() > 4)
      return std::nullopt;
    ref.name = std::string(parts[2]);
    if (parts.size() == 4)
      ref.qualifier = std::string(parts[3]);
  } else {
    return std::nullopt;
  }
  if (!valid_name(ref.name))
    return std::nullopt;
  if (parts.size() > 1 && !ref.qualifier.empty() && !valid_qualifier(ref.qualifier))
    return std::nullopt;
  if ((parts.size() == 2 || parts.size() == 4 || parts.size() == 8) && ref.qualifier.empty())
    return std::nullopt;
  return ref;
}

std::optional<std::string> invocation_function(std::string_view raw_path) {
  return invocation_function(raw_path, "/2015-03-31/functions/", "/invocations");
}

std::optional<std::string> streaming_invocation_function(std::string_view raw_path) {
  return invocation_function(raw_path, "/2021-11-15/functions/", "/response-streaming-invocations");
}

std::optional<std::string> invocation_function(std::string_view raw_path, std::string_view prefix,
                                               std::string_view suffix) {
  if (!raw_path.starts_with(prefix))
    return std::nullopt;
  raw_path.remove_prefix(prefix.size());
  if (raw_path.ends_with('/'))
    raw_path.remove_suffix(1);
  if (!raw_path.ends_with(suffix))
    return std::nullopt;
  raw_path.remove_suffix(suffix.size());
  // A nested stack's function may be named by its full path ("Child/Function"), raw or
  // percent-encoded, as SAM CLI's start-lambda accepts; never an empty segment.
  if (raw_path.empty() || raw_path.starts_with('/') ||
      raw_path.find("//") != std::string_view::npos)
    return std::nullopt;
  return percent_decoded(raw_path, false);
}

namespace {

void put_u32(std::string& out, std::uint32_t value) {
  out.push_back(static_cast<char>((value >> 24) & 0xff));
  out.push_back(static_cast<char>((value >> 16) & 0xff));
  out.push_back(static_cast<char>((value >> 8) & 0xff));
  out.push_back(static_cast<char>(value & 0xff));
}

std::uint32_t crc32_of(std::string_view bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

} // namespace

void append_event_message(std::string& out, std::string_view event_type,
                          std::string_view content_type, std::string_view payload) {
  std::string headers;
  const auto header = [&](std::string_view name, std::string_view value) {
    headers.push_back(static_cast<char>(name.size()));
    headers.append(name);
    headers.push_back(7); // string
    headers.push_back(static_cast<char>((value.size() >> 8) & 0xff));
    headers.push_back(static_cast<char>(value.size() & 0xff));
    headers.append(value);
  };
  header(":event-type", event_type);
  header(":content-type", content_type);
  header(":message-type", "event");
  const auto start = out.size();
  const auto total = static_cast<std::uint32_t>(12 + headers.size() + payload.size() + 4);
  put_u32(out, total);
  put_u32(out, static_cast<std::uint32_t>(headers.size()));
  put_u32(out, crc32_of(std::string_view(out).substr(start, 8)));
  out.append(headers);
  out.append(payload);
  put_u32(out, crc32_of(std::string_view(out).substr(start)));
}

std::string lambda_error_body(std::string_view message) {
  std::string out = "{\"Type\":\"User\",\"Message\":";
  append_json_string(out, message);
  out.push_back('}');
  return out;
}

std::string function_not_found_message(std::string_view region, std::string_view account,
                                       std::string_view name, std::string_view qualifier) {
  std::string out = "Function not found: arn:aws:lambda:";
  out.append(region);
  out.push_back(':');
  out.append(account);
  out.append(":function:");
  out.append(name);
  if (!qualifier.empty()) {
    out.push_back(':');
    out.append(qualifier);
  }
  return out;
}

} // namespace wisp::gateway
