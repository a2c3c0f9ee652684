// Record builders (src/wisp/events/records.cpp): the shapes in the Lambda developer guide's
// examples (with-sqs, with-sns, with-s3, with-ddb, with-kinesis, services-cloudwatchevents),
// built from what moto 5.2.1 answers (shapes captured on this machine; see
// ../shared/reference/event-sources.md), and Lambda's rules for batch item failures
// (with-sqs "Success and failure conditions").

#include <wisp/events/records.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace wisp::events;
namespace json = boost::json;

namespace {

const SourceInfo k_queue{"arn:aws:sqs:us-east-1:123456789012:q", "us-east-1", "123456789012"};

std::vector<std::string> keys(const json::object& object) {
  std::vector<std::string> out;
  for (const auto& [key, value] : object)
    out.emplace_back(key);
  return out;
}

} // namespace

TEST_CASE("events records: an SQS message becomes Lambda's SQS record, in Lambda's order") {
  const auto message = json::parse(
      R"({"MessageId":"m1","ReceiptHandle":"rh","MD5OfBody":"098f","Body":"test","Attributes":{"SenderId":"AIDA","ApproximateFirstReceiveTimestamp":"2","ApproximateReceiveCount":"1","SentTimestamp":"1"}})");
  const auto record = sqs_record(message.as_object(), k_queue);
  CHECK(keys(record) == std::vector<std::string>{"messageId", "receiptHandle", "body", "attributes",
                                                 "messageAttributes", "md5OfBody", "eventSource",
                                                 "eventSourceARN", "awsRegion"});
  CHECK(keys(record.at("attributes").as_object()) ==
        std::vector<std::string>{"ApproximateReceiveCount", "SentTimestamp", "SenderId",
                                 "ApproximateFirstReceiveTimestamp"});
  CHECK(record.at("eventSource") == "aws:sqs");
  CHECK(record.at("messageAttributes").as_object().empty());
}

TEST_CASE("events records: SQS message attributes and FIFO attributes") {
  const auto message = json::parse(
      R"({"MessageId":"m1","ReceiptHandle":"rh","MD5OfBody":"x","Body":"b","MD5OfMessageAttributes":"md5a","Attributes":{"MessageGroupId":"g","MessageDeduplicationId":"d","SequenceNumber":"18849496460467696128","SenderId":"s","SentTimestamp":"1","ApproximateReceiveCount":"1","ApproximateFirstReceiveTimestamp":"2"},"MessageAttributes":{"n":{"StringValue":"100","DataType":"Number"},"b":{"BinaryValue":"AAE=","DataType":"Binary"}}})");
  const auto record = sqs_record(message.as_object(), k_queue);
  CHECK(keys(record.at("attributes").as_object()) ==
        std::vector<std::string>{"ApproximateReceiveCount", "SentTimestamp", "SequenceNumber",
                                 "MessageGroupId", "SenderId", "MessageDeduplicationId",
                                 "ApproximateFirstReceiveTimestamp"});
  const auto& attrs = record.at("messageAttributes").as_object();
  CHECK(json::serialize(attrs.at("n")) ==
        R"({"stringValue":"100","stringListValues":[],"binaryListValues":[],"dataType":"Number"})");
  CHECK(attrs.at("b").at("binaryValue") == "AAE=");
  CHECK(record.at("md5OfMessageAttributes") == "md5a");
}

