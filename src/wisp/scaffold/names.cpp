#include <wisp/scaffold/names.hpp>

#include <fmt/format.h>

namespace wisp::scaffold {

namespace {

bool allowed(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// The name as shown in messages: control and non-ASCII bytes escaped, long names cut.
std::string shown(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 80)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f || c == '\'' || c == '\\')
      out += fmt::format("\\x{:02x}", byte);
    else
      out += c;
  }
  if (text.size() > 80)
    out += "...";
  return out;
}

// The character at `pos` as shown in messages (a whole UTF-8 sequence when it is one).
std::string char_at(std::string_view text, std::size_t pos) {
  const auto byte = static_cast<unsigned char>(text[pos]);
  if (byte >= 0x20 && byte < 0x7f)
    return fmt::format("'{}'", text[pos]);
  std::size_t length = 1;
  if (byte >= 0xc0) {
    length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
    for (std::size_t i = 1; i < length; ++i) {
      if (pos + i >= text.size() || (static_cast<unsigned char>(text[pos + i]) & 0xc0u) != 0x80u) {
        length = 1;
        break;
      }
    }
  }
  if (length > 1)
    return fmt::format("'{}'", text.substr(pos, length));
  return fmt::format("byte 0x{:02x}", byte);
}

support::Status invalid(std::string_view name, std::string reason) {
  return support::fail(fmt::format("invalid name '{}': {}", shown(name), reason),
                       support::ExitCode::usage);
}

} // namespace

support::Status validate_name(std::string_view name) {
  if (name.empty())
    return invalid(name, "a name cannot be empty");
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!allowed(name[i]))
      return invalid(name, fmt::format("{} is not allowed (use letters, digits, '-' and '_')",
                                       char_at(name, i)));
  }
  if (name.size() > k_max_name_length)
    return invalid(
        name, fmt::format("{} characters, at most {} are allowed", name.size(), k_max_name_length));
  if (name.front() == '-')
    return invalid(name, "a name cannot start with '-'");
  return {};
}

std::string stack_name_for(std::string_view name) {
  std::string out;
  if (name.empty() || !letter(name.front()))
    out = "app-";
  for (const char c : name)
    out += c == '_' ? '-' : c;
  return out;
}

} // namespace wisp::scaffold
