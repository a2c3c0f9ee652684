#include <wisp/artifact/plan.hpp>

#include <wisp/artifact/esbuild.hpp>
#include <wisp/artifact/ignore.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/stat.h>

namespace wisp::artifact::detail {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// v2: the logical id is in the key only where the build depends on it (makefile targets,
// layers), so functions sharing a build share a key; Metadata and esbuild options are in it.
constexpr std::string_view k_key_version = "wisp-build-v2";

std::string metadata_string(const json::object& metadata, std::string_view key) {
  if (const auto* value = metadata.if_contains(key); value != nullptr && value->is_string())
    return std::string(value->as_string());
  return {};
}

BuildFailure failure(const std::string& id, ArtifactKind kind, std::string message) {
  return BuildFailure{id, kind, std::move(message), {}, {}};
}

std::string architecture_of(const std::vector<std::string>& architectures) {
  return architectures.empty() ? "x86_64" : architectures.front();
}

// Metadata as SAM's build graph compares it: without the keys SAM itself adds.
json::object own_metadata(const json::object& metadata) {
  json::object out = metadata;
  out.erase("SamResourceId");
  out.erase("SamNormalized");
  return out;
}

// JSON with object keys sorted (Python compares dicts regardless of order).
void write_canonical(const json::value& value, std::string& out) {
  if (value.is_object()) {
    std::vector<std::pair<std::string_view, const json::value*>> items;
    for (const auto& [key, item] : value.as_object())
      items.emplace_back(key, &item);
    std::sort(items.begin(), items.end());
    out += '{';
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i > 0)
        out += ',';
      out += json::serialize(json::string(items[i].first));
      out += ':';
      write_canonical(*items[i].second, out);
    }
    out += '}';
  } else if (value.is_array()) {
    out += '[';
    bool first = true;
    for (const auto& item : value.as_array()) {
      if (!first)
        out += ',';
      first = false;
      write_canonical(item, out);
    }
    out += ']';
  } else {
    out += json::serialize(value);
  }
}

std::string canonical(const json::object& object) {
  std::string out;
  write_canonical(json::value(object), out);
  return out;
}

} // namespace

bool is_zip_file(const fs::path& path) {
  const auto ext = support::to_lower(path.extension().string());
  if (ext == ".zip" || ext == ".jar")
    return true;
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  if (!in.read(magic, 4))
    return false;
  return magic[0] == 'P' && magic[1] == 'K' &&
         ((magic[2] == 3 && magic[3] == 4) || (magic[2] == 5 && magic[3] == 6));
}

namespace {

// --- the stat cache (identity → sha256) -----------------------------------------------

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

fs::path stat_cache_path(const Plan& plan, const fs::path& build_dir) {
  std::string identity = plan.source.string();
  for (const auto& skip : plan.skip_top_level)
    identity += "\n" + skip;
  return build_dir / ".cache" / ("src-" + support::sha256_hex(identity).substr(0, 16) + ".files");
}

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

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
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

support::Result<TreeFile> single_file(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return support::failf("cannot read {}", path.string());
  TreeFile file;
  file.name = path.filename().string();
  file.source = path;
  file.size = static_cast<std::uint64_t>(st.st_size);
  file.executable = (st.st_mode & S_IXUSR) != 0;
  file.device = static_cast<std::uint64_t>(st.st_dev);
  file.inode = static_cast<std::uint64_t>(st.st_ino);
  file.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  file.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  return file;
}

std::string files_key(const std::vector<std::string>& names,
                      const std::vector<std::string>& hexes) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i)
    text += hexes[i] + " " + names[i] + "\n";
  return support::sha256_hex(text);
}

} // namespace

PlanResult plan_function(const sam::Function& function) {
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
  plan.handler = function.handler;
  plan.metadata = own_metadata(function.metadata);
  std::error_code ec;
  if (!fs::exists(plan.source, ec))
    return fail(fmt::format("{}: CodeUri {} does not exist", id, plan.source.string()));
  const auto method = metadata_string(function.metadata, "BuildMethod");
  if (fs::is_regular_file(plan.source, ec)) {
    plan.method = is_zip_file(plan.source) ? BuildMethod::zip_file : BuildMethod::file;
  } else if (method == "makefile") {
    plan.method = BuildMethod::makefile;
  } else if (method == "esbuild") {
    if (!function.runtime.starts_with("nodejs"))
      return fail(
          fmt::format("{}: Metadata BuildMethod esbuild builds nodejs functions, not {}", id,
                      function.runtime.empty() ? "a function without Runtime" : function.runtime));
    plan.method = BuildMethod::esbuild;
    plan.skip_top_level = {"node_modules"};
    plan.esbuild = esbuild_options(function.metadata, function.handler, function.environment);
    if (auto added = sourcemap_environment(plan.esbuild, function.environment))
      plan.environment.push_back(std::move(*added));
  } else if (!method.empty() && method != function.runtime) {
    return fail(fmt::format("{}: Metadata BuildMethod '{}' is not supported by wisp (use "
                            "'makefile' or 'esbuild', or leave it out to build for the runtime)",
                            id, method));
  } else if (function.runtime.starts_with("nodejs") &&
             fs::exists(plan.source / "package.json", ec)) {
    plan.method = BuildMethod::npm;
    plan.skip_top_level = {"node_modules"};
  } else if (function.runtime.starts_with("python") &&
             fs::exists(plan.source / "requirements.txt", ec)) {
    plan.method = BuildMethod::pip;
  }
  if (plan.method != BuildMethod::makefile)
    plan.share_key = plan_header(plan) + "source " + plan.source.string() + "\n";
  return plan;
}

