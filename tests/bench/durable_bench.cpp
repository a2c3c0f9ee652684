// wisp_durable_bench: the durable execution service's own share of a checkpoint, without HTTP
// or an SDK: parse the request body, validate and apply a step's START+SUCCEED, journal the
// change, serialize the answer. Prints JSON: {"checkpoints": N, "median_us": .., "p90_us": ..}.
//
//   wisp_durable_bench [--steps 1000]

#include <wisp/durable/execution.hpp>
#include <wisp/durable/store.hpp>
#include <wisp/support/fs.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace wisp;

int main(int argc, char** argv) {
  int steps = 1000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--steps")
      steps = std::stoi(argv[++i]);
  support::TempDir dir("wisp-durable-bench");
  durable::Store store(dir.path());
  durable::ExecutionIdentity id;
  id.id = "bench";
  id.name = "bench";
  id.function_id = id.function_name = "Steps";
  id.function_arn = "arn:aws:lambda:us-east-1:123456789012:function:Steps";
  id.arn = durable::make_execution_arn("us-east-1", "123456789012", "Steps", "$LATEST", "bench",
                                       "bench");
  auto execution = durable::Execution::create(id, R"({"steps":1000})", 0);
  if (!store.create(execution))
    return 1;
  auto envelope = execution.begin_invocation(0, 5u << 20);
  std::string token = envelope.token;
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(steps));
  std::size_t answered = 0; // bytes of answers (keeps their serialization observable)
  for (int i = 0; i < steps; ++i) {
    // What the JS SDK sends for one step (its ids are 16 hex digits).
    const auto step = fmt::format("{:016x}", static_cast<unsigned>(i) * 2654435761u);
    const auto body = fmt::format(
        R"({{"CheckpointToken":"{}","Updates":[{{"Type":"STEP","Action":"START","SubType":"Step","Id":"{}","Name":"s{}"}},{{"Type":"STEP","Action":"SUCCEED","SubType":"Step","Id":"{}","Name":"s{}","Payload":"1"}}]}})",
        token, step, i, step, i);
    const auto start = std::chrono::steady_clock::now();
    durable::ParsedCheckpoint parsed;
    if (auto problem = durable::parse_checkpoint(body, parsed)) {
      std::fprintf(stderr, "%s\n", problem->message.c_str());
      return 1;
    }
    auto result = execution.checkpoint(parsed, i);
    if (!result) {
      std::fprintf(stderr, "%s\n", result.error().message.c_str());
      return 1;
    }
    if (!store.append(execution))
      return 1;
    boost::json::object state;
    state["Operations"] = std::move(result->operations);
    boost::json::object out;
    out["CheckpointToken"] = result->token;
    out["NewExecutionState"] = std::move(state);
    answered += boost::json::serialize(out).size();
    token = result->token;
    samples.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(samples.begin(), samples.end());
  std::printf(R"({"checkpoints": %zu, "median_us": %.1f, "p90_us": %.1f, "max_us": %.1f, )"
              R"("answer_bytes": %zu})"
              "\n",
              samples.size(), samples[samples.size() / 2], samples[samples.size() * 9 / 10],
              samples.back(), answered);
  return 0;
}
