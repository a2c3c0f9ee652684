// The engine driven directly (as the gateway will): real python3/node workers speaking the
// Runtime API on loopback. Functions are built by hand (no template needed).
#include <wisp/runtime/engine.hpp>
#include <wisp/runtime/lineage.hpp>
#include <wisp/support/fs.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
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

  // The function the tests run (code in `code`); add() registers it.
  [[nodiscard]] FunctionConfig config(const std::string& runtime, const std::string& handler,
                                      int timeout = 3,
                                      std::optional<int> reserved = std::nullopt) const {
    FunctionConfig config;
    config.id = "Fn";
    config.runtime = runtime;
    config.handler = handler;
    config.code_dir = code.path();
    config.timeout = timeout;
    config.reserved_concurrency = reserved;
    config.environment = {{"FROM_TEMPLATE", "t"}, {"AWS_REGION", "eu-west-9"}};
    return config;
  }

  FunctionHandle add(const FunctionConfig& config) {
    auto handle = engine->add_function(config);
    REQUIRE_MESSAGE(handle.has_value(), (handle ? "" : handle.error().message));
    return *handle;
  }

  FunctionHandle add(const std::string& runtime, const std::string& handler, int timeout = 3,
                     std::optional<int> reserved = std::nullopt) {
    return add(config(runtime, handler, timeout, reserved));
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
      if (io.stopped())
        io.restart();
      io.run_for(std::chrono::milliseconds(5));
    }
    FAIL("invocations did not complete within 30 s");
  }

  // Starts `count` invocations of `request` at once; their sinks.
  std::vector<std::unique_ptr<CollectingSink>> start(FunctionHandle fn,
                                                     const InvokeRequest& request, int count) {
    std::vector<std::unique_ptr<CollectingSink>> sinks;
    for (int i = 0; i < count; ++i) {
      sinks.push_back(std::make_unique<CollectingSink>());
      engine->invoke(fn, request, *sinks.back());
    }
    return sinks;
  }

  // Runs the io_context until every sink is done; each invocation must have succeeded.
  void run_until_all_succeed(const std::vector<std::unique_ptr<CollectingSink>>& sinks) {
    std::vector<CollectingSink*> raw;
    for (const auto& sink : sinks)
      raw.push_back(sink.get());
    run_until(raw);
    for (const auto& sink : sinks)
      CHECK(sink->result().outcome == Outcome::success);
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

// Waits (running the io_context) until `name` in the code dir has `lines` lines; its text.
std::string code_path_text(Fixture& f, const std::string& name, int lines) {
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto read = support::read_file(f.code.path() / name);
    text = read ? *read : std::string();
    if (std::count(text.begin(), text.end(), '\n') >= lines)
      break;
    f.io.restart();
    f.io.run_for(std::chrono::milliseconds(10));
  }
  return text;
}

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

namespace {
// Everything the engine wrote to a function's log store so far (all segments, in name order).
std::string store_text(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root, ec))
    if (entry.path().extension() == ".jsonl")
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::string text;
  for (const auto& file : files)
    if (auto read = support::read_file(file))
      text += *read;
  return text;
}
} // namespace

TEST_CASE("engine: the log store is written in batches, and nothing is lost at shutdown") {
  if (!have("python3"))
    return;
  support::TempDir store("wisp-engine-store");
  EngineOptions options;
  options.log_store_dir = store.path();
  auto f = std::make_unique<Fixture>(options);
  f->write("app.py", k_python_app);
  auto fn = f->add("python3.11", "app.handler");
  CollectingSink first;
  auto& result = f->invoke(fn, first, "{}");
  REQUIRE(result.outcome == Outcome::success);
  const std::string id(result.request_id);
  // Within the batch delay the records reach the file, in the order they were written.
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (text.find("REPORT RequestId: " + id) == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    f->io.restart();
    f->io.run_for(std::chrono::milliseconds(10));
    text = store_text(store.path());
  }
  const auto start = text.find("\"message\":\"START RequestId: " + id);
  const auto hello = text.find("hello from " + id);
  const auto end = text.find("\"message\":\"END RequestId: " + id);
  const auto report = text.find("\"message\":\"REPORT RequestId: " + id);
  REQUIRE(report != std::string::npos);
  CHECK(start < hello);
  CHECK(hello < end);
  CHECK(end < report);
  CHECK(text.find("\"requestId\":\"" + id + "\",\"message\":\"hello from") != std::string::npos);
  // A second invocation's records are still buffered when the engine goes away: written then.
  CollectingSink second;
  InvokeRequest request;
  request.payload = "{}";
  f->engine->invoke(fn, request, second);
  f->run_until({&second});
  const std::string second_id(second.result().request_id);
  f.reset(); // the engine (and its workers) first, before the io_context
  CHECK(store_text(store.path()).find("REPORT RequestId: " + second_id) != std::string::npos);
}

TEST_CASE("engine: Max Memory Used follows an invocation that allocates") {
  if (!have("python3"))
    return;
  Fixture f;
  f.write("app.py", R"(kept = []
def handler(event, context):
    if event.get("mb"):
        kept.append(b"x" * (event["mb"] * 1024 * 1024))
    return len(kept)
)");
  auto fn = f.add("python3.11", "app.handler");
  CollectingSink warm;
  const int before = f.invoke(fn, warm, "{}").max_memory_used_mb;
  CHECK(before > 0);
  CHECK(before < 60);
  // The reading is reused only for short invocations close together: one that allocates
  // 80 MB runs long enough to be read again.
  CollectingSink grow;
  const auto& grown = f.invoke(fn, grow, R"({"mb": 80})");
  REQUIRE(grown.outcome == Outcome::success);
  CHECK(grown.max_memory_used_mb >= before + 80);
}

