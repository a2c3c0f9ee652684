// Recursive loop detection's lineage in the trace header (lineage.hpp).

#include <wisp/runtime/lineage.hpp>

#include <fmt/format.h>

#include <charconv>
#include <cstdint>

namespace wisp::runtime {

namespace {

// The Lineage field's value and where it sits in the header; npos when there is none.
struct Field {
  std::size_t begin = std::string_view::npos; // of the value
  std::size_t end = std::string_view::npos;
};

Field lineage_field(std::string_view header) {
  std::size_t pos = 0;
  while (pos <= header.size()) {
    auto end = header.find(';', pos);
    if (end == std::string_view::npos)
      end = header.size();
    auto part = header.substr(pos, end - pos);
    while (!part.empty() && part.front() == ' ') {
      part.remove_prefix(1);
      ++pos;
    }
    if (part.starts_with("Lineage="))
      return {pos + 8, end};
    pos = end + 1;
  }
  return {};
}

// One entry, "[version:]hash:count": its hash and count (-1 if unreadable).
std::pair<std::string_view, int> entry_of(std::string_view entry) {
  const auto last = entry.rfind(':');
  if (last == std::string_view::npos)
    return {{}, -1};
  const auto count_text = entry.substr(last + 1);
  auto hash = entry.substr(0, last);
  if (const auto first = hash.rfind(':'); first != std::string_view::npos)
    hash = hash.substr(first + 1);
  int count = -1;
  const auto* end = count_text.data() + count_text.size();
  if (std::from_chars(count_text.data(), end, count).ptr != end)
    count = -1;
  return {hash, count};
}

} // namespace

std::string lineage_hash(std::string_view function_arn) {
  std::uint32_t hash = 2166136261u; // FNV-1a
  for (const char c : function_arn) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  return fmt::format("{:08x}", hash);
}

int lineage_count(std::string_view trace_header, std::string_view hash) {
  const auto field = lineage_field(trace_header);
  if (field.begin == std::string_view::npos)
    return -1;
  auto value = trace_header.substr(field.begin, field.end - field.begin);
  while (!value.empty()) {
    const auto bar = value.find('|');
    const auto [entry_hash, count] = entry_of(value.substr(0, bar));
    if (entry_hash == hash && count >= 0)
      return count;
    if (bar == std::string_view::npos)
      break;
    value.remove_prefix(bar + 1);
  }
  return -1;
}

std::string with_lineage(std::string_view trace_header, std::string_view hash, int count) {
  const auto entry = fmt::format("1:{}:{}", hash, count);
  const auto field = lineage_field(trace_header);
  if (field.begin == std::string_view::npos) {
    std::string out(trace_header);
    if (!out.empty() && out.back() != ';')
      out += ';';
    return out + "Lineage=" + entry;
  }
  // Keep the other functions' entries, drop this one's, add it again at the end.
  std::string value;
  auto rest = trace_header.substr(field.begin, field.end - field.begin);
  while (!rest.empty()) {
    const auto bar = rest.find('|');
    const auto item = rest.substr(0, bar);
    if (!item.empty() && entry_of(item).first != hash) {
      value.append(item);
      value += '|';
    }
    if (bar == std::string_view::npos)
      break;
    rest.remove_prefix(bar + 1);
  }
  value += entry;
  std::string out(trace_header.substr(0, field.begin));
  out += value;
  out.append(trace_header.substr(field.end));
  return out;
}

} // namespace wisp::runtime
