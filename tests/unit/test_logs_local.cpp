// Reading the local log store (src/wisp/logs/local.hpp) as the execution engine writes it
// (runtime::LogStoreWriter, docs/log-store.md): new streams and segments, partial and torn
// lines, rotation, deletion by retention while open, concurrent writers.

#include <wisp/logs/local.hpp>
#include <wisp/logs/pattern.hpp>
#include <wisp/runtime/log_store.hpp>
#include <wisp/support/fs.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <thread>

using wisp::logs::LogEvent;
using wisp::logs::Source;
using wisp::logs::detail::LocalStoreReader;
using wisp::runtime::LogStoreLimits;
using wisp::runtime::LogStoreWriter;
namespace fs = std::filesystem;

namespace {

std::string stream_name(int n) {
  return fmt::format("2026/11/23/[$LATEST]{:032x}", n);
}

std::unique_ptr<LogStoreWriter> writer(const fs::path& root, const std::string& function,
                                       int stream, LogStoreLimits limits = {}) {
  return std::make_unique<LogStoreWriter>(wisp::runtime::log_store_function_dir(root, function),
                                          "/aws/lambda/" + function, stream_name(stream), limits);
}

std::vector<std::string> messages(const std::vector<LogEvent>& events) {
  std::vector<std::string> out;
  for (const auto& event : events)
    out.push_back(event.message);
  return out;
}

std::vector<Source> functions(std::initializer_list<const char*> ids) {
  std::vector<Source> sources;
  for (const auto* id : ids)
    sources.push_back({id, id, {}, {}});
  return sources;
}

} // namespace

TEST_CASE("local store: records of the chosen functions, each once, new ones on the next poll") {
  wisp::support::TempDir dir("wisp-logs-local");
  const auto root = dir.path() / ".wisp" / "logs";
  auto hello = writer(root, "Hello", 1);
  auto other = writer(root, "Other", 2);
  hello->append(1000, "req-1", "START RequestId: req-1 Version: $LATEST");
  hello->append(1001, "req-1", "hello");
  hello->flush();
  other->append(1002, "req-2", "other");
  other->flush();

  LocalStoreReader reader(root, functions({"Hello", "Other"}));
  auto first = reader.poll(5000);
  REQUIRE(first.size() == 3);
  CHECK(first[0].timestamp == 1000);
  CHECK(first[0].log_group == "/aws/lambda/Hello");
  CHECK(first[0].log_stream == stream_name(1));
  CHECK(first[0].request_id == "req-1");
  CHECK(first[0].source == 0);
  CHECK(first[2].source == 1);
  CHECK(reader.poll(5100).empty());

  hello->append(1003, "req-1", "END RequestId: req-1");
  hello->flush();
  auto second = reader.poll(5200);
  CHECK(messages(second) == std::vector<std::string>{"END RequestId: req-1"});

  // Only the chosen functions.
  LocalStoreReader only_other(root, functions({"Other"}));
  CHECK(messages(only_other.poll(5300)) == std::vector<std::string>{"other"});
  // A log-group source reads every function's directory and keeps its group's records.
  LocalStoreReader by_group(root, {{"/aws/lambda/Hello", {}, "/aws/lambda/Hello", {}}});
  CHECK(by_group.poll(5400).size() == 3);
}

