#pragma once
// Schedule expressions as EventBridge rules (`Schedule` events) and EventBridge Scheduler
// (`ScheduleV2` events) read them, and when they fire.
//
// Contract
// - `parse` accepts exactly what the services document: cron(minutes hours day-of-month month
//   day-of-week year) with `, - * /` in every field, `?` and `L` in day-of-month and
//   day-of-week, `W` in day-of-month, `#` in day-of-week, exactly one of the two day fields
//   `?`; rate(value unit) with a positive integer and minute|minutes|hour|hours|day|days,
//   singular exactly when the value is 1; and, for Scheduler only, at(yyyy-mm-ddThh:mm:ss).
//   A refused expression comes back with the offset of the offending part and a message.
// - Cron and at() are evaluated in a time zone (IANA name, UTC for rules), following its
//   daylight-saving rules as Scheduler does: a time that does not exist (spring forward) is
//   skipped; a time that happens twice (fall back) fires once, the first time.
// - `next(after)` is the first fire time strictly after `after` (nullopt when there is none:
//   an at() in the past, a cron whose years are over). Rates repeat every `rate()` from an
//   anchor the caller chooses (when the schedule starts).

#include <tl/expected.hpp>

#include <bitset>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::events {

using TimePoint = std::chrono::system_clock::time_point;

// An IANA time zone (tzdata). Cheap to copy.
class TimeZone {
public:
  TimeZone(); // UTC
  // nullopt when the name is not a zone tzdata knows.
  static std::optional<TimeZone> load(const std::string& name);
  [[nodiscard]] const std::string& name() const { return m_name; }

  struct Impl;
  [[nodiscard]] const Impl& impl() const { return *m_impl; }

private:
  std::shared_ptr<const Impl> m_impl;
  std::string m_name = "UTC";
};

struct ExpressionError {
  std::size_t offset = 0; // where in the expression the problem starts (0-based)
  std::string message;
};

class ScheduleExpression {
public:
  enum class Kind : std::uint8_t { cron, rate, at };

  // `scheduler`: EventBridge Scheduler's grammar (at() allowed); else a rule's.
  static tl::expected<ScheduleExpression, ExpressionError> parse(std::string_view text,
                                                                 bool scheduler);

  [[nodiscard]] Kind kind() const { return m_kind; }
  [[nodiscard]] const std::string& text() const { return m_text; }
  [[nodiscard]] std::chrono::seconds rate() const { return m_rate; } // rate() only

  // The first time after `after` this expression fires in `zone`. Rates: `anchor` + k·rate
  // (k ≥ 0) strictly after `after`.
  [[nodiscard]] std::optional<TimePoint> next(TimePoint after, const TimeZone& zone,
                                              TimePoint anchor = {}) const;

  // A cron field: each entry a value, or for the day fields a special form.
  struct Field {
    std::bitset<256> bits; // allowed values (bit v; years as v − 1970)
    bool any = false;      // `*` or `?`
    bool question = false; // `?`
    // Day-of-month specials: last day (L), last weekday (LW), nearest weekday to day (nW).
    // Day-of-week specials: last <weekday> of the month (nL), <weekday>#<n>.
    enum class Special : std::uint8_t {
      none,
      last_day,
      last_weekday,
      nearest_weekday,
      last_of_week,
      nth_of_week
    };
    Special special = Special::none;
    int value = 0; // the day or weekday a special refers to
    int nth = 0;   // for # (1–5)
  };

private:
  [[nodiscard]] bool day_matches(int year, int month, int day) const;
  [[nodiscard]] bool date_matches(int year, int month, int day) const;

  Kind m_kind = Kind::cron;
  std::string m_text;
  std::chrono::seconds m_rate{0};
  Field m_minutes, m_hours, m_dom, m_month, m_dow, m_year;
  // at(): the civil time.
  int m_at[6] = {0, 0, 0, 0, 0, 0};
};

// "2026-11-23T12:00:00Z" (whole seconds, as EventBridge writes event times).
std::string format_event_time(TimePoint time);

} // namespace wisp::events
