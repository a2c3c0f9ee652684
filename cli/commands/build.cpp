// wisp build — stages every function and layer and writes its deterministic zip
// (src/wisp/artifact/build.hpp).

#include "../command.hpp"
#include "load.hpp"

#include <wisp/artifact/build.hpp>
#include <wisp/artifact/limits.hpp>
#include <wisp/artifact/tree.hpp>
#include <wisp/support/strings.hpp>
#include <wisp/template/load.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <chrono>
#include <unistd.h>

namespace wisp::cli {

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string relative_to_cwd(const fs::path& path) {
  std::error_code ec;
  auto relative = fs::relative(path, fs::current_path(), ec);
  if (ec || relative.empty() || relative.native().starts_with(".."))
    return path.string();
  return relative.string();
}

std::string indent(std::string_view text, std::string_view prefix) {
  std::string out;
  for (const auto& line : support::split(text, '\n'))
    out += fmt::format("{}{}\n", prefix, line);
  while (out.size() >= prefix.size() + 1 && out.ends_with(std::string(prefix) + "\n"))
    out.resize(out.size() - prefix.size() - 1);
  return out;
}

class BuildCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"build"},
            "Build functions and layers into deterministic zips (no Docker)",
            "Stages each function and layer under the build dir and writes <LogicalId>.zip: "
            "npm ci/install --omit=dev for Node.js with package.json, pip install -r "
            "requirements.txt -t for Python, make build-<LogicalId> with ARTIFACTS_DIR for "
            "Metadata BuildMethod makefile, esbuild bundles for Metadata BuildMethod esbuild "
            "(as SAM CLI runs it; an esbuild neither among the dependencies nor on PATH is "
            "installed into wisp's cache with npm, once), a plain copy otherwise. Functions with "
            "the same CodeUri, "
            "Runtime, Metadata and Architectures are built once. Zips are byte-for-byte "
            "reproducible (SOURCE_DATE_EPOCH or 1980-01-01 timestamps). A failing function "
            "shows its tool's output; the others are still built. Afterwards the local "
            "commands run the builds. See docs/build.md.",
            {{"wisp build", "Build every function and layer"},
             {"wisp build HelloFunction --cached", "Build one function (and its layers), "
                                                   "reusing it when its sources are unchanged"},
             {"wisp build --parallel --output json", "Build concurrently; print JSON"}},
            k_group_template | k_group_parameters | k_group_output};
  }

  void add_options(CLI::App& app) override {
    app.add_option("resources", m_only, "Functions or layers to build (default: all)");
    app.add_option("-b,--build-dir", m_build_dir,
                   "Where staged code and zips go (default: .wisp/build beside the template)");
    app.add_flag("-p,--parallel", m_parallel, "Build functions and layers concurrently");
    app.add_flag("-c,--cached", m_cached,
                 "Reuse artifacts whose sources, runtime and build method are unchanged");
  }

  int run(Context& context) override {
    const auto started = std::chrono::steady_clock::now();
    int exit_code = 0;
    auto model = load_template(context, {}, exit_code);
    if (!model)
      return exit_code;
    artifact::BuildOptions options;
    options.build_dir = m_build_dir;
    options.cached = m_cached;
    options.parallel = m_parallel;
    options.only = m_only;
    const bool quiet = context.console.json;
    const auto err = context.console.err_style();
    options.on_event = [&](const artifact::BuildEvent& event) {
      if (quiet || event.type != artifact::BuildEvent::Type::started)
        return;
      context.console.err(
          fmt::format("{} {}: {}\n", err.dim("building"), event.logical_id, event.detail));
    };
    auto report = artifact::build(*model, options);
    if (!report) {
      print_error(context, report.error());
      return static_cast<int>(support::ExitCode::usage);
    }
    const auto limits = artifact::check_limits(*model, *report, false);
    const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
    if (context.console.json) {
      context.console.out(json::serialize(to_json(*report, limits)) + "\n");
      return report->ok() ? 0 : 1;
    }
    const auto out = context.console.out_style();
    std::size_t cached = 0;
    for (const auto& a : report->artifacts) {
      cached += a.cached ? 1u : 0u;
      context.console.out(
          fmt::format("{} {:<24} {:<8} {} {:>9}  sha256:{}{}\n",
                      a.cached ? out.dim("cached") : out.green("built "), a.logical_id,
                      artifact::to_string(a.method), relative_to_cwd(a.zip_path),
                      artifact::format_size(a.zip_digest.size), a.zip_digest.hex.substr(0, 12),
                      a.shared_with.empty() ? std::string()
                                            : out.dim(" (built once with " + a.shared_with + ")")));
    }
    for (const auto& s : report->skipped)
      context.console.out(fmt::format("{} {:<24} {}\n", out.dim("skip  "), s.logical_id, s.reason));
    for (const auto& v : limits)
      context.console.warning(v.message);
    for (const auto& f : report->failures) {
      context.console.error(f.message.starts_with(f.logical_id + ":")
                                ? f.message
                                : fmt::format("{}: {}", f.logical_id, f.message));
      if (!f.tool_output.empty())
        context.console.err(indent(f.tool_output, "  | ") + "\n");
    }
    if (!report->ok()) {
      context.console.err(fmt::format("{} {} of {} failed\n", err.red_bold("Build failed:"),
                                      report->failures.size(),
                                      report->failures.size() + report->artifacts.size()));
      return 1;
    }
    context.console.err(fmt::format("{} {} artifact{} ({} cached) in {:.2f} s\n",
                                    err.green_bold("Build succeeded:"), report->artifacts.size(),
                                    report->artifacts.size() == 1 ? "" : "s", cached,
                                    elapsed.count()));
    return 0;
  }

