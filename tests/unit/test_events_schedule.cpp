// Schedule expressions (src/wisp/events/schedule.cpp) against the services' documentation:
// [RULES] EventBridge user guide, "Creating an Amazon EventBridge rule that runs on a
//   schedule" (cron fields, wildcards, rate units), https://docs.aws.amazon.com/eventbridge/
//   latest/userguide/eb-scheduled-rule-pattern.html
// [SCHED] EventBridge Scheduler user guide, "Schedule types" (at(), time zones, daylight
//   saving time: skipped in spring, once in autumn), https://docs.aws.amazon.com/scheduler/
//   latest/UserGuide/schedule-types.html

#include <wisp/events/schedule.hpp>

#include <doctest/doctest.h>

#include <ctime>
#include <string>

using wisp::events::format_event_time;
using wisp::events::ScheduleExpression;
using wisp::events::TimePoint;
using wisp::events::TimeZone;

namespace {

TimePoint utc(int year, int month, int day, int hour, int minute, int second = 0) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string next_of(const std::string& expression, TimePoint after, const TimeZone& zone = {},
                    bool scheduler = false) {
  auto parsed = ScheduleExpression::parse(expression, scheduler);
  REQUIRE_MESSAGE(parsed.has_value(), expression);
  const auto next = parsed->next(after, zone);
  return next ? format_event_time(*next) : "none";
}

std::string error_of(const std::string& expression, bool scheduler = false) {
  auto parsed = ScheduleExpression::parse(expression, scheduler);
  REQUIRE_MESSAGE(!parsed.has_value(), expression);
  return parsed.error().message;
}

} // namespace

TEST_CASE("events schedule: [RULES] documented cron examples fire when the guide says") {
  const auto start = utc(2026, 11, 23, 10, 7, 30); // a Monday
  // "10:15 AM UTC every day"
  CHECK(next_of("cron(15 10 * * ? *)", start) == "2026-11-23T10:15:00Z");
  // "6:00 PM Monday through Friday"
  CHECK(next_of("cron(0 18 ? * MON-FRI *)", start) == "2026-11-23T18:00:00Z");
  // "8:00 AM on the first day of the month"
  CHECK(next_of("cron(0 8 1 * ? *)", start) == "2026-12-01T08:00:00Z");
  // "Every 10 min on weekdays"
  CHECK(next_of("cron(0/10 * ? * MON-FRI *)", start) == "2026-11-23T10:10:00Z");
  // "Every 5 minutes between 8:00 AM and 5:55 PM weekdays"
  CHECK(next_of("cron(0/5 8-17 ? * MON-FRI *)", start) == "2026-11-23T10:10:00Z");
  // "9:00 AM on the first Monday of each month"
  CHECK(next_of("cron(0 9 ? * 2#1 *)", start) == "2026-12-07T09:00:00Z");
  // The next minute boundary, strictly after now.
  CHECK(next_of("cron(* * * * ? *)", start) == "2026-11-23T10:08:00Z");
  CHECK(next_of("cron(* * * * ? *)", utc(2026, 11, 23, 10, 8)) == "2026-11-23T10:09:00Z");
}

TEST_CASE("events schedule: [RULES] L, W and # in the day fields") {
  const auto start = utc(2026, 1, 10, 0, 0);
  CHECK(next_of("cron(0 12 L * ? *)", start) == "2026-01-31T12:00:00Z");
  CHECK(next_of("cron(0 12 L 2 ? *)", start) == "2026-02-28T12:00:00Z");
  CHECK(next_of("cron(0 12 L 2 ? 2028)", start) == "2028-02-29T12:00:00Z"); // leap year
  // LW: the last weekday of January 2026 (31st is a Saturday) is Friday the 30th.
  CHECK(next_of("cron(0 12 LW * ? *)", start) == "2026-01-30T12:00:00Z");
  // 17W: January 17 2026 is a Saturday: the Friday before.
  CHECK(next_of("cron(0 12 17W * ? *)", start) == "2026-01-16T12:00:00Z");
  // 1W when the 1st is a Saturday (August 2026): Monday the 3rd, never last month.
  CHECK(next_of("cron(0 12 1W 8 ? *)", start) == "2026-08-03T12:00:00Z");
  // 6L: the last Friday of the month.
  CHECK(next_of("cron(0 12 ? * 6L *)", start) == "2026-01-30T12:00:00Z");
  // L alone in day-of-week: Saturday.
  CHECK(next_of("cron(0 12 ? * L *)", start) == "2026-01-10T12:00:00Z");
  // 6#3: the third Friday.
  CHECK(next_of("cron(0 12 ? * FRI#3 *)", start) == "2026-01-16T12:00:00Z");
}

TEST_CASE("events schedule: [RULES] lists, ranges, steps, names and years") {
  const auto start = utc(2026, 3, 1, 0, 0);
  CHECK(next_of("cron(30 6,18 * * ? *)", start) == "2026-03-01T06:30:00Z");
  CHECK(next_of("cron(0 0 1 JAN,jul ? *)", start) == "2026-07-01T00:00:00Z");
  CHECK(next_of("cron(0 0 ? * SAT-SUN *)", utc(2026, 2, 28, 23, 59)) == "2026-03-01T00:00:00Z");
  CHECK(next_of("cron(0 0 ? * FRI-MON *)", utc(2026, 3, 3, 0, 0)) == "2026-03-06T00:00:00Z");
  CHECK(next_of("cron(5/20 * * * ? *)", start) == "2026-03-01T00:05:00Z");
  CHECK(next_of("cron(0 0 1 1 ? 2027-2029)", start) == "2027-01-01T00:00:00Z");
  CHECK(next_of("cron(0 0 1 1 ? 2025)", start) == "none");
  CHECK(next_of("cron(0 0 30 2 ? *)", start) == "none"); // February 30th never comes
}

