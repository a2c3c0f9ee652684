#pragma once
// The --interpreter RUNTIME=PATH option of the commands that run functions (local invoke,
// start-api, start-lambda): names the interpreter for a runtime, over the closest installed
// version wisp would pick (samconfig: `interpreter = ["nodejs24.x=/opt/node24/bin/node"]`).

#include <wisp/runtime/runtimes.hpp>

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace wisp::cli {

inline void add_interpreter_option(CLI::App& app, std::vector<std::string>& values) {
  app.add_option("--interpreter", values,
                 "RUNTIME=PATH: run functions of RUNTIME with this interpreter (repeatable; "
                 "also WISP_INTERPRETER_<RUNTIME>, e.g. WISP_INTERPRETER_NODEJS24_X)")
      ->check([](const std::string& value) {
        auto parsed = runtime::parse_interpreter_choice(value);
        return parsed ? std::string() : parsed.error().message;
      })
      ->type_name("RUNTIME=PATH");
}

// The validated values as the engine takes them (a later one for the same runtime wins).
inline runtime::InterpreterChoices interpreter_choices(const std::vector<std::string>& values) {
  runtime::InterpreterChoices choices;
  for (const auto& value : values)
    if (auto parsed = runtime::parse_interpreter_choice(value))
      choices[parsed->first] = parsed->second;
  return choices;
}

} // namespace wisp::cli