TEST_CASE("local store: a line still being written waits; torn lines are skipped") {
  wisp::support::TempDir dir("wisp-logs-partial");
  const auto root = dir.path();
  fs::create_directories(root / "Fn");
  const auto file = root / "Fn" / "20261123T104548Z-00.0000.jsonl";
  std::ofstream out(file, std::ios::binary);
  out << R"({"timestamp":1,"logGroup":"g","logStream":"s","requestId":"","message":"one"})"
      << "\n";
  out << R"({"timestamp":2,"logGroup":"g","logStream":"s","requestId":"","mess)";
  out.flush();

  LocalStoreReader reader(root, functions({"Fn"}));
  CHECK(messages(reader.poll(10)) == std::vector<std::string>{"one"});
  CHECK(reader.poll(20).empty());
  out << R"(age":"two"})"
      << "\n";
  out << "{torn write\n";
  out << "[1,2]\n";
  out << R"({"logGroup":"g","message":"no timestamp"})"
      << "\n";
  out << "\n";
  out << R"({"timestamp":3,"logGroup":"g","logStream":"s","requestId":"r","message":"three"})"
      << "\r\n";
  out.flush();
  CHECK(messages(reader.poll(30)) == std::vector<std::string>{"two", "three"});
  CHECK(reader.skipped_lines() == 3);
}

TEST_CASE("local store: rotated segments are all read, in order, exactly once") {
  wisp::support::TempDir dir("wisp-logs-rotation");
  const auto root = dir.path();
  LogStoreLimits limits;
  limits.segment_bytes = 400; // a new segment every few records
  auto w = writer(root, "Fn", 7, limits);
  LocalStoreReader reader(root, functions({"Fn"}));
  std::vector<std::string> seen;
  for (int i = 0; i < 60; ++i) {
    w->append(1000 + i, "r", fmt::format("line {:02}", i));
    w->flush();
    if (i % 7 == 0)
      for (auto& message : messages(reader.poll(2000 + i)))
        seen.push_back(message);
  }
  for (auto& message : messages(reader.poll(3000)))
    seen.push_back(message);
  std::size_t segments = 0;
  for (const auto& entry : fs::directory_iterator(root / "Fn"))
    segments += entry.path().extension() == ".jsonl" ? 1u : 0u;
  CHECK(segments > 5);
  REQUIRE(seen.size() == 60);
  for (int i = 0; i < 60; ++i)
    CHECK(seen[static_cast<std::size_t>(i)] == fmt::format("line {:02}", i));
}

TEST_CASE("local store: a file deleted after it was opened is read to its end") {
  wisp::support::TempDir dir("wisp-logs-deleted");
  const auto root = dir.path();
  auto w = writer(root, "Fn", 3);
  w->append(1, "r", "before");
  w->flush();
  LocalStoreReader reader(root, functions({"Fn"}));
  CHECK(messages(reader.poll(10)) == std::vector<std::string>{"before"});
  w->append(2, "r", "after");
  w->flush();
  for (const auto& entry : fs::directory_iterator(root / "Fn"))
    fs::remove(entry.path());
  CHECK(messages(reader.poll(20)) == std::vector<std::string>{"after"});
  CHECK(reader.open_files() == 0);
  CHECK(reader.poll(30).empty());
}

TEST_CASE("local store: retention deleting other streams' files loses nothing already written") {
  wisp::support::TempDir dir("wisp-logs-retention");
  const auto root = dir.path();
  LogStoreLimits limits;
  limits.segment_bytes = 300;
  limits.function_bytes = 1200; // keeps about four segments per function
  std::vector<std::unique_ptr<LogStoreWriter>> writers;
  for (int s = 0; s < 4; ++s)
    writers.push_back(writer(root, "Fn", 100 + s, limits));
  LocalStoreReader reader(root, functions({"Fn"}));
  std::multiset<std::string> seen;
  int written = 0;
  for (int round = 0; round < 40; ++round) {
    for (auto& w : writers) {
      w->append(round, "r", fmt::format("m{:04}", written++));
      w->flush();
    }
    for (auto& message : messages(reader.poll(round * 100)))
      seen.insert(message);
  }
  // Every record read at most once; every record of a file that still exists was read.
  for (const auto& message : seen)
    CHECK(seen.count(message) == 1);
  CHECK(seen.size() == static_cast<std::size_t>(written)); // read between each write round
  // Retention did delete files under the reader.
  std::uintmax_t kept = 0;
  for (const auto& entry : fs::directory_iterator(root / "Fn"))
    kept += entry.file_size();
  CHECK(kept < static_cast<std::uintmax_t>(written) * 60);
}

