#include <wisp/artifact/build.hpp>

#include <wisp/artifact/tool.hpp>
#include <wisp/runtime/runtimes.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace wisp::artifact {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::string_view k_key_version = "wisp-build-v1";

struct Plan {
  std::string logical_id;
  ArtifactKind kind = ArtifactKind::function;
  BuildMethod method = BuildMethod::copy;
  std::string runtime;
  std::string architecture;
  fs::path source;
  std::string subdir; // where sources go in the staged dir (layers: python, nodejs)
  std::vector<std::string> skip_top_level;
};

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:012x}", rng() & 0xFFFFFFFFFFFFull);
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string metadata_string(const json::object& metadata, std::string_view key) {
  if (const auto* value = metadata.if_contains(key); value != nullptr && value->is_string())
    return std::string(value->as_string());
  return {};
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

BuildFailure failure(const Plan& plan, std::string message) {
  return BuildFailure{plan.logical_id, plan.kind, std::move(message), {}, {}};
}

BuildFailure failure(const std::string& id, ArtifactKind kind, std::string message) {
  return BuildFailure{id, kind, std::move(message), {}, {}};
}

// --- file digest cache (stat → sha256) ------------------------------------------------

struct StatEntry {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::string hex;
};

struct StatCache {
  std::int64_t written_ns = 0;
  std::map<std::string, StatEntry> entries;
};

StatCache load_stat_cache(const fs::path& path) {
  StatCache cache;
  auto text = support::read_file(path, 64u * 1024 * 1024);
  if (!text)
    return cache;
  std::istringstream in(*text);
  std::string header;
  long long written = 0;
  if (!(in >> header >> written) || header != "wisp-stat-v1")
    return cache;
  cache.written_ns = written;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    StatEntry entry;
    if (!(fields >> entry.device >> entry.inode >> entry.size >> entry.mtime_ns >> entry.ctime_ns >>
          entry.hex))
      continue;
    fields.get();
    std::string name;
    std::getline(fields, name);
    if (!name.empty())
      cache.entries.emplace(std::move(name), std::move(entry));
  }
  return cache;
}

std::string format_stat_cache(const std::vector<TreeFile>& files,
                              const std::vector<std::string>& hexes, std::int64_t written_ns) {
  std::string out = fmt::format("wisp-stat-v1 {}\n", written_ns);
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    if (f.name.find('\n') != std::string::npos)
      continue;
    out += fmt::format("{} {} {} {} {} {} {}\n", f.device, f.inode, f.size, f.mtime_ns, f.ctime_ns,
                       hexes[i], f.name);
  }
  return out;
}

// The digests of `files`, reusing the stat cache for files whose identity is unchanged
// and whose mtime is safely older than the cache (a file changed within the same clock
// tick as the cache write is hashed again).
support::Result<std::vector<std::string>>
file_digests(const std::vector<TreeFile>& files, const StatCache& cache, std::size_t& hashed) {
  constexpr std::int64_t k_racy_ns = 2'000'000'000;
  std::vector<std::string> hexes(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    if (const auto it = cache.entries.find(f.name); it != cache.entries.end()) {
      const auto& e = it->second;
      if (e.device == f.device && e.inode == f.inode && e.size == f.size &&
          e.mtime_ns == f.mtime_ns && e.ctime_ns == f.ctime_ns &&
          f.mtime_ns + k_racy_ns < cache.written_ns) {
        hexes[i] = e.hex;
        continue;
      }
    }
    WISP_TRY_ASSIGN(auto digest, digest_file(f.source));
    hexes[i] = std::move(digest.hex);
    ++hashed;
  }
  return hexes;
}

// --- build records ------------------------------------------------------------------------

struct Record {
  std::string key;
  Digest zip;
  std::uint64_t unzipped_size = 0;
  std::vector<std::pair<std::string, std::uint64_t>> largest;
};

