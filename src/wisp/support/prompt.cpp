#include <wisp/support/prompt.hpp>

#include <wisp/support/strings.hpp>
#include <wisp/support/terminal.hpp>

#include <fmt/format.h>

#include <charconv>
#include <istream>
#include <ostream>

namespace wisp::support {

Prompter::Prompter(std::istream& in, std::ostream& out, bool color)
    : m_in(in), m_out(out), m_color(color) {}

Result<std::string> Prompter::read_answer() {
  m_out.flush();
  std::string line;
  if (!std::getline(m_in, line)) {
    m_out << '\n';
    m_out.flush();
    return fail("no answer: end of input");
  }
  return std::string(trim(line));
}

Result<std::string> Prompter::ask(std::string_view question, std::string_view default_value,
                                  const std::function<Status(std::string_view)>& check) {
  const Style style(m_color);
  while (true) {
    m_out << style.bold(question);
    if (!default_value.empty())
      m_out << ' ' << style.dim(fmt::format("[{}]", default_value));
    m_out << ": ";
    WISP_TRY_ASSIGN(auto answer, read_answer());
    if (answer.empty()) {
      if (default_value.empty()) {
        m_out << "  an answer is required\n";
        continue;
      }
      answer = std::string(default_value);
    }
    if (check) {
      if (auto checked = check(answer); !checked) {
        m_out << "  " << style.red(checked.error().message) << '\n';
        continue;
      }
    }
    return answer;
  }
}

Result<std::string> Prompter::choose(std::string_view question, std::span<const Choice> options,
                                     std::size_t default_index) {
  const Style style(m_color);
  if (options.empty())
    return fail("nothing to choose from");
  if (default_index >= options.size())
    default_index = 0;
  m_out << style.bold(question) << '\n';
  for (std::size_t i = 0; i < options.size(); ++i) {
    m_out << fmt::format("  {:>2} - {}", i + 1, options[i].value);
    if (!options[i].note.empty())
      m_out << ' ' << style.dim(options[i].note);
    m_out << '\n';
  }
  while (true) {
    m_out << style.bold("Choice") << ' ' << style.dim(fmt::format("[{}]", default_index + 1))
          << ": ";
    WISP_TRY_ASSIGN(const auto answer, read_answer());
    if (answer.empty())
      return options[default_index].value;
    std::size_t number = 0;
    const auto* end = answer.data() + answer.size();
    const auto [ptr, ec] = std::from_chars(answer.data(), end, number);
    if (ec == std::errc() && ptr == end) {
      if (number >= 1 && number <= options.size())
        return options[number - 1].value;
    } else {
      for (const auto& option : options)
        if (option.value == answer)
          return option.value;
    }
    m_out << "  "
          << style.red(fmt::format("'{}' is not one of the choices: enter 1 to {}", answer,
                                   options.size()))
          << '\n';
  }
}

} // namespace wisp::support
