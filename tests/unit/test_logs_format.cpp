// What wisp logs reads from Lambda log lines and how it prints events
// (src/wisp/logs/event.hpp, format.hpp).

#include <wisp/logs/event.hpp>
#include <wisp/logs/format.hpp>

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <string>

using namespace wisp::logs;

namespace {

constexpr const char* k_id = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d";

} // namespace

TEST_CASE("events: the version of a Lambda stream") {
  CHECK(stream_version("2026/11/23/[$LATEST]3f2a9c0d1e2f3a4b5c6d7e8f9a0b1c2d") == "$LATEST");
  CHECK(stream_version("2026/11/23/[12]3f2a9c0d1e2f3a4b5c6d7e8f9a0b1c2d") == "12");
  CHECK(stream_version("my-stream") == "");
  CHECK(stream_version("2026/11/23/no-bracket") == "");
  CHECK(stream_version("2026/11/23/[unclosed") == "");
  CHECK(stream_version("") == "");
}

TEST_CASE("events: request ids in the lines Lambda and its runtimes write") {
  const std::string id = k_id;
  CHECK(request_id_of("START RequestId: " + id + " Version: $LATEST") == id);
  CHECK(request_id_of("END RequestId: " + id) == id);
  CHECK(request_id_of("REPORT RequestId: " + id + "\tDuration: 1.23 ms\tBilled Duration: 2 ms") ==
        id);
  // Node: "<time>\t<id>\t<LEVEL>\t<message>"
  CHECK(request_id_of("2026-11-23T10:45:48.123Z\t" + id + "\tINFO\thello") == id);
  // Python: "[LEVEL]\t<time>\t<id>\t<message>"
  CHECK(request_id_of("[ERROR]\t2026-11-23T10:45:48.123Z\t" + id + "\tboom") == id);
  // Timeouts and crashes.
  CHECK(request_id_of("2026-11-23T10:45:48.123Z " + id + " Task timed out after 3.00 seconds") ==
        id);
  CHECK(request_id_of("RequestId: " + id + " Error: Runtime exited with error: exit status 1") ==
        id);
  // JSON log format (LoggingConfig.LogFormat: JSON) and platform records.
  CHECK(request_id_of(R"({"timestamp":"x","level":"INFO","requestId":")" + id +
                      R"(","message":"hi"})") == id);
  CHECK(request_id_of(R"({"time":"x","type":"platform.start","record":{"requestId":")" + id +
                      R"(","version":"$LATEST"}})") == id);
  CHECK(request_id_of(R"({"level":"INFO","function_request_id":")" + id + R"("})") == id);
  // None.
  CHECK(request_id_of("INIT_START Runtime Version: python:3.12.v38") == "");
  CHECK(request_id_of("hello world") == "");
  CHECK(request_id_of("not-a-uuid-0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4") == "");
  CHECK(request_id_of("{not json") == "");
  CHECK(request_id_of("") == "");
}

TEST_CASE("events: platform lines and error lines") {
  CHECK(is_platform_line(std::string("START RequestId: ") + k_id + " Version: $LATEST"));
  CHECK(is_platform_line(std::string("REPORT RequestId: ") + k_id + "\tDuration: 1 ms"));
  CHECK(is_platform_line("INIT_START Runtime Version: nodejs:22.v40"));
  CHECK(is_platform_line(R"({"time":"x","type":"platform.report","record":{}})"));
  CHECK_FALSE(is_platform_line("STARTING the server"));
  CHECK(is_error_line(std::string("2026-11-23T10:45:48.123Z\t") + k_id + "\tERROR\tboom"));
  CHECK(is_error_line("[ERROR] ValueError: bad"));
  CHECK(is_error_line("2026-11-23T10:45:48.123Z x Task timed out after 3.00 seconds"));
  CHECK(is_error_line(R"({"level":"ERROR","message":"x"})"));
  CHECK(is_error_line(R"({"errorType":"Error","errorMessage":"x"})"));
  CHECK_FALSE(is_error_line(std::string("2026-11-23T10:45:48.123Z\t") + k_id + "\tINFO\tfine"));
}