TEST_CASE("engine: python error, timeout, crash, oversized response") {
  if (!have("python3"))
    return;
  Fixture f;
  f.write("app.py", k_python_app);
  // Generous timeouts everywhere except the timeout under test: on a loaded machine a cold
  // worker or a 7 MB response can take seconds, which must not turn into a spurious timeout.
  auto fn = f.add("python3.11", "app.handler", 30);

  CollectingSink error;
  auto& e = f.invoke(fn, error, R"({"fail": true})");
  CHECK(e.outcome == Outcome::function_error);
  CHECK(e.error_type == "ValueError");
  CHECK(e.body.find("\"errorMessage\": \"boom\"") != std::string_view::npos);

  // The timeout: 2 s, a handler sleeping far longer. Lambda reports the elapsed time (two
  // decimals), so a late timer on a busy machine may read 2.07 or 2.52: assert the shape,
  // that it is at least the timeout, and that it is not wildly late.
  auto short_fn = f.add("python3.11", "app.handler", 2);
  CollectingSink timeout;
  auto& t = f.invoke(short_fn, timeout, R"({"sleep": 60})", true);
  CHECK(t.outcome == Outcome::timeout);
  CHECK(t.error_type == "Sandbox.Timedout");
  const std::string body(t.body);
  const auto at = body.find("Task timed out after ");
  REQUIRE_MESSAGE(at != std::string::npos, body);
  const auto number = body.substr(at + 21, body.find(' ', at + 21) - (at + 21));
  CHECK_MESSAGE(number.size() == 4, number); // "2.00": two decimals
  CHECK_MESSAGE(number[1] == '.', number);
  const double elapsed = std::stod(number);
  CHECK(elapsed >= 2.0);
  CHECK(elapsed < 10.0); // killed at the deadline, not when the 60 s sleep ended
  CHECK(body.find(" seconds\"") != std::string::npos);
  CHECK(t.log_tail.find("Status: timeout") != std::string_view::npos);

  // The timed-out worker was killed: the next invocation of that function gets a fresh one
  // (a trivial handler: 2 s is ample even on a busy machine; init is not counted).
  CollectingSink after;
  auto& a = f.invoke(short_fn, after, "{}");
  CHECK_MESSAGE(a.outcome == Outcome::success, std::string(a.body));
  CHECK(a.cold);

  CollectingSink crash;
  auto& c = f.invoke(fn, crash, R"({"exit": true})");
  CHECK(c.outcome == Outcome::exit_error);
  CHECK(c.error_type == "Runtime.ExitError");
  CHECK(c.body.find("Error: Runtime exited with error: exit status 3") != std::string_view::npos);

  auto roomy = f.add("python3.11", "app.handler", 30); // 7 MB under load can take a while
  CollectingSink big;
  auto& b = f.invoke(roomy, big, R"({"big": 7000000})");
  CHECK(b.outcome == Outcome::response_too_large);
  CHECK(b.error_type == "Function.ResponseSizeTooLarge");
  CHECK(b.body.find("exceeded maximum allowed payload size (6291556 bytes).") !=
        std::string_view::npos);
  // The worker survives a 413 and stays warm.
  CollectingSink warm;
  auto& w = f.invoke(roomy, warm, "{}");
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
    InvokeRequest request;
    request.payload = R"({"sleep": 0.2})";
    const auto sinks = f.start(fn, request, 5);
    CHECK(f.engine->stats().workers == 2);
    CHECK(f.engine->stats().queued == 3);
    f.run_until_all_succeed(sinks);
    CHECK(f.engine->stats().workers == 2);
  }
}

TEST_CASE("engine: past the eager workers, more start only while the running ones wait") {
  if (!have("python3"))
    return;
  EngineOptions options;
  options.max_concurrency = 3;
  options.eager_workers = 1;
  options.lambda_layout = false; // the sleeping handler waits for a file the test creates
  Fixture f(options);
  const auto release = f.code.path() / "release";
  f.write("app.py", R"(import os, time
def sleep(event, context):
    # Sleeps (off the CPU) until the test says so: however slowly workers start on a loaded
    # machine, no sleeper finishes before all of them have started.
    while not os.path.exists(os.environ["RELEASE"]):
        time.sleep(0.01)
    return "slept"
def spin(event, context):
    end = time.time() + 0.15
    while time.time() < end:
        pass
    return "spun"
)");
  auto run = [&](FunctionHandle fn, std::uint32_t release_at) {
    InvokeRequest request;
    request.payload = "{}";
    const auto before = f.engine->stats().workers;
    const auto sinks = f.start(fn, request, 3);
    CHECK(f.engine->stats().workers == before + 1); // one at once, the others wait
    // Sleepers are released once the pool has grown to `release_at` (or after 60 s, for the
    // failure to show).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (f.engine->stats().workers < release_at && std::chrono::steady_clock::now() < deadline) {
      if (f.io.stopped())
        f.io.restart();
      f.io.run_for(std::chrono::milliseconds(5));
    }
    REQUIRE(support::write_file_atomic(release, "go").has_value());
    f.run_until_all_succeed(sinks);
    return f.engine->stats().workers;
  };
  // Sleeping workers leave the CPU unused: two more start for the waiting invocations.
  FunctionConfig sleeper_config = f.config("python3.11", "app.sleep", 5);
  sleeper_config.environment.emplace_back("RELEASE", release.string());
  auto sleeper = f.add(sleeper_config);
  CHECK(run(sleeper, 3) == 3);
  // A worker that keeps the CPU busy gets no company: the invocations take turns on it. While
  // other work holds the machine's cores a spinning worker can be descheduled long enough to
  // look like a waiting one, so a fresh spinner gets up to three rounds to show it.
  FunctionConfig config = f.engine->config(sleeper);
  config.handler = "app.spin";
  long extra = -1;
  for (int round = 0; round < 3 && extra != 0; ++round) {
    config.id = "Spin" + std::to_string(round);
    auto spinner = f.engine->add_function(config);
    REQUIRE(spinner.has_value());
    const auto before = static_cast<long>(f.engine->stats().workers);
    extra = static_cast<long>(run(*spinner, 0)) - before - 1; // workers past the spinner's one
  }
  CHECK(extra == 0);
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

