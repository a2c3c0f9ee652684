#pragma once
// Internal to artifact/: `Metadata: BuildMethod: esbuild` as SAM CLI and aws-lambda-builders
// (workflows/nodejs_npm_esbuild) do it. Pure functions, so the mapping is testable without
// esbuild:
//   - BuildProperties keys are normalised as SAM does (PascalCase → snake_case: `EntryPoints`
//     → `entry_points`), then each becomes an esbuild flag (snake → kebab): true → `--key`,
//     false → nothing, a string → `--key=value`, a list → `--key:item` per item; any other
//     value is an error. `bundle`, `platform`, `outdir` are fixed by the builder;
//     `entry_points` and `use_npm_ci` are the builder's own.
//   - `--bundle --platform=node --outdir=DIR`, plus `--target=es2020`, `--format=cjs`,
//     `--minify` when those keys are absent.
//   - `EntryPoints` default to the handler's file (`src/app.handler` → `src/app`); an entry
//     without an extension is found as `.ts`, then `.js`.
//   - `./node_modules/*` in `External` marks every `dependencies` entry of package.json
//     external (and drops the rest of `External`, as lambda-builders does).
//   - Sourcemap: a truthy `Sourcemap` adds `--enable-source-maps` to the function's
//     NODE_OPTIONS; NODE_OPTIONS with `--enable-source-maps` and no `Sourcemap` adds
//     `Sourcemap: true`.
//   - The handler is rewritten to the bundle's file when the template's path does not exist
//     in the output (`src/handlers/app.handler` → `app.handler`).

#include <wisp/support/error.hpp>

#include <boost/json/fwd.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wisp::artifact::detail {

// SAM's normalisation of a BuildProperties key: "EntryPoints" → "entry_points".
std::string snake_case(std::string_view key);

// Python's truth value of a JSON value (SAM tests `if source_map:`).
bool truthy(const boost::json::value& value);

// The options the esbuild workflow gets for a function (BuildProperties normalised, with
// Sourcemap added from NODE_OPTIONS and entry_points from the handler when absent).
boost::json::object esbuild_options(const boost::json::object& metadata, const std::string& handler,
                                    const std::map<std::string, std::string>& environment);

// NODE_OPTIONS=<existing> --enable-source-maps when Sourcemap is on and NODE_OPTIONS lacks it.
std::optional<std::pair<std::string, std::string>>
sourcemap_environment(const boost::json::object& options,
                      const std::map<std::string, std::string>& environment);

// Whether every dependency is external (`./node_modules/*` in External).
bool externalizes_dependencies(const boost::json::object& options);

// esbuild's arguments (without the executable), in lambda-builders' order: `--external:` for
// each of `dependencies` (when externalised), the entry points (checked in `work`), the
// defaults, then the options. Errors name the property or the missing entry point.
support::Result<std::vector<std::string>>
esbuild_arguments(const boost::json::object& options, const std::filesystem::path& work,
                  const std::filesystem::path& outdir,
                  const std::vector<std::string>& dependencies);

// The handler to run from the bundle: unchanged when its file (`<dir>/<stem>.js`) is in
// `staged` or lies in a layer (/opt), else only its last path component.
std::string bundled_handler(const std::string& handler, const std::filesystem::path& staged);

// esbuild's errors as "file:line:col: message" (file relative to esbuild's working
// directory), or the error line alone when it has no location.
std::vector<std::string> esbuild_errors(std::string_view output);

// The version esbuild printed ("0.21.5") is at least `minimum`.
bool version_at_least(std::string_view version, std::string_view minimum);

// SAM's message when no esbuild is found.
inline constexpr std::string_view k_esbuild_missing =
    "Cannot find esbuild. esbuild must be installed on the host machine to use this feature. "
    "It is recommended to be installed on the PATH, but can also be included as a project "
    "dependency.";

// The esbuild wisp installs into its cache when neither the function's dependencies nor PATH
// have one (SAM CLI requires it on PATH or among the project's dependencies); one place to bump
// (packaging/install-deps.sh pins the same version for the tests).
inline constexpr std::string_view k_esbuild_version = "0.28.2";

// <cache_dir>/tools/esbuild-<k_esbuild_version>/node_modules/.bin/esbuild, installed with npm
// (`npm install esbuild@<version>`, preferring npm's own cache) on first need, announcing it;
// the install goes to a temporary directory renamed into place, one at a time across wisp
// processes. An error saying why when npm cannot install it (offline, no npm).
support::Result<std::filesystem::path>
cached_esbuild(const std::filesystem::path& cache_dir,
               const std::function<void(const std::string&)>& announce);

} // namespace wisp::artifact::detail
