#pragma once
// The runtime catalogue: which Lambda runtimes wisp runs and how. python3.9–python3.14 run
// on the machine's python3.X, nodejs18.x–nodejs24.x on a node of that major; when that version
// is not installed, on the closest one that is (python3.14 → 3.13 before 3.11; nodejs24.x →
// the newest node), with a warning. An interpreter named for a runtime (--interpreter
// RUNTIME=PATH, samconfig `interpreter`, WISP_INTERPRETER_<RUNTIME>) wins over that choice.
// provided* runs the function's own `bootstrap` (CodeUri, then layers). Interpreters are
// resolved once by running them (a version-manager shim such as pyenv's is never used to start
// workers) and cached in <cache>/interpreters.json.

#include <wisp/support/error.hpp>

#include <filesystem>
#include <map>
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
  [[nodiscard]] int major() const;  // 3, 20
  [[nodiscard]] int minor() const;  // 13, 20
};

// Interpreters the user names, by runtime name ("nodejs24.x" → /opt/node24/bin/node).
using InterpreterChoices = std::map<std::string, std::filesystem::path, std::less<>>;

// The environment variable that names a runtime's interpreter: WISP_INTERPRETER_NODEJS24_X for
// nodejs24.x, WISP_INTERPRETER_PYTHON3_13 for python3.13.
std::string interpreter_env_name(std::string_view runtime);

// Parses `RUNTIME=PATH` (the --interpreter option); fails naming what is wrong.
support::Result<std::pair<std::string, std::filesystem::path>>
parse_interpreter_choice(std::string_view text);

// Finds the interpreter for a python or nodejs runtime: the one `choices` (then the
// environment) names, else that version, else the closest installed one (appending the
// warning), else fails saying what to install.
support::Result<Interpreter> resolve_interpreter(const RuntimeInfo& runtime,
                                                 const std::filesystem::path& cache_dir,
                                                 std::vector<std::string>& warnings,
                                                 const InterpreterChoices& choices = {});

// Every python 3 interpreter found the way runtimes find theirs (python3.8 … python3.20 on
// PATH, version-manager shims resolved), each run once.
std::vector<Interpreter> installed_pythons();

// How to start a function's worker.
struct Launch {
  std::filesystem::path executable;
  std::vector<std::string> args;     // after the executable
  std::filesystem::path runtime_dir; // LAMBDA_RUNTIME_DIR
  Interpreter interpreter;           // python/nodejs: what `executable` is
  bool bootstrap_in_code = false;    // provided*: the bootstrap is CodeUri's (else a layer's)
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
                                       std::vector<std::string>& warnings,
                                       const InterpreterChoices& choices = {});

// $XDG_CACHE_HOME/wisp (default ~/.cache/wisp).
std::filesystem::path default_cache_dir();

// The embedded bootstraps written under `cache_dir` (content-addressed, written once).
support::Result<std::filesystem::path> materialize_bootstrap(const std::filesystem::path& cache_dir,
                                                             RuntimeFamily family);

} // namespace wisp::runtime