PlanResult plan_layer(const sam::Layer& layer) {
  using Error = std::variant<BuildFailure, SkippedArtifact>;
  const auto& id = layer.logical_id;
  const auto fail = [&](std::string message) {
    return tl::unexpected<Error>(failure(id, ArtifactKind::layer, std::move(message)));
  };
  if (!layer.content_s3_uri.empty())
    return tl::unexpected<Error>(SkippedArtifact{
        id, ArtifactKind::layer, "content already in S3 (" + layer.content_s3_uri + ")"});
  if (layer.content_dir.empty())
    // Content given as S3Bucket/S3Key from other resources (a custom resource's output):
    // nothing local to build, as SAM's build skips it.
    return tl::unexpected<Error>(
        SkippedArtifact{id, ArtifactKind::layer, "no local content (Content names no local path)"});
  Plan plan;
  plan.logical_id = id;
  plan.kind = ArtifactKind::layer;
  plan.source = layer.content_dir;
  plan.architecture = architecture_of(layer.compatible_architectures);
  plan.metadata = own_metadata(layer.metadata);
  std::error_code ec;
  if (!fs::exists(plan.source, ec))
    return fail(fmt::format("{}: ContentUri {} does not exist", id, plan.source.string()));
  if (fs::is_regular_file(plan.source, ec)) {
    plan.method = is_zip_file(plan.source) ? BuildMethod::zip_file : BuildMethod::file;
    return plan;
  }
  const auto method = metadata_string(layer.metadata, "BuildMethod");
  plan.runtime = method;
  if (method.empty())
    return plan;
  if (method == "makefile") {
    plan.method = BuildMethod::makefile;
  } else if (method.starts_with("python")) {
    plan.subdir = "python";
    if (fs::exists(plan.source / "requirements.txt", ec))
      plan.method = BuildMethod::pip;
  } else if (method.starts_with("nodejs")) {
    plan.subdir = "nodejs";
    if (fs::exists(plan.source / "package.json", ec)) {
      plan.method = BuildMethod::npm;
      plan.skip_top_level = {"node_modules"};
    }
  } else if (method.starts_with("provided")) {
    // Executables and shared tools: Lambda puts /opt/bin on PATH.
    plan.subdir = "bin";
  } else {
    return fail(fmt::format("{}: Metadata BuildMethod '{}' is not supported for layers (use "
                            "makefile, python3.x, nodejsNN.x or provided.al2023)",
                            id, method));
  }
  return plan;
}

bool in_place(const Plan& plan) {
  return plan.method == BuildMethod::copy && plan.subdir.empty();
}

support::Result<SourceScan> scan_sources(const Plan& plan, const fs::path& build_dir,
                                         bool update_cache) {
  SourceScan scan;
  const auto cache_path = stat_cache_path(plan, build_dir);
  const auto cache = load_stat_cache(cache_path);
  scan.cache_written_ns = cache.written_ns;
  const auto started_ns = now_ns();
  const bool is_file = plan.method == BuildMethod::zip_file || plan.method == BuildMethod::file;
  if (is_file) {
    WISP_TRY_ASSIGN(auto file, single_file(plan.source));
    scan.files.push_back(std::move(file));
  } else {
    WISP_TRY_ASSIGN(auto rules, IgnoreRules::for_directory(plan.source));
    // A build dir inside the code directory never goes into the artifact.
    std::error_code ec;
    const auto relative = fs::weakly_canonical(build_dir, ec)
                              .lexically_relative(fs::weakly_canonical(plan.source, ec));
    if (!ec && !relative.empty() && !relative.native().starts_with("..") && relative != ".")
      rules.add("/" + relative.generic_string() + "/");
    auto tree = collect_tree(plan.source, rules, TreeOptions{plan.skip_top_level});
    if (!tree)
      return support::failf("{}: {}", plan.logical_id, tree.error().message);
    scan.files = std::move(*tree);
    scan.key_text = "ignore " + support::sha256_hex(rules.fingerprint()) + "\n";
  }
  std::size_t hashed = 0;
  WISP_TRY_ASSIGN(scan.hexes, file_digests(scan.files, cache, hashed));
  if (is_file) {
    scan.key_text = fmt::format("{} {} {}\n", plan.method == BuildMethod::zip_file ? "zip" : "file",
                                scan.hexes[0], scan.files[0].name);
  } else {
    for (std::size_t i = 0; i < scan.files.size(); ++i)
      scan.key_text += fmt::format("file {} {} {}\n", scan.files[i].executable ? "x" : "-",
                                   scan.hexes[i], scan.files[i].name);
  }
  // Best effort: a missing stat cache only costs hashing next time. Unchanged trees do not
  // rewrite it (a no-change build writes nothing).
  if (update_cache && (hashed > 0 || scan.files.size() != cache.entries.size())) {
    std::error_code ec;
    fs::create_directories(cache_path.parent_path(), ec);
    (void)support::write_file_atomic(cache_path,
                                     format_stat_cache(scan.files, scan.hexes, started_ns));
  }
  return scan;
}

