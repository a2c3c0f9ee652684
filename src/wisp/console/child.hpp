#pragma once
// Internal to the console area: runs a short-lived child (a profiler, a tuning run) with its
// stdout and stderr captured, a fixed environment and a time limit.

#include <wisp/support/error.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace wisp::console::detail {

struct ChildResult {
  int exit_code = 0; // or 128 + the signal
  bool timed_out = false;
  std::string out; // at most 16 MiB of each
  std::string err;
};

// argv[0] is a path (not looked up); `env` is the whole environment. The child gets its own
// process group, killed (the whole group) at the time limit.
support::Result<ChildResult> run_child(const std::vector<std::string>& argv,
                                       const std::filesystem::path& cwd,
                                       const std::vector<std::pair<std::string, std::string>>& env,
                                       std::chrono::milliseconds time_limit);

} // namespace wisp::console::detail
