// The engine driven directly (as the gateway will): real python3/node workers speaking the
// Runtime API on loopback. Functions are built by hand (no template needed).
#include <wisp/runtime/engine.hpp>
#include <wisp/support/fs.hpp>

#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using namespace wisp;
using namespace wisp::runtime;

namespace {

const std::filesystem::path& shared_cache() {
  static support::TempDir dir("wisp-engine-cache");
  return dir.path();
}

bool have(const char* tool) {
  const std::string command = std::string("command -v ") + tool + " >/dev/null 2>&1";
  return std::system(command.c_str()) == 0; // NOLINT(cert-env33-c): test probe only
}

struct Fixture {
  support::TempDir code{"wisp-engine"};
  boost::asio::io_context io;
  std::vector<std::string> logs;
  std::vector<std::string> warnings;
  std::unique_ptr<Engine> engine;

  explicit Fixture(EngineOptions options = {}) {
    options.cache_dir = shared_cache();
    options.on_log = [this](const LogLine& line) { logs.emplace_back(line.text); };
    options.on_warning = [this](std::string_view w) { warnings.emplace_back(w); };
    engine = std::make_unique<Engine>(io, std::move(options));
  }

  void write(const std::string& name, const std::string& text, unsigned mode = 0644) {
    REQUIRE(support::write_file_atomic(code.path() / name, text, mode).has_value());
  }

  FunctionHandle add(const std::string& runtime, const std::string& handler, int timeout = 3,
                     std::optional<int> reserved = std::nullopt) {
    FunctionConfig config;
    config.id = "Fn";
    config.runtime = runtime;
    config.handler = handler;
    config.code_dir = code.path();
    config.timeout = timeout;
    config.reserved_concurrency = reserved;
    config.environment = {{"FROM_TEMPLATE", "t"}, {"AWS_REGION", "eu-west-9"}};
    auto handle = engine->add_function(config);
    REQUIRE_MESSAGE(handle.has_value(), (handle ? "" : handle.error().message));
    return *handle;
  }

  // Runs the io_context until every sink is done.
  void run_until(const std::vector<CollectingSink*>& sinks) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      bool all = true;
      for (auto* sink : sinks)
        all = all && sink->done();
      if (all)
        return;
      io.run_for(std::chrono::milliseconds(5));
    }
    FAIL("invocations did not complete within 30 s");
  }

  const InvokeResult& invoke(FunctionHandle fn, CollectingSink& sink, std::string_view payload,
                             bool tail = false) {
    InvokeRequest request;
    request.payload = payload;
    request.tail_log = tail;
    engine->invoke(fn, request, sink);
    run_until({&sink});
    return sink.result();
  }
};

const char* k_python_app = R"(import json, os, time
count = 0
def handler(event, context):
    global count
    count += 1
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise ValueError("boom")
    if event.get("exit"):
        os._exit(3)
    if event.get("big"):
        return "x" * event["big"]
    print("hello from", context.aws_request_id)
    return {"count": count, "region": os.environ["AWS_REGION"], "t": os.environ["FROM_TEMPLATE"],
            "remaining": context.get_remaining_time_in_millis(), "pid": os.getpid()}
)";

} // namespace

TEST_CASE("engine: python success, warm reuse, logs, reserved variables") {
  if (!have("python3"))
    return;
  Fixture f;
  f.write("app.py", k_python_app);
  auto fn = f.add("python3.11", "app.handler");
  CollectingSink first;
  auto result = f.invoke(fn, first, "{}", true);
  REQUIRE_MESSAGE(result.outcome == Outcome::success, std::string(result.body));
  CHECK(result.cold);
  CHECK(result.init_duration_ms > 0);
  CHECK(result.body.find("\"count\": 1") != std::string_view::npos);
  CHECK(result.body.find("\"region\": \"us-east-1\"") != std::string_view::npos);
  CHECK(result.body.find("\"t\": \"t\"") != std::string_view::npos);
  CHECK(result.content_type == "application/json");
  CHECK(result.log_tail.find("START RequestId: ") == 0);
  CHECK(result.log_tail.find("hello from") != std::string_view::npos);
  CHECK(result.log_tail.find("REPORT RequestId: ") != std::string_view::npos);
  CHECK(result.log_tail.find("Init Duration: ") != std::string_view::npos);
  bool warned = false;
  for (const auto& w : f.warnings)
    warned = warned || w.find("AWS_REGION is reserved") != std::string::npos;
  CHECK(warned);

  CollectingSink second;
  auto& again = f.invoke(fn, second, "{}", true);
  REQUIRE(again.outcome == Outcome::success);
  CHECK_FALSE(again.cold);
  CHECK(again.body.find("\"count\": 2") != std::string_view::npos);
  CHECK(again.log_tail.find("Init Duration") == std::string_view::npos);
  CHECK(f.engine->stats().workers == 1);
}

