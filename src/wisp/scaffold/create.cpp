#include <wisp/scaffold/create.hpp>

#include <wisp/scaffold/names.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <random>

namespace wisp::scaffold {

namespace {

using Values = std::map<std::string, std::string, std::less<>>;

bool identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || c == '_';
}

// Replaces {{key}} with values[key]. `file` names the template in errors.
support::Result<std::string> render(std::string_view text, const Values& values,
                                    const std::string& file) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (true) {
    const auto open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      out.append(text.substr(pos));
      return out;
    }
    auto end = open + 2;
    while (end < text.size() && identifier_char(text[end]))
      ++end;
    if (end == open + 2 || text.substr(end, 2) != "}}") {
      // Not a placeholder ("{{" followed by something else): kept as written.
      out.append(text.substr(pos, open + 2 - pos));
      pos = open + 2;
      continue;
    }
    const auto key = text.substr(open + 2, end - open - 2);
    const auto it = values.find(key);
    if (it == values.end()) {
      const auto before = text.substr(0, open);
      const auto line = static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1;
      const auto line_start = before.rfind('\n');
      const auto column =
          static_cast<int>(line_start == std::string_view::npos ? open + 1 : open - line_start);
      return support::fail(support::Diagnostic{file, line, column, support::Severity::error,
                                               "scaffold",
                                               fmt::format("unknown placeholder {{{{{}}}}}", key)});
    }
    out.append(text.substr(pos, open - pos));
    out.append(it->second);
    pos = end + 2;
  }
}

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:08x}", rng() & 0xffffffffu);
}

// The files of a scaffold, relative to its files/ folder, sorted.
support::Result<std::vector<std::string>> list_files(const fs::path& root) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const auto status = it->symlink_status(ec);
    if (ec)
      break;
    const auto filename = it->path().filename().string();
    if (fs::is_directory(status)) {
      // Left behind by running a scaffold's tests in place; never part of a project.
      if (filename == "__pycache__" || filename == "node_modules")
        it.disable_recursion_pending();
      continue;
    }
    if (filename.ends_with(".pyc"))
      continue;
    if (!fs::is_regular_file(status))
      return support::failf("scaffold file {} is not a regular file", it->path().string());
    files.push_back(it->path().lexically_relative(root).generic_string());
  }
  if (ec)
    return support::failf("cannot read scaffold {}: {}", root.string(), ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

support::Status write_all(const Scaffold& scaffold, const std::vector<std::string>& files,
                          const Values& values, const fs::path& staging) {
  const auto root = scaffold.directory / "files";
  for (const auto& relative : files) {
    const auto source = root / relative;
    WISP_TRY_ASSIGN(const auto text, support::read_file(source, std::uintmax_t{16} * 1024 * 1024));
    std::string content;
    if (text.find('\0') != std::string::npos) {
      content = text; // binary: copied as is
    } else {
      WISP_TRY_ASSIGN(content, render(text, values, source.string()));
    }
    const bool executable = std::find(scaffold.executables.begin(), scaffold.executables.end(),
                                      relative) != scaffold.executables.end();
    WISP_TRY(support::write_file_atomic(staging / relative, content, executable ? 0755 : 0644));
  }
  return {};
}

} // namespace

support::Result<Project> create(const Catalogue& catalogue, const Request& request) {
  WISP_TRY(validate_name(request.name));
  const std::string app_template =
      request.app_template.empty() ? std::string(k_default_app_template) : request.app_template;
  const auto* scaffold = catalogue.find(request.runtime, app_template);
  if (scaffold == nullptr) {
    const auto available = catalogue.app_templates_for(request.runtime);
    if (available.empty())
      return support::failf("no scaffold serves {}", request.runtime);
    return support::fail(fmt::format("app template '{}' is not available for {} (available: {})",
                                     app_template, request.runtime, support::join(available, ", ")),
                         support::ExitCode::usage);
  }

  const auto output_dir = request.output_dir.empty() ? fs::path(".") : request.output_dir;
  const auto target = (output_dir / request.name).lexically_normal();
  std::error_code ec;
  if (fs::exists(fs::symlink_status(target, ec)))
    return support::failf("{} already exists; wisp init never overwrites (choose another --name "
                          "or --output-dir)",
                          target.string());

  Project project;
  project.directory = target;
  project.runtime = request.runtime;
  project.app_template = app_template;
  project.stack_name = stack_name_for(request.name);
  project.test_command = scaffold->test_command;
  const Values values = {{"name", request.name},
                         {"runtime", request.runtime},
                         {"stack_name", project.stack_name},
                         {"app_template", app_template}};
  WISP_TRY_ASSIGN(project.files, list_files(scaffold->directory / "files"));

  fs::create_directories(output_dir, ec);
  if (ec)
    return support::failf("cannot create {}: {}", output_dir.string(), ec.message());
  const auto staging = output_dir / fmt::format(".{}.wisp-init-{}", request.name, random_suffix());
  auto cleanup = [&] {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
  };
  if (!fs::create_directory(staging, ec)) {
    return support::failf("cannot create {}: {}", staging.string(),
                          ec ? ec.message() : std::string("it exists"));
  }
  if (auto written = write_all(*scaffold, project.files, values, staging); !written) {
    cleanup();
    return tl::unexpected(written.error());
  }
  if (auto moved = support::rename_no_replace(staging, target); !moved) {
    cleanup();
    if (fs::exists(fs::symlink_status(target, ec)))
      return support::failf("{} already exists; wisp init never overwrites (choose another "
                            "--name or --output-dir)",
                            target.string());
    return tl::unexpected(moved.error());
  }
  return project;
}

} // namespace wisp::scaffold
