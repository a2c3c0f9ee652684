// Reading a template's event sources (src/wisp/events/sources.cpp) with SAM's and Lambda's
// rules (SAM: samtranslator/model/eventsources/{pull,push,scheduler}.py; Lambda:
// CreateEventSourceMapping's ranges, with-sqs batching), and binding references to a backend's
// values (resources.cpp: Ref, GetAtt, Sub, Join, Select; functions' environment).

#include "template_test_support.hpp"

#include <wisp/events/resources.hpp>
#include <wisp/events/sources.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <string>

using namespace wisp;
using wisp::events::SourceKind;

namespace {

const char* k_head = R"(AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Bucket:
    Type: AWS::S3::Bucket
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      InlineCode: "def handler(e, c): return e"
      Events:
)";

events::SourceSet read(const std::string& events) {
  test::TemplateFixture fixture;
  auto loaded = fixture.load(std::string(k_head) + events);
  REQUIRE_MESSAGE(!loaded.diagnostics.has_errors(), test::joined(loaded));
  return events::read_sources(loaded.model);
}

std::string errors(const events::SourceSet& set) {
  std::string out;
  for (const auto& d : set.diagnostics.items())
    out += fmt::format("{}:{}: {}\n", d.line, d.column, d.message);
  return out;
}

} // namespace

TEST_CASE("events sources: SQS defaults and Lambda's batching rules") {
  auto set = read(R"(        Q:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
)");
  REQUIRE(set.sources.size() == 1);
  const auto& s = set.sources.front();
  CHECK(s.kind == SourceKind::sqs);
  CHECK(s.mapping.batch_size == 10);
  CHECK(s.target.logical_id == "Queue");
  CHECK(s.target.attribute == "Arn");
  CHECK(s.where.line == 19);

  auto big = read(R"(        Q:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
            BatchSize: 100
)");
  CHECK(big.sources.empty());
  CHECK(errors(big).find("19:9: Fn.Events.Q.Properties.BatchSize: Maximum batch window in "
                         "seconds must be greater than 0 if maximum batch size is greater than "
                         "10") != std::string::npos);
  auto range = read(R"(        Q:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
            BatchSize: 20000
            MaximumBatchingWindowInSeconds: 301
            ScalingConfig: {MaximumConcurrency: 1}
            FunctionResponseTypes: [ReportEverything]
)");
  const auto text = errors(range);
  CHECK(text.find("BatchSize: 20000 is out of range (1–10000)") != std::string::npos);
  CHECK(text.find("MaximumBatchingWindowInSeconds: 301 is out of range (0–300)") !=
        std::string::npos);
  CHECK(text.find("MaximumConcurrency: 1 is out of range (2–1000)") != std::string::npos);
  CHECK(text.find("\"ReportEverything\" is not a response type") != std::string::npos);
}

TEST_CASE("events sources: streams need a starting position and Lambda's ranges") {
  auto set = read(R"(        S:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: AT_TIMESTAMP
            MaximumRecordAgeInSeconds: 30
            ParallelizationFactor: 11
            DestinationConfig: {OnFailure: {Type: Email, Destination: x}}
            FilterCriteria:
              Filters: [{Pattern: '{"dynamodb": ["x"]}'}]
)");
  const auto text = errors(set);
  CHECK(text.find("AT_TIMESTAMP is not a starting position (TRIM_HORIZON, LATEST)") !=
        std::string::npos);
  CHECK(text.find("30: must be -1 or 60–604800") != std::string::npos);
  CHECK(text.find("ParallelizationFactor: 11 is out of range (1–10)") != std::string::npos);
  CHECK(text.find("The only valid values for 'Type' are 'SQS', 'SNS', 'S3', and 'Kafka'") !=
        std::string::npos);
  CHECK(text.find("the filter pattern for dynamodb must be JSON") != std::string::npos);
  auto ok = read(R"(        S:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: TRIM_HORIZON
)");
  REQUIRE(ok.sources.size() == 1);
  CHECK(ok.sources.front().mapping.batch_size == 100);
  CHECK(ok.sources.front().mapping.maximum_retry_attempts == -1);
  auto missing = read(R"(        S:
          Type: Kinesis
          Properties:
            Stream: arn:aws:kinesis:us-east-1:123456789012:stream/s
)");
  CHECK(errors(missing).find("StartingPosition: is required") != std::string::npos);
}

TEST_CASE("events sources: schedules, rules, SNS and S3 as SAM reads them") {
  auto set = read(R"(        A:
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
            Enabled: false
        B:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 9 ? * MON-FRI *)
            ScheduleExpressionTimezone: Asia/Tokyo
            FlexibleTimeWindow: {Mode: FLEXIBLE, MaximumWindowInMinutes: 15}
        C:
          Type: EventBridgeRule
          Properties:
            Pattern: {source: [a]}
            InputPath: $.detail
        D:
          Type: S3
          Properties:
            Bucket: !Ref Bucket
            Events: [s3:ObjectCreated:*, s3:ObjectRemoved:*]
            Filter: {S3Key: {Rules: [{Name: suffix, Value: .jpg}]}}
        E:
          Type: Api
          Properties: {Path: /x, Method: get}
        F:
          Type: Cognito
          Properties: {UserPool: pool, Trigger: PreSignUp}
)");
  REQUIRE(set.sources.size() == 4);
  CHECK(!set.sources[0].enabled);
  CHECK(set.sources[1].schedule.zone.name() == "Asia/Tokyo");
  CHECK(set.sources[1].schedule.flexible_window_minutes == 15);
  CHECK(*set.sources[2].push.target_input.input_path == "$.detail");
  CHECK(set.sources[3].push.s3_events.size() == 2);
  CHECK(set.sources[3].push.s3_key_rules.front().second == ".jpg");
  // Api is the gateway's (silent); Cognito is not run locally (a warning, not an error).
  CHECK(!set.diagnostics.has_errors());
  CHECK(set.diagnostics.warning_count() == 1);
  CHECK(errors(set).find("Cognito events do not run locally") != std::string::npos);

  auto bad = read(R"(        A:
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
            Enabled: true
            State: ENABLED
        B:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: at(2026-01-01T00:00:00)
            ScheduleExpressionTimezone: Mars/Base
        C:
          Type: S3
          Properties:
            Bucket: some-bucket
            Events: s3:ObjectCreated:*
        D:
          Type: SNS
          Properties:
            Topic: arn:aws:sns:us-east-1:123456789012:t
            SqsSubscription: {BatchSize: 5}
)");
  const auto text = errors(bad);
  CHECK(text.find("State and Enabled Properties cannot both be specified.") != std::string::npos);
  CHECK(text.find("'Mars/Base' is not a time zone") != std::string::npos);
  CHECK(text.find("must be a !Ref to an AWS::S3::Bucket of this template") != std::string::npos);
  CHECK(text.find("No QueueARN or QueueURL provided.") != std::string::npos);
}

