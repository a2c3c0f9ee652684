#include <wisp/events/trigger.hpp>

#include "feeds.hpp"

#include <wisp/events/sources.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <random>

namespace wisp::events {

namespace json = boost::json;

namespace {

std::string md5_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_md5(), nullptr);
  return support::to_hex(std::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string random_letters(std::size_t n) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  for (std::size_t i = 0; i < n; ++i)
    out += static_cast<char>('a' + rng() % 26);
  return out;
}

// The physical name of a template resource: its own name property, the name wisp remembered
// for a backend (.wisp/events/resources.json), or its logical id.
std::string physical_name(const sam::Model& model, const std::string& logical_id) {
  if (const auto* resource = model.find_resource(logical_id)) {
    for (const char* key : {"QueueName", "TopicName", "TableName", "BucketName", "Name"})
      if (const auto* value = resource->properties.if_contains(key); value && value->is_string())
        return std::string(value->as_string());
  }
  if (auto text = support::read_file(model.base_dir / ".wisp" / "events" / "resources.json")) {
    boost::system::error_code ec;
    auto state = json::parse(*text, ec);
    if (!ec && state.is_object())
      if (const auto* backends = state.as_object().if_contains("backends");
          backends && backends->is_object())
        for (const auto& [key, names] : backends->as_object())
          if (names.is_object())
            if (const auto* name = names.as_object().if_contains(logical_id);
                name && name->is_string())
              return std::string(name->as_string());
  }
  return logical_id;
}

// The ARN (or, for buckets and topics, the name/ARN) an event names.
std::string target_arn(const sam::Model& model, const ResourceTarget& target, std::string_view kind,
                       const TriggerOptions& options) {
  if (!target.literal.empty())
    return target.literal;
  const auto name = physical_name(model, target.logical_id);
  const auto* resource = model.find_resource(target.logical_id);
  const std::string type = resource != nullptr ? resource->type : "";
  if (type == "AWS::SQS::Queue")
    return fmt::format("arn:aws:sqs:{}:{}:{}", options.region, options.account, name);
  if (type == "AWS::SNS::Topic")
    return fmt::format("arn:aws:sns:{}:{}:{}", options.region, options.account, name);
  if (type == "AWS::Kinesis::Stream")
    return fmt::format("arn:aws:kinesis:{}:{}:stream/{}", options.region, options.account, name);
  if (type == "AWS::DynamoDB::Table" || type == "AWS::Serverless::SimpleTable")
    return fmt::format("arn:aws:dynamodb:{}:{}:table/{}/stream/2026-01-01T00:00:00.000",
                       options.region, options.account, name);
  (void)kind;
  return name;
}

std::string first_literal(const EventPattern& pattern, std::string_view key, std::string fallback) {
  if (!pattern.json().is_object())
    return fallback;
  const auto* values = pattern.json().as_object().if_contains(key);
  if (values != nullptr && values->is_array())
    for (const auto& value : values->as_array())
      if (value.is_string())
        return std::string(value.as_string());
  return fallback;
}

support::Result<const Source*> find_source(const SourceSet& set, const sam::Model& model,
                                           const TriggerOptions& options) {
  const auto* fn = model.find_function(options.function);
  if (fn == nullptr) {
    std::vector<std::string> ids;
    for (const auto& f : model.functions)
      ids.push_back(f.logical_id);
    std::string hint;
    if (auto close = support::closest_match(options.function, ids))
      hint = fmt::format("; did you mean '{}'?", *close);
    return support::fail(fmt::format("function '{}' is not in {}{} (functions: {})",
                                     options.function, model.template_path.filename().string(),
                                     hint, support::join(ids, ", ")),
                         support::ExitCode::usage);
  }
  std::vector<std::string> names;
  for (const auto& source : set.sources) {
    if (source.function_id != fn->logical_id)
      continue;
    if (source.event_id == options.event)
      return &source;
    names.push_back(source.event_id);
  }
  for (const auto& event : fn->events) {
    if (event.name != options.event)
      continue;
    const auto prefix = fn->logical_id + ".Events." + event.name;
    for (const auto& diagnostic : set.diagnostics.items())
      if (diagnostic.severity == support::Severity::error &&
          diagnostic.message.starts_with(prefix) && diagnostic.message.size() > prefix.size() &&
          (diagnostic.message[prefix.size()] == '.' || diagnostic.message[prefix.size()] == ':'))
        return support::fail(diagnostic);
    if (event.name == options.event)
      return support::fail(fmt::format("{}.Events.{} is a {} event, which wisp does not trigger "
                                       "locally (see `wisp local invoke` and `wisp local "
                                       "generate-event`)",
                                       fn->logical_id, options.event, event.type),
                           support::ExitCode::usage);
  }
  std::string hint;
  if (auto close = support::closest_match(options.event, names))
    hint = fmt::format("; did you mean '{}'?", *close);
  return support::fail(
      fmt::format("{} has no event source '{}'{} (its event sources: {})", fn->logical_id,
                  options.event, hint,
                  names.empty() ? std::string("none") : support::join(names, ", ")),
      support::ExitCode::usage);
}

} // namespace