private:
  static json::object to_json(const artifact::BuildReport& report,
                              const std::vector<artifact::LimitViolation>& limits) {
    json::array artifacts;
    for (const auto& a : report.artifacts) {
      json::object o;
      o["logicalId"] = a.logical_id;
      o["kind"] = artifact::to_string(a.kind);
      o["method"] = artifact::to_string(a.method);
      o["runtime"] = a.runtime;
      o["stagedDir"] = a.staged_dir.string();
      o["zip"] = a.zip_path.string();
      o["sha256"] = a.zip_digest.hex;
      o["codeSha256"] = a.zip_digest.base64;
      o["size"] = a.zip_digest.size;
      o["unzippedSize"] = a.unzipped_size;
      o["key"] = a.key;
      o["cached"] = a.cached;
      if (!a.shared_with.empty())
        o["sharedWith"] = a.shared_with;
      if (!a.handler.empty())
        o["handler"] = a.handler;
      if (!a.environment.empty()) {
        json::object environment;
        for (const auto& [key, value] : a.environment)
          environment[key] = value;
        o["environment"] = std::move(environment);
      }
      artifacts.push_back(std::move(o));
    }
    json::array failures;
    for (const auto& f : report.failures)
      failures.push_back(json::object{{"logicalId", f.logical_id},
                                      {"message", f.message},
                                      {"command", f.command},
                                      {"output", f.tool_output}});
    json::array skipped;
    for (const auto& s : report.skipped)
      skipped.push_back(json::object{{"logicalId", s.logical_id}, {"reason", s.reason}});
    json::array warnings;
    for (const auto& v : limits)
      warnings.push_back(json::object{{"logicalId", v.logical_id}, {"message", v.message}});
    return json::object{{"artifacts", std::move(artifacts)},
                        {"failures", std::move(failures)},
                        {"skipped", std::move(skipped)},
                        {"warnings", std::move(warnings)}};
  }

  std::vector<std::string> m_only;
  std::string m_build_dir;
  bool m_parallel = false;
  bool m_cached = false;
};

} // namespace

std::unique_ptr<Command> make_build_command() {
  return std::make_unique<BuildCommand>();
}

} // namespace wisp::cli
