#pragma once
// EventBridge event patterns — the syntax of EventBridge rules and of Lambda's FilterCriteria.
//
// Contract
// - `parse` checks the pattern as EventBridge does when a rule or mapping is created: an
//   object whose leaves are arrays of matchers: literals (string, number, boolean, null) and
//   {"prefix"}, {"suffix"} (both also with {"equals-ignore-case": ..}), {"anything-but"}
//   (a value, a list, or {"prefix"|"suffix"|"equals-ignore-case"|"wildcard": ..}),
//   {"numeric": [op, n(, op, n)]}, {"exists": bool}, {"cidr": "a.b.c.d/n"},
//   {"equals-ignore-case"}, {"wildcard"}; and "$or": [pattern, ...]. Anything else is
//   refused with a message naming the path.
// - `matches` decides as EventBridge does: every key of the pattern must match; a leaf
//   matches when any matcher matches the event's value (any element when the value is an
//   array); {"exists": false} matches a missing field; anything-but never matches a
//   missing field. Literal numbers match numbers of the same value (integers and decimals
//   are told apart, as Lambda compares them by their text).

#include <boost/json/value.hpp>
#include <tl/expected.hpp>

#include <string>
#include <string_view>

namespace wisp::events {

class EventPattern {
public:
  EventPattern() = default; // matches everything
  static tl::expected<EventPattern, std::string> parse(std::string_view json_text);
  static tl::expected<EventPattern, std::string> from_json(const boost::json::value& pattern);

  [[nodiscard]] bool matches(const boost::json::value& event) const;
  [[nodiscard]] const boost::json::value& json() const { return m_pattern; }
  [[nodiscard]] bool empty() const;

private:
  boost::json::value m_pattern; // an object once parsed
};

} // namespace wisp::events
