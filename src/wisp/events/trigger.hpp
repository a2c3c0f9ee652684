#pragma once
// `wisp local trigger FUNCTION EVENT`: the event one of a function's event sources would
// deliver now, built without a backend — a schedule's event at this minute, an SQS record for
// a message, the SNS, EventBridge (with the rule's input transform), S3, Kinesis or DynamoDB
// event for the given body — with the same builders the live sources use.

#include <wisp/events/schedule.hpp>
#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <optional>
#include <string>

namespace wisp::events {

struct TriggerOptions {
  std::string function;            // logical id or FunctionName
  std::string event;               // the key under Events
  std::optional<std::string> body; // message body / detail / record data; each source's default
  std::string key = "example.txt"; // S3 object key
  std::optional<TimePoint> time;   // when the event happens; empty: now
  std::string region = "us-east-1";
  std::string account = "123456789012";
};

struct TriggeredEvent {
  std::string function_id;
  std::string kind;    // SQS, Schedule, ...
  std::string payload; // the event JSON
};

// Fails (usage) for an unknown function or event, listing what there is, and (failure) for an
// event source the template gets wrong (the same checks as `local start`).
support::Result<TriggeredEvent> trigger_event(const sam::Model& model,
                                              const TriggerOptions& options);

} // namespace wisp::events
