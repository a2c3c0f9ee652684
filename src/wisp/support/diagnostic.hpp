#pragma once
// Diagnostics: a problem at a position in a file, collected in a list so that one run
// reports every problem. Printed as `file:line:col: error: message [code]`.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::support {

enum class Severity { error, warning, note };

std::string_view to_string(Severity severity);

struct Diagnostic {
  std::string file; // as the user named it; empty when no file is involved
  int line = 0;     // 1-based; 0 when unknown
  int column = 0;   // 1-based; 0 when unknown
  Severity severity = Severity::error;
  std::string code; // stable identifier, e.g. "yaml-syntax" or "W2001"
  std::string message;
};

// `file:line:col: ` (only the parts that are known), then `severity: message [code]`.
std::string format_plain(const Diagnostic& diagnostic);

class Diagnostics {
public:
  void add(Diagnostic diagnostic) { m_items.push_back(std::move(diagnostic)); }
  void error(std::string file, int line, int column, std::string code, std::string message);
  void warning(std::string file, int line, int column, std::string code, std::string message);
  void append(const Diagnostics& other);

  [[nodiscard]] bool has_errors() const;
  [[nodiscard]] std::size_t error_count() const;
  [[nodiscard]] std::size_t warning_count() const;
  [[nodiscard]] bool empty() const { return m_items.empty(); }
  [[nodiscard]] std::size_t size() const { return m_items.size(); }
  [[nodiscard]] const std::vector<Diagnostic>& items() const { return m_items; }
  std::vector<Diagnostic>& items() { return m_items; }

  // Stable order: by file, line, column, then insertion order.
  void sort();

private:
  std::vector<Diagnostic> m_items;
};

struct RenderOptions {
  bool color = false;       // ANSI colours
  bool show_source = false; // the source line and a caret under the column
};

// Renders one diagnostic; `source` is the text of the diagnostic's file (may be empty).
std::string render(const Diagnostic& diagnostic, const RenderOptions& options,
                   std::string_view source = {});

// JSON array of diagnostics:
// [{"file":..,"line":..,"column":..,"severity":..,"code":..,"message":..}]
std::string to_json(const std::vector<Diagnostic>& diagnostics);

} // namespace wisp::support
