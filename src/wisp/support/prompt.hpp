#pragma once
// Interactive questions: a line with a default, or a choice from a numbered list. Questions
// are written to `out` (wisp passes stderr, so stdout stays for results) and answers read a
// line at a time from `in`. A rejected answer shows why and asks again; end of input is an
// error, never a silent default.

#include <wisp/support/error.hpp>

#include <functional>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

namespace wisp::support {

struct Choice {
  std::string value; // what choose() returns and what the user may type instead of a number
  std::string note;  // shown after the value, e.g. "(deprecated)"; may be empty
};

class Prompter {
public:
  Prompter(std::istream& in, std::ostream& out, bool color = false);

  // Asks `question`; an empty answer takes `default_value` when it is not empty. Asks again
  // while `check` (when given) rejects the answer. Surrounding whitespace is trimmed.
  Result<std::string> ask(std::string_view question, std::string_view default_value,
                          const std::function<Status(std::string_view)>& check = {});

  // Lists `options` numbered from 1 and asks for a number or a value; an empty answer takes
  // options[default_index]. `options` must not be empty.
  Result<std::string> choose(std::string_view question, std::span<const Choice> options,
                             std::size_t default_index = 0);

private:
  Result<std::string> read_answer();

  std::istream& m_in;
  std::ostream& m_out;
  bool m_color;
};

} // namespace wisp::support
