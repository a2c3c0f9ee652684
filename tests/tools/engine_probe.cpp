// wisp_engine_probe drives the local execution engine the way the gateway will, for the
// integration tests of the worker pool (warm reuse, concurrency limits, throttling, idle
// retirement, memory enforcement) on real templates:
//
//   wisp_engine_probe -t template.yaml --function Fn [--rounds R] [--concurrent C]
//                     [--max-concurrency M] [--idle-ms I] [--pause-ms P] [--event JSON]
//                     [--enforce-memory]
//
// Each round starts C invocations at once and waits for all of them; rounds are separated
// by P ms. Prints a JSON array with one object per invocation, in start order.

#include <wisp/runtime/engine.hpp>
#include <wisp/runtime/function.hpp>
#include <wisp/template/load.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace wisp;

int main(int argc, char** argv) {
  std::string template_path = "template.yaml";
  std::string function;
  std::string event = "{}";
  int rounds = 1;
  int concurrent = 1;
  int max_concurrency = 10;
  int idle_ms = 300000;
  int pause_ms = 0;
  bool enforce_memory = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--enforce-memory") {
      enforce_memory = true;
      continue;
    }
    if (i + 1 >= argc)
      break;
    const std::string value = argv[++i];
    if (flag == "-t")
      template_path = value;
    else if (flag == "--function")
      function = value;
    else if (flag == "--event")
      event = value;
    else if (flag == "--rounds")
      rounds = std::stoi(value);
    else if (flag == "--concurrent")
      concurrent = std::stoi(value);
    else if (flag == "--max-concurrency")
      max_concurrency = std::stoi(value);
    else if (flag == "--idle-ms")
      idle_ms = std::stoi(value);
    else if (flag == "--pause-ms")
      pause_ms = std::stoi(value);
  }
  sam::LoadOptions load;
  load.template_path = template_path;
  auto model = sam::load_model(load);
  if (!model) {
    std::fprintf(stderr, "%s\n", model.error().message.c_str());
    return 1;
  }
  const auto* fn = model->find_function(function);
  if (fn == nullptr) {
    std::fprintf(stderr, "no function %s\n", function.c_str());
    return 1;
  }
  std::vector<std::string> warnings;
  auto config = runtime::make_function_config(*model, *fn, nullptr, warnings);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 1;
  }
  boost::asio::io_context io;
  runtime::EngineOptions options;
  options.max_concurrency = max_concurrency;
  options.idle_timeout = std::chrono::milliseconds(idle_ms);
  options.enforce_memory = enforce_memory;
  options.on_log = [](const runtime::LogLine& line) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.text.size()), line.text.data());
  };
  runtime::Engine engine(io, options);
  auto handle = engine.add_function(*config);
  if (!handle) {
    std::fprintf(stderr, "%s\n", handle.error().message.c_str());
    return 1;
  }
  boost::json::array out;
  for (int round = 0; round < rounds; ++round) {
    if (round > 0 && pause_ms > 0) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(pause_ms);
      while (std::chrono::steady_clock::now() < until) {
        if (io.stopped())
          io.restart();
        io.run_for(std::chrono::milliseconds(5));
      }
    }
    std::vector<std::unique_ptr<runtime::CollectingSink>> sinks;
    runtime::InvokeRequest request;
    request.payload = event;
    for (int i = 0; i < concurrent; ++i) {
      sinks.push_back(std::make_unique<runtime::CollectingSink>());
      engine.invoke(*handle, request, *sinks.back());
    }
    for (;;) {
      bool all = true;
      for (const auto& sink : sinks)
        all = all && sink->done();
      if (all)
        break;
      if (io.stopped())
        io.restart();
      io.run_for(std::chrono::milliseconds(2));
    }
    for (const auto& sink : sinks) {
      const auto& r = sink->result();
      out.push_back(boost::json::object{{"round", round},
                                        {"outcome", std::string(runtime::to_string(r.outcome))},
                                        {"body", std::string(r.body)},
                                        {"error_type", std::string(r.error_type)},
                                        {"throttle_reason", std::string(r.throttle_reason)},
                                        {"cold", r.cold},
                                        {"max_memory_used_mb", r.max_memory_used_mb}});
    }
  }
  const auto stats = engine.stats();
  engine.stop();
  std::printf("%s\n", boost::json::serialize(boost::json::object{{"results", out},
                                                                 {"cold_starts", stats.cold_starts},
                                                                 {"throttles", stats.throttles}})
                          .c_str());
  return 0;
}