std::optional<Record> load_record(const fs::path& path) {
  auto text = support::read_file(path, 16u * 1024 * 1024);
  if (!text)
    return std::nullopt;
  boost::system::error_code ec;
  auto value = json::parse(*text, ec);
  if (ec || !value.is_object())
    return std::nullopt;
  const auto& o = value.as_object();
  try {
    Record record;
    record.key = json::value_to<std::string>(o.at("key"));
    record.zip.hex = json::value_to<std::string>(o.at("sha256"));
    record.zip.base64 = json::value_to<std::string>(o.at("codeSha256"));
    record.zip.size = json::value_to<std::uint64_t>(o.at("zipSize"));
    record.unzipped_size = json::value_to<std::uint64_t>(o.at("unzippedSize"));
    if (const auto* largest = o.if_contains("largest"); largest != nullptr && largest->is_array())
      for (const auto& item : largest->as_array())
        record.largest.emplace_back(json::value_to<std::string>(item.at(0)),
                                    json::value_to<std::uint64_t>(item.at(1)));
    return record;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string format_record(const Plan& plan, const Record& record) {
  json::object o;
  o["logicalId"] = plan.logical_id;
  o["kind"] = to_string(plan.kind);
  o["method"] = to_string(plan.method);
  o["runtime"] = plan.runtime;
  o["key"] = record.key;
  o["sha256"] = record.zip.hex;
  o["codeSha256"] = record.zip.base64;
  o["zipSize"] = record.zip.size;
  o["unzippedSize"] = record.unzipped_size;
  json::array largest;
  for (const auto& [name, size] : record.largest)
    largest.push_back(json::array{json::value(name), json::value(size)});
  o["largest"] = std::move(largest);
  return json::serialize(o) + "\n";
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

BuildOutcome run_plan(const Plan& plan, const BuildOptions& options, const fs::path& build_dir,
                      const std::function<void(const BuildEvent&)>& emit) {
  const auto staged = build_dir / plan.logical_id;
  const auto zip_path = build_dir / (plan.logical_id + ".zip");
  const auto cache_dir = build_dir / ".cache";
  const auto record_path = cache_dir / (plan.logical_id + ".json");
  const auto stat_path = cache_dir / (plan.logical_id + ".files");
  auto announce = [&](const std::string& detail) {
    emit(BuildEvent{BuildEvent::Type::started, plan.logical_id, plan.kind, detail});
  };

  // Code that no tool transforms is zipped where it is: its staged directory is the code
  // directory itself (no copy to go stale, and local runs see edits at once).
  const bool in_place = plan.method == BuildMethod::copy && plan.subdir.empty();
  ArtifactBuild out;
  out.logical_id = plan.logical_id;
  out.kind = plan.kind;
  out.method = plan.method;
  out.runtime = plan.runtime;
  out.source = plan.source;
  out.staged_dir = in_place ? plan.source : staged;
  out.zip_path = zip_path;

  // 1. The content key.
  std::string key_text = fmt::format("{}\nkind {}\nid {}\nruntime {}\nmethod {}\narch {}\n",
                                     k_key_version, to_string(plan.kind), plan.logical_id,
                                     plan.runtime, to_string(plan.method), plan.architecture);
  std::vector<TreeFile> sources;
  if (plan.method == BuildMethod::zip_file) {
    auto digest = digest_file(plan.source);
    if (!digest)
      return tl::unexpected(failure(plan, digest.error().message));
    key_text += "zip " + digest->hex + "\n";
  } else {
    auto rules = IgnoreRules::for_directory(plan.source);
    if (!rules)
      return tl::unexpected(failure(plan, rules.error().message));
    // A build dir inside the code directory never goes into the artifact.
    {
      std::error_code rel_ec;
      const auto relative = fs::weakly_canonical(build_dir, rel_ec)
                                .lexically_relative(fs::weakly_canonical(plan.source, rel_ec));
      if (!rel_ec && !relative.empty() && !relative.native().starts_with("..") && relative != ".")
        rules->add("/" + relative.generic_string() + "/");
    }
    auto tree = collect_tree(plan.source, *rules, TreeOptions{plan.skip_top_level});
    if (!tree)
      return tl::unexpected(
          failure(plan, fmt::format("{}: {}", plan.logical_id, tree.error().message)));
    sources = std::move(*tree);
    const auto cache = load_stat_cache(stat_path);
    const auto started_ns = now_ns();
    std::size_t hashed = 0;
    auto hexes = file_digests(sources, cache, hashed);
    if (!hexes)
      return tl::unexpected(failure(plan, hexes.error().message));
    key_text += "ignore " + support::sha256_hex(rules->fingerprint()) + "\n";
    for (std::size_t i = 0; i < sources.size(); ++i)
      key_text += fmt::format("file {} {} {}\n", sources[i].executable ? "x" : "-", (*hexes)[i],
                              sources[i].name);
    // Best effort: a missing stat cache only costs hashing next time. Unchanged trees do not
    // rewrite it (a no-change build writes nothing).
    if (hashed > 0 || sources.size() != cache.entries.size())
      (void)support::write_file_atomic(stat_path, format_stat_cache(sources, *hexes, started_ns));
  }
  out.key = support::sha256_hex(key_text);

  // 2. Reuse.
  if (options.cached) {
    if (auto record = load_record(record_path); record && record->key == out.key) {
      std::error_code ec;
      if (fs::is_regular_file(zip_path, ec) && fs::file_size(zip_path, ec) == record->zip.size &&
          fs::is_directory(out.staged_dir, ec)) {
        out.zip_digest = record->zip;
        out.unzipped_size = record->unzipped_size;
        out.largest = record->largest;
        out.cached = true;
        return out;
      }
    }
  }

  std::error_code ec;
  if (in_place) {
    announce("zip");
    auto zipped = write_zip(zip_inputs(sources), zip_path, options.zip);
    if (!zipped)
      return tl::unexpected(failure(plan, zipped.error().message));
    out.zip_digest = zipped->digest;
    out.unzipped_size = zipped->unzipped_size;
    out.largest = largest_contributors(sources);
    fs::remove_all(staged, ec); // a copy from an earlier build method would be stale
    Record record{out.key, out.zip_digest, out.unzipped_size, out.largest};
    (void)support::write_file_atomic(record_path, format_record(plan, record));
    return out;
  }

  // 3. Stage into a fresh directory, swapped in only when everything succeeded.
  fs::create_directories(build_dir, ec);
  if (ec)
    return tl::unexpected(
        failure(plan, fmt::format("cannot create {}: {}", build_dir.string(), ec.message())));
  // A stable path: tools may record where they installed (pip's direct_url.json), and the
  // same sources should give the same bytes on the next build.
  const auto temp = build_dir / fmt::format(".tmp-{}", plan.logical_id);
  fs::remove_all(temp, ec);
  struct Cleanup {
    std::vector<fs::path> paths;
    ~Cleanup() {
      for (const auto& p : paths) {
        std::error_code ignored;
        fs::remove_all(p, ignored);
      }
    }
  } cleanup{{temp}};
  const auto stage_root = plan.subdir.empty() ? temp : temp / plan.subdir;

  if (plan.method == BuildMethod::zip_file) {
    announce("extract " + plan.source.filename().string());
    if (auto extracted = extract_zip(plan.source, temp); !extracted)
      return tl::unexpected(failure(plan, extracted.error().message));
  } else if (plan.method == BuildMethod::makefile) {
    // A copy of the sources at a stable path (make's messages name it), removed after.
    const auto work = build_dir / ".work" / plan.logical_id;
    fs::remove_all(work, ec);
    cleanup.paths.push_back(work);
    if (auto copied = copy_tree(sources, work); !copied)
      return tl::unexpected(failure(plan, copied.error().message));
    fs::create_directories(temp, ec);
    const auto makefile = work / "Makefile";
    if (!fs::is_regular_file(makefile, ec))
      return tl::unexpected(
          failure(plan, fmt::format("{}: Metadata BuildMethod is makefile, but {} has no Makefile",
                                    plan.logical_id, plan.source.string())));
    Step step{{"make", "-f", makefile.string(), "build-" + plan.logical_id},
              work,
              {{"ARTIFACTS_DIR", fs::absolute(temp).string()}}};
    if (auto ran = run_step(plan, step, announce); !ran)
      return tl::unexpected(std::move(ran.error()));
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

  // 4. Zip the staged tree.
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

  // 5. Swap the staged directory in; the old one goes only after the new one is there.
  if (fs::exists(staged, ec)) {
    const auto old = build_dir / fmt::format(".old-{}-{}", plan.logical_id, random_suffix());
    fs::rename(staged, old, ec);
    if (ec)
      return tl::unexpected(
          failure(plan, fmt::format("cannot replace {}: {}", staged.string(), ec.message())));
    cleanup.paths.push_back(old);
  }
  fs::rename(temp, staged, ec);
  if (ec)
    return tl::unexpected(failure(
        plan, fmt::format("cannot move the build into {}: {}", staged.string(), ec.message())));

  Record record{out.key, out.zip_digest, out.unzipped_size, out.largest};
  (void)support::write_file_atomic(record_path, format_record(plan, record));
  return out;
}

std::string architecture_of(const std::vector<std::string>& architectures) {
  return architectures.empty() ? "x86_64" : architectures.front();
}

tl::expected<Plan, std::variant<BuildFailure, SkippedArtifact>>
plan_function(const sam::Function& function) {
  using Error = std::variant<BuildFailure, SkippedArtifact>;
  const auto& id = function.logical_id;
  const auto skip = [&](std::string reason) {
    return tl::unexpected<Error>(SkippedArtifact{id, ArtifactKind::function, std::move(reason)});
  };
  const auto fail = [&](std::string message) {
    return tl::unexpected<Error>(failure(id, ArtifactKind::function, std::move(message)));
  };
  if (function.package_type == sam::PackageType::image)
    return skip("PackageType Image (built as an OCI image by `wisp package`)");
  if (function.inline_code)
    return skip("InlineCode");
  if (!function.code_s3_uri.empty())
    return skip("code already in S3 (" + function.code_s3_uri + ")");
  if (function.code_dir.empty())
    return fail(fmt::format("{}: no CodeUri", id));
  Plan plan;
  plan.logical_id = id;
  plan.kind = ArtifactKind::function;
  plan.runtime = function.runtime;
  plan.architecture = architecture_of(function.architectures);
  plan.source = function.code_dir;
  std::error_code ec;
  if (!fs::exists(plan.source, ec))
    return fail(fmt::format("{}: CodeUri {} does not exist", id, plan.source.string()));
  if (fs::is_regular_file(plan.source, ec)) {
    plan.method = BuildMethod::zip_file;
    return plan;
  }
  const auto method = metadata_string(function.metadata, "BuildMethod");
  if (method == "makefile") {
    plan.method = BuildMethod::makefile;
    return plan;
  }
  if (!method.empty() && method != function.runtime)
    return fail(fmt::format("{}: Metadata BuildMethod '{}' is not supported by wisp (use "
                            "'makefile', or leave it out to build for the runtime)",
                            id, method));
  if (starts_with(function.runtime, "nodejs") && fs::exists(plan.source / "package.json", ec)) {
    plan.method = BuildMethod::npm;
    plan.skip_top_level = {"node_modules"};
  } else if (starts_with(function.runtime, "python") &&
             fs::exists(plan.source / "requirements.txt", ec)) {
    plan.method = BuildMethod::pip;
  }
  return plan;
}

tl::expected<Plan, std::variant<BuildFailure, SkippedArtifact>>
plan_layer(const sam::Layer& layer) {
  using Error = std::variant<BuildFailure, SkippedArtifact>;
  const auto& id = layer.logical_id;
  const auto fail = [&](std::string message) {
    return tl::unexpected<Error>(failure(id, ArtifactKind::layer, std::move(message)));
  };
  if (!layer.content_s3_uri.empty())
    return tl::unexpected<Error>(SkippedArtifact{
        id, ArtifactKind::layer, "content already in S3 (" + layer.content_s3_uri + ")"});
  if (layer.content_dir.empty())
    return fail(fmt::format("{}: no ContentUri", id));
  Plan plan;
  plan.logical_id = id;
  plan.kind = ArtifactKind::layer;
  plan.source = layer.content_dir;
  plan.architecture = architecture_of(layer.compatible_architectures);
  std::error_code ec;
  if (!fs::exists(plan.source, ec))
    return fail(fmt::format("{}: ContentUri {} does not exist", id, plan.source.string()));
  if (fs::is_regular_file(plan.source, ec)) {
    plan.method = BuildMethod::zip_file;
    return plan;
  }
  const auto method = metadata_string(layer.metadata, "BuildMethod");
  plan.runtime = method;
  if (method.empty())
    return plan;
  if (method == "makefile") {
    plan.method = BuildMethod::makefile;
  } else if (starts_with(method, "python")) {
    plan.subdir = "python";
    if (fs::exists(plan.source / "requirements.txt", ec))
      plan.method = BuildMethod::pip;
  } else if (starts_with(method, "nodejs")) {
    plan.subdir = "nodejs";
    if (fs::exists(plan.source / "package.json", ec)) {
      plan.method = BuildMethod::npm;
      plan.skip_top_level = {"node_modules"};
    }
  } else if (starts_with(method, "provided")) {
    // Executables and shared tools: Lambda puts /opt/bin on PATH.
    plan.subdir = "bin";
  } else {
    return fail(fmt::format("{}: Metadata BuildMethod '{}' is not supported for layers (use "
                            "makefile, python3.x, nodejsNN.x or provided.al2023)",
                            id, method));
  }
  return plan;
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

namespace {

fs::path resolve_build_dir(const sam::Model& model, const BuildOptions& options) {
  if (options.build_dir.empty())
    return default_build_dir(model);
  return fs::absolute(options.build_dir);
}

BuildOutcome
run_with_plan(const tl::expected<Plan, std::variant<BuildFailure, SkippedArtifact>>& plan,
              const sam::Model& model, const BuildOptions& options,
              const std::function<void(const BuildEvent&)>& emit) {
  if (!plan) {
    if (const auto* f = std::get_if<BuildFailure>(&plan.error()))
      return tl::unexpected(*f);
    const auto& s = std::get<SkippedArtifact>(plan.error());
    return tl::unexpected(
        BuildFailure{s.logical_id, s.kind, "nothing to build: " + s.reason, {}, {}});
  }
  return run_plan(*plan, options, resolve_build_dir(model, options), emit);
}

void no_event(const BuildEvent&) {}

} // namespace

BuildOutcome build_function(const sam::Model& model, const sam::Function& function,
                            const BuildOptions& options) {
  return run_with_plan(plan_function(function), model, options,
                       options.on_event ? options.on_event : no_event);
}

BuildOutcome build_layer(const sam::Model& model, const sam::Layer& layer,
                         const BuildOptions& options) {
  return run_with_plan(plan_layer(layer), model, options,
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

  struct Job {
    tl::expected<Plan, std::variant<BuildFailure, SkippedArtifact>> plan;
  };
  std::vector<Job> jobs;
  BuildReport report;
  for (const auto& layer : model.layers)
    if (wanted(layer.logical_id))
      jobs.push_back(Job{plan_layer(layer)});
  for (const auto& function : model.functions)
    if (wanted(function.logical_id))
      jobs.push_back(Job{plan_function(function)});

  std::mutex event_mutex;
  const auto emit = [&](const BuildEvent& event) {
    if (!options.on_event)
      return;
    std::lock_guard lock(event_mutex);
    options.on_event(event);
  };
  const auto build_dir = resolve_build_dir(model, options);
  std::vector<std::optional<BuildOutcome>> outcomes(jobs.size());
  const auto run_job = [&](std::size_t i) {
    const auto& plan = jobs[i].plan;
    if (!plan) {
      if (const auto* f = std::get_if<BuildFailure>(&plan.error())) {
        outcomes[i] = tl::unexpected(*f);
        emit(BuildEvent{BuildEvent::Type::failed, f->logical_id, f->kind, f->message});
      }
      return;
    }
    auto outcome = run_plan(*plan, options, build_dir, emit);
    if (outcome)
      emit(BuildEvent{outcome->cached ? BuildEvent::Type::cached : BuildEvent::Type::finished,
                      outcome->logical_id, outcome->kind, outcome->zip_digest.hex});
    else
      emit(BuildEvent{BuildEvent::Type::failed, outcome.error().logical_id, outcome.error().kind,
                      outcome.error().message});
    outcomes[i] = std::move(outcome);
  };
  if (options.parallel && jobs.size() > 1) {
    std::atomic<std::size_t> next{0};
    const auto threads =
        std::min<std::size_t>(jobs.size(), std::max(2u, std::thread::hardware_concurrency()));
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        for (std::size_t i = next++; i < jobs.size(); i = next++)
          run_job(i);
      });
    for (auto& thread : pool)
      thread.join();
  } else {
    for (std::size_t i = 0; i < jobs.size(); ++i)
      run_job(i);
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const auto& plan = jobs[i].plan;
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

} // namespace wisp::artifact
