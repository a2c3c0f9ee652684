#pragma once
// The events functions receive, built from what the backend returned: exactly the shapes
// Lambda delivers (field names, order, types), with what a local backend leaves out filled
// in (documented in docs/events.md). And the answers functions give back: batch item
// failures and tumbling-window state.

#include <wisp/events/schedule.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::events {

// What every record needs to know about where it came from.
struct SourceInfo {
  std::string arn;    // eventSourceARN (queue, stream)
  std::string region; // awsRegion
  std::string account;
};

// One SQS message of a ReceiveMessage answer (JSON protocol) → one Lambda SQS record.
boost::json::object sqs_record(const boost::json::object& message, const SourceInfo& source);

// An SNS notification as it lands in a queue (the JSON envelope) → the record Lambda gets
// from an SNS subscription ({"EventSource":"aws:sns",...,"Sns":{...}}). nullopt when the body
// is not an SNS notification.
std::optional<boost::json::object> sns_record(std::string_view envelope,
                                              std::string_view subscription_arn);

// An S3 notification body from a queue → the S3 event's records, as S3 delivers them to
// Lambda (keys encoded as S3 encodes them, the fields a local backend omits filled in).
// Empty for s3:TestEvent and anything that is not a notification.
std::vector<boost::json::object> s3_records(std::string_view body, const SourceInfo& source);
// S3's notification encoding of an object key (space → '+', '/' kept).
std::string s3_event_key(std::string_view key);

// An event EventBridge delivered to a queue → the event as EventBridge sends it to a
// function (`account` and the field order restored). nullopt when the body is not an event.
std::optional<boost::json::object> eventbridge_event(std::string_view body,
                                                     const SourceInfo& source);

// A DynamoDB Streams GetRecords record → the Lambda record.
boost::json::object dynamodb_record(const boost::json::object& record, const SourceInfo& source);

// A Kinesis GetRecords record → the Lambda record.
boost::json::object kinesis_record(const boost::json::object& record, std::string_view shard_id,
                                   std::string_view role_arn, const SourceInfo& source);

// A Schedule (EventBridge rule) event for a scheduled time.
boost::json::object scheduled_event(std::string_view rule_arn, TimePoint time,
                                    const SourceInfo& source);
// A ScheduleV2 (Scheduler) event without Input.
boost::json::object scheduler_event(std::string_view schedule_arn, std::string_view execution_id,
                                    TimePoint time, const SourceInfo& source);
// Scheduler's context placeholders in an Input:
// <aws.scheduler.schedule-arn>, <aws.scheduler.scheduled-time>,
// <aws.scheduler.execution-id>, <aws.scheduler.attempt-number>.
std::string scheduler_input(std::string_view input, std::string_view schedule_arn,
                            TimePoint scheduled_time, std::string_view execution_id, int attempt);

// What a function's answer to a batch says.
struct BatchAnswer {
  enum class Kind : std::uint8_t { success, partial, failure } kind = Kind::success;
  std::vector<std::string> failed; // partial: the item identifiers, in the answer's order
  std::string reason;              // failure: why the answer counts as a failed batch
};

// Lambda's rules for ReportBatchItemFailures: an empty or null answer, or an empty or null
// list, is success; invalid JSON, an item without a non-empty string itemIdentifier, or one
// naming no item of the batch fails the whole batch.
BatchAnswer parse_batch_answer(std::string_view response, const std::set<std::string>& items);

// "2026-11-23T12:00:00.123Z"
std::string format_millis_time(TimePoint time);

// A random identifier in UUID form.
std::string new_uuid();

} // namespace wisp::events
