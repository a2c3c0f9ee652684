#pragma once
// Internal to artifact/: what building one function or layer means (its Plan), the scan of
// its sources, the content key that decides whether a build is current, and the record a
// build leaves in <build_dir>/.cache/<LogicalId>.json. build.cpp runs plans; built.cpp uses
// the same plans, scans and keys to tell, at the start of a local run, whether a build is
// still current (stat-only when nothing changed).

#include <wisp/artifact/build.hpp>
#include <wisp/artifact/tree.hpp>

#include <boost/json.hpp>
#include <tl/expected.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace wisp::artifact::detail {

struct Plan {
  std::string logical_id;
  ArtifactKind kind = ArtifactKind::function;
  BuildMethod method = BuildMethod::copy;
  std::string runtime; // a layer: its BuildMethod
  std::string architecture;
  std::filesystem::path source; // CodeUri / ContentUri (a directory, or a file)
  std::string subdir;           // where sources go in the staged dir (layers: python, nodejs)
  std::vector<std::string> skip_top_level;
  std::string handler;          // functions
  boost::json::object metadata; // Metadata without the keys SAM adds (SamResourceId, ...)
  boost::json::object esbuild;  // esbuild: BuildProperties as SAM hands them to the builder
  std::vector<std::pair<std::string, std::string>> environment; // what the build adds
  // Plans with the same non-empty share key are built once (SAM's build graph): same
  // runtime, CodeUri, Metadata (BuildProperties included), architecture; for esbuild also
  // the handler. Makefile builds and layers are never shared.
  std::string share_key;
};

using PlanResult = tl::expected<Plan, std::variant<BuildFailure, SkippedArtifact>>;

PlanResult plan_function(const sam::Function& function);
PlanResult plan_layer(const sam::Layer& layer);

// A CodeUri file is a zip (or jar) by its name or its first bytes; any other file is a
// single file that becomes the whole artifact (as SAM's package zips it).
bool is_zip_file(const std::filesystem::path& path);

// Whether code is staged in place (nothing transforms it: its source is its staged dir).
bool in_place(const Plan& plan);

// The files an artifact is made from, with their content digests (SHA-256 hex). Digests
// come from a stat cache (<build_dir>/.cache/src-<hash>.files) for files whose identity
// (device, inode, size, mtime, ctime) is unchanged and older than the cache; with
// `update_cache` the cache is rewritten when anything had to be hashed.
struct SourceScan {
  std::vector<TreeFile> files;
  std::vector<std::string> hexes;
  std::string key_text; // the part of the content key the files give
  std::int64_t cache_written_ns = 0;
};

support::Result<SourceScan> scan_sources(const Plan& plan, const std::filesystem::path& build_dir,
                                         bool update_cache);

// The content key: SHA-256 of the plan's build inputs and its scan.
std::string plan_header(const Plan& plan);
std::string content_key(const Plan& plan, const SourceScan& scan);
// SHA-256 of the scan's names and digests only (comparable with a stat cache's).
std::string scan_files_key(const SourceScan& scan);

// What a build of one artifact left behind (one record per logical id; members of a shared
// build point at the same staged dir and zip).
struct Record {
  std::string key;
  std::string files_key; // sha256 of the scan's key text: tells "files changed" apart
  Digest zip;
  std::uint64_t unzipped_size = 0;
  std::vector<std::pair<std::string, std::uint64_t>> largest;
  BuildMethod method = BuildMethod::copy;
  std::string kind;
  std::string source;   // absolute CodeUri/ContentUri at build time
  std::string staged;   // relative to the build dir; empty: staged in place (the source)
  std::string zip_name; // relative to the build dir
  std::string built_as; // the logical id whose build this is (itself unless shared)
  std::string handler;  // the handler to run when the build rewrote it (esbuild), else empty
  std::vector<std::pair<std::string, std::string>> environment; // variables the build adds
};

std::filesystem::path record_path(const std::filesystem::path& build_dir,
                                  const std::string& logical_id);
std::optional<Record> load_record(const std::filesystem::path& path);
std::string format_record(const std::string& logical_id, const Record& record);

// The files named in `scan` that differ from `cache` (changed, added, removed), at most a
// few, for messages.
std::vector<std::string> changed_files(const SourceScan& scan, const SourceScan& previous);

// A stat cache as a scan (files and digests as last recorded), or nullopt.
std::optional<SourceScan> load_previous_scan(const Plan& plan,
                                             const std::filesystem::path& build_dir);

} // namespace wisp::artifact::detail
