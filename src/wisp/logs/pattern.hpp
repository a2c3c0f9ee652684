#pragma once
// CloudWatch Logs filter patterns (metric filters, subscription filters, FilterLogEvents),
// parsed and evaluated by wisp. `wisp logs --local` filters the local log store with it;
// for remote logs the pattern is checked here (so a malformed one is a clear error before
// any request) and then passed to CloudWatch, which evaluates it.
//
// Forms (docs/logs.md has the full rules and where wisp had to choose):
//   ""  or blanks              every event
//   ERROR "two words" -x ?y    terms: substring matches, case-sensitive; bare terms are
//                              letters, digits and '_', anything else is quoted
//   %regex%                    CloudWatch's regex subset (no parentheses), unanchored
//   { $.a.b[0] = "v*" && ... } JSON: = != < > <= >=, IS NULL, NOT EXISTS, IS TRUE/FALSE,
//                              && over ||, parentheses, leading/trailing '*' wildcards
//   [ip, user, ..., code=5*]   space-delimited fields with conditions (&&, ||)
//
// Contract: parse() never throws and never accepts what it cannot evaluate; a malformed
// pattern is an error naming the column and what was expected. matches() runs in time
// linear in the message for every form except space-delimited patterns with several
// '...' (polynomial, bounded by the number of fields).

#include <wisp/support/error.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::logs {

enum class PatternKind { all, terms, regex, json, space_delimited };

class FilterPattern {
public:
  // An empty pattern: matches every event.
  FilterPattern();
  static support::Result<FilterPattern> parse(std::string_view text);

  [[nodiscard]] bool matches(std::string_view message) const;
  [[nodiscard]] PatternKind kind() const;
  [[nodiscard]] const std::string& text() const;
  // Terms every matching message contains (plain terms and phrases of a terms pattern; empty
  // for other kinds): lets a reader skip text that cannot match without parsing it.
  [[nodiscard]] const std::vector<std::string>& required_terms() const;

  struct Impl;

private:
  std::shared_ptr<const Impl> m_impl;
};

} // namespace wisp::logs
