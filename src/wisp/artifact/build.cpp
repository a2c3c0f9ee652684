#include <wisp/artifact/build.hpp>

#include <wisp/artifact/esbuild.hpp>
#include <wisp/artifact/plan.hpp>
#include <wisp/artifact/tool.hpp>
#include <wisp/runtime/runtimes.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <thread>
#include <unistd.h>

namespace wisp::artifact {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

using detail::Plan;
using detail::PlanResult;
using detail::Record;
using detail::SourceScan;

BuildFailure failure(const Plan& plan, std::string message) {
  return BuildFailure{plan.logical_id, plan.kind, std::move(message), {}, {}};
}

// A path for messages: relative to the working directory when below it.
std::string display_path(const fs::path& path) {
  std::error_code ec;
  const auto relative = path.lexically_relative(fs::current_path(ec));
  if (ec || relative.empty() || relative.native().starts_with(".."))
    return path.string();
  return relative.string();
}

// Writes a record unless the file already says the same (a no-change build writes nothing).
void write_record(const fs::path& path, const std::string& text) {
  if (auto existing = support::read_file(path, 16u * 1024 * 1024); existing && *existing == text)
    return;
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  (void)support::write_file_atomic(path, text);
}

// --- staging ------------------------------------------------------------------------------

support::Status copy_tree(const std::vector<TreeFile>& files, const fs::path& destination) {
  std::set<fs::path> created;
  std::error_code ec;
  fs::create_directories(destination, ec);
  if (ec)
    return support::failf("cannot create {}: {}", destination.string(), ec.message());
  for (const auto& file : files) {
    const auto target = destination / file.name;
    const auto parent = target.parent_path();
    if (!created.contains(parent)) {
      fs::create_directories(parent, ec);
      if (ec)
        return support::failf("cannot create {}: {}", parent.string(), ec.message());
      created.insert(parent);
    }
    fs::copy_file(file.source, target, fs::copy_options::overwrite_existing, ec);
    if (ec)
      return support::failf("cannot copy {} to {}: {}", file.source.string(), target.string(),
                            ec.message());
    fs::permissions(
        target, file.executable ? static_cast<fs::perms>(0755) : static_cast<fs::perms>(0644), ec);
  }
  return {};
}

// pip's words for "this requirement could not be found", turned into one clear line.
std::string explain_pip_failure(const std::string& output) {
  static const std::regex k_no_match(R"(No matching distribution found for ([^\s]+))");
  static const std::regex k_no_version(
      R"(Could not find a version that satisfies the requirement ([^\s]+))");
  std::smatch match;
  if (std::regex_search(output, match, k_no_match) ||
      std::regex_search(output, match, k_no_version))
    return fmt::format("pip could not install requirement '{}' from requirements.txt (no "
                       "matching distribution: is the package index reachable, the name and "
                       "version right?)",
                       match[1].str());
  return {};
}

struct Step {
  std::vector<std::string> argv;
  fs::path cwd;
  std::map<std::string, std::string> env;
};

BuildOutcome run_step(const Plan& plan, const Step& step,
                      const std::function<void(const std::string&)>& announce) {
  const auto command = detail::command_line(step.argv);
  announce(command);
  auto result = detail::run_tool(step.argv, step.cwd, step.env);
  if (!result) {
    auto f = failure(plan, fmt::format("{}: {} (needed to build with {})", plan.logical_id,
                                       result.error().message, command));
    f.command = command;
    return tl::unexpected(std::move(f));
  }
  if (result->exit_code != 0) {
    BuildFailure f;
    f.logical_id = plan.logical_id;
    f.kind = plan.kind;
    f.command = command;
    f.tool_output = std::move(result->output);
    std::string explained;
    if (plan.method == BuildMethod::pip)
      explained = explain_pip_failure(f.tool_output);
    f.message = explained.empty()
                    ? fmt::format("'{}' failed with exit code {}", command, result->exit_code)
                    : explained;
    return tl::unexpected(std::move(f));
  }
  return ArtifactBuild{};
}

std::string python_for(const std::string& runtime) {
  // The runtime's interpreter as the local runtime resolves it (the real python3.X, never a
  // version-manager shim that may not run), else python3.
  if (const auto info = runtime::parse_runtime(runtime);
      info && info->family == runtime::RuntimeFamily::python) {
    std::vector<std::string> warnings;
    if (auto interpreter =
            runtime::resolve_interpreter(*info, runtime::default_cache_dir(), warnings))
      return interpreter->executable.string();
  }
  return "python3";
}

// --- esbuild ------------------------------------------------------------------------------

std::optional<fs::path> find_on_path(std::string_view name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr)
    return std::nullopt;
  for (const auto& dir : support::split(path, ':')) {
    if (dir.empty())
      continue;
    const auto candidate = fs::path(dir) / name;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return std::nullopt;
}

// package.json's `dependencies`, in its order.
std::vector<std::string> dependencies_of(const fs::path& manifest) {
  std::vector<std::string> names;
  auto text = support::read_file(manifest, 16u * 1024 * 1024);
  if (!text)
    return names;
  boost::system::error_code ec;
  auto value = json::parse(*text, ec);
  if (ec || !value.is_object())
    return names;
  if (const auto* deps = value.as_object().if_contains("dependencies");
      deps != nullptr && deps->is_object())
    for (const auto& [name, version] : deps->as_object())
      names.emplace_back(name);
  return names;
}

// What builds share: the scratch copies esbuild bundles from (one per CodeUri and install
// command: functions with different handlers share their dependencies). A session lives for
// one build() (or, for hot reload, as long as a Rebuilder). The scratch directories stay in
// <build dir>/.work/esbuild/ with the manifest key of their node_modules beside them, so a
// cached build (and hot reload) installs dependencies again only when the manifest changed.
struct Scratch {
  std::mutex mutex;
  fs::path dir;
  std::string synced;    // the files key of the sources last copied in
  std::string installed; // the manifest key dependencies were last installed for
  std::optional<BuildFailure> failure;
  std::string failed_for; // synced + installed keys of the failed attempt
  std::string prepared_by;
};

class Session {
public:
  Session(fs::path base_dir, bool reuse_dependencies)
      : m_base_dir(std::move(base_dir)), m_reuse_dependencies(reuse_dependencies) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() = default;

