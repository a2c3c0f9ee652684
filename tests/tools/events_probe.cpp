// wisp_events_probe serves a template's event sources on an engine of its own, the way
// `wisp local start` composes them (tests/integration/test_local_events*.py):
//
//   wisp_events_probe -t template.yaml --endpoint-url URL [--region R] [--create-resources]
//                     [--clock 2026-01-01T11:59:58Z]
//
// Prints the startup lines and "Ready." on stdout, delivery and function log lines on stderr;
// runs until SIGINT/SIGTERM, then stops the sources before the engine (interrupted batches go
// back to their queues) and exits 0.

#include <wisp/events/events.hpp>
#include <wisp/runtime/engine.hpp>
#include <wisp/runtime/function.hpp>
#include <wisp/support/diagnostic.hpp>
#include <wisp/template/load.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace wisp;

namespace {

std::mutex g_output;

void out(std::FILE* stream, std::string_view line) {
  std::lock_guard lock(g_output);
  std::fwrite(line.data(), 1, line.size(), stream);
  std::fputc('\n', stream);
  std::fflush(stream);
}

int fail(const support::Error& error) {
  for (const auto& diagnostic : error.diagnostics)
    out(stderr, support::format_plain(diagnostic));
  out(stderr, "error: " + error.message);
  return static_cast<int>(error.exit_code);
}

} // namespace

int main(int argc, char** argv) {
  std::string template_path = "template.yaml";
  events::EventsOptions options;
  std::string clock;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--create-resources") {
      options.create_resources = true;
      continue;
    }
    if (i + 1 >= argc)
      break;
    const std::string value = argv[++i];
    if (flag == "-t")
      template_path = value;
    else if (flag == "--endpoint-url")
      options.client.endpoint_url = value;
    else if (flag == "--region")
      options.client.region = value;
    else if (flag == "--clock")
      clock = value;
  }
  if (!clock.empty()) {
    auto now = events::clock_starting_at(clock);
    if (!now)
      return fail(now.error());
    options.now = *now;
  }
  sam::LoadOptions load;
  load.template_path = template_path;
  auto model = sam::load_model(load);
  if (!model)
    return fail(model.error());
  options.info = [](std::string_view line) { out(stdout, line); };
  options.log = [](std::string_view line) { out(stderr, line); };
  options.warn = [](std::string_view line) { out(stderr, "warning: " + std::string(line)); };
  options.log_store_dir = model->base_dir / ".wisp" / "logs";
  auto prepared = events::LocalEvents::prepare(*model, options);
  if (!prepared)
    return fail(prepared.error());
  auto& local = **prepared;

  boost::asio::io_context io;
  runtime::EngineOptions engine_options;
  engine_options.max_concurrency = 4;
  engine_options.log_store_dir = options.log_store_dir;
  engine_options.on_log = [](const runtime::LogLine& line) { out(stderr, line.text); };
  engine_options.on_warning = [](std::string_view line) { out(stderr, line); };
  runtime::Engine engine(io, engine_options);
  for (const auto& id : local.functions()) {
    const auto* fn = local.model().find_function(id);
    std::vector<std::string> warnings;
    auto config = runtime::make_function_config(local.model(), *fn, nullptr, warnings);
    if (!config)
      return fail(config.error());
    if (auto added = engine.add_function(std::move(*config)); !added)
      return fail(added.error());
  }
  if (auto attached = local.attach(engine); !attached)
    return fail(attached.error());
  out(stdout, "Event sources:");
  for (const auto& line : local.describe())
    out(stdout, line);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });
  local.start();
  out(stdout, "Ready.");
  std::mutex mutex;
  std::condition_variable cv;
  bool signalled = false;
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec)
      return;
    std::lock_guard lock(mutex);
    signalled = true;
    cv.notify_all();
  });
  {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return signalled; });
  }
  out(stderr, "Shutting down");
  local.stop();
  engine.stop();
  local.join();
  work.reset();
  io.stop();
  io_thread.join();
  return 0;
}
