#pragma once
// Which files of a code directory stay out of an artifact: wisp's fixed exclusions and the
// patterns of a `.wispignore` file, in gitignore syntax (`#` comments, `!` negation,
// trailing `/` for directories only, a `/` elsewhere anchors the pattern to the
// directory of the `.wispignore`, `*`, `?`, `[...]`, `**`; the last matching pattern
// wins; a directory that is excluded is not descended into, so nothing below it can be
// re-included).

#include <wisp/support/error.hpp>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::artifact {

// Always excluded: .git, .wisp, .aws-sam, __pycache__, *.pyc, .DS_Store, .wispignore.
inline constexpr std::string_view k_ignore_file = ".wispignore";

class IgnoreRules {
public:
  // Only wisp's fixed exclusions.
  static IgnoreRules defaults();
  // The fixed exclusions, then `dir/.wispignore` when it exists.
  static support::Result<IgnoreRules> for_directory(const std::filesystem::path& dir);

  // Adds one line of gitignore syntax (blank lines and comments are ignored).
  void add(std::string_view line);
  // Adds every line of `text`.
  void add_lines(std::string_view text);

  // `relative` uses '/' separators and no leading "./"; `is_dir` for directories.
  [[nodiscard]] bool excluded(std::string_view relative, bool is_dir) const;

  // The rules in a canonical text form (part of build cache keys).
  [[nodiscard]] std::string fingerprint() const;

private:
  struct Rule {
    std::vector<std::string> segments; // split on '/'; "**" is its own segment
    bool negated = false;
    bool dir_only = false;
    bool anchored = false; // matched against the whole path, else against the last name
    std::string text;
  };
  std::vector<Rule> m_rules;
};

} // namespace wisp::artifact