TEST_CASE("engine: node runs with the flags Lambda's bootstrap derives from MemorySize") {
  if (!have("node"))
    return;
  Fixture f;
  f.write("index.js", "const v8 = require('v8');\n"
                      "exports.handler = async () => ({gc: typeof global.gc, argv: "
                      "process.execArgv.join(' '), limitMb: "
                      "Math.round(v8.getHeapStatistics().heap_size_limit / 1048576)});\n");
  auto config = f.config("nodejs20.x", "index.handler");
  config.memory_size = 512;
  auto fn = f.add(config);
  CollectingSink sink;
  const auto& result = f.invoke(fn, sink, "{}");
  REQUIRE_MESSAGE(result.outcome == Outcome::success, result.body);
  const auto body = boost::json::parse(result.body).as_object();
  CHECK(body.at("gc").as_string() == "function");
  CHECK(body.at("argv").as_string() == "--expose-gc --max-http-header-size 81920 "
                                       "--max-semi-space-size=25 --max-old-space-size=461");
  // The old generation's 461 MB plus the young one (three semi-spaces, which V8 rounds up to a
  // power of two: 3 × 32). V8's own default on this machine would be gigabytes.
  const auto limit = body.at("limitMb").to_number<std::int64_t>();
  CHECK(limit >= 461);
  CHECK(limit <= 461 + 3 * 32);
}

TEST_CASE("engine: node contexts: Lambda's shape, callbackWaitsForEmptyEventLoop, one hidden "
          "class") {
  if (!have("node"))
    return;
  Fixture f;
  // V8's own answers (natives syntax): every context has the same hidden class and fast
  // properties. Contexts built from a literal with per-invocation accessors were in dictionary
  // mode, and ~1 KB of each invocation survived every scavenge until a full GC.
  f.write("index.js",
          "require('v8').setFlagsFromString('--allow-natives-syntax');\n"
          "const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)');\n"
          "const fast = new Function('a', 'return %HasFastProperties(a)');\n"
          "let previous = null;\n"
          "let fired = false;\n"
          "exports.handler = (event, context, callback) => {\n"
          "  const same = previous === null ? null : sameMap(previous, context);\n"
          "  previous = context;\n"
          "  const waited = context.callbackWaitsForEmptyEventLoop;\n"
          "  context.callbackWaitsForEmptyEventLoop = false;\n"
          "  if (event.timer) setTimeout(() => { fired = true; }, 3000);\n"
          "  callback(null, {same, fast: fast(context), waited, fired, keys: "
          "Object.keys(context).join(','),\n"
          "    json: Object.keys(JSON.parse(JSON.stringify(context))).join(','),\n"
          "    names: [context.succeed.name, context.fail.name, context.done.name].join(','),\n"
          "    now: context.callbackWaitsForEmptyEventLoop});\n"
          "};\n");
  auto fn = f.add("nodejs20.x", "index.handler");
  std::vector<boost::json::object> bodies;
  for (const char* payload : {R"({"timer": true})", "{}", "{}"}) {
    CollectingSink sink;
    const auto& result = f.invoke(fn, sink, payload);
    REQUIRE_MESSAGE(result.outcome == Outcome::success, result.body);
    bodies.push_back(boost::json::parse(result.body).as_object());
  }
  const std::string keys =
      "callbackWaitsForEmptyEventLoop,succeed,fail,done,functionVersion,functionName,"
      "memoryLimitInMB,logGroupName,logStreamName,clientContext,identity,invokedFunctionArn,"
      "awsRequestId,tenantId,getRemainingTimeInMillis";
  for (const auto& body : bodies) {
    CHECK(body.at("waited").as_bool());
    CHECK(!body.at("now").as_bool());
    CHECK(body.at("keys").as_string() == keys);
    CHECK(body.at("names").as_string() == "succeed,fail,done");
    CHECK(body.at("fast").as_bool());
  }
  CHECK(bodies[0].at("json").as_string() ==
        "callbackWaitsForEmptyEventLoop,functionVersion,functionName,memoryLimitInMB,"
        "logGroupName,logStreamName,invokedFunctionArn,awsRequestId");
  // callbackWaitsForEmptyEventLoop = false: the first answer did not wait for its 3 s timer.
  CHECK(!bodies[1].at("fired").as_bool());
  CHECK(bodies[1].at("same").as_bool());
  CHECK(bodies[2].at("same").as_bool());
}

