#include <wisp/artifact/ignore.hpp>

#include <wisp/support/fs.hpp>
#include <wisp/support/strings.hpp>

#include <fnmatch.h>

namespace wisp::artifact {

namespace {

// Matches path segments [si, end) against pattern segments [pi, end); "**" matches any
// number of segments (zero included).
bool match_segments(const std::vector<std::string>& pattern, std::size_t pi,
                    const std::vector<std::string_view>& path, std::size_t si) {
  while (pi < pattern.size()) {
    if (pattern[pi] == "**") {
      if (pi + 1 == pattern.size())
        return si < path.size(); // "x/**" matches what is inside x, not x
      for (std::size_t k = si; k <= path.size(); ++k)
        if (match_segments(pattern, pi + 1, path, k))
          return true;
      return false;
    }
    if (si >= path.size())
      return false;
    const std::string name(path[si]);
    if (::fnmatch(pattern[pi].c_str(), name.c_str(), 0) != 0)
      return false;
    ++pi;
    ++si;
  }
  return si == path.size();
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const auto end = slash == std::string_view::npos ? path.size() : slash;
    if (end > start)
      parts.push_back(path.substr(start, end - start));
    if (slash == std::string_view::npos)
      break;
    start = slash + 1;
  }
  return parts;
}

} // namespace

IgnoreRules IgnoreRules::defaults() {
  IgnoreRules rules;
  for (const char* line :
       {".git", ".wisp", ".aws-sam", "__pycache__/", "*.pyc", ".DS_Store", ".wispignore"})
    rules.add(line);
  return rules;
}

support::Result<IgnoreRules> IgnoreRules::for_directory(const std::filesystem::path& dir) {
  auto rules = defaults();
  const auto file = dir / std::string(k_ignore_file);
  std::error_code ec;
  if (std::filesystem::is_regular_file(file, ec)) {
    WISP_TRY_ASSIGN(auto text, support::read_file(file, 4u * 1024 * 1024));
    rules.add_lines(text);
  }
  return rules;
}

void IgnoreRules::add_lines(std::string_view text) {
  for (const auto& line : support::split(text, '\n'))
    add(line);
}

void IgnoreRules::add(std::string_view line) {
  std::string text(line);
  if (!text.empty() && text.back() == '\r')
    text.pop_back();
  // Trailing spaces are dropped unless escaped with a backslash.
  while (!text.empty() && text.back() == ' ' &&
         !(text.size() >= 2 && text[text.size() - 2] == '\\'))
    text.pop_back();
  if (text.empty() || text.front() == '#')
    return;
  Rule rule;
  rule.text = text;
  std::string_view body = text;
  if (body.front() == '!') {
    rule.negated = true;
    body.remove_prefix(1);
  } else if (body.starts_with("\\!") || body.starts_with("\\#")) {
    body.remove_prefix(1);
  }
  if (!body.empty() && body.back() == '/') {
    rule.dir_only = true;
    body.remove_suffix(1);
  }
  if (body.empty())
    return;
  // A slash at the start or in the middle anchors the pattern.
  rule.anchored = body.find('/') != std::string_view::npos;
  while (!body.empty() && body.front() == '/')
    body.remove_prefix(1);
  for (const auto part : split_path(body))
    rule.segments.emplace_back(part);
  if (rule.segments.empty())
    return;
  m_rules.push_back(std::move(rule));
}

bool IgnoreRules::excluded(std::string_view relative, bool is_dir) const {
  const auto parts = split_path(relative);
  if (parts.empty())
    return false;
  bool result = false;
  for (const auto& rule : m_rules) {
    if (rule.dir_only && !is_dir)
      continue;
    bool matched = false;
    if (rule.anchored) {
      matched = match_segments(rule.segments, 0, parts, 0);
    } else {
      const std::vector<std::string_view> last{parts.back()};
      matched = match_segments(rule.segments, 0, last, 0);
    }
    if (matched)
      result = !rule.negated;
  }
  return result;
}

std::string IgnoreRules::fingerprint() const {
  std::string text;
  for (const auto& rule : m_rules) {
    text += rule.text;
    text += '\n';
  }
  return text;
}

} // namespace wisp::artifact
