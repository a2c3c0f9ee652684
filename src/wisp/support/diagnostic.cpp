#include <wisp/support/diagnostic.hpp>
#include <wisp/support/terminal.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace wisp::support {

std::string_view to_string(Severity severity) {
  switch (severity) {
  case Severity::error:
    return "error";
  case Severity::warning:
    return "warning";
  case Severity::note:
    return "note";
  }
  return "error";
}

namespace {

std::string location_prefix(const Diagnostic& d) {
  if (d.file.empty())
    return {};
  if (d.line <= 0)
    return d.file + ": ";
  if (d.column <= 0)
    return fmt::format("{}:{}: ", d.file, d.line);
  return fmt::format("{}:{}:{}: ", d.file, d.line, d.column);
}

// The 1-based line `line` of `text`, without its newline.
std::string_view nth_line(std::string_view text, int line) {
  std::size_t start = 0;
  for (int i = 1; i < line; ++i) {
    const auto nl = text.find('\n', start);
    if (nl == std::string_view::npos)
      return {};
    start = nl + 1;
  }
  auto end = text.find('\n', start);
  if (end == std::string_view::npos)
    end = text.size();
  auto result = text.substr(start, end - start);
  if (!result.empty() && result.back() == '\r')
    result.remove_suffix(1);
  return result;
}

} // namespace

std::string format_plain(const Diagnostic& d) {
  std::string out = location_prefix(d);
  out += to_string(d.severity);
  out += ": ";
  out += d.message;
  if (!d.code.empty())
    out += fmt::format(" [{}]", d.code);
  return out;
}

void Diagnostics::error(std::string file, int line, int column, std::string code,
                        std::string message) {
  add({std::move(file), line, column, Severity::error, std::move(code), std::move(message)});
}

void Diagnostics::warning(std::string file, int line, int column, std::string code,
                          std::string message) {
  add({std::move(file), line, column, Severity::warning, std::move(code), std::move(message)});
}

void Diagnostics::append(const Diagnostics& other) {
  m_items.insert(m_items.end(), other.m_items.begin(), other.m_items.end());
}

bool Diagnostics::has_errors() const {
  return error_count() > 0;
}

std::size_t Diagnostics::error_count() const {
  return static_cast<std::size_t>(std::count_if(
      m_items.begin(), m_items.end(), [](const auto& d) { return d.severity == Severity::error; }));
}

std::size_t Diagnostics::warning_count() const {
  return static_cast<std::size_t>(std::count_if(m_items.begin(), m_items.end(), [](const auto& d) {
    return d.severity == Severity::warning;
  }));
}

void Diagnostics::sort() {
  std::stable_sort(m_items.begin(), m_items.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.file != b.file)
      return a.file < b.file;
    if (a.line != b.line)
      return a.line < b.line;
    return a.column < b.column;
  });
}

std::string render(const Diagnostic& d, const RenderOptions& options, std::string_view source) {
  const Style style(options.color);
  std::string out = style.bold(location_prefix(d));
  switch (d.severity) {
  case Severity::error:
    out += style.red_bold("error:");
    break;
  case Severity::warning:
    out += style.yellow_bold("warning:");
    break;
  case Severity::note:
    out += style.cyan_bold("note:");
    break;
  }
  out += ' ';
  out += d.message;
  if (!d.code.empty())
    out += style.dim(fmt::format(" [{}]", d.code));
  out += '\n';
  if (options.show_source && d.line > 0 && !source.empty()) {
    const auto text = nth_line(source, d.line);
    if (!text.empty()) {
      out += fmt::format("{:>5} | {}\n", d.line, text);
      if (d.column > 0) {
        std::string pad;
        // Keep tabs so the caret lines up under tab-indented text.
        for (std::size_t i = 0; i + 1 < static_cast<std::size_t>(d.column) && i < text.size(); ++i)
          pad += text[i] == '\t' ? '\t' : ' ';
        out += fmt::format("      | {}{}\n", pad, style.green_bold("^"));
      }
    }
  }
  return out;
}

std::string to_json(const std::vector<Diagnostic>& diagnostics) {
  boost::json::array array;
  array.reserve(diagnostics.size());
  for (const auto& d : diagnostics) {
    boost::json::object o;
    o["file"] = d.file;
    o["line"] = d.line;
    o["column"] = d.column;
    o["severity"] = std::string(to_string(d.severity));
    o["code"] = d.code;
    o["message"] = d.message;
    array.emplace_back(std::move(o));
  }
  return boost::json::serialize(array);
}

} // namespace wisp::support
