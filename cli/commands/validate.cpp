// wisp validate — checks a SAM template and reports every problem with file:line:col.

#include "../command.hpp"

#include <wisp/support/fs.hpp>
#include <wisp/support/memory.hpp>
#include <wisp/support/strings.hpp>
#include <wisp/support/terminal.hpp>
#include <wisp/template/load.hpp>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <vector>

#include <unistd.h>

namespace wisp::cli {

namespace {

// --import-values FILE: a JSON object of export name → value (strings, numbers, booleans).
support::Result<std::map<std::string, std::string>> read_import_values(const std::string& path) {
  auto text = support::read_file(path, 16u * 1024 * 1024);
  if (!text)
    return tl::unexpected(support::Error{
        fmt::format("--import-values: {}", text.error().message), {}, support::ExitCode::usage});
  boost::system::error_code ec;
  const auto value = boost::json::parse(*text, ec);
  if (ec || !value.is_object())
    return support::fail(
        fmt::format("--import-values: {} must be a JSON object of export name to value", path),
        support::ExitCode::usage);
  std::map<std::string, std::string> values;
  for (const auto& [key, item] : value.as_object()) {
    if (item.is_string())
      values[std::string(key)] = std::string(item.as_string());
    else if (item.is_int64())
      values[std::string(key)] = std::to_string(item.as_int64());
    else if (item.is_uint64())
      values[std::string(key)] = std::to_string(item.as_uint64());
    else if (item.is_double())
      values[std::string(key)] = fmt::format("{}", item.as_double());
    else if (item.is_bool())
      values[std::string(key)] = item.as_bool() ? "true" : "false";
    else
      return support::fail(
          fmt::format("--import-values: the value of '{}' in {} must be a string", key, path),
          support::ExitCode::usage);
  }
  return values;
}

class ValidateCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"validate"},
            "Check a SAM template and report every problem with its line and column",
            "Loads the template the way every other command does (parameters, conditions, "
            "Globals, intrinsics) and checks its structure, property types, references, "
            "runtimes, handlers, limits, deployment preferences and routes, and the templates "
            "of its nested applications (AWS::Serverless::Application with a local Location, "
            "AWS::CloudFormation::Stack with a local TemplateURL; "
            "a remote one is a warning, as SAM CLI skips it). Every problem is "
            "reported in one run as file:line:col: error|warning: message [code]. As lenient "
            "as SAM and CloudFormation: what they accept is at most a warning (keys the SAM "
            "transform drops, a duplicate key, a CodeUri or handler file a build creates "
            "later). Exit status: 0 valid (warnings allowed), 1 invalid, 2 usage error.",
            {{"wisp validate", "Check template.yaml (or template.yml) in this directory"},
             {"wisp validate -t infra/template.yaml --lint", "Also report best-practice warnings"},
             {"wisp validate --parameter-overrides Stage=prod Memory=1024",
              "Check with parameter values"},
             {"wisp validate --import-values exports.json",
              "Resolve Fn::ImportValue from a JSON object of export names"},
             {"wisp validate --output json", "Print the diagnostics as a JSON array"}},
            k_group_template | k_group_parameters | k_group_output};
  }

  void add_options(CLI::App& app) override {
    app.add_flag("--lint", m_lint, "Also report best-practice warnings");
    app.add_option("--import-values", m_import_values,
                   "JSON file of export name to value, for Fn::ImportValue");
  }

  int run(Context& context) override {
    sam::LoadOptions options;
    options.template_path = context.global.template_file;
    options.parameter_overrides = context.global.parameter_overrides;
    options.lint = m_lint;
    // A CodeUri, handler or DefinitionUri that does not exist yet (a build output such as
    // target/app.zip) is a warning here; the commands that need the file refuse it.
    options.missing_code_is_error = false;
    if (!m_import_values.empty()) {
      auto values = read_import_values(m_import_values);
      if (!values) {
        context.console.error(values.error().message);
        return static_cast<int>(values.error().exit_code);
      }
      options.import_values = std::move(*values);
    }
    if (auto overrides = sam::parse_parameter_overrides(options.parameter_overrides); !overrides) {
      context.console.error(overrides.error().message);
      return static_cast<int>(support::ExitCode::usage);
    }

    // Loading allocates ~40 bytes per template byte; fault that memory in at once.
    if (auto path = sam::resolve_template_path(options.template_path)) {
      std::error_code ec;
      const auto size = std::filesystem::file_size(*path, ec);
      if (!ec)
        support::prepare_heap(static_cast<std::size_t>(size) * 40);
    }
    // The process ends right after this command: the result is deliberately not freed
    // (freeing a large template's model costs more than the rest of the exit).
    const auto& result = *new sam::LoadResult(sam::load(options));
    const auto& items = result.diagnostics.items();
    if (context.console.json) {
      context.console.out(support::to_json(items) + "\n");
    } else {
      std::map<std::string, std::string> sources; // file → text, for source lines on a TTY
      // Source lines follow the terminal, not the colour: NO_COLOR keeps them, uncoloured.
      const bool show_source = support::is_tty(STDERR_FILENO);
      for (const auto& diagnostic : items) {
        std::string_view source;
        if (show_source && diagnostic.line > 0 && !diagnostic.file.empty()) {
          auto it = sources.find(diagnostic.file);
          if (it == sources.end()) {
            auto text = support::read_file(diagnostic.file, 64u * 1024 * 1024);
            it = sources.emplace(diagnostic.file, text ? std::move(*text) : std::string()).first;
          }
          source = it->second;
        }
        context.console.err(
            support::render(diagnostic, {context.console.color_err, !source.empty()}, source));
      }
      const auto file =
          result.model.template_path.empty()
              ? std::string("the template")
              : (options.template_path.empty() ? result.model.template_path.filename().string()
                                               : options.template_path.string());
      const auto errors = result.diagnostics.error_count();
      const auto warnings = result.diagnostics.warning_count();
      const auto style = context.console.out_style();
      std::vector<std::string> nested;
      for (const auto& stack : result.nested_stacks)
        nested.push_back(stack.stack_path);
      const auto with_nested =
          nested.empty() ? std::string()
                         : fmt::format(", with its nested application{} {}",
                                       nested.size() == 1 ? "" : "s", support::join(nested, ", "));
      if (errors == 0) {
        context.console.out(fmt::format(
            "{} {} is a valid SAM template{}{}\n", style.green_bold("✓"), file, with_nested,
            warnings == 0 ? std::string()
                          : fmt::format(" ({} warning{})", warnings, warnings == 1 ? "" : "s")));
      } else {
        context.console.err(fmt::format(
            "{}: {} error{}{}\n", file, errors, errors == 1 ? "" : "s",
            warnings == 0 ? std::string()
                          : fmt::format(", {} warning{}", warnings, warnings == 1 ? "" : "s")));
      }
    }
    return result.diagnostics.has_errors() ? static_cast<int>(support::ExitCode::failure) : 0;
  }

private:
  bool m_lint = false;
  std::string m_import_values;
};

} // namespace

std::unique_ptr<Command> make_validate_command() {
  return std::make_unique<ValidateCommand>();
}

} // namespace wisp::cli
