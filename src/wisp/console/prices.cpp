// The price table: the embedded prices.toml, or a file of that shape (prices.hpp).

#include <wisp/console/prices.hpp>

#include <wisp/support/embedded.hpp>
#include <wisp/support/fs.hpp>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cmath>
#include <optional>
#include <span>
#include <stdexcept>

namespace wisp::console {

std::span<const support::EmbeddedFile> price_files(); // generated (cmake/embed.cmake)

std::string_view to_string(Architecture architecture) {
  return architecture == Architecture::arm64 ? "arm64" : "x86_64";
}

Architecture architecture_from(std::string_view text) {
  return text == "arm64" ? Architecture::arm64 : Architecture::x86_64;
}

const RegionPrices& PriceTable::region(std::string_view name) const {
  const auto it = regions.find(name);
  return it == regions.end() ? default_region : it->second;
}

namespace {

using support::Diagnostic;
using support::Severity;

// Reads one table, collecting every problem as a diagnostic at its position.
class Reader {
public:
  explicit Reader(std::string_view file) : m_file(file) {}

  void error(const toml::source_region& at, std::string message) {
    m_errors.push_back(Diagnostic{m_file, static_cast<int>(at.begin.line),
                                  static_cast<int>(at.begin.column), Severity::error, "prices",
                                  std::move(message)});
  }
  [[nodiscard]] bool failed() const { return !m_errors.empty(); }
  std::vector<Diagnostic>& errors() { return m_errors; }

  // Every key of `table` must be one of `known`.
  void only_keys(const toml::table& table, std::string_view where,
                 std::initializer_list<std::string_view> known) {
    for (auto&& [key, node] : table) {
      bool ok = false;
      for (const auto name : known)
        ok = ok || key.str() == name;
      if (!ok) {
        std::string list;
        for (const auto name : known)
          list += (list.empty() ? "" : ", ") + std::string(name);
        error(key.source(),
              fmt::format("unknown key '{}' in {} (known: {})", key.str(), where, list));
      }
    }
  }

  std::optional<double> number(const toml::node& node, std::string_view what) {
    std::optional<double> value;
    if (const auto* i = node.as_integer())
      value = static_cast<double>(i->get());
    else if (const auto* f = node.as_floating_point())
      value = f->get();
    if (!value) {
      error(node.source(), fmt::format("{} must be a number", what));
      return std::nullopt;
    }
    if (!std::isfinite(*value) || *value < 0) {
      error(node.source(), fmt::format("{} must be a finite number of at least 0", what));
      return std::nullopt;
    }
    return value;
  }

  std::optional<std::string> date(const toml::node& node, std::string_view what) {
    if (const auto* d = node.as_date()) {
      const auto value = d->get();
      return fmt::format("{:04}-{:02}-{:02}", value.year, value.month, value.day);
    }
    error(node.source(), fmt::format("{} must be a date (YYYY-MM-DD, without quotes)", what));
    return std::nullopt;
  }

  void tiers(const toml::node& node, std::string_view what, std::vector<DurationTier>& out) {
    const auto* array = node.as_array();
    if (array == nullptr || array->empty()) {
      error(node.source(),
            fmt::format("{} must be a list of tiers, e.g. [{{ per_gb_second = 0.0000166667 }}]",
                        what));
      return;
    }
    out.clear();
    double last_bound = 0;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const auto& item = *array->get(i);
      const auto* tier_table = item.as_table();
      if (tier_table == nullptr) {
        error(item.source(), fmt::format("{} tier {} must be a table {{ up_to_gb_seconds = N, "
                                         "per_gb_second = P }}",
                                         what, i + 1));
        continue;
      }
      only_keys(*tier_table, fmt::format("{} tier {}", what, i + 1),
                {"up_to_gb_seconds", "per_gb_second"});
      DurationTier tier;
      const bool last = i + 1 == array->size();
      if (const auto* price = tier_table->get("per_gb_second")) {
        if (auto value = number(*price, "per_gb_second"))
          tier.per_gb_second = *value;
      } else {
        error(item.source(), fmt::format("{} tier {} has no per_gb_second", what, i + 1));
      }
      if (const auto* bound = tier_table->get("up_to_gb_seconds")) {
        if (last) {
          error(bound->source(), fmt::format("the last tier of {} applies to all further "
                                             "GB-seconds: it takes no up_to_gb_seconds",
                                             what));
        } else if (auto value = number(*bound, "up_to_gb_seconds")) {
          if (*value <= last_bound)
            error(bound->source(),
                  fmt::format("up_to_gb_seconds of {} tier {} must be above the tier before "
                              "it ({})",
                              what, i + 1, last_bound));
          tier.up_to_gb_seconds = *value;
          last_bound = *value;
        }
      } else if (!last) {
        error(item.source(), fmt::format("{} tier {} needs up_to_gb_seconds (only the last tier "
                                         "is open-ended)",
                                         what, i + 1));
      }
      out.push_back(tier);
    }
  }

