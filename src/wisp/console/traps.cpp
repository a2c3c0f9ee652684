// Cost traps (traps.hpp).

#include <wisp/console/traps.hpp>

#include <fmt/format.h>

namespace wisp::console {

namespace {

constexpr std::size_t k_sync_limit = 6u * 1024 * 1024;

} // namespace

std::vector<Trap> find_traps(const TrapInputs& in) {
  std::vector<Trap> traps;
  if (in.recursion_stops > 0)
    traps.push_back(
        {"recursion",
         fmt::format("recursive loop: ran {} times in one chain of events (it "
                     "invokes itself, directly or through a queue or topic) and was "
                     "stopped {} time{} as Lambda stops it, after 16 invocations; "
                     "every round before is billed",
                     in.recursion_depth, in.recursion_stops, in.recursion_stops == 1 ? "" : "s")});
  else if (in.recursion_depth >= 2)
    traps.push_back(
        {"recursion", fmt::format("ran {} times in one trace: it invokes itself (directly or "
                                  "through a queue or topic); every round is billed, and Lambda "
                                  "stops such a loop only after 16",
                                  in.recursion_depth)});
  const double timeout_ms = in.timeout_s * 1000.0;
  if (in.timeouts > 0)
    traps.push_back({"timeout", fmt::format("{} of {} invocations timed out, each billed for the "
                                            "full {} s Timeout",
                                            in.timeouts, in.invocations, in.timeout_s)});
  else if (in.invocations > 0 && in.duration.p99 >= 0.8 * timeout_ms)
    traps.push_back({"timeout", fmt::format("p99 duration {:.0f} ms is {:.0f}% of the {} s "
                                            "Timeout: slow invocations will time out (and be "
                                            "billed for all of it)",
                                            in.duration.p99, 100 * in.duration.p99 / timeout_ms,
                                            in.timeout_s)});
  if (in.invocations > 0 && in.memory_size_mb > 128 && in.max_memory_used_mb > 0 &&
      in.max_memory_used_mb * 4 < in.memory_size_mb)
    traps.push_back({"memory", fmt::format("uses at most {} MB of its {} MB: memory is billed "
                                           "whether used or not (see the memory advice for the "
                                           "CPU it buys)",
                                           in.max_memory_used_mb, in.memory_size_mb)});
  if (in.invocations > 0 && in.cpu_share && *in.cpu_share < 0.2 && in.duration.mean >= 50)
    traps.push_back({"waiting", fmt::format("spends {:.0f}% of its duration on the CPU: the rest "
                                            "is waiting (I/O, sleeps), billed all the same",
                                            100 * *in.cpu_share)});
  const auto payload = std::max(in.max_request_bytes, in.max_response_bytes);
  if (payload * 10 >= k_sync_limit * 8)
    traps.push_back({"payload", fmt::format("a payload of {} bytes is {:.0f}% of the 6 MB limit "
                                            "for synchronous invocations",
                                            payload,
                                            100.0 * static_cast<double>(payload) /
                                                static_cast<double>(k_sync_limit))});
  if (in.async_over_256k > 0)
    traps.push_back({"payload", fmt::format("{} asynchronous events above 256 KB: each further "
                                            "64 KB is billed as one more request",
                                            in.async_over_256k)});
  if (in.max_tmp_used_bytes && in.ephemeral_storage_mb > 0) {
    const double limit = static_cast<double>(in.ephemeral_storage_mb) * 1024 * 1024;
    const double used = static_cast<double>(*in.max_tmp_used_bytes);
    if (used >= 0.8 * limit)
      traps.push_back(
          {"tmp", fmt::format("/tmp holds up to {:.1f} MB of its {} MB "
                              "(EphemeralStorage) after an invocation: {:.0f}%; a "
                              "worker that keeps writing there runs out of space",
                              used / (1024 * 1024), in.ephemeral_storage_mb, 100 * used / limit)});
  }
  return traps;
}

} // namespace wisp::console