  [[nodiscard]] const fs::path& base_dir() const { return m_base_dir; }
  [[nodiscard]] bool reuse_dependencies() const { return m_reuse_dependencies; }

  std::shared_ptr<Scratch> scratch(const std::string& key) {
    std::lock_guard lock(m_mutex);
    auto& entry = m_scratches[key];
    if (!entry)
      entry = std::make_shared<Scratch>();
    return entry;
  }

private:
  fs::path m_base_dir;
  bool m_reuse_dependencies = false;
  std::mutex m_mutex;
  std::map<std::string, std::shared_ptr<Scratch>> m_scratches;
};

// Beside a scratch directory: the manifest key its node_modules were installed for.
fs::path deps_stamp(const fs::path& scratch) {
  return fs::path(scratch.string() + ".deps");
}

// A stable scratch name (source maps name files relative to it, and the same sources must
// give the same bytes on every build and machine): the CodeUri relative to the template.
std::string scratch_name(const fs::path& source, const fs::path& base_dir) {
  auto relative = source.lexically_relative(base_dir).generic_string();
  if (relative.empty() || relative == ".")
    return "_";
  std::string name;
  for (const char c : relative)
    name += (c == '/' || c == '.') ? '_' : c;
  return name;
}

// Makes `work` hold exactly `files` (besides its top-level node_modules): copies them and
// removes what is no longer a source.
support::Status sync_tree(const std::vector<TreeFile>& files, const fs::path& work) {
  WISP_TRY(copy_tree(files, work));
  std::set<std::string> wanted;
  for (const auto& file : files)
    wanted.insert(file.name);
  std::error_code ec;
  std::vector<fs::path> stale;
  for (auto it = fs::recursive_directory_iterator(work, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const auto relative = it->path().lexically_relative(work).generic_string();
    if (relative == "node_modules") {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_directory(ec) && !wanted.contains(relative))
      stale.push_back(it->path());
  }
  for (const auto& path : stale)
    fs::remove(path, ec);
  return {};
}

// What decides whether dependencies must be installed again: the manifest and lockfiles.
std::string manifest_key(const SourceScan& scan, bool ci) {
  std::string text = ci ? "ci\n" : "install\n";
  for (std::size_t i = 0; i < scan.files.size(); ++i) {
    const auto& name = scan.files[i].name;
    if (name == "package.json" || name == "package-lock.json" || name == "npm-shrinkwrap.json" ||
        name == ".npmrc")
      text += scan.hexes[i] + " " + name + "\n";
  }
  return support::sha256_hex(text);
}

// SAM's esbuild workflow: the sources copied to a scratch directory (without node_modules),
// dependencies installed there, then esbuild bundles the entry points into `out`. Returns
// the handler to run (rewritten to the bundle's path where SAM rewrites it).
tl::expected<std::string, BuildFailure>
run_esbuild(const Plan& plan, const SourceScan& scan, const fs::path& build_dir,
            const fs::path& out, Session& session,
            const std::function<void(const std::string&)>& announce) {
  std::error_code ec;
  const bool has_manifest = fs::is_regular_file(plan.source / "package.json", ec);
  const bool locked = fs::exists(plan.source / "package-lock.json", ec) ||
                      fs::exists(plan.source / "npm-shrinkwrap.json", ec);
  const auto* use_ci = plan.esbuild.if_contains("use_npm_ci");
  const bool ci = has_manifest && locked && use_ci != nullptr && detail::truthy(*use_ci);
  auto scratch = session.scratch(plan.source.string() + (ci ? "\nci" : "\ninstall"));
  {
    // Sources copied in and dependencies installed once per content: the first function of
    // a build does it, the others (and later rebuilds with the same manifest) reuse it.
    std::lock_guard lock(scratch->mutex);
    const auto synced = detail::scan_files_key(scan);
    const auto installed = has_manifest ? manifest_key(scan, ci) : std::string("none");
    if (scratch->failure && scratch->failed_for == synced + installed) {
      if (scratch->prepared_by == plan.logical_id)
        return tl::unexpected(*scratch->failure);
      return tl::unexpected(failure(
          plan, fmt::format("{}: installing the dependencies of {} failed (see {})",
                            plan.logical_id, display_path(plan.source), scratch->prepared_by)));
    }
    if (scratch->dir.empty()) {
      // Kept between builds (SAM's cached dependencies): a cached build reuses the installed
      // node_modules while the manifest and lockfiles are unchanged; any other build
      // installs afresh.
      scratch->dir = build_dir / ".work" / "esbuild" /
                     (scratch_name(plan.source, session.base_dir()) + (ci ? "-ci" : ""));
      const auto stamp = support::read_file(deps_stamp(scratch->dir), 4096);
      if (session.reuse_dependencies() && stamp && *stamp == installed &&
          fs::is_directory(scratch->dir / "node_modules", ec)) {
        scratch->installed = installed;
      } else {
        fs::remove(deps_stamp(scratch->dir), ec);
        fs::remove_all(scratch->dir, ec);
      }
    }
    const auto& work = scratch->dir;
    scratch->failure.reset();
    scratch->prepared_by = plan.logical_id;
    const auto fail_with = [&](BuildFailure f) {
      scratch->failure = f;
      scratch->failed_for = synced + installed;
      scratch->synced.clear();
      return tl::unexpected(std::move(f));
    };
    if (scratch->synced != synced || !fs::is_directory(work, ec)) {
      if (auto copied = sync_tree(scan.files, work); !copied)
        return fail_with(failure(plan, copied.error().message));
      scratch->synced = synced;
    }
    if (!has_manifest) {
      if (scratch->installed != installed)
        announce("no package.json: bundling the sources without installing dependencies");
      scratch->installed = installed;
    } else if (scratch->installed != installed || !fs::is_directory(work / "node_modules", ec)) {
      Step step{ci ? std::vector<std::string>{"npm", "ci", "--no-audit", "--no-fund"}
                   : std::vector<std::string>{"npm", "install", "--omit=dev", "--no-audit",
                                              "--no-fund", "--no-save"},
                work,
                {{"npm_config_update_notifier", "false"}}};
      if (auto ran = run_step(plan, step, announce); !ran) {
        fs::remove(deps_stamp(work), ec);
        return fail_with(std::move(ran.error()));
      }
      scratch->installed = installed;
      (void)support::write_file_atomic(deps_stamp(work), installed);
    }
  }
  const auto& work = scratch->dir;
  const auto manifest = work / "package.json";

  // esbuild as SAM finds it: the scratch copy's npm bin directory, then PATH; where SAM
  // stops, wisp installs the pinned one into its cache with npm (once).
  std::optional<fs::path> esbuild;
  if (const auto local = work / "node_modules" / ".bin" / "esbuild";
      fs::exists(local, ec) && ::access(local.c_str(), X_OK) == 0)
    esbuild = local;
  else
    esbuild = find_on_path("esbuild");
  if (!esbuild) {
    auto cached = detail::cached_esbuild(runtime::default_cache_dir(), announce);
    if (!cached) {
      std::string hint = "; install it with `npm install --global esbuild`, or add esbuild to "
                         "the function's dependencies";
      if (const auto dev = plan.source / "node_modules" / ".bin" / "esbuild"; fs::exists(dev, ec))
        hint += fmt::format(" (the one in {} is not used: put its directory on PATH)",
                            display_path(dev.parent_path()));
      // npm's own lines (after the first) are shown as a tool's output.
      const auto& why = cached.error().message;
      const auto newline = why.find('\n');
      auto f = failure(plan, fmt::format("{}: {}{} ({})", plan.logical_id,
                                         detail::k_esbuild_missing, hint, why.substr(0, newline)));
      if (newline != std::string::npos)
        f.tool_output = why.substr(newline + 1);
      return tl::unexpected(std::move(f));
    }
    esbuild = *cached;
  }

  std::vector<std::string> dependencies;
  if (detail::externalizes_dependencies(plan.esbuild)) {
    dependencies = dependencies_of(manifest);
    // lambda-builders checks the version that introduced --external wildcards' behaviour.
    auto version = detail::run_tool({esbuild->string(), "--version"}, work);
    if (!version || version->exit_code != 0)
      return tl::unexpected(failure(
          plan, fmt::format("{}: cannot run {} --version", plan.logical_id, esbuild->string())));
    const auto found = std::string(support::trim(version->output));
    if (!detail::version_at_least(found, "0.14.13"))
      return tl::unexpected(failure(
          plan, fmt::format("{}: Unsupported esbuild version. To use a dependency layer, the "
                            "esbuild version must be at least 0.14.13. Version found: {}",
                            plan.logical_id, found)));
  }
  auto args = detail::esbuild_arguments(plan.esbuild, work, fs::absolute(out), dependencies);
  if (!args)
    return tl::unexpected(
        failure(plan, fmt::format("{}: {}", plan.logical_id, args.error().message)));
  fs::create_directories(out, ec);
  std::vector<std::string> argv{esbuild->string()};
  argv.insert(argv.end(), args->begin(), args->end());
  const auto command = detail::command_line(argv);
  announce(command);
  auto result = detail::run_tool(argv, work);
  if (!result)
    return tl::unexpected(
        failure(plan, fmt::format("{}: {} (needed to build with {})", plan.logical_id,
                                  result.error().message, command)));
  if (result->exit_code != 0) {
    BuildFailure f = failure(plan, "");
    f.command = command;
    f.tool_output = result->output;
    // esbuild names files relative to the scratch copy; name the sources instead.
    auto errors = detail::esbuild_errors(result->output);
    for (auto& error : errors) {
      const auto colon = error.find(':');
      if (colon != std::string::npos && colon > 0 && error.find(": ") > colon)
        error = display_path(plan.source / error.substr(0, colon)) + error.substr(colon);
    }
    if (errors.empty())
      f.message =
          fmt::format("{}: esbuild failed with exit code {}", plan.logical_id, result->exit_code);
    else
      f.message =
          fmt::format("{}: esbuild: {}{}", plan.logical_id, errors.front(),
                      errors.size() > 1 ? fmt::format(" (and {} more error{})", errors.size() - 1,
                                                      errors.size() == 2 ? "" : "s")
                                        : std::string());
    return tl::unexpected(std::move(f));
  }
  return detail::bundled_handler(plan.handler, out);
}

// --- one build ----------------------------------------------------------------------------

// A logical id as one file name: a nested stack's function "Child/Fn" → "Child-Fn" (logical
// ids are alphanumeric, so no other id gives the same name).
std::string flat_id(std::string_view logical_id) {
  std::string out(logical_id);
  std::replace(out.begin(), out.end(), '/', '-');
  return out;
}

BuildOutcome run_plan(const Plan& plan, const SourceScan& scan, const BuildOptions& options,
                      const fs::path& build_dir, Session& session,
                      const std::function<void(const BuildEvent&)>& emit) {
  const auto staged = build_dir / plan.logical_id;
  const auto zip_path = build_dir / (plan.logical_id + ".zip");
  const auto record_file = detail::record_path(build_dir, plan.logical_id);
  auto announce = [&](const std::string& text) {
    emit(BuildEvent{BuildEvent::Type::started, plan.logical_id, plan.kind, text});
  };

  // Code that no tool transforms is zipped where it is: its staged directory is the code
  // directory itself (no copy to go stale, and local runs see edits at once).
  const bool in_place = detail::in_place(plan);
  ArtifactBuild out;
  out.logical_id = plan.logical_id;
  out.kind = plan.kind;
  out.method = plan.method;
  out.runtime = plan.runtime;
  out.source = plan.source;
  out.staged_dir = in_place ? plan.source : staged;
  out.zip_path = zip_path;
  out.key = detail::content_key(plan, scan);
  out.environment = plan.environment;

  Record record;
  record.key = out.key;
  record.files_key = detail::scan_files_key(scan);
  record.method = plan.method;
  record.kind = std::string(to_string(plan.kind));
  record.source = plan.source.string();
  record.staged = in_place ? std::string() : plan.logical_id;
  record.zip_name = plan.logical_id + ".zip";
  record.built_as = plan.logical_id;
  record.environment = plan.environment;
  const auto finish = [&] {
    record.zip = out.zip_digest;
    record.unzipped_size = out.unzipped_size;
    record.largest = out.largest;
    record.handler = out.handler;
    write_record(record_file, detail::format_record(plan.logical_id, record));
  };

  // Reuse.
  if (options.cached) {
    if (auto previous = detail::load_record(record_file);
        previous && previous->key == out.key && previous->built_as == plan.logical_id) {
      std::error_code ec;
      if (fs::is_regular_file(zip_path, ec) && fs::file_size(zip_path, ec) == previous->zip.size &&
          fs::is_directory(out.staged_dir, ec)) {
        out.zip_digest = previous->zip;
        out.unzipped_size = previous->unzipped_size;
        out.largest = previous->largest;
        out.handler = previous->handler;
        out.cached = true;
        return out;
      }
    }
  }

  std::error_code ec;
  // A nested stack's function stages under its stack path (SAM's .aws-sam/build/Child/Fn).
  fs::create_directories(zip_path.parent_path(), ec);
  if (in_place) {
    announce("zip");
    auto zipped = write_zip(zip_inputs(scan.files), zip_path, options.zip);
    if (!zipped)
      return tl::unexpected(failure(plan, zipped.error().message));
    out.zip_digest = zipped->digest;
    out.unzipped_size = zipped->unzipped_size;
    out.largest = largest_contributors(scan.files);
    fs::remove_all(staged, ec); // a copy from an earlier build method would be stale
    finish();
    return out;
  }

  // Stage into a fresh directory, swapped in only when everything succeeded.
  fs::create_directories(build_dir, ec);
  if (ec)
    return tl::unexpected(
        failure(plan, fmt::format("cannot create {}: {}", build_dir.string(), ec.message())));
  // A stable path: tools may record where they installed (pip's direct_url.json), and the
  // same sources should give the same bytes on the next build.
  const auto temp = build_dir / fmt::format(".tmp-{}", flat_id(plan.logical_id));
  fs::remove_all(temp, ec);
  support::RemoveOnExit cleanup{temp};
  const auto stage_root = plan.subdir.empty() ? temp : temp / plan.subdir;
  const auto& sources = scan.files;

  if (plan.method == BuildMethod::zip_file) {
    announce("extract " + plan.source.filename().string());
    if (auto extracted = extract_zip(plan.source, temp); !extracted)
      return tl::unexpected(
          failure(plan, fmt::format("{}: {}", plan.logical_id, extracted.error().message)));
  } else if (plan.method == BuildMethod::file) {
    announce("stage " + plan.source.filename().string());
    if (auto copied = copy_tree(sources, stage_root); !copied)
      return tl::unexpected(failure(plan, copied.error().message));
  } else if (plan.method == BuildMethod::makefile) {
    // A copy of the sources at a stable path (make's messages name it), removed after.
    const auto work = build_dir / ".work" / plan.logical_id;
    fs::remove_all(work, ec);
    cleanup.add(work);
    if (auto copied = copy_tree(sources, work); !copied)
      return tl::unexpected(failure(plan, copied.error().message));
    fs::create_directories(temp, ec);
    const auto makefile = work / "Makefile";
    if (!fs::is_regular_file(makefile, ec))
      return tl::unexpected(
          failure(plan, fmt::format("{}: Metadata BuildMethod is makefile, but {} has no Makefile",
                                    plan.logical_id, plan.source.string())));
    // SAM's target is build-<the function's own logical id>, in a nested stack too.
    const auto own_id = plan.logical_id.substr(plan.logical_id.rfind('/') + 1);
    Step step{{"make", "-f", makefile.string(), "build-" + own_id},
              work,
              {{"ARTIFACTS_DIR", fs::absolute(temp).string()}}};
    if (auto ran = run_step(plan, step, announce); !ran)
      return tl::unexpected(std::move(ran.error()));
  } else if (plan.method == BuildMethod::esbuild) {
    auto handler = run_esbuild(plan, scan, build_dir, temp, session, announce);
    if (!handler)
      return tl::unexpected(std::move(handler.error()));
    if (*handler != plan.handler)
      out.handler = std::move(*handler);
  } else {
    announce("stage");
    if (auto copied = copy_tree(sources, stage_root); !copied)
      return tl::unexpected(failure(plan, copied.error().message));
    if (plan.method == BuildMethod::npm) {
      const bool locked = fs::exists(stage_root / "package-lock.json", ec) ||
                          fs::exists(stage_root / "npm-shrinkwrap.json", ec);
      Step step{{"npm", locked ? "ci" : "install", "--omit=dev", "--no-audit", "--no-fund"},
                stage_root,
                {{"npm_config_update_notifier", "false"}}};
      if (auto ran = run_step(plan, step, announce); !ran)
        return tl::unexpected(std::move(ran.error()));
    } else if (plan.method == BuildMethod::pip) {
      Step step{{python_for(plan.runtime), "-m", "pip", "install", "-r", "requirements.txt", "-t",
                 ".", "--disable-pip-version-check", "--no-input", "--no-compile"},
                stage_root,
                {{"PIP_NO_INPUT", "1"}, {"PYTHONDONTWRITEBYTECODE", "1"}}};
      if (auto ran = run_step(plan, step, announce); !ran)
        return tl::unexpected(std::move(ran.error()));
    }
  }

  // Zip the staged tree.
  announce("zip");
  auto staged_files = collect_tree(temp, IgnoreRules::defaults());
  if (!staged_files)
    return tl::unexpected(
        failure(plan, fmt::format("{}: {}", plan.logical_id, staged_files.error().message)));
  auto zipped = write_zip(zip_inputs(*staged_files), zip_path, options.zip);
  if (!zipped)
    return tl::unexpected(failure(plan, zipped.error().message));
  out.zip_digest = zipped->digest;
  out.unzipped_size = zipped->unzipped_size;
  out.largest = largest_contributors(*staged_files);

  // Swap the staged directory in; the old one goes only after the new one is there.
  if (fs::exists(staged, ec)) {
    const auto old =
        build_dir / fmt::format(".old-{}-{}", flat_id(plan.logical_id), support::random_suffix());
    fs::rename(staged, old, ec);
    if (ec)
      return tl::unexpected(
          failure(plan, fmt::format("cannot replace {}: {}", staged.string(), ec.message())));
    cleanup.add(old);
  }
  fs::rename(temp, staged, ec);
  if (ec)
    return tl::unexpected(failure(
        plan, fmt::format("cannot move the build into {}: {}", staged.string(), ec.message())));
  finish();
  return out;
}

// One build for every member (the first is built; the others share its staged dir and zip).
std::vector<BuildOutcome> run_group(const std::vector<const Plan*>& members,
                                    const support::Result<SourceScan>& scan,
                                    const BuildOptions& options, const fs::path& build_dir,
                                    Session& session,
                                    const std::function<void(const BuildEvent&)>& emit) {
  const Plan& plan = *members.front();
  std::vector<BuildOutcome> outcomes;
  if (!scan) {
    for (const auto* member : members)
      outcomes.emplace_back(tl::unexpected(failure(*member, scan.error().message)));
    return outcomes;
  }
  if (members.size() > 1) {
    std::vector<std::string> ids;
    for (const auto* member : members)
      ids.push_back(member->logical_id);
    emit(BuildEvent{BuildEvent::Type::started, plan.logical_id, plan.kind,
                    fmt::format("one build for {} (same CodeUri, Runtime, Metadata and "
                                "Architectures{})",
                                support::join(ids, ", "),
                                plan.method == BuildMethod::esbuild ? ", Handler" : "")});
  }
  outcomes.reserve(members.size());
  outcomes.push_back(run_plan(plan, *scan, options, build_dir, session, emit));
  const BuildOutcome primary = outcomes.front(); // a copy: outcomes grows below
  for (std::size_t i = 1; i < members.size(); ++i) {
    const auto& member = *members[i];
    if (!primary) {
      outcomes.emplace_back(
          tl::unexpected(failure(member, fmt::format("{}: shares the build of {}, which failed",
                                                     member.logical_id, plan.logical_id))));
      continue;
    }
    ArtifactBuild shared = *primary;
    shared.logical_id = member.logical_id;
    shared.shared_with = plan.logical_id;
    shared.environment = member.environment; // its own NODE_OPTIONS
    // Its record points at the shared build; a build of its own from before goes.
    const auto record_file = detail::record_path(build_dir, member.logical_id);
    if (auto previous = detail::load_record(record_file);
        previous && previous->built_as == member.logical_id) {
      std::error_code ec;
      if (!previous->staged.empty())
        fs::remove_all(build_dir / previous->staged, ec);
      fs::remove(build_dir / previous->zip_name, ec);
    }
    Record record;
    record.key = primary->key;
    record.files_key = detail::scan_files_key(*scan);
    record.zip = primary->zip_digest;
    record.unzipped_size = primary->unzipped_size;
    record.largest = primary->largest;
    record.method = primary->method;
    record.kind = std::string(to_string(primary->kind));
    record.source = plan.source.string();
    record.staged = detail::in_place(plan) ? std::string() : plan.logical_id;
    record.zip_name = plan.logical_id + ".zip";
    record.built_as = plan.logical_id;
    record.handler = primary->handler;
    record.environment = member.environment;
    write_record(record_file, detail::format_record(member.logical_id, record));
    outcomes.emplace_back(std::move(shared));
  }
  return outcomes;
}

} // namespace

std::string_view to_string(ArtifactKind kind) {
  return kind == ArtifactKind::function ? "function" : "layer";
}

std::string_view to_string(BuildMethod method) {
  switch (method) {
  case BuildMethod::copy:
    return "copy";
  case BuildMethod::npm:
    return "npm";
  case BuildMethod::pip:
    return "pip";
  case BuildMethod::makefile:
    return "makefile";
  case BuildMethod::zip_file:
    return "zip-file";
  case BuildMethod::file:
    return "file";
  case BuildMethod::esbuild:
    return "esbuild";
  }
  return "copy";
}

const ArtifactBuild* BuildReport::find(std::string_view logical_id) const {
  for (const auto& artifact : artifacts)
    if (artifact.logical_id == logical_id)
      return &artifact;
  return nullptr;
}

fs::path default_build_dir(const sam::Model& model) {
  return model.base_dir / ".wisp" / "build";
}

fs::path resolve_build_dir(const sam::Model& model, const fs::path& build_dir) {
  if (build_dir.empty())
    return default_build_dir(model);
  return fs::absolute(build_dir);
}

namespace {

BuildOutcome run_with_plan(const PlanResult& plan, const sam::Model& model,
                           const BuildOptions& options,
                           const std::function<void(const BuildEvent&)>& emit) {
  if (!plan) {
    if (const auto* f = std::get_if<BuildFailure>(&plan.error()))
      return tl::unexpected(*f);
    const auto& s = std::get<SkippedArtifact>(plan.error());
    return tl::unexpected(
        BuildFailure{s.logical_id, s.kind, "nothing to build: " + s.reason, {}, {}});
  }
  const auto build_dir = resolve_build_dir(model, options.build_dir);
  auto scan = detail::scan_sources(*plan, build_dir, true);
  if (!scan)
    return tl::unexpected(failure(*plan, scan.error().message));
  Session session(model.base_dir, options.cached);
  return run_plan(*plan, *scan, options, build_dir, session, emit);
}

void no_event(const BuildEvent&) {}

} // namespace

BuildOutcome build_function(const sam::Model& model, const sam::Function& function,
                            const BuildOptions& options) {
  return run_with_plan(detail::plan_function(function), model, options,
                       options.on_event ? options.on_event : no_event);
}

BuildOutcome build_layer(const sam::Model& model, const sam::Layer& layer,
                         const BuildOptions& options) {
  return run_with_plan(detail::plan_layer(layer), model, options,
                       options.on_event ? options.on_event : no_event);
}

support::Result<BuildReport> build(const sam::Model& model, const BuildOptions& options) {
  // Select: named functions and layers, plus the template layers those functions use.
  std::set<std::string> selected;
  if (!options.only.empty()) {
    std::vector<std::string> known;
    for (const auto& f : model.functions)
      known.push_back(f.logical_id);
    for (const auto& l : model.layers)
      known.push_back(l.logical_id);
    for (const auto& id : options.only) {
      const auto* function = model.find_function(id);
      const auto* layer = model.find_layer(id);
      if (function == nullptr && layer == nullptr) {
        std::string hint;
        if (auto close = support::closest_match(id, known))
          hint = fmt::format("; did you mean '{}'?", *close);
        return support::failf("'{}' is not a function or layer of the template{}", id, hint);
      }
      if (function != nullptr) {
        selected.insert(function->logical_id);
        for (const auto& ref : function->layers)
          if (!ref.logical_id.empty())
            selected.insert(ref.logical_id);
      } else {
        selected.insert(layer->logical_id);
      }
    }
  }
  const auto wanted = [&](const std::string& id) {
    return options.only.empty() || selected.contains(id);
  };

  std::vector<PlanResult> plans;
  for (const auto& layer : model.layers)
    if (wanted(layer.logical_id))
      plans.push_back(detail::plan_layer(layer));
  for (const auto& function : model.functions)
    if (wanted(function.logical_id))
      plans.push_back(detail::plan_function(function));

  // Groups: plans with the same share key build once (the first in template order builds).
  struct Group {
    std::vector<std::size_t> members; // indices into plans
    std::size_t scan = 0;             // index into scans
  };
  std::vector<Group> groups;
  std::map<std::string, std::size_t> by_share_key;
  // Scans, once per source directory (functions with different handlers or runtimes often
  // share one), before anything runs.
  const auto build_dir = resolve_build_dir(model, options.build_dir);
  std::vector<support::Result<SourceScan>> scans;
  std::map<std::string, std::size_t> scan_of;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    if (!plans[i])
      continue;
    const auto& plan = *plans[i];
    if (!plan.share_key.empty()) {
      if (auto it = by_share_key.find(plan.share_key); it != by_share_key.end()) {
        groups[it->second].members.push_back(i);
        continue;
      }
      by_share_key.emplace(plan.share_key, groups.size());
    }
    std::string scan_identity = plan.source.string();
    for (const auto& skip : plan.skip_top_level)
      scan_identity += "\n" + skip;
    auto [it, inserted] = scan_of.emplace(scan_identity, scans.size());
    if (inserted)
      scans.push_back(detail::scan_sources(plan, build_dir, true));
    groups.push_back(Group{{i}, it->second});
  }

