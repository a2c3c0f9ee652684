// Target input transformation (src/wisp/events/transform.cpp) against the EventBridge user
// guide, "Amazon EventBridge input transformation" (predefined variables, JSON templates with
// placeholders in and out of quotes, string templates) and the API reference's
// InputTransformer examples.

#include <wisp/events/transform.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <string>

using wisp::events::eval_json_path;
using wisp::events::TargetInput;

namespace json = boost::json;

namespace {

const char* k_event =
    R"({"version":"0","id":"7bf73129","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"123456789012","time":"2015-11-11T21:29:54Z","region":"us-east-1","resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],"detail":{"instance-id":"i-0123456789","state":"RUNNING","tags":[{"k":"a"},{"k":"b"}],"count":3}})";

TargetInput transformer(const std::string& properties) {
  auto parsed = TargetInput::from_properties(json::parse(properties).as_object());
  REQUIRE_MESSAGE(parsed.has_value(), properties);
  parsed->rule_arn = "arn:aws:events:us-east-1:123456789012:rule/r1";
  parsed->rule_name = "r1";
  return *parsed;
}

} // namespace

TEST_CASE("events transform: JSON paths") {
  const auto event = json::parse(k_event);
  CHECK(json::serialize(*eval_json_path(event, "$.detail.state")) == "\"RUNNING\"");
  CHECK(json::serialize(*eval_json_path(event, "$.resources[0]")) ==
        "\"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111\"");
  CHECK(json::serialize(*eval_json_path(event, "$.detail.tags[*].k")) == R"(["a","b"])");
  CHECK(json::serialize(*eval_json_path(event, "$.detail-type")) ==
        "\"EC2 Instance State-change Notification\"");
  CHECK(!eval_json_path(event, "$.detail.missing"));
  CHECK(*eval_json_path(event, "$") == event);
}

TEST_CASE("events transform: Input replaces the event; InputPath selects part of it") {
  const auto event = json::parse(k_event);
  CHECK(transformer(R"({"Input":"{\"a\":1}"})").apply(event, "") == R"({"a":1})");
  CHECK(transformer(R"({"InputPath":"$.detail.instance-id"})").apply(event, "") ==
        "\"i-0123456789\"");
  CHECK(transformer(R"({"InputPath":"$.nothing"})").apply(event, "") == "null");
  CHECK(transformer("{}").apply(event, "") == json::serialize(event));
}

TEST_CASE("events transform: InputTransformer templates") {
  const auto event = json::parse(k_event);
  const auto paths =
      R"("InputPathsMap":{"instance":"$.detail.instance-id","status":"$.detail.state","count":"$.detail.count"})";
  // A string template becomes the JSON string of its text.
  CHECK(transformer(std::string(R"({"InputTransformer":{)") + paths +
                    R"(,"InputTemplate":"<instance> is in state <status>"}})")
            .apply(event, "") == R"("i-0123456789 is in state RUNNING")");
  // A JSON template: outside quotes the value's JSON, inside quotes its text.
  const auto out =
      transformer(
          std::string(R"({"InputTransformer":{)") + paths +
          R"(,"InputTemplate":"{\"myInstance\": <instance>, \"n\": <count>, \"myStatus\": \"<instance> is in state \\\"<status>\\\"\"}"}})")
          .apply(event, "");
  const auto parsed = json::parse(out);
  CHECK(parsed.at("myInstance") == "i-0123456789");
  CHECK(parsed.at("n") == 3);
  CHECK(parsed.at("myStatus") == "i-0123456789 is in state \"RUNNING\"");
  // Predefined variables.
  const auto predefined = json::parse(
      transformer(
          R"({"InputTransformer":{"InputTemplate":"{\"rule\": <aws.events.rule-name>, \"arn\": \"<aws.events.rule-arn>\", \"at\": <aws.events.event.ingestion-time>, \"whole\": <aws.events.event.json>, \"head\": <aws.events.event>}"}})")
          .apply(event, "2026-01-01T00:00:00Z"));
  CHECK(predefined.at("rule") == "r1");
  CHECK(predefined.at("arn") == "arn:aws:events:us-east-1:123456789012:rule/r1");
  CHECK(predefined.at("at") == "2026-01-01T00:00:00Z");
  CHECK(predefined.at("whole") == event);
  CHECK(!predefined.at("head").as_object().contains("detail"));
  CHECK(predefined.at("head").at("source") == "aws.ec2");
  // A path that finds nothing: null outside quotes, empty inside.
  const auto missing = json::parse(
      transformer(
          R"({"InputTransformer":{"InputPathsMap":{"m":"$.nope"},"InputTemplate":"{\"a\": <m>, \"b\": \"x<m>y\"}"}})")
          .apply(event, ""));
  CHECK(missing.at("a").is_null());
  CHECK(missing.at("b") == "xy");
}

TEST_CASE("events transform: invalid target input is refused") {
  const auto refuse = [](const std::string& properties) {
    auto parsed = TargetInput::from_properties(json::parse(properties).as_object());
    REQUIRE(!parsed.has_value());
    return parsed.error();
  };
  CHECK(refuse(R"({"Input":"{nope"})").find("not valid JSON") != std::string::npos);
  CHECK(refuse(R"({"InputPath":"detail"})").find("starts with $") != std::string::npos);
  CHECK(refuse(R"({"Input":"{}","InputPath":"$"})").find("only one") != std::string::npos);
  CHECK(refuse(R"({"InputTransformer":{"InputPathsMap":{}}})").find("InputTemplate") !=
        std::string::npos);
  CHECK(refuse(R"({"InputTransformer":{"InputTemplate":"x","InputPathsMap":{"aws.x":"$"}}})")
            .find("reserved") != std::string::npos);
}