support::Result<TriggeredEvent> trigger_event(const sam::Model& model,
                                              const TriggerOptions& options) {
  auto set = read_sources(model);
  auto found = find_source(set, model, options);
  if (!found)
    return tl::unexpected(found.error());
  const Source& source = **found;
  const auto now = options.time ? *options.time : std::chrono::system_clock::now();
  const auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const SourceInfo info{target_arn(model, source.target, to_string(source.kind), options),
                        options.region, options.account};
  TriggeredEvent out;
  out.function_id = source.function_id;
  out.kind = std::string(to_string(source.kind));
  switch (source.kind) {
  case SourceKind::schedule:
  case SourceKind::schedule_v2: {
    detail::ScheduleSpec spec;
    spec.source = source;
    const std::string name =
        source.schedule.name.empty() ? source.function_id + source.event_id : source.schedule.name;
    spec.arn =
        source.kind == SourceKind::schedule
            ? fmt::format("arn:aws:events:{}:{}:rule/{}", options.region, options.account, name)
            : fmt::format("arn:aws:scheduler:{}:{}:schedule/{}/{}", options.region, options.account,
                          source.schedule.group, name);
    const auto minute = std::chrono::time_point_cast<std::chrono::minutes>(now);
    out.payload =
        detail::schedule_payload(spec, options.time ? now : TimePoint(minute), info, new_uuid(), 1);
    break;
  }
  case SourceKind::sqs: {
    const std::string body = options.body.value_or("Hello from wisp local trigger");
    json::object attributes{{"ApproximateReceiveCount", "1"},
                            {"SentTimestamp", std::to_string(now_ms)},
                            {"SenderId", "AIDAWISPLOCALTRIGGER"},
                            {"ApproximateFirstReceiveTimestamp", std::to_string(now_ms)}};
    if (info.arn.ends_with(".fifo")) {
      attributes["MessageGroupId"] = "1";
      attributes["SequenceNumber"] = fmt::format("{}", now_ms * 1000);
      attributes["MessageDeduplicationId"] = md5_hex(body);
    }
    const json::object message{{"MessageId", new_uuid()},
                               {"ReceiptHandle", random_letters(180)},
                               {"MD5OfBody", md5_hex(body)},
                               {"Body", body},
                               {"Attributes", std::move(attributes)}};
    out.payload =
        json::serialize(json::object{{"Records", json::array{sqs_record(message, info)}}});
    break;
  }
  case SourceKind::sns: {
    const std::string topic = info.arn;
    const std::string subscription = topic + ":" + new_uuid();
    const json::object envelope{
        {"Type", "Notification"},
        {"MessageId", new_uuid()},
        {"TopicArn", topic},
        {"Message", options.body.value_or("Hello from wisp local trigger")},
        {"Timestamp", format_millis_time(now)},
        {"SignatureVersion", "1"},
        {"Signature", "EXAMPLE"},
        {"SigningCertURL",
         fmt::format(
             "https://sns.{}.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
             options.region)}};
    auto record = sns_record(json::serialize(envelope), subscription);
    if (source.push.sqs_subscription) {
      const json::object message{
          {"MessageId", new_uuid()},
          {"ReceiptHandle", random_letters(180)},
          {"MD5OfBody", md5_hex(json::serialize(envelope))},
          {"Body", json::serialize(envelope)},
          {"Attributes",
           json::object{{"ApproximateReceiveCount", "1"},
                        {"SentTimestamp", std::to_string(now_ms)},
                        {"SenderId", "AIDAWISPLOCALTRIGGER"},
                        {"ApproximateFirstReceiveTimestamp", std::to_string(now_ms)}}}};
      const SourceInfo queue{fmt::format("arn:aws:sqs:{}:{}:{}{}Queue", options.region,
                                         options.account, source.function_id, source.event_id),
                             options.region, options.account};
      out.payload =
          json::serialize(json::object{{"Records", json::array{sqs_record(message, queue)}}});
    } else {
      out.payload = json::serialize(json::object{{"Records", json::array{std::move(*record)}}});
    }
    break;
  }
  case SourceKind::eventbridge: {
    json::value detail = json::object();
    if (options.body) {
      boost::system::error_code ec;
      detail = json::parse(*options.body, ec);
      if (ec)
        return support::fail("--body must be JSON for an EventBridge event (its detail)",
                             support::ExitCode::usage);
    }
    const json::object event{
        {"version", "0"},
        {"id", new_uuid()},
        {"detail-type", first_literal(source.push.pattern, "detail-type", "wisp.local")},
        {"source", first_literal(source.push.pattern, "source", "wisp.local")},
        {"account", options.account},
        {"time", format_event_time(now)},
        {"region", options.region},
        {"resources", json::array()},
        {"detail", std::move(detail)}};
    auto input = source.push.target_input;
    input.rule_name = source.push.rule_name.empty() ? source.function_id + source.event_id
                                                    : source.push.rule_name;
    input.rule_arn = fmt::format("arn:aws:events:{}:{}:rule/{}", options.region, options.account,
                                 input.rule_name);
    out.payload = input.apply(json::value(event), format_event_time(now));
    break;
  }
  case SourceKind::s3: {
    std::string name =
        source.push.s3_events.empty() ? "s3:ObjectCreated:*" : source.push.s3_events.front();
    name = name.substr(3); // without "s3:"
    if (name.ends_with(":*"))
      name = name.substr(0, name.size() - 2) +
             (name.starts_with("ObjectRemoved") ? ":Delete" : ":Put");
    const std::string bucket = info.arn;
    const std::string body = options.body.value_or("");
    json::object object{{"key", options.key}, {"size", body.size()}, {"eTag", md5_hex(body)}};
    const json::object notification{
        {"Records",
         json::array{json::object{
             {"eventVersion", "2.1"},
             {"eventSource", "aws:s3"},
             {"awsRegion", options.region},
             {"eventTime", format_millis_time(now)},
             {"eventName", name},
             {"s3", json::object{{"s3SchemaVersion", "1.0"},
                                 {"configurationId", source.function_id + source.event_id},
                                 {"bucket", json::object{{"name", bucket},
                                                         {"arn", "arn:aws:s3:::" + bucket}}},
                                 {"object", std::move(object)}}}}}}};
    // The key as given, not yet encoded: s3_records encodes it as S3 does.
    auto records = s3_records(json::serialize(notification), info);
    json::array list;
    for (auto& record : records)
      list.push_back(std::move(record));
    out.payload = json::serialize(json::object{{"Records", std::move(list)}});
    break;
  }
  case SourceKind::kinesis: {
    const json::object record{
        {"SequenceNumber", std::to_string(now_ms)},
        {"ApproximateArrivalTimestamp", static_cast<double>(now_ms) / 1000.0},
        {"Data", support::base64_encode(options.body.value_or("Hello from wisp"))},
        {"PartitionKey", "1"}};
    const auto role =
        fmt::format("arn:aws:iam::{}:role/{}Role", options.account, source.function_id);
    out.payload = json::serialize(json::object{
        {"Records", json::array{kinesis_record(record, "shardId-000000000000", role, info)}}});
    break;
  }
  case SourceKind::dynamodb: {
    json::value image = json::object{{"id", json::object{{"S", "1"}}}};
    if (options.body) {
      boost::system::error_code ec;
      image = json::parse(*options.body, ec);
      if (ec || !image.is_object())
        return support::fail("--body must be a DynamoDB item in DynamoDB JSON "
                             "({\"id\": {\"S\": \"1\"}})",
                             support::ExitCode::usage);
    }
    json::object keys;
    if (const auto* table = model.find_resource(source.target.logical_id))
      if (const auto* schema = table->properties.if_contains("KeySchema");
          schema && schema->is_array())
        for (const auto& key : schema->as_array())
          if (key.is_object())
            if (const auto* name = key.as_object().if_contains("AttributeName");
                name && name->is_string())
              if (const auto* value = image.as_object().if_contains(name->as_string()))
                keys[name->as_string()] = *value;
    if (keys.empty() && !image.as_object().empty())
      keys[image.as_object().begin()->key()] = image.as_object().begin()->value();
    const json::object record{
        {"eventID", new_uuid()},
        {"eventName", "INSERT"},
        {"eventVersion", "1.1"},
        {"awsRegion", options.region},
        {"dynamodb", json::object{{"ApproximateCreationDateTime", now_ms / 1000},
                                  {"Keys", std::move(keys)},
                                  {"NewImage", image},
                                  {"SequenceNumber", std::to_string(now_ms)},
                                  {"SizeBytes", json::serialize(image).size()},
                                  {"StreamViewType", "NEW_AND_OLD_IMAGES"}}}};
    out.payload =
        json::serialize(json::object{{"Records", json::array{dynamodb_record(record, info)}}});
    break;
  }
  }
  return out;
}

} // namespace wisp::events
