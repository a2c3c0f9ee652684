#pragma once
// `wisp local tune`: runs a function at several memory sizes and measures duration and cost at
// each — AWS Lambda Power Tuning's question, answered locally.
//
// For each size: a fresh worker with that MemorySize takes one cold invocation (INIT runs with
// a full CPU, as Lambda's INIT burst does), then, with its CPU limited to the size's share
// (memory / 1769 of a CPU: one vCPU at 1,769 MB) by a Linux cgroup, `invocations` warm ones.
// Durations are summarised by a trimmed mean (the fastest and slowest 10% dropped) and
// percentiles; cost per invocation is the warm Billed Duration at that size (first duration
// tier) plus the request price.
//
// The CPU limit needs the cpu controller of cgroup v1 (/sys/fs/cgroup/cpu) or v2
// (/sys/fs/cgroup with "cpu" in cgroup.controllers) and the right to create a group there
// (root, or a delegated subtree). Without it the runs are measured with a full CPU and each
// size's duration is predicted from the measured CPU time (advice.hpp) — said in the result.
// Groups are created as wisp-tune-<pid>-<MB> and removed afterwards.

#include <wisp/console/prices.hpp>
#include <wisp/runtime/engine.hpp>
#include <wisp/support/error.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace wisp::console {

struct TuneRequest {
  runtime::FunctionConfig function; // its memory_size is replaced per size
  std::string event = "{}";
  std::vector<int> memory_sizes{128, 512, 1024, 1769, 3008};
  int invocations = 10;          // warm invocations per size
  bool cpu_limit = true;         // false: never use cgroups (measure at full CPU, predict)
  runtime::EngineOptions engine; // region, credentials, cache dir (no log store)
  std::function<void(std::string_view)> progress; // one line per size as it is measured
  std::filesystem::path cgroup_root; // empty: /sys/fs/cgroup (tests may point elsewhere)
};

struct TuneSize {
  int memory_mb = 0;
  int runs = 0;
  int errors = 0;
  double cold_init_ms = 0; // the cold invocation's INIT
  double duration_ms = 0;  // warm: trimmed mean
  double p50_ms = 0;
  double p95_ms = 0;
  double billed_ms = 0; // warm: mean Billed Duration
  double cpu_ms = 0;    // warm: mean CPU time
  int max_memory_used_mb = 0;
  double cost_per_invocation = 0;
  bool emulated = false;   // CPU limited by a cgroup (false: predicted)
  bool fits = true;        // memory used (+10%) fits in the size
  std::string first_error; // the first failed invocation's error type
};

struct TuneResult {
  std::string function_id;
  std::string region;
  Architecture architecture = Architecture::x86_64;
  std::string cpu_limit; // "cgroup v1 (/sys/fs/cgroup/cpu)", "cgroup v2 (...)", or why not
  bool emulated = false;
  std::vector<TuneSize> sizes;
  int cheapest_mb = 0;
  int fastest_mb = 0;
};

// Checks the sizes (128…10240 MB, whole MB); usage errors name the bad one.
support::Status check_memory_sizes(const std::vector<int>& sizes);
// Parses "128,512,1769" into sizes (usage error on anything else).
support::Result<std::vector<int>> parse_memory_sizes(std::string_view text);

support::Result<TuneResult> tune(const TuneRequest& request, const PriceTable& prices);

std::string render_text(const TuneResult& result, bool color);
std::string render_json(const TuneResult& result);

} // namespace wisp::console