TEST_CASE("events records: the SNS envelope in a queue becomes the SNS record") {
  const std::string envelope =
      R"({"Type":"Notification","MessageId":"5826","TopicArn":"arn:aws:sns:us-east-1:123456789012:t","Message":"hello","Timestamp":"2026-12-03T16:45:50.215Z","SignatureVersion":"1","Signature":"sig","SigningCertURL":"https://sns.us-east-1.amazonaws.com/c.pem","UnsubscribeURL":"https://x","MessageAttributes":{"k":{"Type":"String","Value":"v"}}})";
  const auto record = sns_record(envelope, "arn:aws:sns:us-east-1:123456789012:t:sub1");
  REQUIRE(record);
  CHECK(keys(*record) ==
        std::vector<std::string>{"EventSource", "EventVersion", "EventSubscriptionArn", "Sns"});
  const auto& sns = record->at("Sns").as_object();
  CHECK(sns.at("Subject").is_null());
  CHECK(sns.at("SigningCertUrl") == "https://sns.us-east-1.amazonaws.com/c.pem");
  CHECK(sns.at("UnsubscribeUrl") == "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&"
                                    "SubscriptionArn=arn:aws:sns:us-east-1:123456789012:t:sub1");
  CHECK(sns.at("MessageAttributes").at("k").at("Value") == "v");
  CHECK(!sns_record("plain text", "arn"));
  CHECK(!sns_record(R"({"a":1})", "arn"));
}

TEST_CASE("events records: S3 notifications: keys as S3 encodes them, missing fields filled") {
  // moto encodes '/' in keys and leaves out userIdentity, requestParameters, responseElements,
  // ownerIdentity and sequencer, and writes eventTime without a zone.
  const std::string body =
      R"({"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-12-03T16:45:51.760458","eventName":"ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0","configurationId":"c1","bucket":{"name":"bk1","arn":"arn:aws:s3:::bk1"},"object":{"key":"in%2Fred+flower%2Bx.jpg","size":3,"eTag":"9001"}}}]})";
  const auto records = s3_records(body, k_queue);
  REQUIRE(records.size() == 1);
  const auto& r = records.front();
  CHECK(keys(r) == std::vector<std::string>{"eventVersion", "eventSource", "awsRegion", "eventTime",
                                            "eventName", "userIdentity", "requestParameters",
                                            "responseElements", "s3"});
  CHECK(r.at("eventTime") == "2026-12-03T16:45:51.760Z");
  CHECK(r.at("s3").at("object").at("key") == "in/red+flower%2Bx.jpg");
  CHECK(r.at("s3").at("object").at("size") == 3);
  CHECK(r.at("s3").at("object").as_object().contains("sequencer"));
  CHECK(r.at("s3").at("bucket").at("ownerIdentity").as_object().contains("principalId"));
  CHECK(s3_records(R"({"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"bk1"})", k_queue)
            .empty());
  CHECK(s3_event_key("a b/c+d(1).txt") == "a+b/c%2Bd%281%29.txt");
}

TEST_CASE("events records: EventBridge events get their account back, in EventBridge's order") {
  const auto event = eventbridge_event(
      R"({"id":"49fe","time":"2026-12-03T16:45:50Z","version":"0","detail-type":"thing","source":"my.app","region":"us-east-1","resources":[],"detail":{"a":1}})",
      k_queue);
  REQUIRE(event);
  CHECK(keys(*event) == std::vector<std::string>{"version", "id", "detail-type", "source",
                                                 "account", "time", "region", "resources",
                                                 "detail"});
  CHECK(event->at("account") == "123456789012");
  CHECK(!eventbridge_event("not json", k_queue));
}

