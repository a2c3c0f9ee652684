#pragma once
// Internal to artifact/: runs a build tool (npm, pip, make) as a child process with its
// output captured (stdout and stderr interleaved) so a failure can show it.

#include <wisp/support/error.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace wisp::artifact::detail {

struct ToolResult {
  int exit_code = 0;  // the exit status, or 128 + signal when killed by a signal
  std::string output; // the last k_max_tool_output bytes of stdout+stderr
};

inline constexpr std::size_t k_max_tool_output = 256u * 1024;

// Starts argv[0] (looked up on PATH) in `cwd` with the environment plus `env`, stdin from
// /dev/null. An error only when it cannot be started ("npm not found on PATH").
support::Result<ToolResult> run_tool(const std::vector<std::string>& argv,
                                     const std::filesystem::path& cwd,
                                     const std::map<std::string, std::string>& env = {});

// "npm ci --omit=dev" for messages.
std::string command_line(const std::vector<std::string>& argv);

} // namespace wisp::artifact::detail