  std::mutex event_mutex;
  const auto emit = [&](const BuildEvent& event) {
    if (!options.on_event)
      return;
    std::lock_guard lock(event_mutex);
    options.on_event(event);
  };
  std::vector<std::optional<BuildOutcome>> outcomes(plans.size());
  Session session(model.base_dir, options.cached);
  const auto run_job = [&](std::size_t g) {
    const auto& group = groups[g];
    std::vector<const Plan*> members;
    for (const auto i : group.members)
      members.push_back(&*plans[i]);
    auto results = run_group(members, scans[group.scan], options, build_dir, session, emit);
    for (std::size_t m = 0; m < results.size(); ++m) {
      auto& outcome = results[m];
      if (outcome)
        emit(BuildEvent{outcome->cached ? BuildEvent::Type::cached : BuildEvent::Type::finished,
                        outcome->logical_id, outcome->kind, outcome->zip_digest.hex});
      else
        emit(BuildEvent{BuildEvent::Type::failed, outcome.error().logical_id, outcome.error().kind,
                        outcome.error().message});
      outcomes[group.members[m]] = std::move(outcome);
    }
  };
  for (const auto& plan : plans)
    if (!plan)
      if (const auto* f = std::get_if<BuildFailure>(&plan.error()))
        emit(BuildEvent{BuildEvent::Type::failed, f->logical_id, f->kind, f->message});
  if (options.parallel && groups.size() > 1) {
    std::atomic<std::size_t> next{0};
    const auto threads =
        std::min<std::size_t>(groups.size(), std::max(2u, std::thread::hardware_concurrency()));
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        for (std::size_t g = next++; g < groups.size(); g = next++)
          run_job(g);
      });
    for (auto& thread : pool)
      thread.join();
  } else {
    for (std::size_t g = 0; g < groups.size(); ++g)
      run_job(g);
  }

  BuildReport report;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    const auto& plan = plans[i];
    if (!plan) {
      if (const auto* s = std::get_if<SkippedArtifact>(&plan.error()))
        report.skipped.push_back(*s);
      else
        report.failures.push_back(std::get<BuildFailure>(plan.error()));
      continue;
    }
    if (*outcomes[i])
      report.artifacts.push_back(std::move(**outcomes[i]));
    else
      report.failures.push_back(std::move(outcomes[i]->error()));
  }
  return report;
}