TEST_CASE("engine: node programming models (callback, ESM, streaming, errors)") {
  if (!have("node"))
    return;
  SUBCASE("callback handler waits for the empty event loop") {
    Fixture f;
    f.write("index.js", "exports.handler = (event, context, callback) => {\n"
                        "  setTimeout(() => console.log('late timer'), 100);\n"
                        "  callback(null, {ok: true, rid: context.awsRequestId});\n};\n");
    auto fn = f.add("nodejs20.x", "index.handler");
    CollectingSink sink;
    auto& r = f.invoke(fn, sink, "{}", true);
    REQUIRE_MESSAGE(r.outcome == Outcome::success, std::string(r.body));
    CHECK(r.body.find("\"ok\":true") != std::string_view::npos);
    // The response was posted only after the timer ran.
    CHECK(r.log_tail.find("INFO\tlate timer") != std::string_view::npos);
  }
  SUBCASE("ES module via .mjs") {
    Fixture f;
    f.write("app.mjs", "export const handler = async (event) => ({esm: true, got: event.x});\n");
    auto fn = f.add("nodejs20.x", "app.handler");
    CollectingSink sink;
    auto& r = f.invoke(fn, sink, R"({"x": 5})");
    REQUIRE_MESSAGE(r.outcome == Outcome::success, std::string(r.body));
    CHECK(r.body == R"({"esm":true,"got":5})");
  }
  SUBCASE("ES module via package.json type module") {
    Fixture f;
    f.write("package.json", R"({"type": "module"})");
    f.write("src/app.js", "export async function handler() { return 'module'; }\n");
    auto fn = f.add("nodejs20.x", "src/app.handler");
    CollectingSink sink;
    auto& r = f.invoke(fn, sink, "{}");
    REQUIRE_MESSAGE(r.outcome == Outcome::success, std::string(r.body));
    CHECK(r.body == "\"module\"");
  }
  SUBCASE("thrown error and init errors") {
    Fixture f;
    f.write("index.js", "exports.handler = async () => { throw new TypeError('bad thing'); };\n");
    auto fn = f.add("nodejs20.x", "index.handler");
    CollectingSink sink;
    auto& r = f.invoke(fn, sink, "{}");
    CHECK(r.outcome == Outcome::function_error);
    CHECK(r.error_type == "TypeError");
    CHECK(
        r.body.find(
            R"("errorType":"TypeError","errorMessage":"bad thing","trace":["TypeError: bad thing")") !=
        std::string_view::npos);

    auto missing = f.add("nodejs20.x", "nope.handler");
    CollectingSink sink2;
    auto& m = f.invoke(missing, sink2, "{}");
    CHECK(m.outcome == Outcome::init_error);
    CHECK(m.error_type == "Runtime.ImportModuleError");
    CHECK(m.body.find("Error: Cannot find module 'nope'") != std::string_view::npos);

    auto not_exported = f.add("nodejs20.x", "index.other");
    CollectingSink sink3;
    auto& n = f.invoke(not_exported, sink3, "{}");
    CHECK(n.error_type == "Runtime.HandlerNotFound");
    CHECK(n.body.find("index.other is undefined or not exported") != std::string_view::npos);
  }
  SUBCASE("response streaming with a mid-stream error") {
    Fixture f;
    f.write("stream.mjs",
            "export const ok = awslambda.streamifyResponse(async (event, stream) => {\n"
            "  stream.setContentType('text/plain');\n"
            "  stream.write('one ');\n  await new Promise(r => setTimeout(r, 50));\n"
            "  stream.write('two');\n  stream.end();\n});\n"
            "export const http = awslambda.streamifyResponse(async (event, stream) => {\n"
            "  stream = awslambda.HttpResponseStream.from(stream, {statusCode: 201});\n"
            "  stream.write('body'); stream.end();\n});\n"
            "export const fail = awslambda.streamifyResponse(async (event, stream) => {\n"
            "  stream.write('partial');\n  await new Promise(r => setTimeout(r, 20));\n"
            "  throw new Error('mid-stream failure');\n});\n");
    auto ok = f.add("nodejs20.x", "stream.ok");
    CollectingSink a;
    std::vector<std::string> chunks;
    a.on_data = [&](std::string_view c) { chunks.emplace_back(c); };
    auto& ra = f.invoke(ok, a, "{}");
    REQUIRE_MESSAGE(ra.outcome == Outcome::success, std::string(ra.body));
    CHECK(ra.streamed);
    CHECK(a.stream_content_type() == "text/plain");
    CHECK(a.streamed_body() == "one two");
    CHECK(chunks.size() >= 2); // delivered as they arrived

    auto http = f.add("nodejs20.x", "stream.http");
    CollectingSink b;
    auto& rb = f.invoke(http, b, "{}");
    REQUIRE(rb.outcome == Outcome::success);
    CHECK(b.stream_content_type() == "application/vnd.awslambda.http-integration-response");
    CHECK(b.streamed_body() == std::string("{\"statusCode\":201}") + std::string(8, '\0') + "body");

    auto fail = f.add("nodejs20.x", "stream.fail");
    CollectingSink c;
    auto& rc = f.invoke(fail, c, "{}");
    CHECK(rc.outcome == Outcome::function_error);
    CHECK(rc.streamed);
    CHECK(c.streamed_body() == "partial");
    CHECK(rc.error_type == "Error");
    CHECK(rc.body.find(R"("errorMessage":"mid-stream failure")") != std::string_view::npos);
  }
}

TEST_CASE("engine: a flood of output neither stalls the pool nor grows memory") {
  if (!have("python3"))
    return;
  Fixture f;
  f.write("app.py", "import sys\ndef handler(event, context):\n"
                    "    line = 'x' * 1000 + '\\n'\n"
                    "    for _ in range(20000):\n        sys.stdout.write(line)\n"
                    "    sys.stdout.write('y' * 600000)\n"
                    "    return 'done'\n");
  auto fn = f.add("python3.11", "app.handler", 30);
  std::size_t lines = 0;
  std::size_t longest = 0;
  f.engine.reset();
  EngineOptions options;
  options.cache_dir = shared_cache();
  options.on_log = [&](const LogLine& line) {
    ++lines;
    longest = std::max(longest, line.text.size());
  };
  f.engine = std::make_unique<Engine>(f.io, options);
  fn = f.add("python3.11", "app.handler", 30);
  CollectingSink sink;
  auto& r = f.invoke(fn, sink, "{}", true);
  REQUIRE(r.outcome == Outcome::success);
  CHECK(r.body == "\"done\"");
  CHECK(lines >= 20000 + 3 + 3);
  CHECK(longest <= 256 * 1024); // an endless line is cut, not buffered whole
  CHECK(r.log_tail.size() <= k_log_tail_size);
  CHECK(r.log_tail.find("REPORT RequestId") != std::string_view::npos);
}

