#pragma once
// How a function's workers start (internal to the runtime area): the runtime resolved (an
// interpreter and bootstrap, or a provided* bootstrap), the runtime's own libraries provided,
// and the two ways to run them: in Lambda's file layout (/var/task, /opt, a private /tmp;
// layout.hpp) and with host paths (when the OS refuses the layout, or it is turned off). The
// environment each gets follows docs/local-execution.md#environment.

#include <wisp/runtime/engine.hpp>
#include <wisp/runtime/layout.hpp>
#include <wisp/runtime/runtimes.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wisp::runtime::detail {

struct WorkerVariant {
  std::filesystem::path executable;
  std::vector<std::string> args;
  std::filesystem::path cwd;
  std::vector<std::string> env;             // before the per-worker variables
  std::shared_ptr<const LayoutPlan> layout; // null: host paths
};

struct WorkerSetup {
  Launch launch;
  WorkerVariant host;
  std::optional<WorkerVariant> lambda; // Lambda's layout, when planned
};

struct WorkerSetupInputs {
  const FunctionConfig& config;
  const EngineOptions& options;
  std::string log_group;
  bool json_logs = false;
};

// Fails naming the function for what stops it from running at all (an unknown runtime, no
// interpreter, a runtime library that cannot be installed, a layer link out of its layer).
support::Result<WorkerSetup> prepare_workers(const WorkerSetupInputs& in,
                                             std::vector<std::string>& warnings);

} // namespace wisp::runtime::detail