TEST_CASE("events binding: references resolve to the backend's values") {
  events::Binding binding;
  binding.set_context("eu-west-1", "111122223333", "app", "http://127.0.0.1:5000");
  events::BoundResource queue{
      "Queue",
      "AWS::SQS::Queue",
      "app-Queue-X",
      "http://127.0.0.1:5000/111122223333/app-Queue-X",
      {{"Arn", "arn:aws:sqs:eu-west-1:111122223333:app-Queue-X"}, {"QueueName", "app-Queue-X"}},
      false};
  binding.add(queue);
  const auto resolve = [&](const std::string& json) {
    auto value = binding.resolve(boost::json::parse(json));
    return value ? boost::json::serialize(*value) : std::string("unresolved");
  };
  CHECK(resolve(R"({"Ref":"Queue"})") == R"("http://127.0.0.1:5000/111122223333/app-Queue-X")");
  CHECK(resolve(R"({"Fn::GetAtt":["Queue","Arn"]})") ==
        R"("arn:aws:sqs:eu-west-1:111122223333:app-Queue-X")");
  CHECK(resolve(R"({"Fn::Sub":"name=${Queue.QueueName};${!Literal}"})") ==
        R"("name=app-Queue-X;${Literal}")");
  CHECK(resolve(R"({"Fn::Sub":["${Q}/x",{"Q":{"Ref":"Queue"}}]})") ==
        R"("http://127.0.0.1:5000/111122223333/app-Queue-X/x")");
  CHECK(resolve(R"({"Fn::Join":["|",["a",{"Fn::GetAtt":["Queue","QueueName"]}]]})") ==
        R"("a|app-Queue-X")");
  CHECK(resolve(R"({"Fn::Select":[1,["a",{"Ref":"Queue"}]]})") ==
        R"("http://127.0.0.1:5000/111122223333/app-Queue-X")");
  CHECK(
      resolve(R"({"deadLetterTargetArn":{"Fn::GetAtt":["Queue","Arn"]},"maxReceiveCount":3})") ==
      R"({"deadLetterTargetArn":"arn:aws:sqs:eu-west-1:111122223333:app-Queue-X","maxReceiveCount":3})");
  CHECK(resolve(R"({"Ref":"Missing"})") == "unresolved");
  CHECK(resolve(R"({"Fn::GetAtt":["Queue","Nope"]})") == "unresolved");
  CHECK(resolve(R"({"Fn::ImportValue":"x"})") == "unresolved");
  CHECK(events::plumbing_name(binding, {"Fn", "Event"}, 80) == "wisp-app-Fn-Event");
  const auto long_name = events::plumbing_name(binding, {std::string(100, 'x')}, 80);
  CHECK(long_name.size() == 80);
}

TEST_CASE("events binding: a function's environment gets the bound values and the endpoint") {
  test::TemplateFixture fixture;
  auto loaded = fixture.load(R"(AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Environment:
      Variables:
        SHARED: !GetAtt Queue.Arn
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      InlineCode: "def handler(e, c): return e"
      Environment:
        Variables:
          URL: !Ref Queue
          PLAIN: text
          PEER: !GetAtt Peer.Arn
          OTHER: !ImportValue somewhere
  Peer:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      InlineCode: "def handler(e, c): return e"
)");
  REQUIRE_MESSAGE(!loaded.diagnostics.has_errors(), test::joined(loaded));
  events::Binding binding;
  binding.set_context("us-east-1", "123456789012", "app", "http://127.0.0.1:5000");
  binding.add({"Queue",
               "AWS::SQS::Queue",
               "q",
               "http://127.0.0.1:5000/123456789012/q",
               {{"Arn", "arn:aws:sqs:us-east-1:123456789012:q"}},
               false});
  binding.add({"Peer",
               "AWS::Serverless::Function",
               "Peer",
               "Peer",
               {{"Arn", "arn:aws:lambda:us-east-1:123456789012:function:Peer"}},
               false});
  const auto bound = events::bind_model(loaded.model, binding);
  const auto& env = bound.functions.front().environment;
  CHECK(env.at("URL") == "http://127.0.0.1:5000/123456789012/q");
  CHECK(env.at("SHARED") == "arn:aws:sqs:us-east-1:123456789012:q");
  CHECK(env.at("PLAIN") == "text");
  CHECK(env.at("PEER") == "arn:aws:lambda:us-east-1:123456789012:function:Peer");
  CHECK(env.at("AWS_ENDPOINT_URL") == "http://127.0.0.1:5000");
  CHECK(env.at("OTHER").empty()); // still unknown locally
}
