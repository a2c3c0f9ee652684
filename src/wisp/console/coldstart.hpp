#pragma once
// Why a cold start is slow: a function's INIT broken down by module, and its package size
// against Lambda's limits.
//
// - python: the handler module is imported under `python -X importtime` (the way wisp's
//   bootstrap imports it: task root, then the layers' paths); every module imported by it
//   with its own ("self") and cumulative time. Module-level code runs during the import, so
//   it is in these times. Standard library modules are grouped as one package.
// - node: the handler module is loaded (CommonJS or ES module, as the bootstrap does) under
//   `node --cpu-prof`; the samples taken while the module loads are summed per script file
//   ("self" time: the code of that file, compiling and running it), and per package
//   (node_modules/<name>). Sampling every 100 µs: modules under ~0.5 ms may not show;
//   time spent waiting (timers, I/O) is not CPU time and does not show either.
// - other runtimes: only the package size.
// The child gets what a worker gets for its INIT: the host's PATH, HOME, LANG, …, the
// function's Environment.Variables and --env-vars, and Lambda's variables (without a Runtime
// API: the module is only loaded); it is killed after `time_limit`. A module that fails to
// load is reported with what was measured up to then.

#include <wisp/runtime/engine.hpp>
#include <wisp/support/error.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace wisp::console {

struct ModuleTime {
  std::string name;    // python: dotted module name; node: file relative to the code dir
  std::string package; // top-level package (python) or node_modules package; "" for own code
  double self_ms = 0;
  double cumulative_ms = 0; // python only (0 for node)
  int depth = 0;            // python: nesting in the import tree (0: imported by the handler)
};

struct PackageSize {
  std::string name; // a top-level entry of the code dir or a layer
  std::uint64_t bytes = 0;
};

// Lambda's deployment package limits (bytes).
inline constexpr std::uint64_t k_unzipped_limit = 250ull * 1024 * 1024; // function + layers
inline constexpr std::uint64_t k_zipped_upload_limit = 50ull * 1024 * 1024;

struct ColdStartProfile {
  std::string function_id;
  std::string runtime;
  std::string method; // "python -X importtime", "node --cpu-prof", or "" (not profiled)
  double load_ms = 0; // wall time of importing/loading the handler module
  std::string error;  // the module failed to load (still profiled up to there)
  std::vector<ModuleTime> modules;  // by self time, largest first
  std::vector<ModuleTime> packages; // self time summed per package, largest first
  std::uint64_t package_bytes = 0;  // code dir + layers, unzipped
  std::uint64_t file_count = 0;
  std::vector<PackageSize> largest; // the largest entries, largest first (at most 10)
  std::vector<std::string> notes;
};

// `cache_dir`: where interpreters are cached (empty: the engine's default).
support::Result<ColdStartProfile>
profile_cold_start(const runtime::FunctionConfig& function, const std::string& region,
                   const std::filesystem::path& cache_dir = {},
                   std::chrono::seconds time_limit = std::chrono::seconds(60));

// Sizes of a directory tree (regular files; symlinks not followed).
std::uint64_t tree_bytes(const std::filesystem::path& dir, std::uint64_t* files = nullptr);

// Parses `python -X importtime` output after the marker line (exposed for tests).
std::vector<ModuleTime> parse_importtime(std::string_view stderr_text);
// Sums a .cpuprofile's samples per script URL, relative to `code_dir`, counting only samples
// between `start_us` and `end_us` on the profile's clock when end_us > start_us (exposed for
// tests).
std::vector<ModuleTime> parse_cpu_profile(std::string_view json,
                                          const std::filesystem::path& code_dir,
                                          double start_us = 0, double end_us = 0);

std::string render_text(const ColdStartProfile& profile, bool color);
std::string render_json(const ColdStartProfile& profile);

} // namespace wisp::console
