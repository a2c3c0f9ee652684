#pragma once
// Child processes for the runtime area (internal): spawning workers into their own process
// group with a merged stdout/stderr pipe, and running a short command to capture its output
// (interpreter probes).

#include <wisp/support/error.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace wisp::runtime::detail {

struct SpawnSpec {
  std::filesystem::path executable;
  std::vector<std::string> args; // argv[1..]
  std::vector<std::string> env;  // "K=V", the whole environment
  std::filesystem::path cwd;
};

struct Spawned {
  pid_t pid = -1;
  int output_fd = -1; // read end of the child's stdout+stderr pipe (non-blocking, cloexec)
  int pidfd = -1;     // readable when the child exits (cloexec)
};

// Starts a worker: its own process group (pgid = pid), stdin /dev/null, stdout and stderr
// into one pipe, no inherited descriptors beyond 0-2.
support::Result<Spawned> spawn_worker(const SpawnSpec& spec);

// SIGKILL to the whole process group (ignores a group that is already gone).
void kill_group(pid_t pgid);

struct Captured {
  int wait_status = 0;
  std::string output; // stdout only
};

// Runs `argv` (argv[0] looked up on PATH) with the current environment plus `extra_env`,
// capturing stdout; kills it after `timeout`. Fails when it cannot start or times out.
support::Result<Captured>
run_capture(const std::vector<std::string>& argv,
            const std::vector<std::pair<std::string, std::string>>& extra_env,
            std::chrono::milliseconds timeout);

// Runs a tool (npm, pip) in `cwd` with the current environment plus `extra_env`, stdout and
// stderr merged (the last 64 KB kept); kills it after `timeout`. Fails only when it cannot
// start or times out: check wait_status.
support::Result<Captured>
run_tool(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
         const std::vector<std::pair<std::string, std::string>>& extra_env,
         std::chrono::milliseconds timeout);

} // namespace wisp::runtime::detail