TEST_CASE("engine: prewarm starts workers ahead of traffic; reload retires them") {
  if (!have("python3"))
    return;
  Fixture f;
  f.write("app.py", k_python_app);
  auto fn = f.add("python3.11", "app.handler");
  f.engine->prewarm(fn, 1);
  CHECK(f.engine->stats().workers == 1);
  // Let it finish init and wait on /next.
  for (int i = 0; i < 600 && f.engine->stats().idle_workers == 0; ++i) {
    if (f.io.stopped())
      f.io.restart();
    f.io.run_for(std::chrono::milliseconds(10));
  }
  REQUIRE(f.engine->stats().idle_workers == 1);
  CollectingSink first;
  auto& a = f.invoke(fn, first, "{}");
  REQUIRE(a.outcome == Outcome::success);
  CHECK(a.cold); // the first invocation of a prewarmed worker reports its init
  CHECK(a.body.find("\"count\": 1") != std::string_view::npos);
  CHECK(f.engine->stats().cold_starts == 1);

  f.engine->reload(fn); // new code: the next invocation starts a fresh worker
  CollectingSink second;
  auto& b = f.invoke(fn, second, "{}");
  REQUIRE(b.outcome == Outcome::success);
  CHECK(b.cold);
  CHECK(b.body.find("\"count\": 1") != std::string_view::npos);
}

TEST_CASE("engine: a timeout while the event is still being written waits for the write") {
  if (!have("python3"))
    return;
  Fixture f;
  // A runtime that asks for an event and never reads it: a 5 MB event cannot be written.
  f.write(
      "bootstrap",
      "#!/usr/bin/env python3\nimport os, socket, time\n"
      "host, port = os.environ['AWS_LAMBDA_RUNTIME_API'].split(':')\n"
      "s = socket.create_connection((host, int(port)))\n"
      "s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)\n"
      "s.sendall(b'GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
      "time.sleep(60)\n",
      0755);
  auto fn = f.add("provided.al2023", "unused", 1);
  std::string event = "\"" + std::string(5 * 1024 * 1024, 'e') + "\"";
  CollectingSink sink;
  auto& r = f.invoke(fn, sink, event);
  CHECK(r.outcome == Outcome::timeout);
  CHECK(r.error_type == "Sandbox.Timedout");
}

TEST_CASE("engine: a runtime that pipelines its result with the next /next") {
  if (!have("python3"))
    return;
  EngineOptions options;
  options.max_concurrency = 1;
  options.lambda_layout = false; // the runtime writes its transcript into its code directory
  Fixture f(options);
  // Sends each result and the following /next in one write; logs every answer's status line.
  f.write("bootstrap", R"(#!/usr/bin/env python3
import os, socket
host, port = os.environ['AWS_LAMBDA_RUNTIME_API'].split(':')
s = socket.create_connection((host, int(port)))
log = open('transcript.txt', 'w')
NEXT = b'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n'
buf = b''
def answer():
    global buf
    while b'\r\n\r\n' not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit(0)
        buf += chunk
    head, _, rest = buf.partition(b'\r\n\r\n')
    lines = head.split(b'\r\n')
    fields = {k.strip().lower(): v.strip() for k, _, v in (l.partition(b':') for l in lines[1:])}
    length = int(fields.get(b'content-length', b'0'))
    while len(rest) < length:
        rest += s.recv(65536)
    buf = rest[length:]
    return lines[0].decode(), fields.get(b'lambda-runtime-aws-request-id', b''), rest[:length]
s.sendall(NEXT)
while True:
    status, rid, body = answer()
    log.write(status + '\n')
    log.flush()
    if status.startswith('HTTP/1.1 200'):
        out = b'{"echo":' + body + b'}'
        s.sendall(b'POST /2018-06-01/runtime/invocation/' + rid + b'/response HTTP/1.1\r\n'
                  b'Host: x\r\nContent-Length: %d\r\n\r\n' % len(out) + out + NEXT)
)",
          0755);
  auto fn = f.add("provided.al2023", "unused", 3);
  CollectingSink a;
  CollectingSink b;
  InvokeRequest first;
  first.payload = "1";
  InvokeRequest second;
  second.payload = "2";
  f.engine->invoke(fn, first, a);
  f.engine->invoke(fn, second, b); // queued behind the first (one worker)
  f.run_until({&a, &b});
  CHECK(a.result().outcome == Outcome::success);
  CHECK(a.result().body == R"({"echo":1})");
  CHECK(b.result().outcome == Outcome::success);
  CHECK(b.result().body == R"({"echo":2})");
  // Every 202 precedes the next event, and the last one is not held back while nothing is
  // queued (the worker gets it before it parks).
  const auto transcript = code_path_text(f, "transcript.txt", 4);
  CHECK(transcript == "HTTP/1.1 200 OK\nHTTP/1.1 202 Accepted\nHTTP/1.1 200 OK\n"
                      "HTTP/1.1 202 Accepted\n");
  CHECK(f.engine->stats().workers == 1);
}

