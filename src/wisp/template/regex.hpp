#pragma once
// Internal to the template area: a small regular-expression matcher for parameter
// AllowedPattern constraints. It runs in time linear in the input (a Thompson NFA, no
// backtracking), so a hostile pattern cannot hang wisp. Supported: literals, '.', classes
// ([a-z], [^...], \d \w \s \D \W \S), groups ((...), (?:...)), '|', quantifiers
// (* + ? {n} {n,} {n,m}, lazy forms accepted), '^' and '$'. Back-references and
// look-around are rejected at compile time.

#include <tl/expected.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::sam::detail {

class Regex {
public:
  static tl::expected<Regex, std::string> compile(std::string_view pattern);
  // True when the whole of `text` matches (CloudFormation's AllowedPattern semantics).
  [[nodiscard]] bool full_match(std::string_view text) const;

  struct Range {
    char32_t low;
    char32_t high;
  };
  struct Instruction {
    enum class Op : std::uint8_t { set, split, jump, match, begin, end } op;
    bool negated = false;
    std::uint32_t x = 0; // split: first branch; jump: target; set: first range
    std::uint32_t y = 0; // split: second branch; set: range count
  };

private:
  std::vector<Instruction> m_program;
  std::vector<Range> m_ranges;
  friend class RegexCompiler;
};

} // namespace wisp::sam::detail