TEST_CASE("events schedule: [RULES] invalid expressions are refused with a reason") {
  CHECK(error_of("cron(0 12 * * * *)").find("must be '?'") != std::string::npos);
  CHECK(error_of("cron(0 12 ? * ? *)").find("cannot both be '?'") != std::string::npos);
  CHECK(error_of("cron(0 12 * *)").find("six fields") != std::string::npos);
  CHECK(error_of("cron(60 12 * * ? *)").find("out of range") != std::string::npos);
  CHECK(error_of("cron(0 24 * * ? *)").find("out of range") != std::string::npos);
  CHECK(error_of("cron(0 12 * 13 ? *)").find("out of range") != std::string::npos);
  CHECK(error_of("cron(0 12 ? * 8 *)").find("out of range") != std::string::npos);
  CHECK(error_of("cron(0 12 * * ? 1969)").find("out of range") != std::string::npos);
  CHECK(error_of("cron(0 ? * * ? *)").find("only allowed in day-of-month") != std::string::npos);
  CHECK(error_of("cron(0 12 ? * 2#6 *)").find("1–5") != std::string::npos);
  CHECK(error_of("cron(0 12 1,L * ? *)").find("stand alone") != std::string::npos);
  CHECK(error_of("cron(0 12 * FOO ? *)").find("not a valid month") != std::string::npos);
  CHECK(error_of("cron(*/0 12 * * ? *)").find("positive") != std::string::npos);
  CHECK(error_of("rate(1 minutes)").find("singular") != std::string::npos);
  CHECK(error_of("rate(5 minute)").find("plural") != std::string::npos);
  CHECK(error_of("rate(0 minutes)").find("positive") != std::string::npos);
  CHECK(error_of("rate(5 weeks)").find("not a rate unit") != std::string::npos);
  CHECK(error_of("rate(5)").find("value and a unit") != std::string::npos);
  CHECK(error_of("every 5 minutes").find("cron(...) or rate(...)") != std::string::npos);
  CHECK(error_of("at(2026-01-01T00:00:00)").find("Scheduler expression") != std::string::npos);
  CHECK(error_of("at(2026-02-30T00:00:00)", true).find("not a valid date") != std::string::npos);
  CHECK(error_of("at(2026-02-01 00:00:00)", true).find("yyyy-mm-dd") != std::string::npos);
}

TEST_CASE("events schedule: the error offset points at the offending field") {
  auto parsed = ScheduleExpression::parse("cron(0 25 * * ? *)", false);
  REQUIRE(!parsed);
  CHECK(parsed.error().offset == 7); // "25"
}

TEST_CASE("events schedule: rates repeat from their anchor") {
  auto rate = ScheduleExpression::parse("rate(5 minutes)", false);
  REQUIRE(rate);
  CHECK(rate->rate() == std::chrono::minutes(5));
  const auto anchor = utc(2026, 1, 1, 0, 0, 10);
  CHECK(*rate->next(anchor - std::chrono::seconds(1), {}, anchor) == anchor);
  CHECK(*rate->next(anchor, {}, anchor) == anchor + std::chrono::minutes(5));
  CHECK(*rate->next(anchor + std::chrono::minutes(7), {}, anchor) ==
        anchor + std::chrono::minutes(10));
  auto day = ScheduleExpression::parse("rate(1 day)", true);
  REQUIRE(day);
  CHECK(day->rate() == std::chrono::hours(24));
}

TEST_CASE("events schedule: [SCHED] cron in a time zone follows daylight saving time") {
  auto zone = TimeZone::load("America/New_York");
  REQUIRE(zone);
  // 9:00 in New York is 14:00 UTC in winter, 13:00 UTC in summer.
  CHECK(next_of("cron(0 9 * * ? *)", utc(2026, 1, 5, 0, 0), *zone) == "2026-01-05T14:00:00Z");
  CHECK(next_of("cron(0 9 * * ? *)", utc(2026, 7, 5, 0, 0), *zone) == "2026-07-05T13:00:00Z");
  // Spring forward (8 March 2026, 2:00 → 3:00): 2:30 does not exist that day and is skipped.
  CHECK(next_of("cron(30 2 * * ? *)", utc(2026, 3, 8, 0, 0), *zone) == "2026-03-09T06:30:00Z");
  // Fall back (1 November 2026, 2:00 → 1:00): 1:30 happens twice and fires once, the first.
  CHECK(next_of("cron(30 1 * * ? *)", utc(2026, 11, 1, 0, 0), *zone) == "2026-11-01T05:30:00Z");
  CHECK(next_of("cron(30 1 * * ? *)", utc(2026, 11, 1, 5, 30), *zone) == "2026-11-02T06:30:00Z");
}

TEST_CASE("events schedule: [SCHED] at() fires once, in its time zone") {
  auto zone = TimeZone::load("Europe/Paris");
  REQUIRE(zone);
  CHECK(next_of("at(2026-06-01T10:00:00)", utc(2026, 1, 1, 0, 0), *zone, true) ==
        "2026-06-01T08:00:00Z");
  CHECK(next_of("at(2026-06-01T10:00:00)", utc(2026, 6, 1, 8, 0), *zone, true) == "none");
  CHECK(!TimeZone::load("Mars/Olympus_Mons"));
  CHECK(!TimeZone::load(""));
}