TEST_CASE("engine: invocation metadata reaches the context (client context, identity, ids)") {
  if (!have("python3"))
    return;
  Fixture f;
  f.write("ctx.py",
          "import json, os\n"
          "def handler(event, context):\n"
          "    cc = context.client_context\n"
          "    return {'rid': context.aws_request_id, 'arn': context.invoked_function_arn,\n"
          "            'trace': os.environ.get('_X_AMZN_TRACE_ID'),\n"
          "            'app': cc.client.app_title, 'custom': cc.custom, 'env': cc.env,\n"
          "            'identity': [context.identity.cognito_identity_id,\n"
          "                         context.identity.cognito_identity_pool_id],\n"
          "            'tenant': context.tenant_id,\n"
          "            'event': [type(event).__name__, event.decode()]}\n");
  auto fn = f.add("python3.11", "ctx.handler");
  InvokeRequest request;
  request.payload = "raw bytes";
  request.content_type = "text/plain";
  request.request_id = "11111111-2222-4333-8444-555555555555";
  request.qualifier = "live";
  request.trace_id = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
  request.client_context =
      R"({"client": {"app_title": "shop"}, "custom": {"k": "v"}, "env": {"locale": "en"}})";
  request.cognito_identity = R"({"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"})";
  request.tenant_id = "tenant-7";
  CollectingSink sink;
  f.engine->invoke(fn, request, sink);
  f.run_until({&sink});
  const auto& r = sink.result();
  REQUIRE_MESSAGE(r.outcome == Outcome::success, std::string(r.body));
  CHECK(r.request_id == "11111111-2222-4333-8444-555555555555");
  const std::string body(r.body);
  CHECK(body.find("\"rid\": \"11111111-2222-4333-8444-555555555555\"") != std::string::npos);
  CHECK(body.find("\"arn\": \"arn:aws:lambda:us-east-1:123456789012:function:Fn:live\"") !=
        std::string::npos);
  CHECK(body.find("Sampled=1") != std::string::npos);
  CHECK(body.find("\"app\": \"shop\", \"custom\": {\"k\": \"v\"}, \"env\": {\"locale\": \"en\"}") !=
        std::string::npos);
  CHECK(body.find("\"identity\": [\"id-1\", \"pool-1\"]") != std::string::npos);
  CHECK(body.find("\"tenant\": \"tenant-7\"") != std::string::npos);
  // A non-JSON content type reaches a python handler as the raw bytes.
  CHECK(body.find("\"event\": [\"bytes\", \"raw bytes\"]") != std::string::npos);
}

TEST_CASE("engine: the 17th invocation of a chain is stopped (recursive loop detection)") {
  if (!have("python3"))
    return;
  Fixture f;
  f.write("echo.py", "import os\n\ndef handler(event, context):\n"
                     "    return os.environ['_X_AMZN_TRACE_ID']\n");
  auto fn = f.add("python3.11", "echo.handler");
  auto config = f.config("python3.11", "echo.handler");
  config.id = "Free";
  config.recursive_loop_allowed = true;
  auto free = f.add(config);
  const auto hash = lineage_hash("arn:aws:lambda:us-east-1:123456789012:function:Fn");
  const auto free_hash = lineage_hash("arn:aws:lambda:us-east-1:123456789012:function:Free");
  const std::string root =
      "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0";
  auto run = [&](FunctionHandle handle, const std::string& trace) {
    InvokeRequest request;
    request.payload = "{}";
    request.trace_id = trace;
    CollectingSink sink;
    f.engine->invoke(handle, request, sink);
    f.run_until({&sink});
    return std::pair{sink.result().outcome, std::string(sink.result().body)};
  };
  // The 16th invocation (count 15) runs and sees its place in the chain.
  auto [outcome, body] = run(fn, with_lineage(root, hash, 14));
  REQUIRE_MESSAGE(outcome == Outcome::success, body);
  CHECK(body == "\"" + root + ";Lineage=1:" + hash + ":15\"");
  // The 17th is stopped before any worker runs it.
  std::tie(outcome, body) = run(fn, with_lineage(root, hash, 15));
  CHECK(outcome == Outcome::recursive_loop);
  CHECK(body.find("RecursiveInvocationException") != std::string::npos);
  // Another function's count does not stop this one; RecursiveLoop: Allow never stops.
  std::tie(outcome, body) = run(fn, with_lineage(root, free_hash, 40));
  CHECK(outcome == Outcome::success);
  std::tie(outcome, body) = run(free, with_lineage(root, free_hash, 40));
  CHECK(outcome == Outcome::success);
  CHECK(body.find(":41\"") != std::string::npos);
}

TEST_CASE("engine: invocation metadata reaches a node handler's context") {
  if (!have("node"))
    return;
  Fixture f;
  f.write("ctx.js", "exports.handler = async (event, context) => ({\n"
                    "  rid: context.awsRequestId, arn: context.invokedFunctionArn,\n"
                    "  trace: process.env._X_AMZN_TRACE_ID, cc: context.clientContext,\n"
                    "  identity: context.identity, tenant: context.tenantId,\n"
                    "  stream: context.logStreamName, group: context.logGroupName,\n"
                    "  version: context.functionVersion,\n"
                    "  remaining: context.getRemainingTimeInMillis() > 0 });\n");
  auto fn = f.add("nodejs20.x", "ctx.handler");
  InvokeRequest request;
  request.payload = "{}";
  request.request_id = "11111111-2222-4333-8444-555555555555";
  request.qualifier = "live";
  request.trace_id = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
  request.client_context = R"({"client":{"app_title":"shop"},"custom":{"k":"v"},"env":{"l":"en"}})";
  request.cognito_identity = R"({"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"})";
  request.tenant_id = "tenant-7";
  CollectingSink sink;
  f.engine->invoke(fn, request, sink);
  f.run_until({&sink});
  const auto& r = sink.result();
  REQUIRE_MESSAGE(r.outcome == Outcome::success, std::string(r.body));
  const std::string body(r.body);
  CHECK(body.find(R"("rid":"11111111-2222-4333-8444-555555555555")") != std::string::npos);
  CHECK(body.find(R"("arn":"arn:aws:lambda:us-east-1:123456789012:function:Fn:live")") !=
        std::string::npos);
  // The caller's trace header, with the function's place in the chain (recursive loop detection).
  CHECK(body.find(R"("trace":"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;)"
                  R"(Sampled=1;Lineage=1:)") != std::string::npos);
  CHECK(body.find(R"("cc":{"client":{"app_title":"shop"},"custom":{"k":"v"},"env":{"l":"en"}})") !=
        std::string::npos);
  CHECK(body.find(R"("identity":{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"})") !=
        std::string::npos);
  CHECK(body.find(R"("tenant":"tenant-7")") != std::string::npos);
  CHECK(body.find(R"("group":"/aws/lambda/Fn")") != std::string::npos);
  CHECK(body.find(R"("version":"$LATEST")") != std::string::npos);
  CHECK(body.find(R"("remaining":true)") != std::string::npos);
}