TEST_CASE("format: text lines, padded, with version and request id") {
  const Formatter formatter({"HelloFunction", "Api"}, false, false);
  LogEvent event;
  event.timestamp = 1'795'435'200'123;
  event.log_stream = "2026/11/23/[$LATEST]3f2a9c0d1e2f3a4b5c6d7e8f9a0b1c2d";
  event.request_id = k_id;
  event.message = std::string("START RequestId: ") + k_id + " Version: $LATEST\n";
  CHECK(formatter.line(event) ==
        std::string("2026-11-23T12:00:00.123Z  HelloFunction  [$LATEST]  ") + k_id +
            "  START RequestId: " + k_id + " Version: $LATEST\n");
  event.source = 1;
  event.request_id.clear();
  event.message = "INIT_START Runtime Version: python:3.12";
  CHECK(formatter.line(event) == "2026-11-23T12:00:00.123Z  Api            [$LATEST]  -" +
                                     std::string(35, ' ') +
                                     "  INIT_START Runtime Version: python:3.12\n");
  // Not a Lambda stream: no version column. Node's '\r' separators become newlines.
  event.log_stream = "custom";
  event.message = "line one\rline two\n";
  CHECK(formatter.line(event) == "2026-11-23T12:00:00.123Z  Api            -" +
                                     std::string(35, ' ') + "  line one\nline two\n");
}

TEST_CASE("format: colours on a TTY") {
  const Formatter formatter({"A", "B"}, true, false);
  LogEvent event;
  event.timestamp = 0;
  event.log_stream = "2026/11/23/[1]abc";
  event.request_id = k_id;
  event.message = std::string("END RequestId: ") + k_id;
  const auto platform = formatter.line(event);
  CHECK(platform.find("\x1b[36mA\x1b[0m") != std::string::npos); // first function: cyan
  CHECK(platform.find(std::string("\x1b[2mEND RequestId: ") + k_id + "\x1b[0m") !=
        std::string::npos); // dimmed
  event.source = 1;
  event.message = "[ERROR] boom";
  const auto error = formatter.line(event);
  CHECK(error.find("\x1b[35mB\x1b[0m") != std::string::npos); // second function: magenta
  CHECK(error.find("\x1b[31m[ERROR] boom\x1b[0m") != std::string::npos);
  event.message = "plain";
  CHECK(formatter.line(event).find("  plain\n") != std::string::npos);
}

TEST_CASE("format: one JSON object per line with CloudWatch's field names") {
  const Formatter formatter({"HelloFunction"}, false, true);
  LogEvent event;
  event.timestamp = 1'795'435'200'123;
  event.ingestion_time = 1'795'435'200'500;
  event.log_group = "/aws/lambda/app-HelloFunction";
  event.log_stream = "2026/11/23/[3]abc";
  event.event_id = "123456";
  event.request_id = k_id;
  event.message = "hello \"world\"\n";
  const auto line = formatter.line(event);
  REQUIRE(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  const auto value = boost::json::parse(line);
  const auto& o = value.as_object();
  CHECK(o.at("timestamp").as_int64() == 1'795'435'200'123);
  CHECK(o.at("time").as_string() == "2026-11-23T12:00:00.123Z");
  CHECK(o.at("function").as_string() == "HelloFunction");
  CHECK(o.at("logGroupName").as_string() == "/aws/lambda/app-HelloFunction");
  CHECK(o.at("logStreamName").as_string() == "2026/11/23/[3]abc");
  CHECK(o.at("version").as_string() == "3");
  CHECK(o.at("requestId").as_string() == k_id);
  CHECK(o.at("message").as_string() == "hello \"world\"\n"); // exactly as stored
  CHECK(o.at("eventId").as_string() == "123456");
  CHECK(o.at("ingestionTime").as_int64() == 1'795'435'200'500);
  // Local events have neither eventId nor ingestionTime.
  event.event_id.clear();
  event.ingestion_time = 0;
  const auto local = boost::json::parse(formatter.line(event)).as_object();
  CHECK_FALSE(local.contains("eventId"));
  CHECK_FALSE(local.contains("ingestionTime"));
}
