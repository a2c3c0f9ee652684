#pragma once
// The runtime catalogue: which Lambda runtimes wisp runs and how. python3.9–python3.14 run
// on the machine's python3.X (else python3, with a warning), nodejs18.x–nodejs24.x on node
// (a warning when the major differs), provided* on the function's own `bootstrap` (CodeUri,
// then layers). Interpreters are resolved once by running them (a version-manager shim such
// as pyenv's is never used to start workers) and cached in <cache>/interpreters.json.

#include <wisp/support/error.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::runtime {

enum class RuntimeFamily { python, nodejs, provided };

struct RuntimeInfo {
  std::string name; // as written: python3.12, nodejs20.x, provided.al2023
  RuntimeFamily family = RuntimeFamily::provided;
  int major = 0; // python: 3; nodejs: 20
  int minor = 0; // python: 12
};

std::optional<RuntimeInfo> parse_runtime(std::string_view name);
// Every runtime name wisp accepts, for messages and completion.
const std::vector<std::string>& supported_runtimes();

struct Interpreter {
  std::filesystem::path executable; // the real binary (sys.executable / process.execPath)
  std::string version;              // 3.13.0, 20.20.2
};

// Finds the interpreter for a python or nodejs runtime; appends fallback warnings.
support::Result<Interpreter> resolve_interpreter(const RuntimeInfo& runtime,
                                                 const std::filesystem::path& cache_dir,
                                                 std::vector<std::string>& warnings);

// How to start a function's worker.
struct Launch {
  std::filesystem::path executable;
  std::vector<std::string> args;     // after the executable
  std::filesystem::path runtime_dir; // LAMBDA_RUNTIME_DIR
  std::string execution_env;         // AWS_EXECUTION_ENV; empty for provided*
  RuntimeInfo runtime;
  // provided*: no executable bootstrap was found. Invocations then fail as Lambda's do
  // (Runtime.InvalidEntrypoint) with this message.
  std::string invalid_entrypoint;
};

// The flags Lambda's nodejs bootstrap gives node for a function of `memory_mb` MB: global.gc,
// 80 KiB HTTP headers, a young generation of a tenth of the memory (two semi-spaces) and the
// rest for the old generation. (A function image's entry script computes the same in sh:
// artifact/function_image.cpp.)
std::vector<std::string> lambda_node_flags(int memory_mb);

// The interpreter and bootstrap for python/nodejs, the bootstrap for provided*.
support::Result<Launch> resolve_launch(std::string_view runtime_name,
                                       const std::filesystem::path& code_dir,
                                       const std::vector<std::filesystem::path>& layer_dirs,
                                       const std::filesystem::path& cache_dir,
                                       std::vector<std::string>& warnings);

// $XDG_CACHE_HOME/wisp (default ~/.cache/wisp).
std::filesystem::path default_cache_dir();

// The embedded bootstraps written under `cache_dir` (content-addressed, written once).
support::Result<std::filesystem::path> materialize_bootstrap(const std::filesystem::path& cache_dir,
                                                             RuntimeFamily family);

} // namespace wisp::runtime