struct Rebuilder::Impl {
  Impl(sam::Model model_, BuildOptions options_)
      : model(std::move(model_)), options(std::move(options_)),
        build_dir(resolve_build_dir(model, options.build_dir)), session(model.base_dir, true) {
    options.cached = true;
  }
  sam::Model model;
  BuildOptions options;
  fs::path build_dir;
  Session session;
};

Rebuilder::Rebuilder(sam::Model model, BuildOptions options)
    : m_impl(std::make_unique<Impl>(std::move(model), std::move(options))) {}

Rebuilder::~Rebuilder() = default;

bool Rebuilder::can_rebuild(const std::string& logical_id) const {
  const auto* function = m_impl->model.find_function(logical_id);
  if (function == nullptr)
    return false;
  const auto plan = detail::plan_function(*function);
  return plan && plan->method == BuildMethod::esbuild;
}

Rebuilder::Result Rebuilder::rebuild(const std::string& logical_id) {
  Result result;
  const auto* function = m_impl->model.find_function(logical_id);
  if (function == nullptr) {
    result.functions.push_back(logical_id);
    result.outcome = tl::unexpected(BuildFailure{
        logical_id, ArtifactKind::function, logical_id + ": not in the template", {}, {}});
    return result;
  }
  const auto plan = detail::plan_function(*function);
  if (!plan) {
    result.functions.push_back(logical_id);
    result.outcome = run_with_plan(plan, m_impl->model, m_impl->options, no_event);
    return result;
  }
  // The build's members, in template order (the first one builds, as in build()).
  std::vector<detail::Plan> plans;
  for (const auto& other : m_impl->model.functions) {
    if (other.logical_id == logical_id) {
      plans.push_back(*plan);
      continue;
    }
    if (plan->share_key.empty())
      continue;
    if (auto candidate = detail::plan_function(other);
        candidate && candidate->share_key == plan->share_key)
      plans.push_back(std::move(*candidate));
  }
  std::vector<const Plan*> members;
  for (const auto& member : plans)
    members.push_back(&member);
  const auto scan = detail::scan_sources(plans.front(), m_impl->build_dir, true);
  auto outcomes = run_group(members, scan, m_impl->options, m_impl->build_dir, m_impl->session,
                            m_impl->options.on_event ? m_impl->options.on_event : no_event);
  for (std::size_t i = 0; i < plans.size(); ++i) {
    result.functions.push_back(plans[i].logical_id);
    if (plans[i].logical_id == logical_id)
      result.outcome = std::move(outcomes[i]);
  }
  return result;
}

void apply_build_outputs(sam::Model& model, const BuildReport& report) {
  for (auto& function : model.functions) {
    const auto* built = report.find(function.logical_id);
    if (built == nullptr || built->kind != ArtifactKind::function)
      continue;
    if (!built->handler.empty())
      function.handler = built->handler;
    for (const auto& [key, value] : built->environment)
      function.environment[key] = value;
  }
}

} // namespace wisp::artifact
