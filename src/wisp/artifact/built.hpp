#pragma once
// What local runs (`local invoke`, `local start-api`, `local start-lambda`) run after
// `wisp build`, as SAM CLI runs .aws-sam/build after `sam build`: each function and each
// template layer it uses runs from its staged build under the build dir, with what the
// build changed (an esbuild bundle's handler, NODE_OPTIONS for source maps).
//
//   - A function never built runs from its sources.
//   - A build whose sources changed since (a file, or the template properties its build
//     depends on) still runs, with a warning naming the function and what changed ("run
//     `wisp build` to refresh"); never silently. The check is the build's own content key,
//     computed from the stat cache: only `stat` when nothing changed.
//   - Code staged in place (nothing to transform) is the source itself: nothing to check.
//   - A CodeUri that is a zip/jar (or any single file) that was not built is extracted to a
//     cache keyed by its SHA-256 (<cache>/code/<sha256>/, written to a temporary directory
//     and renamed); a corrupt zip is an error naming the function and the file.

#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace wisp::artifact {

struct LocalCodeOptions {
  std::filesystem::path build_dir; // empty: the default (<template dir>/.wisp/build)
  // Functions to prepare, by logical id or FunctionName (and the template layers they use);
  // empty: every function.
  std::vector<std::string> only;
  std::filesystem::path cache_dir; // empty: wisp's cache (~/.cache/wisp)
};

struct LocalCodeReport {
  std::filesystem::path build_dir; // where builds were looked for
  std::vector<std::string> warnings;
  // Functions that run from a staged build: logical id → their CodeUri (for hot reload).
  std::map<std::string, std::filesystem::path> built_sources;
  std::vector<std::string> from_build;   // functions and layers that run from their build
  std::vector<std::string> from_archive; // functions whose zip CodeUri was extracted
};

// Points the model's functions and layers at what should run locally. An error only for
// code that cannot run at all (a corrupt zip CodeUri).
support::Result<LocalCodeReport> use_local_builds(sam::Model& model,
                                                  const LocalCodeOptions& options);

// The directory a zip/jar (or single-file) CodeUri runs from: extracted into
// <cache_dir>/code/<sha256>/ (a single file: <sha256>-<name>/) once.
support::Result<std::filesystem::path> extracted_code(const std::filesystem::path& file,
                                                      const std::filesystem::path& cache_dir);

} // namespace wisp::artifact
