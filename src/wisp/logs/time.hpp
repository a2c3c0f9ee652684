#pragma once
// Times for `wisp logs -s/--start-time` and `-e/--end-time`, read the way SAM CLI reads
// them (it uses the dateparser library):
//   "10m ago", "10 minutes ago", "2h", "3 days", "an hour ago"  relative to now
//   "now", "today" (now), "yesterday" (now minus one day)
//   "2026-11-23", "2026-11-23T10:00", "2026-11-23 10:00:05.250", with "Z" or "+02:00" —
//   without a zone, local time (as SAM CLI)
//   "1763894748123"                                              Unix epoch milliseconds
// Units: s/sec/second, m/min/minute, h/hr/hour, d/day, w/week (plurals too).

#include <wisp/support/error.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace wisp::logs {

// Epoch milliseconds for `text`, relative times counted back from `now`. An error names the
// accepted forms.
support::Result<std::int64_t> parse_time(std::string_view text,
                                         std::chrono::system_clock::time_point now);

std::int64_t to_epoch_ms(std::chrono::system_clock::time_point time);

// "2026-11-23T10:45:48.123Z"
std::string format_utc(std::int64_t epoch_ms);

} // namespace wisp::logs
