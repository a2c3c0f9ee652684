#pragma once
// Build staging: each function and layer of a template model becomes a staged directory
// (what runs locally) and a deterministic zip (what is uploaded), under the build dir:
//
//   <build_dir>/<LogicalId>/       staged code (dependencies installed); code that no tool
//                                  transforms is zipped in place and is its own staged dir
//   <build_dir>/<LogicalId>.zip    the artifact; its digest is Lambda's CodeSha256
//   <build_dir>/.cache/            per artifact a record of what was built from what
//                                  (<LogicalId>.json) and the sources' stat caches
//
// How an artifact is built (SAM CLI's contract):
//   - `Metadata: BuildMethod: makefile` → `make build-<LogicalId>` run in a copy of the
//     code directory with ARTIFACTS_DIR set to the staged directory;
//   - `Metadata: BuildMethod: esbuild` (nodejs) → dependencies installed in a scratch copy,
//     then esbuild bundles the entry points into the staged directory (esbuild.hpp);
//   - nodejs* with package.json → `npm ci --omit=dev` (`npm install --omit=dev` without a
//     lockfile) in the staged copy (the source's own node_modules is not copied);
//   - python* with requirements.txt → `python3 -m pip install -r requirements.txt -t` the
//     staged copy;
//   - anything else → the code directory copied as is; a CodeUri that is a zip (or jar) is
//     used unchanged, a CodeUri that is another single file becomes a zip of that file.
// Layers with `BuildMethod: python3.x` / `nodejsNN.x` are staged under `python/` /
// `nodejs/` (dependencies in `python/`, `nodejs/node_modules`); layers without a
// BuildMethod are zipped as they are.
// Excluded from every copy: see IgnoreRules (.git, .wisp, __pycache__, *.pyc, .DS_Store,
// .wispignore patterns).
//
// Functions whose builds would be identical are built once (SAM's build graph): same
// runtime, CodeUri, Metadata (with BuildProperties), architecture, and for esbuild the same
// handler; makefile builds never are. The others report `shared_with` and point at that
// build's staged dir and zip.
//
// The content key of an artifact is the SHA-256 of its kind, runtime, build method,
// architecture, Metadata and every source file's name, mode and content; with `cached`, an
// artifact whose key and zip are unchanged is not rebuilt.

#include <wisp/artifact/digest.hpp>
#include <wisp/artifact/zip.hpp>
#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <tl/expected.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wisp::artifact {

enum class ArtifactKind { function, layer };
enum class BuildMethod { copy, npm, pip, makefile, zip_file, file, esbuild };

std::string_view to_string(ArtifactKind kind);
std::string_view to_string(BuildMethod method);

struct BuildEvent {
  enum class Type { started, finished, cached, failed };
  Type type = Type::started;
  std::string logical_id;
  ArtifactKind kind = ArtifactKind::function;
  std::string detail; // the command being run, or the failure message
};

struct BuildOptions {
  std::filesystem::path build_dir; // empty: <template dir>/.wisp/build
  bool cached = false;             // reuse artifacts whose content key is unchanged
  bool parallel = false;           // build artifacts concurrently
  std::vector<std::string> only;   // logical ids to build (and the layers they use); empty: all
  ZipOptions zip;
  // Called as artifacts start and finish; calls are serialised even when parallel.
  std::function<void(const BuildEvent&)> on_event;
};

struct ArtifactBuild {
  std::string logical_id;
  ArtifactKind kind = ArtifactKind::function;
  BuildMethod method = BuildMethod::copy;
  std::string runtime;              // the function's runtime, or the layer's BuildMethod
  std::filesystem::path source;     // CodeUri / ContentUri (absolute)
  std::filesystem::path staged_dir; // the built code
  std::filesystem::path zip_path;   // the artifact
  Digest zip_digest;                // sha256 of the zip (hex, base64 = CodeSha256)
  std::uint64_t unzipped_size = 0;  // sum of file sizes in the zip
  std::string key;                  // content key (hex)
  bool cached = false;              // reused from an earlier build
  std::string shared_with;          // the logical id whose build this function shares
  std::string handler;              // the handler to deploy and run when the build changed it
  std::vector<std::pair<std::string, std::string>> environment; // variables the build adds
  std::vector<std::pair<std::string, std::uint64_t>> largest;   // biggest parts of the staged code
};

struct BuildFailure {
  std::string logical_id;
  ArtifactKind kind = ArtifactKind::function;
  std::string message;     // one line: what failed
  std::string command;     // the tool's command line when a tool failed
  std::string tool_output; // its output (tail)
};

// Resources with nothing to build: InlineCode, code already in S3, images (for now).
struct SkippedArtifact {
  std::string logical_id;
  ArtifactKind kind = ArtifactKind::function;
  std::string reason;
};

struct BuildReport {
  std::vector<ArtifactBuild> artifacts; // template order
  std::vector<BuildFailure> failures;
  std::vector<SkippedArtifact> skipped;

  [[nodiscard]] bool ok() const { return failures.empty(); }
  [[nodiscard]] const ArtifactBuild* find(std::string_view logical_id) const;
};

using BuildOutcome = tl::expected<ArtifactBuild, BuildFailure>;

std::filesystem::path default_build_dir(const sam::Model& model);
// `build_dir` made absolute (relative to the working directory), or the default when empty.
std::filesystem::path resolve_build_dir(const sam::Model& model,
                                        const std::filesystem::path& build_dir);

BuildOutcome build_function(const sam::Model& model, const sam::Function& function,
                            const BuildOptions& options);
BuildOutcome build_layer(const sam::Model& model, const sam::Layer& layer,
                         const BuildOptions& options);

// Builds what `options.only` selects (every function and layer when empty). One artifact's
// failure does not stop the others; an error only when `only` names an unknown resource.
support::Result<BuildReport> build(const sam::Model& model, const BuildOptions& options);

// Hot reload (`local start-api`): rebuilds a built function in place when its sources
// change, as a cached build (the same bytes `wisp build` writes), keeping each CodeUri's
// esbuild scratch copy and installed dependencies between rebuilds (npm runs again only when
// package.json, a lockfile or .npmrc changed). Functions sharing the build are rebuilt with
// it. Not thread-safe: one rebuild at a time.
class Rebuilder {
public:
  Rebuilder(sam::Model model, BuildOptions options);
  ~Rebuilder();
  Rebuilder(const Rebuilder&) = delete;
  Rebuilder& operator=(const Rebuilder&) = delete;

  struct Result {
    std::vector<std::string> functions; // every function this build serves
    BuildOutcome outcome;               // of the function asked for
  };
  // Whether changes to the function's sources are rebuilt here (esbuild builds).
  [[nodiscard]] bool can_rebuild(const std::string& logical_id) const;
  Result rebuild(const std::string& logical_id);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// What a build changes in the function's configuration, applied to the model (as SAM's
// built template carries it to package and deploy): the handler rewritten to an esbuild
// bundle's file, NODE_OPTIONS with --enable-source-maps for esbuild source maps.
void apply_build_outputs(sam::Model& model, const BuildReport& report);

} // namespace wisp::artifact
