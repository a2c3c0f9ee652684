// `wisp cost`: REPORTs from the local store or CloudWatch Logs → figures and cost
// (cost_report.hpp).

#include <wisp/console/cost_report.hpp>

#include <wisp/aws/config.hpp>
#include <wisp/logs/time.hpp>
#include <wisp/support/terminal.hpp>
#include <wisp/template/load.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <cmath>
#include <set>
#include <unordered_set>

namespace wisp::console {

namespace fs = std::filesystem;

namespace {

// The template, when there is one (the logs plan read it already; errors were reported there).
std::optional<sam::Model> load_template(const logs::LogsRequest& request) {
  fs::path path = request.template_path;
  if (path.empty()) {
    auto found = sam::default_template_path(".");
    if (!found)
      return std::nullopt;
    path = *found;
  }
  sam::LoadOptions options;
  options.template_path = path;
  options.parameter_overrides = request.parameter_overrides;
  options.check_code = false;
  if (!request.stack_name.empty())
    options.stack_name = request.stack_name;
  auto model = sam::load_model(options);
  if (!model)
    return std::nullopt;
  return std::move(*model);
}

std::string resolve_region(const logs::LogsRequest& request) {
  aws::ConfigInputs inputs;
  inputs.profile = request.client.profile;
  inputs.region = request.client.region;
  auto config = aws::load_config(inputs);
  if (config && !config->region.empty())
    return config->region;
  return request.client.region.empty() ? "us-east-1" : request.client.region;
}

std::string duration_text(double seconds) {
  if (seconds >= 86400 * 2)
    return fmt::format("{:.1f} days", seconds / 86400);
  if (seconds >= 7200)
    return fmt::format("{:.1f} h", seconds / 3600);
  if (seconds >= 120)
    return fmt::format("{:.0f} min", seconds / 60);
  return fmt::format("{:.0f} s", seconds);
}

std::string ms_text(double ms) {
  if (ms >= 100)
    return fmt::format("{:.0f}", ms);
  if (ms >= 10)
    return fmt::format("{:.1f}", ms);
  return fmt::format("{:.2f}", ms);
}

std::string thousands(std::uint64_t n) {
  auto digits = std::to_string(n);
  std::string out;
  const auto len = digits.size();
  for (std::size_t i = 0; i < len; ++i) {
    out += digits[i];
    if ((len - i - 1) % 3 == 0 && i + 1 < len)
      out += ',';
  }
  return out;
}

boost::json::object cost_json(const Cost& cost) {
  return {{"requests", cost.requests},
          {"duration", cost.duration},
          {"ephemeralStorage", cost.ephemeral},
          {"total", cost.total()}};
}

boost::json::object distribution_json(const Distribution& d) {
  return {{"p50", d.p50}, {"p95", d.p95}, {"p99", d.p99}, {"max", d.max}, {"mean", d.mean}};
}

} // namespace

std::string format_money(double dollars) {
  if (dollars == 0)
    return "$0";
  if (std::fabs(dollars) >= 0.01)
    return fmt::format("${:.2f}", dollars);
  // Three significant digits for fractions of a cent.
  const int digits = 2 - static_cast<int>(std::floor(std::log10(std::fabs(dollars))));
  return fmt::format("${:.{}f}", dollars, digits);
}

support::Result<CostReport> cost_report(const CostRequest& request,
                                        std::chrono::system_clock::time_point now) {
  auto logs_request = request.logs;
  if (logs_request.start_time.empty())
    logs_request.start_time = "24h ago";
  if (logs_request.tail)
    return support::fail("wisp cost reads a time window: --tail does not apply",
                         support::ExitCode::usage);
  // Text REPORT lines and JSON platform.report records (CloudWatch evaluates the pattern;
  // wisp parses every event it gets anyway).
  logs_request.filter = "?REPORT ?\"platform.report\" ?\"recursive loop:\"";
  WISP_TRY_ASSIGN(auto plan, logs::plan(logs_request, now));
  plan.skip_missing_groups = true;

  CostReport report;
  if (request.prices_file.empty()) {
    report.prices = builtin_prices();
  } else {
    WISP_TRY_ASSIGN(report.prices, load_prices(request.prices_file));
  }
  report.region = resolve_region(logs_request);
  report.start_ms = plan.start_ms;
  report.end_ms = plan.end_ms.value_or(logs::to_epoch_ms(now));
  report.source = plan.local ? fmt::format("the local log store ({})", plan.store_root.string())
                             : "CloudWatch Logs";

  const auto model = load_template(logs_request);
  for (const auto& source : plan.sources) {
    FunctionCost function;
    function.id = source.label;
    function.log_group = source.log_group;
    function.region = report.region;
    const sam::Function* template_function = nullptr;
    if (model && (!source.function.empty() || plan.local))
      template_function = model->find_function(source.label);
    if (template_function != nullptr) {
      if (!template_function->architectures.empty())
        function.architecture = architecture_from(template_function->architectures.front());
      function.ephemeral_storage_mb = template_function->ephemeral_storage;
    }
    report.functions.push_back(std::move(function));
  }
  for (const auto& warning : plan.warnings)
    if (request.warning)
      request.warning(warning);

  std::vector<std::unordered_set<std::string>> seen(report.functions.size());
  logs::Sink sink;
  sink.event = [&](const logs::LogEvent& event) {
    if (event.source >= report.functions.size())
      return;
    const auto parsed = parse_report(event.message);
    if (!parsed) {
      // "EVENT SQS <queue>: recursive loop: …": wisp stopped a chain (docs/console.md).
      if (event.message.starts_with("EVENT ") &&
          event.message.find(": recursive loop: ") != std::string_view::npos)
        ++report.functions[event.source].recursion_stops;
      return;
    }
    // A REPORT read twice (overlapping sources) counts once.
    if (!parsed->request_id.empty() && !seen[event.source].insert(parsed->request_id).second)
      return;
    auto& function = report.functions[event.source];
    function.stats.add(*parsed, event.timestamp, function.ephemeral_storage_mb);
  };
  sink.warning = [&](std::string_view message) {
    // A missing log group: noted on its function.
    for (auto& function : report.functions)
      if (!function.log_group.empty() && message.find(function.log_group) != std::string::npos &&
          function.note.empty())
        function.note = "no log group (never invoked?)";
    if (request.warning)
      request.warning(message);
  };
  sink.stopped = [] { return false; };
  WISP_TRY(logs::run(plan, sink));

  std::vector<FunctionUsage> usage;
  for (const auto& function : report.functions) {
    FunctionUsage u;
    u.id = function.id;
    u.region = function.region;
    u.architecture = function.architecture;
    u.requests = static_cast<double>(function.stats.invocations);
    u.gb_seconds = function.stats.gb_seconds;
    u.ephemeral_gb_seconds = function.stats.ephemeral_gb_seconds;
    usage.push_back(std::move(u));
  }
  const auto window = price(report.prices, usage, false);
  const auto month_usage = project_month(report.prices, usage, report.window_seconds());
  const auto month = price(report.prices, month_usage, true);
  report.window_total = window.total;
  report.month_total = month.total;
  report.month_free_tier_credit = month.free_tier_credit;
  for (std::size_t i = 0; i < report.functions.size(); ++i) {
    auto& function = report.functions[i];
    function.window = window.functions[i];
    function.month = month.functions[i];
    function.duration = function.stats.duration_distribution();
    function.init = function.stats.init_distribution();
    report.invocations += function.stats.invocations;
    report.gb_seconds += function.stats.gb_seconds;
    if (function.stats.invocations > 0) {
      Workload workload;
      workload.memory_mb = function.stats.memory_size_mb;
      workload.duration_ms = function.duration.mean;
      workload.measured_unthrottled = plan.local;
      workload.cold_share = function.stats.cold_share();
      workload.init_ms = function.init.mean;
      workload.max_memory_used_mb = function.stats.max_memory_used_mb;
      function.advice =
          advise_memory(report.prices, function.region, function.architecture, workload);
    }
  }
  return report;
}

std::string render_text(const CostReport& report, bool color) {
  const auto dim = [&](std::string_view text) {
    return color ? fmt::format("\x1b[2m{}\x1b[0m", text) : std::string(text);
  };
  const auto bold = [&](std::string_view text) {
    return color ? fmt::format("\x1b[1m{}\x1b[0m", text) : std::string(text);
  };
  std::string out;
  const auto window =
      fmt::format("{} – {} ({})", logs::format_utc(report.start_ms),
                  logs::format_utc(report.end_ms), duration_text(report.window_seconds()));
  const auto& prices = report.prices;
  const auto prices_line = fmt::format(
      "Prices: {} (checked {}), {}, {}; Billed Duration includes a billed INIT on cold starts "
      "since {} (never added again)\n",
      prices.origin, prices.as_of, report.region, prices.currency, prices.init_billing_since);
  if (report.empty()) {
    std::vector<std::string> names;
    for (const auto& function : report.functions)
      names.push_back(function.id);
    out += fmt::format("No invocations (no REPORT lines) of {} in {}, {}: nothing to cost.\n",
                       names.empty() ? std::string("any function")
                                     : fmt::format("{}", fmt::join(names, ", ")),
                       report.source, window);
    for (const auto& function : report.functions)
      if (!function.note.empty())
        out += dim(fmt::format("  {}: {}\n", function.id, function.note));
    return out;
  }
  out += bold(fmt::format("Cost of {} invocation{} in {}", thousands(report.invocations),
                          report.invocations == 1 ? "" : "s", window));
  out += fmt::format(", from {}\n", report.source);
  out += dim(prices_line);
  out += '\n';

  std::size_t width = 8;
  for (const auto& function : report.functions)
    width = std::max(width, function.id.size());
  out +=
      bold(fmt::format("{:<{}}  {:<6}  {:>7}  {:>9}  {:>5}  {:>6}  {:>8}  {:>8}  {:>8}  "
                       "{:>8}  {:>8}  {:>10}  {:>11}  {:>11}",
                       "FUNCTION", width, "ARCH", "MEMORY", "INVOKES", "COLD", "ERRORS", "P50 ms",
                       "P95 ms", "P99 ms", "INIT p50", "MAX USED", "GB-s", "COST", "PER MONTH*"));
  out += '\n';
  for (const auto& f : report.functions) {
    const auto& s = f.stats;
    if (s.invocations == 0) {
      out += fmt::format("{:<{}}  {}\n", f.id, width,
                         dim(f.note.empty() ? "no invocations in the window" : f.note));
      continue;
    }
    out += fmt::format(
        "{:<{}}  {:<6}  {:>4} MB  {:>9}  {:>5}  {:>6}  {:>8}  {:>8}  {:>8}  {:>8}  {:>5} MB  "
        "{:>10.4f}  {:>11}  {:>11}\n",
        f.id, width, to_string(f.architecture), s.memory_size_mb, thousands(s.invocations),
        thousands(s.cold_starts), thousands(s.errors + s.timeouts), ms_text(f.duration.p50),
        ms_text(f.duration.p95), ms_text(f.duration.p99),
        s.cold_starts ? ms_text(f.init.p50) : std::string("-"), s.max_memory_used_mb, s.gb_seconds,
        format_money(f.window.total()), format_money(f.month.total()));
  }
  out += bold(fmt::format("{:<{}}  {:<6}  {:>7}  {:>9}  {:>5}  {:>6}  {:>8}  {:>8}  {:>8}  "
                          "{:>8}  {:>8}  {:>10.4f}  {:>11}  {:>11}",
                          "TOTAL", width, "", "", thousands(report.invocations), "", "", "", "", "",
                          "", "", report.gb_seconds, format_money(report.window_total.total()),
                          format_money(report.month_total.total())));
  out += '\n';
  out += dim(fmt::format("* a {:.0f}-hour month at the window's request rate, after the free tier "
                         "({} requests and {} GB-s a month: {} of it)\n",
                         prices.month_hours, thousands(prices.free_requests),
                         thousands(static_cast<std::uint64_t>(prices.free_gb_seconds)),
                         format_money(report.month_free_tier_credit.total())));
  bool header = false;
  for (const auto& f : report.functions) {
    if (!f.advice)
      continue;
    if (!header) {
      out += '\n';
      out += bold("Memory");
      out += '\n';
      header = true;
    }
    const auto& a = *f.advice;
    out += fmt::format("  {}: {} MB now; cheapest at {} MB, fastest at {} MB", f.id, a.current_mb,
                       a.cost_minimising_mb, a.duration_minimising_mb);
    out += dim(fmt::format(" ({})", a.basis));
    out += '\n';
  }
  header = false;
  for (const auto& f : report.functions) {
    if (f.recursion_stops == 0)
      continue;
    if (!header) {
      out += '\n';
      out += bold("Cost traps");
      out += '\n';
      header = true;
    }
    out += fmt::format("  {}: recursive loop: stopped {} time{} after 16 invocations in one chain "
                       "of events (it sends to what triggers it); every round before is billed\n",
                       f.id, f.recursion_stops, f.recursion_stops == 1 ? "" : "s");
  }
  return out;
}

std::string render_json(const CostReport& report) {
  boost::json::object root;
  root["source"] = report.source;
  root["startTime"] = logs::format_utc(report.start_ms);
  root["endTime"] = logs::format_utc(report.end_ms);
  root["windowSeconds"] = report.window_seconds();
  root["region"] = report.region;
  root["prices"] = boost::json::object{{"origin", report.prices.origin},
                                       {"asOf", report.prices.as_of},
                                       {"currency", report.prices.currency},
                                       {"monthHours", report.prices.month_hours},
                                       {"initBillingSince", report.prices.init_billing_since}};
  root["empty"] = report.empty();
  if (report.empty())
    root["message"] = "no invocations (no REPORT lines) in the window";
  boost::json::array functions;
  for (const auto& f : report.functions) {
    const auto& s = f.stats;
    boost::json::object o;
    o["function"] = f.id;
    if (!f.log_group.empty())
      o["logGroup"] = f.log_group;
    o["region"] = f.region;
    o["architecture"] = to_string(f.architecture);
    o["invocations"] = s.invocations;
    o["coldStarts"] = s.cold_starts;
    o["errors"] = s.errors;
    o["timeouts"] = s.timeouts;
    o["memorySizeMB"] = s.memory_size_mb;
    o["maxMemoryUsedMB"] = s.max_memory_used_mb;
    o["ephemeralStorageMB"] = f.ephemeral_storage_mb;
    o["billedDurationMs"] = s.billed_ms;
    o["gbSeconds"] = s.gb_seconds;
    o["durationMs"] = distribution_json(f.duration);
    o["initDurationMs"] = distribution_json(f.init);
    o["cost"] = cost_json(f.window);
    o["monthlyCost"] = cost_json(f.month);
    if (f.advice) {
      boost::json::array sizes;
      for (const auto& e : f.advice->sizes)
        sizes.push_back(boost::json::object{{"memoryMB", e.memory_mb},
                                            {"durationMs", e.duration_ms},
                                            {"costPerInvocation", e.cost_per_invocation},
                                            {"fits", e.fits}});
      o["memoryAdvice"] = boost::json::object{{"currentMB", f.advice->current_mb},
                                              {"cheapestMB", f.advice->cost_minimising_mb},
                                              {"fastestMB", f.advice->duration_minimising_mb},
                                              {"basis", f.advice->basis},
                                              {"sizes", std::move(sizes)}};
    }
    if (!f.note.empty())
      o["note"] = f.note;
    o["recursionStops"] = f.recursion_stops;
    functions.push_back(std::move(o));
  }
  root["functions"] = std::move(functions);
  root["total"] =
      boost::json::object{{"invocations", report.invocations},
                          {"gbSeconds", report.gb_seconds},
                          {"cost", cost_json(report.window_total)},
                          {"monthlyCost", cost_json(report.month_total)},
                          {"monthlyFreeTierCredit", cost_json(report.month_free_tier_credit)}};
  return boost::json::serialize(root) + "\n";
}

} // namespace wisp::console
