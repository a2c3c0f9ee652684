#include <wisp/support/terminal.hpp>

#include <fmt/format.h>

#include <cstdlib>
#include <unistd.h>

namespace wisp::support {

ColorMode parse_color_mode(std::string_view text) {
  if (text == "always")
    return ColorMode::always;
  if (text == "never")
    return ColorMode::never;
  return ColorMode::automatic;
}

bool is_tty(int fd) {
  return ::isatty(fd) == 1;
}

bool use_color(ColorMode mode, int fd) {
  switch (mode) {
  case ColorMode::always:
    return true;
  case ColorMode::never:
    return false;
  case ColorMode::automatic:
    break;
  }
  if (const char* no_color = std::getenv("NO_COLOR"); no_color != nullptr && *no_color != '\0')
    return false;
  if (const char* term = std::getenv("TERM"); term != nullptr && std::string_view(term) == "dumb")
    return false;
  return is_tty(fd);
}

std::string Style::wrap(std::string_view sgr, std::string_view s) const {
  if (!m_enabled || s.empty())
    return std::string(s);
  return fmt::format("\x1b[{}m{}\x1b[0m", sgr, s);
}

void Console::out(std::string_view text) const {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

void Console::err(std::string_view text) const {
  std::fwrite(text.data(), 1, text.size(), stderr);
}

void Console::error(std::string_view message) const {
  err(fmt::format("{} {}\n", err_style().red_bold("error:"), message));
}

void Console::warning(std::string_view message) const {
  err(fmt::format("{} {}\n", err_style().yellow_bold("warning:"), message));
}

void Console::info(std::string_view message) const {
  err(fmt::format("{}\n", message));
}

void Console::debug_log(std::string_view message) const {
  if (debug)
    err(fmt::format("{} {}\n", err_style().dim("debug:"), message));
}

Progress::Progress(std::FILE* stream, bool tty, bool quiet)
    : m_stream(stream), m_tty(tty), m_quiet(quiet) {}

Progress::~Progress() {
  if (m_active && m_tty)
    std::fputs("\n", m_stream);
}

void Progress::update(std::string_view text) {
  if (m_quiet || text == m_last)
    return;
  m_last = std::string(text);
  if (m_tty) {
    fmt::print(m_stream, "\r\x1b[2K{}", text);
    m_active = true;
  } else {
    fmt::print(m_stream, "{}\n", text);
  }
  std::fflush(m_stream);
}

void Progress::finish(std::string_view final_text) {
  if (m_quiet)
    return;
  if (m_tty) {
    if (!final_text.empty())
      fmt::print(m_stream, "\r\x1b[2K{}\n", final_text);
    else if (m_active)
      std::fputs("\n", m_stream);
  } else if (!final_text.empty()) {
    fmt::print(m_stream, "{}\n", final_text);
  }
  m_active = false;
  std::fflush(m_stream);
}

} // namespace wisp::support