  // A region's table; `base` supplies what it does not set (null for the default region).
  RegionPrices region(const toml::table& table, std::string_view name, const RegionPrices* base) {
    only_keys(table, fmt::format("region {}", name),
              {"requests_per_million", "ephemeral_storage_per_gb_second", "x86_64", "arm64"});
    RegionPrices prices = base != nullptr ? *base : RegionPrices{};
    const auto required = [&](std::string_view key) {
      if (base == nullptr && table.get(key) == nullptr)
        error(table.source(), fmt::format("region {} has no {}", name, key));
    };
    required("requests_per_million");
    required("ephemeral_storage_per_gb_second");
    required("x86_64");
    required("arm64");
    if (const auto* node = table.get("requests_per_million"))
      if (auto value = number(*node, "requests_per_million"))
        prices.requests_per_million = *value;
    if (const auto* node = table.get("ephemeral_storage_per_gb_second"))
      if (auto value = number(*node, "ephemeral_storage_per_gb_second"))
        prices.ephemeral_storage_per_gb_second = *value;
    if (const auto* node = table.get("x86_64"))
      tiers(*node, fmt::format("regions.{}.x86_64", name), prices.x86_64);
    if (const auto* node = table.get("arm64"))
      tiers(*node, fmt::format("regions.{}.arm64", name), prices.arm64);
    return prices;
  }

  void read(const toml::table& root, PriceTable& table) {
    only_keys(root, "the price table",
              {"as_of", "currency", "month_hours", "free_tier", "init_billing", "regions"});
    const toml::source_region whole{{1, 1}, {1, 1}, {}};
    if (const auto* node = root.get("as_of")) {
      if (auto value = date(*node, "as_of"))
        table.as_of = *value;
    } else {
      error(whole, "the price table has no as_of date (when its prices were checked)");
    }
    if (const auto* node = root.get("currency")) {
      if (const auto* text = node->as_string())
        table.currency = text->get();
      else
        error(node->source(), "currency must be a string, e.g. \"USD\"");
    } else {
      table.currency = "USD";
    }
    if (const auto* node = root.get("month_hours")) {
      if (auto value = number(*node, "month_hours")) {
        if (*value < 1)
          error(node->source(), "month_hours must be at least 1");
        else
          table.month_hours = *value;
      }
    }
    if (const auto* node = root.get("free_tier")) {
      if (const auto* free = node->as_table()) {
        only_keys(*free, "free_tier", {"requests", "gb_seconds"});
        if (const auto* requests = free->get("requests"))
          if (auto value = number(*requests, "free_tier.requests"))
            table.free_requests = static_cast<std::uint64_t>(*value);
        if (const auto* gbs = free->get("gb_seconds"))
          if (auto value = number(*gbs, "free_tier.gb_seconds"))
            table.free_gb_seconds = *value;
      } else {
        error(node->source(), "free_tier must be a table { requests, gb_seconds }");
      }
    }
    if (const auto* node = root.get("init_billing")) {
      if (const auto* init = node->as_table()) {
        only_keys(*init, "init_billing", {"since"});
        if (const auto* since = init->get("since"))
          if (auto value = date(*since, "init_billing.since"))
            table.init_billing_since = *value;
      } else {
        error(node->source(), "init_billing must be a table { since = YYYY-MM-DD }");
      }
    }
    const auto* regions_node = root.get("regions");
    const auto* regions = regions_node != nullptr ? regions_node->as_table() : nullptr;
    if (regions == nullptr) {
      error(regions_node != nullptr ? regions_node->source() : whole,
            "the price table needs [regions.default] (and may list other regions)");
      return;
    }
    const auto* default_node = regions->get("default");
    const auto* default_table = default_node != nullptr ? default_node->as_table() : nullptr;
    if (default_table == nullptr) {
      error(regions->source(), "the price table needs [regions.default]: the prices of every "
                               "region it does not list");
      return;
    }
    table.default_region = region(*default_table, "default", nullptr);
    for (auto&& [key, node] : *regions) {
      if (key.str() == "default")
        continue;
      const auto* region_table = node.as_table();
      if (region_table == nullptr) {
        error(key.source(), fmt::format("regions.{} must be a table", key.str()));
        continue;
      }
      table.regions.emplace(std::string(key.str()),
                            region(*region_table, key.str(), &table.default_region));
    }
  }

private:
  std::string m_file;
  std::vector<Diagnostic> m_errors;
};

} // namespace

support::Result<PriceTable> parse_prices(std::string_view text, std::string_view file) {
  toml::table root;
  try {
    root = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    return support::fail(Diagnostic{std::string(file), static_cast<int>(e.source().begin.line),
                                    static_cast<int>(e.source().begin.column), Severity::error,
                                    "prices", std::string(e.description())});
  }
  Reader reader(file);
  PriceTable table;
  table.origin = std::string(file);
  reader.read(root, table);
  if (reader.failed()) {
    auto& errors = reader.errors();
    support::Error error{errors.size() == 1
                             ? errors.front().message
                             : fmt::format("{} problems in price file {}", errors.size(), file),
                         std::move(errors), support::ExitCode::failure};
    return tl::unexpected(std::move(error));
  }
  return table;
}

support::Result<PriceTable> load_prices(const std::filesystem::path& file) {
  WISP_TRY_ASSIGN(const auto text, support::read_file(file));
  return parse_prices(text, file.string());
}

const PriceTable& builtin_prices() {
  static const PriceTable table = [] {
    const auto text = support::find_embedded(price_files(), "prices.toml");
    if (!text)
      throw std::logic_error("prices.toml is not embedded");
    auto parsed = parse_prices(*text, "prices.toml");
    if (!parsed)
      throw std::logic_error("the built-in price table is invalid: " + parsed.error().message);
    parsed->origin = "built-in";
    return std::move(*parsed);
  }();
  return table;
}

} // namespace wisp::console
