#include <wisp/runtime/log_store.hpp>
#include <wisp/support/fs.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

using namespace wisp;
using namespace wisp::runtime;

namespace {

std::vector<std::filesystem::path> files_in(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<boost::json::object> records(const std::filesystem::path& file) {
  std::vector<boost::json::object> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    out.push_back(boost::json::parse(line).as_object());
  return out;
}

} // namespace

TEST_CASE("log store: JSON lines with group, stream, request id; escaped messages") {
  support::TempDir dir("wisp-logs");
  const auto fn_dir = log_store_function_dir(dir.path(), "Hello/../Fn");
  CHECK(fn_dir == dir.path() / "Hello____Fn"); // an id cannot escape the store
  {
    LogStoreWriter writer(fn_dir, "/aws/lambda/Hello",
                          "2026/11/23/[$LATEST]0123456789abcdef0123456789abcdef");
    writer.append(1000, "rid-1", "START RequestId: rid-1 Version: $LATEST");
    writer.append(1001, "rid-1", "tab\there \"quoted\" \\ \x01");
    CHECK(files_in(dir.path()).empty()); // nothing before a flush
    writer.flush();
    writer.append(1002, "", "after");
  } // destructor flushes
  const auto files = files_in(fn_dir);
  REQUIRE(files.size() == 1);
  CHECK(files[0].filename().string().ends_with("-0123456789abcdef0123456789abcdef.0000.jsonl"));
  const auto lines = records(files[0]);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].at("timestamp").as_int64() == 1000);
  CHECK(lines[0].at("logGroup").as_string() == "/aws/lambda/Hello");
  CHECK(lines[0].at("logStream").as_string() ==
        "2026/11/23/[$LATEST]0123456789abcdef0123456789abcdef");
  CHECK(lines[0].at("requestId").as_string() == "rid-1");
  CHECK(lines[1].at("message").as_string() == "tab\there \"quoted\" \\ \x01");
  CHECK(lines[2].at("requestId").as_string().empty());
}

TEST_CASE("log store: segments rotate and old streams are deleted beyond the limit") {
  support::TempDir dir("wisp-logs");
  LogStoreLimits limits;
  limits.segment_bytes = 1000;
  limits.function_bytes = 5000;
  const std::string text(200, 'x');
  {
    LogStoreWriter old(dir.path(), "g", "2026/01/01/[$LATEST]00000000000000000000000000000001",
                       limits);
    for (int i = 0; i < 30; ++i) {
      old.append(i, "r", text);
      old.flush();
    }
  }
  const auto before = files_in(dir.path()).size();
  CHECK(before >= 5); // rotated into several segments
  LogStoreWriter fresh(dir.path(), "g", "2026/01/02/[$LATEST]00000000000000000000000000000002",
                       limits);
  for (int i = 0; i < 3; ++i) {
    fresh.append(i, "r", text);
    fresh.flush();
  }
  std::uintmax_t total = 0;
  bool fresh_kept = false;
  for (const auto& file : files_in(dir.path())) {
    total += std::filesystem::file_size(file);
    fresh_kept =
        fresh_kept || file.filename().string().find("0000000000000002") != std::string::npos;
  }
  CHECK(fresh_kept);
  CHECK(total <= limits.function_bytes + limits.segment_bytes);
  CHECK(files_in(dir.path()).size() < before + 1);
}