namespace {

// True (with a message) when this machine refuses Lambda's file layout: the layout tests
// then have nothing to check.
bool layout_refused(const Fixture& f) {
  for (const auto& w : f.warnings)
    if (w.find("file layout") != std::string::npos) {
      MESSAGE("SKIPPED: Lambda's file layout is not available here: " << w);
      return true;
    }
  return false;
}

} // namespace

TEST_CASE("engine: Lambda's file layout: /var/task, layers merged at /opt, a private /tmp") {
  if (!have("python3"))
    return;
  Fixture f;
  support::TempDir first("wisp-layer-one");
  support::TempDir second("wisp-layer-two");
  REQUIRE(support::write_file_atomic(first.path() / "data/config.txt", "from one").has_value());
  REQUIRE(support::write_file_atomic(first.path() / "data/shared.txt", "one").has_value());
  REQUIRE(
      support::write_file_atomic(first.path() / "python/layermod.py", "VALUE = 7\n").has_value());
  REQUIRE(support::write_file_atomic(second.path() / "data/shared.txt", "two").has_value());
  const auto probe = fmt::format("wisp-layout-probe-{}", ::getpid());
  f.write("app.py", R"(import os, sys, layermod
def handler(event, context):
    out = {"root": os.environ["LAMBDA_TASK_ROOT"], "cwd": os.getcwd(),
           "runtime": os.environ["LAMBDA_RUNTIME_DIR"], "file": __file__,
           "config": open("/opt/data/config.txt").read(),
           "shared": open("/opt/data/shared.txt").read(), "layermod": layermod.VALUE}
    try:
        open("/var/task/new-file", "w")
        out["task_write"] = "allowed"
    except OSError as e:
        out["task_write"] = e.strerror
    path = os.path.join("/tmp", event["probe"])
    out["seen"] = os.path.exists(path)
    open(path, "w").write("x")
    return out
)");
  auto config = f.config("python3.11", "app.handler");
  config.layer_dirs = {first.path(), second.path()};
  auto fn = f.add(config);
  const auto event = fmt::format(R"({{"probe": "{}"}})", probe);
  CollectingSink sink;
  const auto& r = f.invoke(fn, sink, event);
  if (layout_refused(f))
    return;
  REQUIRE_MESSAGE(r.outcome == Outcome::success, std::string(r.body));
  const auto out = boost::json::parse(r.body).as_object();
  CHECK(out.at("root").as_string() == "/var/task");
  CHECK(out.at("cwd").as_string() == "/var/task");
  CHECK(out.at("runtime").as_string() == "/var/runtime");
  CHECK(out.at("file").as_string() == "/var/task/app.py");
  CHECK(out.at("config").as_string() == "from one");
  CHECK(out.at("shared").as_string() == "two"); // the later layer wins
  CHECK(out.at("layermod").as_int64() == 7);
  CHECK(out.at("task_write").as_string() == "Read-only file system");
  CHECK(out.at("seen").as_bool() == false);
  // The worker's /tmp is its own: the host's /tmp never saw the file; the warm worker does.
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path("/tmp") / probe));
  CollectingSink again;
  const auto& warm = f.invoke(fn, again, event);
  REQUIRE(warm.outcome == Outcome::success);
  CHECK(boost::json::parse(warm.body).as_object().at("seen").as_bool() == true);
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path("/tmp") / probe));
}

TEST_CASE("engine: a layer with a symbolic link out of itself is refused, naming the file") {
  Fixture f;
  support::TempDir layer("wisp-layer-escape");
  std::filesystem::create_directories(layer.path() / "python");
  std::filesystem::create_symlink("../../../etc/passwd", layer.path() / "python" / "leak");
  f.write("app.py", "def handler(e, c):\n    return 1\n");
  auto config = f.config("python3.11", "app.handler");
  config.layer_dirs = {layer.path()};
  auto handle = f.engine->add_function(config);
  REQUIRE_FALSE(handle.has_value());
  CHECK(handle.error().message.find("function Fn: layer ") == 0);
  CHECK(handle.error().message.find("python/leak is a symbolic link to ../../../etc/passwd, "
                                    "outside the layer") != std::string::npos);
}

TEST_CASE("engine: ES modules import packages from NODE_PATH's directories, as in Lambda") {
  if (!have("node"))
    return;
  for (const bool layout : {true, false}) {
    CAPTURE(layout);
    EngineOptions options;
    options.lambda_layout = layout;
    Fixture f(options);
    support::TempDir layer("wisp-layer-esm");
    REQUIRE(support::write_file_atomic(layer.path() / "nodejs/node_modules/greet/package.json",
                                       R"({"name":"greet","type":"module","exports":"./index.js"})")
                .has_value());
    REQUIRE(support::write_file_atomic(layer.path() / "nodejs/node_modules/greet/index.js",
                                       "export const greet = (n) => `hello ${n}`;\n")
                .has_value());
    f.write("app.mjs", "import { greet } from 'greet';\n"
                       "export const handler = async () => greet('esm');\n");
    auto config = f.config("nodejs20.x", "app.handler");
    config.layer_dirs = {layer.path()};
    auto fn = f.add(config);
    CollectingSink sink;
    const auto& r = f.invoke(fn, sink, "{}");
    CHECK_MESSAGE(r.outcome == Outcome::success, std::string(r.body));
    CHECK(r.body == R"("hello esm")");
  }
}

