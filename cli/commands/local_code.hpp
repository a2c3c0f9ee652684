#pragma once
// What the local commands run: after `wisp build`, each function's staged build (as SAM runs
// .aws-sam/build), found where `wisp build` puts it (--build-dir, else samconfig's build
// build_dir, else .wisp/build); see src/wisp/artifact/built.hpp.

#include "../command.hpp"

#include <wisp/artifact/built.hpp>
#include <wisp/support/strings.hpp>

#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

namespace wisp::cli {

inline void add_build_dir_option(CLI::App& app, std::string& build_dir) {
  app.add_option("-b,--build-dir", build_dir,
                 "Where `wisp build` put its builds (default: samconfig's build_dir for build, "
                 "else .wisp/build beside the template); built functions run from there");
}

// Points the model at the builds; prints warnings (stale builds). nullopt (and prints why)
// when some code cannot run at all.
inline std::optional<artifact::LocalCodeReport> use_local_builds(Context& context,
                                                                 sam::Model& model,
                                                                 const std::string& build_dir,
                                                                 std::vector<std::string> only) {
  artifact::LocalCodeOptions options;
  options.build_dir = !build_dir.empty() ? build_dir : context.global.config_build_dir;
  options.only = std::move(only);
  auto report = artifact::use_local_builds(model, options);
  if (!report) {
    print_error(context, report.error());
    return std::nullopt;
  }
  for (const auto& warning : report->warnings)
    context.console.warning(warning);
  if (!report->from_build.empty())
    context.console.debug_log("running from their builds: " +
                              support::join(report->from_build, ", "));
  return std::move(*report);
}

} // namespace wisp::cli
