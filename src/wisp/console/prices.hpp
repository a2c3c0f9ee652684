#pragma once
// AWS Lambda's on-demand price table: the one shipped with wisp (prices.toml, embedded at
// build time, with the date it was checked and its sources) or a file of the same shape
// given with --prices. docs/console.md describes the format.
//
// Contract
// - load_prices() reports every problem of a file in one error, each as a diagnostic with
//   file:line:col (TOML syntax, unknown keys, wrong types, negative prices, tiers out of
//   order, a region without prices); nothing of a bad file is used.
// - A region not in the table is priced as the table's `default` region; a listed region
//   takes what it does not set from `default`.

#include <wisp/support/error.hpp>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::console {

enum class Architecture : std::uint8_t { x86_64, arm64 };

std::string_view to_string(Architecture architecture);
// "x86_64" / "arm64" (a template's Architectures value); anything else is x86_64.
Architecture architecture_from(std::string_view text);

// One duration tier: the price of GB-seconds up to `up_to_gb_seconds` of a month (counted
// from 0 over the account's usage in a region and architecture).
struct DurationTier {
  double up_to_gb_seconds = std::numeric_limits<double>::infinity();
  double per_gb_second = 0;
};

struct RegionPrices {
  double requests_per_million = 0;
  double ephemeral_storage_per_gb_second = 0; // /tmp beyond the 512 MB included
  std::vector<DurationTier> x86_64;
  std::vector<DurationTier> arm64;

  [[nodiscard]] const std::vector<DurationTier>& duration(Architecture architecture) const {
    return architecture == Architecture::arm64 ? arm64 : x86_64;
  }
};

struct PriceTable {
  std::string origin;   // "built-in" or the file it was read from
  std::string as_of;    // YYYY-MM-DD: when the prices were checked
  std::string currency; // USD
  double month_hours = 730;
  std::uint64_t free_requests = 0; // per month
  double free_gb_seconds = 0;      // per month
  std::string init_billing_since;  // YYYY-MM-DD
  RegionPrices default_region;
  std::map<std::string, RegionPrices, std::less<>> regions;

  // The prices of `region` (the default region's when the table does not list it).
  [[nodiscard]] const RegionPrices& region(std::string_view name) const;
  [[nodiscard]] double month_seconds() const { return month_hours * 3600.0; }
};

// The table shipped with wisp (parsed once; it is checked by the unit tests).
const PriceTable& builtin_prices();

// Reads a price file. Errors carry one diagnostic per problem, with file:line:col.
support::Result<PriceTable> load_prices(const std::filesystem::path& file);
// The same from text; `file` names it in diagnostics.
support::Result<PriceTable> parse_prices(std::string_view text, std::string_view file);

} // namespace wisp::console
