#pragma once
// Terminal output: whether to colour, ANSI styles that vanish when colour is off, and a
// progress line that redraws in place on a TTY and prints plain lines otherwise.

#include <cstdio>
#include <string>
#include <string_view>

namespace wisp::support {

enum class ColorMode { automatic, always, never };

// "auto" | "always" | "never"; anything else is automatic.
ColorMode parse_color_mode(std::string_view text);

bool is_tty(int fd);

// Colour for `fd` under `mode`: `always`/`never` win; `automatic` colours a TTY unless
// NO_COLOR is set or TERM is "dumb".
bool use_color(ColorMode mode, int fd);

class Style {
public:
  explicit Style(bool enabled) : m_enabled(enabled) {}
  [[nodiscard]] bool enabled() const { return m_enabled; }
  [[nodiscard]] std::string bold(std::string_view s) const { return wrap("1", s); }
  [[nodiscard]] std::string dim(std::string_view s) const { return wrap("2", s); }
  [[nodiscard]] std::string red(std::string_view s) const { return wrap("31", s); }
  [[nodiscard]] std::string green(std::string_view s) const { return wrap("32", s); }
  [[nodiscard]] std::string yellow(std::string_view s) const { return wrap("33", s); }
  [[nodiscard]] std::string blue(std::string_view s) const { return wrap("34", s); }
  [[nodiscard]] std::string magenta(std::string_view s) const { return wrap("35", s); }
  [[nodiscard]] std::string cyan(std::string_view s) const { return wrap("36", s); }
  [[nodiscard]] std::string red_bold(std::string_view s) const { return wrap("1;31", s); }
  [[nodiscard]] std::string green_bold(std::string_view s) const { return wrap("1;32", s); }
  [[nodiscard]] std::string yellow_bold(std::string_view s) const { return wrap("1;33", s); }
  [[nodiscard]] std::string cyan_bold(std::string_view s) const { return wrap("1;36", s); }
  // An SGR code chosen by the caller, e.g. "38;5;208".
  [[nodiscard]] std::string code(std::string_view sgr, std::string_view s) const {
    return wrap(sgr, s);
  }

private:
  [[nodiscard]] std::string wrap(std::string_view sgr, std::string_view s) const;
  bool m_enabled;
};

// Where a command writes: results to stdout, messages to stderr, each coloured or not.
struct Console {
  bool color_out = false;
  bool color_err = false;
  bool debug = false;
  bool json = false; // --output json

  [[nodiscard]] Style out_style() const { return Style(color_out); }
  [[nodiscard]] Style err_style() const { return Style(color_err); }

  void out(std::string_view text) const;          // stdout, as is
  void err(std::string_view text) const;          // stderr, as is
  void error(std::string_view message) const;     // "error: message\n" on stderr
  void warning(std::string_view message) const;   // "warning: message\n" on stderr
  void info(std::string_view message) const;      // message + "\n" on stderr
  void debug_log(std::string_view message) const; // only with --debug
};

// A progress line for long work. On a TTY it redraws one line in place; otherwise each
// update() that changes the text prints a line (so logs stay readable), and nothing is
// printed with `quiet`.
class Progress {
public:
  Progress(std::FILE* stream, bool tty, bool quiet = false);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(std::string_view text);
  void finish(std::string_view final_text = {});

private:
  std::FILE* m_stream;
  bool m_tty;
  bool m_quiet;
  bool m_active = false;
  std::string m_last;
};

} // namespace wisp::support
