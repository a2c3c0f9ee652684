#pragma once
// Cost traps: patterns in a function's invocations that make pay-per-use expensive.
//
//   recursion   the function ran more than once in one trace (X-Amzn-Trace-Id root): it
//               invokes itself, directly or through a queue or a topic. Lambda stops such a
//               loop after 16 invocations; until then every round is billed.
//   timeout     invocations timed out (billed to the timeout), or the p99 duration is at
//               least 80% of Timeout.
//   memory      Max Memory Used is under a quarter of MemorySize (above 128 MB): memory is
//               billed whether used or not.
//   waiting     CPU time is under 20% of the duration (mean duration ≥ 50 ms): billed
//               while waiting on I/O.
//   payload     a request or response at 80% or more of the 6 MB synchronous limit, or
//               asynchronous events above 256 KB (billed as one extra request per 64 KB).
//   tmp         /tmp in use at 80% or more of EphemeralStorage after an invocation: a worker
//               that keeps writing there fails with ENOSPC (a bigger /tmp is billed).

#include <wisp/console/stats.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wisp::console {

struct TrapInputs {
  int memory_size_mb = 128;
  int timeout_s = 3;
  std::uint64_t invocations = 0;
  std::uint64_t timeouts = 0;
  Distribution duration;
  int max_memory_used_mb = 0;
  std::optional<double> cpu_share; // CPU time / duration
  std::size_t max_request_bytes = 0;
  std::size_t max_response_bytes = 0;
  std::size_t async_over_256k = 0;
  int recursion_depth = 0;           // most runs of the function in one trace
  std::uint64_t recursion_stops = 0; // invocations stopped as the 17th of a chain
  int ephemeral_storage_mb = 512;
  std::optional<std::uint64_t> max_tmp_used_bytes; // the most /tmp in use after an invocation
};

struct Trap {
  std::string kind; // recursion, timeout, memory, waiting, payload, tmp
  std::string message;
};

std::vector<Trap> find_traps(const TrapInputs& inputs);

} // namespace wisp::console
