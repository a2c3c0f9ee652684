// wisp_runtime_bench: warm invoke latency through the engine (pool + Runtime API round trip
// + the runtime's own per-invocation work), driven the way the gateway drives it: the next
// invocation is started from the previous one's completion, on the io thread.
//
//   wisp_runtime_bench --runtime python3.11 --handler app.handler --code DIR [--count N]
//                      [--warmup N] [--payload JSON]
// Prints one JSON object: cold start, then median/p90/p99/mean of warm invocations in µs.

#include <wisp/runtime/engine.hpp>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace wisp::runtime;
using Clock = std::chrono::steady_clock;

namespace {

class Loop final : public InvokeSink {
public:
  Loop(Engine& engine, FunctionHandle function, std::string payload, int total)
      : m_engine(engine), m_function(function), m_payload(std::move(payload)), m_total(total) {
    m_samples.reserve(static_cast<std::size_t>(total));
    m_request.payload = m_payload;
  }

  void start() {
    m_started = Clock::now();
    m_engine.invoke(m_function, m_request, *this);
  }

  void on_complete(const InvokeResult& result) override {
    const auto now = Clock::now();
    if (!result.ok()) {
      std::fprintf(stderr, "invocation failed: %.*s\n", static_cast<int>(result.body.size()),
                   result.body.data());
      std::exit(1);
    }
    if (m_samples.empty())
      m_cold_init_ms = result.init_duration_ms;
    m_samples.push_back(std::chrono::duration<double, std::micro>(now - m_started).count());
    if (static_cast<int>(m_samples.size()) < m_total)
      start();
  }

  [[nodiscard]] bool done() const { return static_cast<int>(m_samples.size()) >= m_total; }
  [[nodiscard]] const std::vector<double>& samples() const { return m_samples; }
  [[nodiscard]] double cold_init_ms() const { return m_cold_init_ms; }

private:
  Engine& m_engine;
  FunctionHandle m_function;
  std::string m_payload;
  InvokeRequest m_request;
  int m_total;
  Clock::time_point m_started;
  std::vector<double> m_samples;
  double m_cold_init_ms = 0;
};

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  return values[index];
}

} // namespace

int main(int argc, char** argv) {
  std::string runtime = "python3.11";
  std::string handler = "app.handler";
  std::string code = ".";
  std::string payload = "{}";
  int count = 2000;
  int warmup = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--runtime")
      runtime = value;
    else if (flag == "--handler")
      handler = value;
    else if (flag == "--code")
      code = value;
    else if (flag == "--payload")
      payload = value;
    else if (flag == "--count")
      count = std::stoi(value);
    else if (flag == "--warmup")
      warmup = std::stoi(value);
  }
  boost::asio::io_context io;
  EngineOptions options;
  options.max_concurrency = 1;
  Engine engine(io, options);
  FunctionConfig config;
  config.id = "Bench";
  config.runtime = runtime;
  config.handler = handler;
  config.code_dir = std::filesystem::absolute(code);
  config.timeout = 30;
  auto function = engine.add_function(config);
  if (!function) {
    std::fprintf(stderr, "%s\n", function.error().message.c_str());
    return 1;
  }
  Loop loop(engine, *function, payload, 1 + warmup + count);
  loop.start();
  while (!loop.done())
    io.run_one();
  const auto& all = loop.samples();
  const double cold_us = all.front();
  const auto skip = std::min(all.size(), static_cast<std::size_t>(1 + warmup));
  std::vector<double> warm(all.begin() + static_cast<std::ptrdiff_t>(skip), all.end());
  double mean = 0;
  for (const double v : warm)
    mean += v;
  mean /= static_cast<double>(warm.size());
  std::printf("%s\n", fmt::format("{{\"runtime\":\"{}\",\"cold_first_invoke_ms\":{:.2f},"
                                  "\"init_ms\":{:.2f},\"count\":{},\"median_us\":{:.1f},"
                                  "\"p90_us\":{:.1f},\"p99_us\":{:.1f},\"mean_us\":{:.1f}}}",
                                  runtime, cold_us / 1000.0, loop.cold_init_ms(), warm.size(),
                                  percentile(warm, 0.5), percentile(warm, 0.9),
                                  percentile(warm, 0.99), mean)
                          .c_str());
  engine.stop();
  return 0;
}
