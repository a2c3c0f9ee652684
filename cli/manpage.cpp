#include "manpage.hpp"

#include <wisp/version.hpp>

#include <fmt/format.h>

#include <set>

namespace wisp::cli {

namespace {

// Text for roff: backslashes escaped, '-' as a real hyphen-minus, and a line starting with
// '.' or '\'' protected so it is not read as a request.
std::string roff(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (const char c : text) {
    if (line_start && (c == '.' || c == '\''))
      out += "\\&";
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
    line_start = c == '\n';
  }
  return out;
}

std::string choice_list(const CLI::Option& option, std::string_view separator) {
  std::string values;
  if (const auto* choices = choices_of(&option))
    for (const auto& value : *choices)
      values += (values.empty() ? "" : std::string(separator)) + value;
  return values;
}

// The description, plus the accepted values when the label has no room for them.
std::string option_text(const CLI::Option& option) {
  std::string text = option.get_description();
  const auto values = choice_list(option, "|");
  if (values.size() > 30)
    text += " (one of: " + choice_list(option, ", ") + ")";
  return roff(text);
}

std::string option_label(const CLI::Option& option) {
  std::string label;
  for (const auto& name : option.get_snames())
    label += (label.empty() ? "" : ", ") + fmt::format("\\fB{}\\fR", roff("-" + name));
  for (const auto& name : option.get_lnames())
    label += (label.empty() ? "" : ", ") + fmt::format("\\fB{}\\fR", roff("--" + name));
  if (option.get_expected_max() > 0 && option.get_type_size_max() > 0) {
    const auto values = choice_list(option, "|");
    if (!values.empty() && values.size() <= 30) {
      label += " " + roff(values);
    } else {
      auto type = option.get_type_name(); // "TEXT", or "TEXT:{a,b}" with a validator
      type = type.substr(0, type.find(':'));
      label += fmt::format(" \\fI{}\\fR", roff(type));
    }
  }
  return label;
}

bool is_positional(const CLI::Option& option) {
  return option.get_positional() && !option.nonpositional();
}

std::string positional_label(const CLI::Option& option) {
  std::string name = option.get_name();
  for (auto& c : name)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

void option_entries(std::string& out, const CLI::App& app, bool common) {
  for (const auto* option : app.get_options()) {
    if (option->get_name() == "--help" || option->get_name() == "-h,--help")
      continue;
    if (option->get_lnames().size() == 1 && option->get_lnames().front() == "help")
      continue;
    const bool is_common = option->get_group() != "Options";
    if (is_common != common)
      continue;
    if (is_positional(*option)) {
      out += fmt::format(".TP\n\\fI{}\\fR\n{}", positional_label(*option),
                         roff(option->get_description()));
      if (const auto* choices = choices_of(option)) {
        std::string values;
        for (const auto& value : *choices)
          values += (values.empty() ? "" : ", ") + value;
        out += fmt::format(": {}", roff(values));
      }
      out += "\n";
      continue;
    }
    out += fmt::format(".TP\n{}\n{}\n", option_label(*option), option_text(*option));
  }
}

void command_section(std::string& out, const CLI::App& app, const std::string& path,
                     const CommandInfo& info) {
  std::string synopsis = "wisp " + path + " [OPTIONS]";
  for (const auto* option : app.get_options())
    if (is_positional(*option))
      synopsis += " " + positional_label(*option);
  out += fmt::format(".SS \"{}\"\n{}.\n", roff(synopsis), roff(info.summary));
  if (!info.description.empty())
    out += fmt::format(".PP\n{}\n", roff(info.description));
  std::string options;
  option_entries(options, app, false);
  if (!options.empty())
    out += ".PP\nOptions:\n.RS\n" + options + ".RE\n";
  if (!info.examples.empty()) {
    out += ".PP\nExamples:\n.RS\n";
    for (const auto& example : info.examples) {
      out += fmt::format(".TP\n\\fB{}\\fR\n{}\n", roff(example.command), roff(example.explanation));
    }
    out += ".RE\n";
  }
}

void walk(std::string& out, const CLI::App& app, const std::string& path,
          const std::map<const CLI::App*, CommandInfo>& infos,
          std::vector<const CLI::App*>& leaves) {
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    const auto sub_path = path.empty() ? sub->get_name() : path + " " + sub->get_name();
    const auto it = infos.find(sub);
    if (it != infos.end()) {
      command_section(out, *sub, sub_path, it->second);
      leaves.push_back(sub);
    }
    walk(out, *sub, sub_path, infos, leaves);
  }
}

} // namespace

std::string render_man_page(const CLI::App& root,
                            const std::map<const CLI::App*, CommandInfo>& infos) {
  std::string out;
  out += fmt::format(".TH WISP 1 \"\" \"wisp {}\" \"User Commands\"\n", version());
  out += ".SH NAME\nwisp \\- " +
         roff(root.get_description().substr(root.get_description().find("build"))) + "\n";
  out += ".SH SYNOPSIS\n.B wisp\n[\\fB\\-\\-version\\fR] [\\fB\\-\\-debug\\fR] "
         "[\\fB\\-\\-color\\fR \\fIWHEN\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n";
  out += ".SH DESCRIPTION\n" +
         roff("wisp builds, runs and deploys serverless applications described by AWS SAM "
              "templates (template.yaml). Existing SAM apps run unchanged; functions run as "
              "local processes speaking the Lambda Runtime API, without Docker.") +
         "\n.PP\n" +
         roff("Every command reads samconfig.toml (or samconfig.yaml) in the current directory "
              "with SAM's semantics: [ENV.COMMAND.parameters] tables (command words joined by "
              "'_'), [ENV.global.parameters] merged under each command, --config-file and "
              "--config-env; flags given on the command line win.") +
         "\n";
  out += ".SH COMMANDS\n";
  std::vector<const CLI::App*> leaves;
  walk(out, root, "", infos, leaves);

  out +=
      ".SH COMMON OPTIONS\n" + roff("Options a command has when it says so in its --help.") + "\n";
  std::set<std::string> seen;
  std::string common;
  for (const auto* leaf : leaves) {
    for (const auto* option : leaf->get_options()) {
      if (option->get_group() == "Options" || is_positional(*option))
        continue;
      if (!seen.insert(option->get_name()).second)
        continue;
      common += fmt::format(".TP\n{}\n{}\n", option_label(*option), option_text(*option));
    }
  }
  out += common;
  out += ".TP\n\\fB\\-\\-version\\fR\n" + roff("Print the version and exit (wisp only).") + "\n";

  out += ".SH EXIT STATUS\n.TP\n0\nSuccess.\n.TP\n1\n" +
         roff("The input (a template, a config file, a project) or the remote side failed.") +
         "\n.TP\n2\n" + roff("Usage error: an unknown command or flag, a bad or missing value.") +
         "\n";
  out += ".SH ENVIRONMENT\n.TP\n.B NO_COLOR\n" + roff("When set, --color auto never colours.") +
         "\n.TP\n.B WISP_TEMPLATES_DIR\n" +
         roff("Where wisp init finds its scaffolds instead of the installed ones.") + "\n";
  out += ".SH FILES\n.TP\n.I samconfig.toml\n" +
         roff("Default parameters per environment and command.") +
         "\n.TP\n.I /usr/share/wisp/templates\n" +
         roff("The scaffolds of wisp init (PREFIX/share/wisp/templates beside PREFIX/bin/wisp).") +
         "\n";
  out += ".SH SEE ALSO\n" + roff("sam(1) (AWS SAM CLI); wisp's README.md and docs/.") + "\n";
  return out;
}

} // namespace wisp::cli