TEST_CASE("engine: python error, timeout, crash, oversized response") {
  if (!have("python3"))
    return;
  Fixture f;
  f.write("app.py", k_python_app);
  auto fn = f.add("python3.11", "app.handler", 1);

  CollectingSink error;
  auto& e = f.invoke(fn, error, R"({"fail": true})");
  CHECK(e.outcome == Outcome::function_error);
  CHECK(e.error_type == "ValueError");
  CHECK(e.body.find("\"errorMessage\": \"boom\"") != std::string_view::npos);

  CollectingSink timeout;
  auto& t = f.invoke(fn, timeout, R"({"sleep": 5})", true);
  CHECK(t.outcome == Outcome::timeout);
  CHECK(t.error_type == "Sandbox.Timedout");
  CHECK(t.body.find("Task timed out after 1.0") != std::string_view::npos);
  CHECK(t.log_tail.find("Status: timeout") != std::string_view::npos);

  CollectingSink after;
  auto& a = f.invoke(fn, after, "{}");
  CHECK(a.outcome == Outcome::success);
  CHECK(a.cold); // the timed-out worker was killed: a fresh one

  CollectingSink crash;
  auto& c = f.invoke(fn, crash, R"({"exit": true})");
  CHECK(c.outcome == Outcome::exit_error);
  CHECK(c.error_type == "Runtime.ExitError");
  CHECK(c.body.find("Error: Runtime exited with error: exit status 3") != std::string_view::npos);

  CollectingSink big;
  auto& b = f.invoke(fn, big, R"({"big": 7000000})");
  CHECK(b.outcome == Outcome::response_too_large);
  CHECK(b.error_type == "Function.ResponseSizeTooLarge");
  CHECK(b.body.find("exceeded maximum allowed payload size (6291556 bytes).") !=
        std::string_view::npos);
  // The worker survives a 413 and stays warm.
  CollectingSink warm;
  auto& w = f.invoke(fn, warm, "{}");
  CHECK(w.outcome == Outcome::success);
  CHECK_FALSE(w.cold);
}

TEST_CASE("engine: reserved concurrency throttles at once, the local maximum queues") {
  if (!have("python3"))
    return;
  {
    Fixture f;
    f.write("app.py", k_python_app);
    auto fn = f.add("python3.11", "app.handler", 5, 1);
    CollectingSink a;
    CollectingSink b;
    InvokeRequest slow;
    slow.payload = R"({"sleep": 0.5})";
    f.engine->invoke(fn, slow, a);
    InvokeRequest fast;
    fast.payload = "{}";
    f.engine->invoke(fn, fast, b);
    REQUIRE(b.done()); // throttled synchronously
    CHECK(b.result().outcome == Outcome::throttled);
    CHECK(b.result().error_type == "TooManyRequestsException");
    CHECK(b.result().throttle_reason == "ReservedFunctionConcurrentInvocationLimitExceeded");
    CHECK(
        b.result().body ==
        R"({"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."})");
    f.run_until({&a});
    CHECK(a.result().outcome == Outcome::success);
  }
  {
    EngineOptions options;
    options.max_concurrency = 2;
    Fixture f(options);
    f.write("app.py", k_python_app);
    auto fn = f.add("python3.11", "app.handler", 5);
    std::vector<std::unique_ptr<CollectingSink>> sinks;
    InvokeRequest request;
    request.payload = R"({"sleep": 0.2})";
    for (int i = 0; i < 5; ++i) {
      sinks.push_back(std::make_unique<CollectingSink>());
      f.engine->invoke(fn, request, *sinks.back());
    }
    CHECK(f.engine->stats().workers == 2);
    CHECK(f.engine->stats().queued == 3);
    std::vector<CollectingSink*> raw;
    for (auto& s : sinks)
      raw.push_back(s.get());
    f.run_until(raw);
    for (auto& s : sinks)
      CHECK(s->result().outcome == Outcome::success);
    CHECK(f.engine->stats().workers == 2);
  }
}

TEST_CASE("engine: init errors are reported like Lambda's") {
  if (!have("python3"))
    return;
  Fixture f;
  auto fn = f.add("python3.11", "missing.handler");
  CollectingSink sink;
  auto& r = f.invoke(fn, sink, "{}");
  CHECK(r.outcome == Outcome::init_error);
  CHECK(r.error_type == "Runtime.ImportModuleError");
  CHECK(r.body.find("Unable to import module 'missing': No module named 'missing'") !=
        std::string_view::npos);
}

TEST_CASE("engine: a provided runtime without bootstrap fails with Runtime.InvalidEntrypoint") {
  Fixture f;
  auto fn = f.add("provided.al2023", "unused");
  CollectingSink sink;
  auto& r = f.invoke(fn, sink, "{}");
  CHECK(r.outcome == Outcome::init_error);
  CHECK(r.error_type == "Runtime.InvalidEntrypoint");
  CHECK(r.body.find("Couldn't find valid bootstrap(s): [") != std::string_view::npos);
}

TEST_CASE("engine: an oversized event is rejected before any worker starts") {
  Fixture f;
  f.write("app.py", k_python_app);
  auto fn = f.add("provided.al2023", "unused");
  CollectingSink sink;
  std::string payload(k_max_request_size + 1, ' ');
  InvokeRequest request;
  request.payload = payload;
  f.engine->invoke(fn, request, sink);
  REQUIRE(sink.done());
  CHECK(sink.result().outcome == Outcome::request_too_large);
  CHECK(f.engine->stats().workers == 0);
}

TEST_CASE("engine: node async handler with a multi-threaded io_context") {
  if (!have("node"))
    return;
  Fixture f;
  f.write("index.js", "let n = 0;\nexports.handler = async (event, context) => ({n: ++n, "
                      "fn: context.functionName, mem: context.memoryLimitInMB});\n");
  auto fn = f.add("nodejs20.x", "index.handler");
  auto guard = boost::asio::make_work_guard(f.io);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i)
    threads.emplace_back([&] { f.io.run(); });
  for (int round = 1; round <= 20; ++round) {
    CollectingSink sink;
    InvokeRequest request;
    request.payload = "{}";
    f.engine->invoke(fn, request, sink);
    for (int i = 0; i < 3000 && !sink.done(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    REQUIRE(sink.done());
    REQUIRE_MESSAGE(sink.result().outcome == Outcome::success, sink.result().body);
    CHECK(sink.result().body ==
          "{\"n\":" + std::to_string(round) + ",\"fn\":\"Fn\",\"mem\":\"128\"}");
  }
  f.engine->stop();
  guard.reset();
  f.io.stop();
  for (auto& t : threads)
    t.join();
}
