#pragma once
// Loading the template for a command: the global flags (-t, --parameter-overrides) name it,
// the command sets the rest of sam::LoadOptions; warnings go to stderr, and on failure the
// error is printed and its exit code returned.

#include "../command.hpp"

#include <wisp/template/load.hpp>

#include <optional>
#include <set>
#include <string>

namespace wisp::cli {

// `quiet`: warning codes not shown (what holds for a local run only).
inline std::optional<sam::Model> load_template(Context& context, sam::LoadOptions options,
                                               int& exit_code,
                                               const std::set<std::string>& quiet = {}) {
  if (!options.template_text) // else the caller names the file its text stands for
    options.template_path = context.global.template_file;
  options.parameter_overrides = context.global.parameter_overrides;
  support::Diagnostics warnings;
  auto model = sam::load_model(options, &warnings);
  for (const auto& warning : warnings.items())
    if (!quiet.contains(warning.code))
      context.console.err(support::render(warning, {context.console.color_err, false}));
  if (!model) {
    print_error(context, model.error());
    exit_code = static_cast<int>(model.error().exit_code);
    return std::nullopt;
  }
  return std::move(*model);
}

} // namespace wisp::cli
