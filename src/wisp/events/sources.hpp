#pragma once
// The event sources of a template: each function's `Events` of a type wisp runs locally,
// read and checked the way SAM and Lambda check them (ranges, combinations, schedule
// expressions, patterns), into typed settings the pollers and the scheduler use.
//
// Contract
// - `read_sources` never fails: every problem is a Diagnostic at the event's position in
//   the template (file:line:col) naming the property, with Lambda's or SAM's rule; events of
//   types wisp does not run locally (Cognito, IoT, Kafka, MQ, ...) get a warning; Api and
//   HttpApi events are the gateway's and are skipped silently.
// - References to resources (`!Ref X`, `!GetAtt X.Arn`) stay references: the backend binding
//   (resources.hpp) turns them into physical names, URLs and ARNs.

#include <wisp/events/pattern.hpp>
#include <wisp/events/schedule.hpp>
#include <wisp/events/transform.hpp>
#include <wisp/support/diagnostic.hpp>
#include <wisp/template/model.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wisp::events {

enum class SourceKind : std::uint8_t {
  sqs,
  kinesis,
  dynamodb,
  sns,
  eventbridge, // EventBridgeRule and CloudWatchEvent
  s3,
  schedule,    // Schedule (an EventBridge rule with a schedule)
  schedule_v2, // ScheduleV2 (EventBridge Scheduler)
};

std::string_view to_string(SourceKind kind); // "SQS", "Kinesis", ...

// A resource an event names: one of this template's (logical id, and the attribute a GetAtt
// asked for), or a literal name/ARN/URL.
struct ResourceTarget {
  std::string logical_id;
  std::string attribute; // Arn, StreamArn, QueueUrl, ... ; empty for Ref
  std::string literal;
  [[nodiscard]] bool empty() const { return logical_id.empty() && literal.empty(); }
  [[nodiscard]] std::string describe() const; // "!GetAtt Queue.Arn" or the literal
};

// An event source mapping's settings (SQS, Kinesis, DynamoDB).
struct MappingSettings {
  int batch_size = 10;
  int batching_window = 0; // seconds
  bool report_batch_item_failures = false;
  std::vector<EventPattern> filters; // OR'ed
  int maximum_concurrency = 0;       // SQS ScalingConfig; 0: unset
  // Streams.
  std::string starting_position; // TRIM_HORIZON | LATEST | AT_TIMESTAMP
  std::optional<TimePoint> starting_timestamp;
  int maximum_retry_attempts = -1; // -1: until the records expire
  int maximum_record_age = -1;     // seconds; -1: no limit
  bool bisect_on_error = false;
  int parallelization_factor = 1;
  int tumbling_window = 0; // seconds
  ResourceTarget on_failure;
  std::string on_failure_type; // SQS | SNS | S3 | Kafka (SAM's Type), may be empty
};

struct ScheduleSettings {
  std::optional<ScheduleExpression> expression;
  TimeZone zone;                    // ScheduleV2's ScheduleExpressionTimezone
  std::optional<std::string> input; // JSON text
  std::string name;                 // Name (the rule's or schedule's)
  std::string group = "default";    // ScheduleV2 GroupName
  std::optional<TimePoint> start;   // ScheduleV2 StartDate
  std::optional<TimePoint> end;     // ScheduleV2 EndDate
  int flexible_window_minutes = 0;  // FlexibleTimeWindow FLEXIBLE
};

struct PushSettings {
  // SNS
  std::optional<boost::json::value> filter_policy;
  std::string filter_policy_scope;   // MessageAttributes | MessageBody
  bool sqs_subscription = false;     // SqsSubscription: true, or an object
  ResourceTarget subscription_queue; // SqsSubscription.QueueArn (an existing queue)
  ResourceTarget subscription_queue_url;
  // EventBridge
  EventPattern pattern;
  std::string bus = "default";
  ResourceTarget bus_target; // a Ref to an AWS::Events::EventBus
  TargetInput target_input;
  std::string rule_name; // RuleName
  // S3
  std::vector<std::string> s3_events;
  std::vector<std::pair<std::string, std::string>> s3_key_rules; // (prefix|suffix, value)
};

struct Source {
  SourceKind kind = SourceKind::sqs;
  std::string function_id; // logical id
  std::string event_id;    // the key under Events
  sam::SourceRef where;
  bool enabled = true;
  ResourceTarget target; // queue, stream, topic, bucket; empty for schedules and EventBridge
  MappingSettings mapping;
  ScheduleSettings schedule;
  PushSettings push;

  // "ProcessFunction.QueueEvent"
  [[nodiscard]] std::string id() const { return function_id + "." + event_id; }
};

struct SourceSet {
  std::vector<Source> sources;
  support::Diagnostics diagnostics;
};

// Every local event source of the template (functions without one contribute nothing).
SourceSet read_sources(const sam::Model& model);

// A resource reference in resolved properties: {"Ref": X}, {"Fn::GetAtt": [X, A]}, or a string.
ResourceTarget resource_target(const boost::json::value& value, const sam::Model& model);

} // namespace wisp::events