TEST_CASE("events records: DynamoDB and Kinesis records") {
  const SourceInfo stream{"arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026",
                          "us-east-1", "123456789012"};
  const auto ddb = dynamodb_record(
      json::parse(
          R"({"eventID":"e1","eventName":"INSERT","eventVersion":"1.0","eventSource":"aws:dynamodb","awsRegion":"us-east-1","dynamodb":{"ApproximateCreationDateTime":1796316367.32,"Keys":{"id":{"S":"a"}},"NewImage":{"id":{"S":"a"}},"SequenceNumber":"11","SizeBytes":27,"StreamViewType":"NEW_AND_OLD_IMAGES"}})")
          .as_object(),
      stream);
  CHECK(ddb.at("eventSourceARN").as_string() == stream.arn);
  CHECK(ddb.at("dynamodb").at("ApproximateCreationDateTime") == 1796316367);
  CHECK(keys(ddb).back() == "eventSourceARN");

  const SourceInfo kinesis{"arn:aws:kinesis:us-east-1:123456789012:stream/k", "us-east-1",
                           "123456789012"};
  const auto record = kinesis_record(
      json::parse(
          R"({"SequenceNumber":"7","ApproximateArrivalTimestamp":1796316367.654,"Data":"aGVsbG8=","PartitionKey":"p1"})")
          .as_object(),
      "shardId-000000000000", "arn:aws:iam::123456789012:role/r", kinesis);
  CHECK(record.at("eventID") == "shardId-000000000000:7");
  CHECK(record.at("kinesis").at("data") == "aGVsbG8=");
  CHECK(record.at("kinesis").at("approximateArrivalTimestamp").as_double() ==
        doctest::Approx(1796316367.654));
  CHECK(keys(record.at("kinesis").as_object()) ==
        std::vector<std::string>{"kinesisSchemaVersion", "partitionKey", "sequenceNumber", "data",
                                 "approximateArrivalTimestamp"});
}

TEST_CASE("events records: scheduled events and Scheduler placeholders") {
  const auto at = std::chrono::system_clock::from_time_t(1767268800); // 2026-01-01T12:00:00Z
  const SourceInfo region{"", "us-east-1", "123456789012"};
  const auto event = scheduled_event("arn:aws:events:us-east-1:123456789012:rule/r", at, region);
  CHECK(event.at("time") == "2026-01-01T12:00:00Z");
  CHECK(event.at("detail-type") == "Scheduled Event");
  CHECK(event.at("detail").as_object().empty());
  const auto v2 = scheduler_event("arn:s", "exec-1", at, region);
  CHECK(v2.at("source") == "aws.scheduler");
  CHECK(v2.at("detail") == "{}");
  CHECK(
      scheduler_input(
          R"({"a":"<aws.scheduler.scheduled-time>","n":<aws.scheduler.attempt-number>,"s":"<aws.scheduler.schedule-arn>","e":"<aws.scheduler.execution-id>","x":"<other>"})",
          "arn:s", at, "exec-1",
          1) == R"({"a":"2026-01-01T12:00:00Z","n":1,"s":"arn:s","e":"exec-1","x":"<other>"})");
}

TEST_CASE("events records: batch item failures follow Lambda's success and failure conditions") {
  const std::set<std::string> ids{"id1", "id2", "id3"};
  using Kind = BatchAnswer::Kind;
  CHECK(parse_batch_answer("", ids).kind == Kind::success);
  CHECK(parse_batch_answer("null", ids).kind == Kind::success);
  CHECK(parse_batch_answer("{}", ids).kind == Kind::success);
  CHECK(parse_batch_answer(R"({"batchItemFailures":[]})", ids).kind == Kind::success);
  CHECK(parse_batch_answer(R"({"batchItemFailures":null})", ids).kind == Kind::success);
  const auto partial =
      parse_batch_answer(R"({"batchItemFailures":[{"itemIdentifier":"id2"}]})", ids);
  CHECK(partial.kind == Kind::partial);
  CHECK(partial.failed == std::vector<std::string>{"id2"});
  CHECK(parse_batch_answer("{not json", ids).kind == Kind::failure);
  CHECK(parse_batch_answer(R"({"batchItemFailures":[{"itemIdentifier":""}]})", ids).kind ==
        Kind::failure);
  CHECK(parse_batch_answer(R"({"batchItemFailures":[{"itemIdentifier":null}]})", ids).kind ==
        Kind::failure);
  CHECK(parse_batch_answer(R"({"batchItemFailures":[{"itemId":"id1"}]})", ids).kind ==
        Kind::failure);
  CHECK(parse_batch_answer(R"({"batchItemFailures":[{"itemIdentifier":"id9"}]})", ids).kind ==
        Kind::failure);
}
