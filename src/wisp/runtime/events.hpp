#pragma once
// Sample events for `wisp local generate-event SERVICE EVENT [flags]`: the shapes AWS services
// send to Lambda, with the fields people change settable by flags. Timestamps and ids are
// fresh for every event; derived fields stay consistent (SQS md5OfBody, S3 URL-encoded keys,
// API Gateway path parameters for {proxy+}).

#include <wisp/support/error.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::runtime {

struct EventFlag {
  std::string name;          // without dashes: "bucket" for --bucket
  std::string default_value; // shown in help
  std::string help;
};

struct EventKind {
  std::string service; // apigateway, s3, sqs, ...
  std::string event;   // aws-proxy, put, receive-message, ...
  std::string summary;
  std::vector<EventFlag> flags;
};

// Every event wisp generates, in help order.
const std::vector<EventKind>& event_catalogue();
// The union of every event's flag names (for the command line).
std::vector<EventFlag> all_event_flags();

// The event as pretty-printed JSON (2-space indent, trailing newline). `values` holds flags
// given on the command line; a flag the event does not take is a usage error, as is an
// unknown service or event (with a "did you mean").
support::Result<std::string> generate_event(std::string_view service, std::string_view event,
                                            const std::map<std::string, std::string>& values);

} // namespace wisp::runtime