TEST_CASE("local store: idle files are closed and reopened when they grow") {
  wisp::support::TempDir dir("wisp-logs-idle");
  const auto root = dir.path();
  auto w = writer(root, "Fn", 9);
  w->append(1, "r", "first");
  w->flush();
  LocalStoreReader reader(root, functions({"Fn"}));
  CHECK(reader.poll(1'000).size() == 1);
  CHECK(reader.open_files() == 1);
  CHECK(reader.poll(60'000).empty()); // no growth for a minute
  CHECK(reader.open_files() == 0);
  w->append(2, "r", "second");
  w->flush();
  CHECK(messages(reader.poll(61'000)) == std::vector<std::string>{"second"});
  CHECK(reader.open_files() == 1);
}

TEST_CASE("local store: concurrent writers, polled while they write") {
  wisp::support::TempDir dir("wisp-logs-concurrent");
  const auto root = dir.path();
  constexpr int k_writers = 4;
  constexpr int k_records = 500;
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_writers; ++t) {
    threads.emplace_back([&, t] {
      LogStoreLimits limits;
      limits.segment_bytes = 4096;
      auto w = writer(root, t % 2 == 0 ? "Even" : "Odd", 200 + t, limits);
      for (int i = 0; i < k_records; ++i) {
        w->append(i, "r", fmt::format("w{}-{:04}", t, i));
        if (i % 3 == 0)
          w->flush();
      }
      w->flush();
      ++done;
    });
  }
  LocalStoreReader reader(root, functions({"Even", "Odd"}));
  std::map<std::string, int> count;
  std::map<int, int> last; // per writer: records arrive in the order written
  bool ordered = true;
  const auto take = [&](std::vector<LogEvent> events) {
    for (const auto& event : events) {
      ++count[event.message];
      const int t = event.message[1] - '0';
      const int i = std::stoi(event.message.substr(3));
      if (last.count(t) != 0 && i != last[t] + 1)
        ordered = false;
      last[t] = i;
    }
  };
  while (done.load() < k_writers)
    take(reader.poll(0));
  for (auto& thread : threads)
    thread.join();
  take(reader.poll(0));
  CHECK(ordered);
  CHECK(count.size() == static_cast<std::size_t>(k_writers * k_records));
  for (const auto& [message, n] : count)
    CHECK_MESSAGE(n == 1, message);
  CHECK(reader.skipped_lines() == 0);
}

TEST_CASE(
    "local store: a filter is applied while reading; the raw-line shortcut never loses a match") {
  wisp::support::TempDir dir("wisp-logs-filter");
  const auto root = dir.path();
  auto w = writer(root, "Fn", 4);
  w->append(1, "r", R"(say "hi" twice)"); // stored as say \"hi\" twice
  w->append(2, "r", "café ERROR");        // non-ASCII
  w->append(3, "r", "plain ERROR line");
  w->append(4, "r", "nothing here"); // "Fn" only in the log group: not a match
  w->flush();
  const auto read = [&](const char* text) {
    auto pattern = wisp::logs::FilterPattern::parse(text);
    REQUIRE(pattern.has_value());
    LocalStoreReader reader(root, functions({"Fn"}));
    reader.set_filter([&](const LogEvent& event) { return pattern->matches(event.message); },
                      pattern->required_terms());
    return messages(reader.poll(10));
  };
  CHECK(read(R"("say \"hi\"")") == std::vector<std::string>{R"(say "hi" twice)"});
  CHECK(read("\"café\" ERROR") == std::vector<std::string>{"café ERROR"});
  CHECK(read("ERROR") == std::vector<std::string>{"café ERROR", "plain ERROR line"});
  CHECK(read("Fn").empty());
  CHECK(read("-ERROR") == std::vector<std::string>{R"(say "hi" twice)", "nothing here"});
  CHECK(read("{ $.a = 1 }").empty());
}