std::string plan_header(const Plan& plan) {
  std::string text = fmt::format("{}\nkind {}\n", k_key_version, to_string(plan.kind));
  if (plan.kind == ArtifactKind::layer || plan.method == BuildMethod::makefile)
    text += fmt::format("id {}\n", plan.logical_id);
  text += fmt::format("runtime {}\nmethod {}\narch {}\n", plan.runtime, to_string(plan.method),
                      plan.architecture);
  text += "metadata " + canonical(plan.metadata) + "\n";
  if (plan.method == BuildMethod::esbuild)
    text += fmt::format("handler {}\nesbuild {}\n", plan.handler, canonical(plan.esbuild));
  return text;
}

std::string content_key(const Plan& plan, const SourceScan& scan) {
  return support::sha256_hex(plan_header(plan) + scan.key_text);
}

std::string scan_files_key(const SourceScan& scan) {
  std::vector<std::string> names;
  names.reserve(scan.files.size());
  for (const auto& file : scan.files)
    names.push_back(file.name);
  return files_key(names, scan.hexes);
}

fs::path record_path(const fs::path& build_dir, const std::string& logical_id) {
  return build_dir / ".cache" / (logical_id + ".json");
}

std::optional<Record> load_record(const fs::path& path) {
  auto text = support::read_file(path, 16u * 1024 * 1024);
  if (!text)
    return std::nullopt;
  boost::system::error_code ec;
  auto value = json::parse(*text, ec);
  if (ec || !value.is_object())
    return std::nullopt;
  const auto& o = value.as_object();
  const auto text_of = [&](std::string_view key) {
    const auto* item = o.if_contains(key);
    return item != nullptr && item->is_string() ? std::string(item->as_string()) : std::string();
  };
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
    record.files_key = text_of("filesKey");
    record.kind = text_of("kind");
    const auto method = text_of("method");
    for (auto m : {BuildMethod::copy, BuildMethod::npm, BuildMethod::pip, BuildMethod::makefile,
                   BuildMethod::zip_file, BuildMethod::file, BuildMethod::esbuild})
      if (to_string(m) == method)
        record.method = m;
    record.source = text_of("source");
    record.staged = text_of("stagedDir");
    record.zip_name = text_of("zip");
    record.built_as = text_of("builtAs");
    record.handler = text_of("handler");
    if (const auto* env = o.if_contains("environment"); env != nullptr && env->is_object())
      for (const auto& [key, item] : env->as_object())
        if (item.is_string())
          record.environment.emplace_back(std::string(key), std::string(item.as_string()));
    return record;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string format_record(const std::string& logical_id, const Record& record) {
  json::object o;
  o["logicalId"] = logical_id;
  o["kind"] = record.kind;
  o["method"] = to_string(record.method);
  o["key"] = record.key;
  o["filesKey"] = record.files_key;
  o["source"] = record.source;
  o["stagedDir"] = record.staged;
  o["zip"] = record.zip_name;
  o["builtAs"] = record.built_as;
  if (!record.handler.empty())
    o["handler"] = record.handler;
  if (!record.environment.empty()) {
    json::object env;
    for (const auto& [key, value] : record.environment)
      env[key] = value;
    o["environment"] = std::move(env);
  }
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

std::optional<SourceScan> load_previous_scan(const Plan& plan, const fs::path& build_dir) {
  const auto cache = load_stat_cache(stat_cache_path(plan, build_dir));
  if (cache.written_ns == 0)
    return std::nullopt;
  SourceScan scan;
  scan.cache_written_ns = cache.written_ns;
  for (const auto& [name, entry] : cache.entries) {
    TreeFile file;
    file.name = name;
    scan.files.push_back(std::move(file));
    scan.hexes.push_back(entry.hex);
  }
  return scan;
}

std::vector<std::string> changed_files(const SourceScan& scan, const SourceScan& previous) {
  std::map<std::string_view, std::string_view> before;
  for (std::size_t i = 0; i < previous.files.size(); ++i)
    before.emplace(previous.files[i].name, previous.hexes[i]);
  std::vector<std::string> changed;
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < scan.files.size(); ++i) {
    const auto& name = scan.files[i].name;
    seen.insert(name);
    const auto it = before.find(name);
    if (it == before.end())
      changed.push_back(name + " (new)");
    else if (it->second != scan.hexes[i])
      changed.push_back(name);
  }
  for (const auto& [name, hex] : before)
    if (!seen.contains(name))
      changed.push_back(std::string(name) + " (removed)");
  return changed;
}

} // namespace wisp::artifact::detail
