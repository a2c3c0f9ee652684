// wisp local tune FUNCTION — a function at several memory sizes: duration and cost at each.

#include "../command.hpp"
#include "function_config.hpp"

#include <wisp/console/prices.hpp>
#include <wisp/console/tune.hpp>
#include <wisp/runtime/function.hpp>
#include <wisp/runtime/local_invoke.hpp>
#include <wisp/support/fs.hpp>

#include <cstdio>

namespace wisp::cli {

namespace {

class LocalTuneCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"local", "tune"},
            "Run a function at several memory sizes and compare duration and cost",
            "For each size: a fresh worker with that MemorySize takes one cold invocation (INIT "
            "with a full CPU, as Lambda's INIT burst), then --invocations warm ones with its CPU "
            "limited to the size's share (one vCPU at 1,769 MB) by a Linux cgroup. Prints the "
            "trimmed mean and p95 duration, Billed Duration, CPU time, INIT, memory used and "
            "the cost per million invocations at each size, charted, with the cheapest and the "
            "fastest. Needs the cgroup cpu controller and the right to create a group (root); "
            "without it, durations at each size are predicted from the CPU time measured, and "
            "the output says so. Tuning runs are not written to the local log store. See "
            "docs/console.md.",
            {{"wisp local tune HelloFunction -e events/event.json",
              "At 128, 512, 1024, 1769 and 3008 MB, 10 warm invocations each"},
             {"wisp local tune Api -e event.json --memory 256,1024,2048 --invocations 30",
              "Chosen sizes, more runs"},
             {"wisp local tune Api --output json", "The figures as JSON"}},
            k_group_template | k_group_parameters | k_group_aws | k_group_output};
  }

  void add_options(CLI::App& app) override {
    app.add_option("function", m_function,
                   "Logical id or FunctionName (optional with a single function)");
    app.add_option("-e,--event", m_event_file, "Event file; '-' reads stdin (default: {})");
    app.add_option("--memory", m_memory,
                   "Memory sizes in MB, comma-separated (default: 128,512,1024,1769,3008)");
    app.add_option("--invocations", m_invocations, "Warm invocations per size (default: 10)")
        ->check(CLI::Range(1, 10000));
    app.add_flag("--no-cpu-limit", m_no_cpu_limit,
                 "Do not limit the CPU with cgroups: measure once, predict each size");
    app.add_option("-n,--env-vars", m_env_vars,
                   "JSON file of environment variables (SAM's format)");
    app.add_option("--prices", m_prices, "A price table (TOML) instead of the built-in one")
        ->check(CLI::ExistingFile);
  }

  int run(Context& context) override {
    auto& term = context.console;
    auto sizes = console::parse_memory_sizes(m_memory);
    if (!sizes) {
      print_error(context, sizes.error());
      return static_cast<int>(sizes.error().exit_code);
    }
    std::string event = "{}";
    if (!m_event_file.empty()) {
      if (m_event_file == "-") {
        event.clear();
        char buffer[65536];
        std::size_t n = 0;
        while ((n = std::fread(buffer, 1, sizeof buffer, stdin)) > 0)
          event.append(buffer, n);
      } else {
        auto text = support::read_file(m_event_file, 16u * 1024 * 1024);
        if (!text) {
          print_error(context, text.error());
          return 1;
        }
        event = std::move(*text);
      }
    }
    int exit_code = 0;
    auto target = load_function_config(context, m_function, m_env_vars, exit_code);
    if (!target)
      return exit_code;
    console::PriceTable prices;
    if (m_prices.empty()) {
      prices = console::builtin_prices();
    } else {
      auto loaded = console::load_prices(m_prices);
      if (!loaded) {
        print_error(context, loaded.error());
        return 1;
      }
      prices = std::move(*loaded);
    }
    console::TuneRequest request;
    request.function = std::move(target->config);
    request.event = std::move(event);
    request.memory_sizes = std::move(*sizes);
    request.invocations = m_invocations;
    request.cpu_limit = !m_no_cpu_limit;
    request.engine.region = target->region;
    request.engine.on_warning = [&term](std::string_view message) { term.warning(message); };
    request.progress = [&term](std::string_view line) { term.info(line); };
    auto result = console::tune(request, prices);
    if (!result) {
      print_error(context, result.error());
      return static_cast<int>(result.error().exit_code);
    }
    term.out(term.json ? console::render_json(*result)
                       : console::render_text(*result, term.color_out));
    return 0;
  }

private:
  std::string m_function;
  std::string m_event_file;
  std::string m_memory = "128,512,1024,1769,3008";
  int m_invocations = 10;
  bool m_no_cpu_limit = false;
  std::string m_env_vars;
  std::string m_prices;
};

} // namespace

std::unique_ptr<Command> make_local_tune_command() {
  return std::make_unique<LocalTuneCommand>();
}

} // namespace wisp::cli
