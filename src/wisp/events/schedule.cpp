#include <wisp/events/schedule.hpp>

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <ctime>

namespace wisp::events {

struct TimeZone::Impl {
  cctz::time_zone zone;
};

TimeZone::TimeZone() : m_impl(std::make_shared<Impl>(Impl{cctz::utc_time_zone()})) {}

std::optional<TimeZone> TimeZone::load(const std::string& name) {
  if (name.empty() || name == "localtime")
    return std::nullopt;
  Impl impl;
  if (!cctz::load_time_zone(name, &impl.zone))
    return std::nullopt;
  TimeZone zone;
  zone.m_impl = std::make_shared<Impl>(std::move(impl));
  zone.m_name = name;
  return zone;
}

namespace {

using Field = ScheduleExpression::Field;
using Special = Field::Special;

constexpr int k_min_year = 1970;
constexpr int k_max_year = 2199;

struct FieldSpec {
  const char* name;
  int min;
  int max;
  bool day_of_month;
  bool day_of_week;
  const std::array<const char*, 12>* names; // month or weekday names, index 0 = min
};

constexpr std::array<const char*, 12> k_month_names = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 12> k_day_names = {"SUN", "MON", "TUE", "WED", "THU", "FRI",
                                                     "SAT", "",    "",    "",    "",    ""};

const FieldSpec k_fields[] = {
    {"minutes", 0, 59, false, false, nullptr},
    {"hours", 0, 23, false, false, nullptr},
    {"day-of-month", 1, 31, true, false, nullptr},
    {"month", 1, 12, false, false, &k_month_names},
    {"day-of-week", 1, 7, false, true, &k_day_names},
    {"year", k_min_year, k_max_year, false, false, nullptr},
};

using Error = tl::unexpected<ExpressionError>;

Error fail(std::size_t offset, std::string message) {
  return tl::unexpected(ExpressionError{offset, std::move(message)});
}

std::optional<int> parse_int(std::string_view text) {
  if (text.empty() || text.size() > 9)
    return std::nullopt;
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// One value of a field: a number or (month, weekday) a name.
tl::expected<int, ExpressionError> field_value(const FieldSpec& spec, std::string_view text,
                                               std::size_t offset) {
  if (auto number = parse_int(text)) {
    if (*number < spec.min || *number > spec.max)
      return fail(offset, fmt::format("{} '{}' is out of range ({}–{})", spec.name, text, spec.min,
                                      spec.max));
    return *number;
  }
  if (spec.names != nullptr) {
    const auto name = upper(text);
    for (std::size_t i = 0; i < spec.names->size(); ++i)
      if (name == (*spec.names)[i])
        return spec.min + static_cast<int>(i);
  }
  if (text.empty())
    return fail(offset, fmt::format("{} has an empty value", spec.name));
  if ((spec.day_of_month || spec.day_of_week) &&
      upper(text).find_first_of("?LW#") != std::string::npos)
    return fail(offset, fmt::format("'{}': ?, L, W and # stand alone in {} (no lists or ranges "
                                    "with them)",
                                    text, spec.name));
  return fail(offset, fmt::format("'{}' is not a valid {} value", text, spec.name));
}

void set_range(Field& field, const FieldSpec& spec, int from, int to, int step) {
  if (from <= to) {
    for (int v = from; v <= to; v += step)
      field.bits.set(static_cast<std::size_t>(v - (spec.min == k_min_year ? k_min_year : 0)));
    return;
  }
  // A wrapping range (FRI-MON, 22-2): from..max then min..to, stepping across the wrap.
  const int span = spec.max - spec.min + 1;
  for (int v = from; v <= to + span; v += step) {
    const int value = v > spec.max ? v - span : v;
    field.bits.set(static_cast<std::size_t>(value));
  }
}

tl::expected<Field, ExpressionError> parse_field(const FieldSpec& spec, std::string_view text,
                                                 std::size_t offset) {
  Field field;
  if (text == "?") {
    if (!spec.day_of_month && !spec.day_of_week)
      return fail(offset, fmt::format("'?' is only allowed in day-of-month and day-of-week, "
                                      "not in {}",
                                      spec.name));
    field.any = true;
    field.question = true;
    return field;
  }
  const std::string whole = upper(text);
  // The day fields' special forms stand alone.
  if (spec.day_of_month) {
    if (whole == "L") {
      field.special = Special::last_day;
      return field;
    }
    if (whole == "LW") {
      field.special = Special::last_weekday;
      return field;
    }
    if (whole.size() > 1 && whole.back() == 'W') {
      auto day = parse_int(std::string_view(whole).substr(0, whole.size() - 1));
      if (!day || *day < 1 || *day > 31)
        return fail(offset, fmt::format("'{}': W needs a day of the month (1–31) before it", text));
      field.special = Special::nearest_weekday;
      field.value = *day;
      return field;
    }
  }
  if (spec.day_of_week) {
    if (whole == "L") { // the last day of the week: Saturday
      field.bits.set(7);
      return field;
    }
    if (whole.size() > 1 && whole.back() == 'L') {
      auto day = field_value(spec, std::string_view(text).substr(0, text.size() - 1), offset);
      if (!day)
        return tl::unexpected(day.error());
      field.special = Special::last_of_week;
      field.value = *day;
      return field;
    }
    if (const auto hash = whole.find('#'); hash != std::string::npos) {
      auto day = field_value(spec, std::string_view(text).substr(0, hash), offset);
      if (!day)
        return tl::unexpected(day.error());
      auto nth = parse_int(std::string_view(whole).substr(hash + 1));
      if (!nth || *nth < 1 || *nth > 5)
        return fail(
            offset + hash + 1,
            fmt::format("'{}': the number after # must be 1–5 (the week of the month)", text));
      field.special = Special::nth_of_week;
      field.value = *day;
      field.nth = *nth;
      return field;
    }
  }
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(',', start);
    if (end == std::string_view::npos)
      end = text.size();
    const auto item = text.substr(start, end - start);
    const std::size_t item_offset = offset + start;
    if (item.empty())
      return fail(item_offset, fmt::format("{} has an empty list item", spec.name));
    auto base = item;
    int step = 1;
    if (const auto slash = item.find('/'); slash != std::string_view::npos) {
      base = item.substr(0, slash);
      auto parsed = parse_int(item.substr(slash + 1));
      if (!parsed || *parsed < 1)
        return fail(item_offset + slash + 1,
                    fmt::format("'{}': the increment after / must be a positive number", item));
      step = *parsed;
    }
    int from = spec.min;
    int to = spec.max;
    if (base == "*") {
      if (step == 1)
        field.any = true;
    } else if (const auto dash = base.find('-'); dash != std::string_view::npos) {
      auto low = field_value(spec, base.substr(0, dash), item_offset);
      if (!low)
        return tl::unexpected(low.error());
      auto high = field_value(spec, base.substr(dash + 1), item_offset + dash + 1);
      if (!high)
        return tl::unexpected(high.error());
      from = *low;
      to = *high;
      if (from > to && spec.min == k_min_year)
        return fail(item_offset, fmt::format("year range '{}' runs backwards", base));
    } else {
      auto value = field_value(spec, base, item_offset);
      if (!value)
        return tl::unexpected(value.error());
      from = *value;
      to = item.find('/') == std::string_view::npos ? *value : spec.max;
    }
    set_range(field, spec, from, to, step);
    start = end + 1;
  }
  return field;
}

// Days in a month of the proleptic Gregorian calendar.
int days_in_month(int year, int month) {
  static constexpr int k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
    return 29;
  return k_days[month - 1];
}

// 1 = Sunday … 7 = Saturday (cron's numbering).
int weekday_of(int year, int month, int day) {
  const auto weekday = cctz::get_weekday(cctz::civil_day(year, month, day));
  switch (weekday) {
  case cctz::weekday::sunday:
    return 1;
  case cctz::weekday::monday:
    return 2;
  case cctz::weekday::tuesday:
    return 3;
  case cctz::weekday::wednesday:
    return 4;
  case cctz::weekday::thursday:
    return 5;
  case cctz::weekday::friday:
    return 6;
  case cctz::weekday::saturday:
    return 7;
  }
  return 1;
}

bool weekend(int weekday) {
  return weekday == 1 || weekday == 7;
}

} // namespace

tl::expected<ScheduleExpression, ExpressionError> ScheduleExpression::parse(std::string_view text,
                                                                            bool scheduler) {
  ScheduleExpression out;
  out.m_text = std::string(text);
  const auto open = text.find('(');
  if (open == std::string_view::npos || text.empty() || text.back() != ')') {
    return fail(0, scheduler ? "a schedule expression is at(...), cron(...) or rate(...)"
                             : "a schedule expression is cron(...) or rate(...)");
  }
  const auto kind = text.substr(0, open);
  const auto body = text.substr(open + 1, text.size() - open - 2);
  const std::size_t body_offset = open + 1;
  if (kind == "rate") {
    out.m_kind = Kind::rate;
    const auto space = body.find(' ');
    if (space == std::string_view::npos)
      return fail(body_offset, "rate(value unit) needs a value and a unit, e.g. rate(5 minutes)");
    const auto value_text = body.substr(0, space);
    const auto unit = body.substr(space + 1);
    const auto value = parse_int(value_text);
    if (!value || *value < 1)
      return fail(body_offset, fmt::format("'{}' is not a positive whole number", value_text));
    const std::size_t unit_offset = body_offset + space + 1;
    long long seconds = 0;
    std::string_view singular;
    if (unit == "minute" || unit == "minutes") {
      seconds = 60;
      singular = "minute";
    } else if (unit == "hour" || unit == "hours") {
      seconds = 3600;
      singular = "hour";
    } else if (unit == "day" || unit == "days") {
      seconds = 86400;
      singular = "day";
    } else {
      return fail(unit_offset, fmt::format("'{}' is not a rate unit (minute, minutes, hour, "
                                           "hours, day, days)",
                                           unit));
    }
    const bool plural = unit.size() > singular.size();
    if (*value == 1 && plural)
      return fail(unit_offset,
                  fmt::format("a value of 1 takes the singular unit: rate(1 {})", singular));
    if (*value != 1 && !plural)
      return fail(unit_offset, fmt::format("a value other than 1 takes the plural unit: "
                                           "rate({} {}s)",
                                           *value, singular));
    out.m_rate = std::chrono::seconds(seconds * *value);
    return out;
  }
  if (kind == "at") {
    if (!scheduler)
      return fail(0, "at(...) is a Scheduler expression (ScheduleV2), not an EventBridge rule's");
    out.m_kind = Kind::at;
    int fields[6] = {0, 0, 0, 0, 0, 0};
    // yyyy-mm-ddThh:mm:ss
    static constexpr std::size_t k_lengths[] = {4, 2, 2, 2, 2, 2};
    static constexpr char k_separators[] = {'-', '-', 'T', ':', ':', '\0'};
    std::size_t pos = 0;
    for (int i = 0; i < 6; ++i) {
      const auto length = k_lengths[i];
      const auto number =
          pos + length <= body.size() ? parse_int(body.substr(pos, length)) : std::nullopt;
      if (!number)
        return fail(body_offset + pos, "at() takes a date and time: at(yyyy-mm-ddThh:mm:ss)");
      fields[i] = *number;
      pos += length;
      if (k_separators[i] != '\0') {
        if (pos >= body.size() || body[pos] != k_separators[i])
          return fail(body_offset + pos, "at() takes a date and time: at(yyyy-mm-ddThh:mm:ss)");
        ++pos;
      }
    }
    if (pos != body.size())
      return fail(body_offset + pos, "at() takes a date and time: at(yyyy-mm-ddThh:mm:ss)");
    if (fields[1] < 1 || fields[1] > 12 || fields[2] < 1 ||
        fields[2] > days_in_month(fields[0], fields[1]) || fields[3] > 23 || fields[4] > 59 ||
        fields[5] > 59)
      return fail(body_offset, fmt::format("'{}' is not a valid date and time", body));
    std::copy(std::begin(fields), std::end(fields), std::begin(out.m_at));
    return out;
  }
  if (kind != "cron") {
    return fail(0, scheduler ? "a schedule expression is at(...), cron(...) or rate(...)"
                             : "a schedule expression is cron(...) or rate(...)");
  }
  out.m_kind = Kind::cron;
  std::vector<std::pair<std::string_view, std::size_t>> parts;
  std::size_t pos = 0;
  while (pos < body.size()) {
    while (pos < body.size() && body[pos] == ' ')
      ++pos;
    if (pos >= body.size())
      break;
    auto end = body.find(' ', pos);
    if (end == std::string_view::npos)
      end = body.size();
    parts.emplace_back(body.substr(pos, end - pos), body_offset + pos);
    pos = end;
  }
  if (parts.size() != 6)
    return fail(body_offset,
                fmt::format("cron(...) has six fields (minutes hours day-of-month month "
                            "day-of-week year); this one has {}",
                            parts.size()));
  Field* targets[] = {&out.m_minutes, &out.m_hours, &out.m_dom,
                      &out.m_month,   &out.m_dow,   &out.m_year};
  for (std::size_t i = 0; i < 6; ++i) {
    auto field = parse_field(k_fields[i], parts[i].first, parts[i].second);
    if (!field)
      return tl::unexpected(field.error());
    *targets[i] = *field;
  }
  if (out.m_dom.question && out.m_dow.question)
    return fail(parts[2].second, "day-of-month and day-of-week cannot both be '?'");
  if (!out.m_dom.question && !out.m_dow.question)
    return fail(parts[2].second, "one of day-of-month and day-of-week must be '?' (they cannot "
                                 "both be given)");
  return out;
}

bool ScheduleExpression::day_matches(int year, int month, int day) const {
  const int last = days_in_month(year, month);
  if (!m_dom.question) {
    switch (m_dom.special) {
    case Special::last_day:
      return day == last;
    case Special::last_weekday: {
      int target = last;
      while (weekend(weekday_of(year, month, target)))
        --target;
      return day == target;
    }
    case Special::nearest_weekday: {
      if (m_dom.value > last)
        return false;
      int target = m_dom.value;
      const int weekday = weekday_of(year, month, target);
      if (weekday == 7) // Saturday: the Friday before, unless that is last month
        target = target == 1 ? 3 : target - 1;
      else if (weekday == 1) // Sunday: the Monday after, unless that is next month
        target = target == last ? target - 2 : target + 1;
      return day == target;
    }
    default:
      return m_dom.any || m_dom.bits.test(static_cast<std::size_t>(day));
    }
  }
  const int weekday = weekday_of(year, month, day);
  switch (m_dow.special) {
  case Special::last_of_week:
    return weekday == m_dow.value && day + 7 > last;
  case Special::nth_of_week:
    return weekday == m_dow.value && (day - 1) / 7 + 1 == m_dow.nth;
  default:
    return m_dow.any || m_dow.bits.test(static_cast<std::size_t>(weekday));
  }
}

bool ScheduleExpression::date_matches(int year, int month, int day) const {
  if (!m_year.any && !m_year.bits.test(static_cast<std::size_t>(year - k_min_year)))
    return false;
  if (!m_month.any && !m_month.bits.test(static_cast<std::size_t>(month)))
    return false;
  return day_matches(year, month, day);
}

std::optional<TimePoint> ScheduleExpression::next(TimePoint after, const TimeZone& zone,
                                                  TimePoint anchor) const {
  const auto& tz = zone.impl().zone;
  const auto after_seconds = std::chrono::time_point_cast<std::chrono::seconds>(after);
  if (m_kind == Kind::rate) {
    if (anchor > after)
      return anchor;
    const auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(after - anchor);
    const auto periods = elapsed / m_rate + 1;
    return anchor + periods * m_rate;
  }
  if (m_kind == Kind::at) {
    const cctz::civil_second when(m_at[0], m_at[1], m_at[2], m_at[3], m_at[4], m_at[5]);
    const auto lookup = tz.lookup(when);
    if (lookup.kind == cctz::time_zone::civil_lookup::SKIPPED)
      return std::nullopt;
    const TimePoint at = lookup.pre;
    if (at > after)
      return at;
    return std::nullopt;
  }
  const auto start = cctz::civil_minute(cctz::convert(after_seconds, tz)) + 1;
  cctz::civil_day day(start);
  while (day.year() <= k_max_year) {
    const int year = static_cast<int>(day.year());
    const int month = day.month();
    if (!m_year.any && !m_year.bits.test(static_cast<std::size_t>(year - k_min_year))) {
      day = cctz::civil_day(cctz::civil_year(day) + 1);
      continue;
    }
    if (!m_month.any && !m_month.bits.test(static_cast<std::size_t>(month))) {
      day = cctz::civil_day(cctz::civil_month(day) + 1);
      continue;
    }
    if (day_matches(year, month, day.day())) {
      const bool first_day = day == cctz::civil_day(start);
      for (int hour = first_day ? start.hour() : 0; hour < 24; ++hour) {
        if (!m_hours.any && !m_hours.bits.test(static_cast<std::size_t>(hour)))
          continue;
        const bool first_hour = first_day && hour == start.hour();
        for (int minute = first_hour ? start.minute() : 0; minute < 60; ++minute) {
          if (!m_minutes.any && !m_minutes.bits.test(static_cast<std::size_t>(minute)))
            continue;
          const cctz::civil_second when(year, month, day.day(), hour, minute, 0);
          const auto lookup = tz.lookup(when);
          if (lookup.kind == cctz::time_zone::civil_lookup::SKIPPED)
            continue;                             // spring forward: this time does not exist today
          const TimePoint candidate = lookup.pre; // fall back: the first occurrence
          if (candidate > after)
            return candidate;
        }
      }
    }
    ++day;
  }
  return std::nullopt;
}

std::string format_event_time(TimePoint time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

} // namespace wisp::events