TEST_CASE("engine: LoggingConfig JSON: the runtimes' JSON lines and platform records") {
  if (!have("python3") || !have("node"))
    return;
  Fixture f;
  f.write("app.py", R"(import logging
log = logging.getLogger("shop")
def handler(event, context):
    print("plain print")
    log.info("kept %s", "info")
    log.debug("dropped debug")
    log.warning("kept warning", extra={"order": 7})
    return "ok"
)");
  f.write("app.js", "exports.handler = async () => {\n"
                    "  console.log('kept', {a: 1});\n"
                    "  console.debug('dropped');\n"
                    "  console.error(new Error('boom'));\n"
                    "  return 'ok';\n};\n");
  auto python = f.config("python3.11", "app.handler");
  python.log_format = "JSON";
  auto py = f.add(python);
  auto node_config = f.config("nodejs20.x", "app.handler");
  node_config.id = "Node";
  node_config.log_format = "JSON";
  node_config.application_log_level = "INFO";
  auto node = f.add(node_config);
  CollectingSink a;
  REQUIRE(f.invoke(py, a, "{}").outcome == Outcome::success);
  CollectingSink b;
  REQUIRE(f.invoke(node, b, "{}").outcome == Outcome::success);
  std::vector<std::string> types;
  std::vector<boost::json::object> app;
  bool plain = false;
  for (const auto& line : f.logs) {
    CHECK(line.rfind("END RequestId", 0) != 0);
    CHECK(line.rfind("START RequestId", 0) != 0);
    CHECK(line.rfind("REPORT RequestId", 0) != 0);
    if (line == "plain print") {
      plain = true; // print() is not the logging module: it stays text, as in Lambda
      continue;
    }
    boost::system::error_code ec;
    auto value = boost::json::parse(line, ec);
    REQUIRE_MESSAGE(!ec, line);
    const auto& object = value.as_object();
    if (const auto* type = object.if_contains("type"))
      types.emplace_back(type->as_string());
    else
      app.push_back(object);
  }
  CHECK(plain);
  CHECK(types == std::vector<std::string>{"platform.initStart", "platform.start", "platform.report",
                                          "platform.initStart", "platform.start",
                                          "platform.report"});
  REQUIRE(app.size() == 4);
  CHECK(app[0].at("level").as_string() == "INFO");
  CHECK(app[0].at("message").as_string() == "kept info");
  CHECK(app[0].at("logger").as_string() == "shop");
  CHECK(app[0].at("requestId").as_string() == a.result().request_id);
  CHECK(app[1].at("level").as_string() == "WARNING");
  CHECK(app[1].at("order").as_int64() == 7);
  CHECK(app[2].at("level").as_string() == "INFO");
  CHECK(app[2].at("message").as_string() == "kept { a: 1 }");
  CHECK(app[2].at("requestId").as_string() == b.result().request_id);
  CHECK(app[3].at("level").as_string() == "ERROR");
  CHECK(app[3].at("message").as_object().at("errorType").as_string() == "Error");
  CHECK(app[3].at("message").as_object().at("errorMessage").as_string() == "boom");
}

TEST_CASE("engine: LoggingConfig levels filter JSON logs only") {
  if (!have("python3"))
    return;
  Fixture f;
  f.write("app.py", R"(import logging
def handler(event, context):
    logging.getLogger().info("info line")
    logging.getLogger().error("error line")
    return "ok"
)");
  auto config = f.config("python3.11", "app.handler");
  config.log_format = "JSON";
  config.application_log_level = "ERROR";
  config.system_log_level = "WARN";
  auto fn = f.add(config);
  CollectingSink sink;
  REQUIRE(f.invoke(fn, sink, "{}").outcome == Outcome::success);
  REQUIRE(f.logs.size() == 1); // no platform records at WARN, no INFO application line
  CHECK(f.logs[0].find(R"("message": "error line")") != std::string::npos);
}

TEST_CASE(
    "engine: nodejs24.x refuses callback-style handlers (Runtime.CallbackHandlerDeprecated)") {
  if (!have("node"))
    return;
  Fixture f;
  f.write("app.js", "exports.callback = (event, context, callback) => callback(null, 1);\n"
                    "exports.asyncThree = async (event, context, callback) => 2;\n"
                    "exports.modern = async (event, context) => 3;\n"
                    "exports.stream = awslambda.streamifyResponse(\n"
                    "  async (event, responseStream, context) => { responseStream.end('4'); });\n");
  auto run = [&](const std::string& runtime, const std::string& handler) {
    auto config = f.config(runtime, handler);
    config.id = runtime + handler;
    auto fn = f.add(config);
    CollectingSink sink;
    f.invoke(fn, sink, "{}");
    return std::make_pair(sink.result().outcome, std::string(sink.result().error_type));
  };
  for (const auto* handler : {"app.callback", "app.asyncThree"}) {
    CAPTURE(handler);
    const auto [outcome, type] = run("nodejs24.x", handler);
    CHECK(outcome == Outcome::init_error);
    CHECK(type == "Runtime.CallbackHandlerDeprecated");
  }
  CHECK(run("nodejs24.x", "app.modern").first == Outcome::success);
  CHECK(run("nodejs24.x", "app.stream").first == Outcome::success);
  CHECK(run("nodejs22.x", "app.callback").first == Outcome::success);
  bool message = false;
  for (const auto& line : f.logs)
    message = message ||
              line.find("ERROR\tInit Error \t{\"errorType\":\"Runtime.CallbackHandlerDeprecated\","
                        "\"errorMessage\":\"ERROR: AWS Lambda has removed support for "
                        "callback-based function handlers starting with Node.js 24.") !=
                  std::string::npos;
  CHECK(message);
}
