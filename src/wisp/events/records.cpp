#include <wisp/events/records.hpp>

#include <wisp/runtime/lambda_text.hpp>
#include <wisp/support/http.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <ctime>
#include <random>

namespace wisp::events {

namespace json = boost::json;

namespace {

std::mt19937_64& rng() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

const json::value* find(const json::object& object, std::string_view key) {
  return object.if_contains(key);
}

std::string string_of(const json::object& object, std::string_view key) {
  const auto* value = find(object, key);
  if (value == nullptr)
    return {};
  if (value->is_string())
    return std::string(value->as_string());
  return json::serialize(*value);
}

std::optional<json::value> parse_json(std::string_view text) {
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  if (ec)
    return std::nullopt;
  return value;
}

// A timestamp in a backend's answer → epoch seconds: numbers as they are, ISO 8601 strings
// ("2026-12-03T16:45:51.760458", with or without a zone), or "2026-12-03 16:45:07.320000+00:00".
std::optional<double> epoch_seconds(const json::value& value) {
  if (value.is_double())
    return value.as_double();
  if (value.is_int64())
    return static_cast<double>(value.as_int64());
  if (value.is_uint64())
    return static_cast<double>(value.as_uint64());
  if (!value.is_string())
    return std::nullopt;
  const std::string text(value.as_string());
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr)
    rest = strptime(text.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
  if (rest == nullptr)
    return std::nullopt;
  double fraction = 0;
  if (*rest == '.') {
    double scale = 0.1;
    ++rest;
    while (std::isdigit(static_cast<unsigned char>(*rest)) != 0) {
      fraction += (*rest - '0') * scale;
      scale /= 10;
      ++rest;
    }
  }
  return static_cast<double>(timegm(&tm)) + fraction;
}

std::string random_hex(std::size_t length, bool upper = false) {
  static constexpr char k_lower[] = "0123456789abcdef";
  static constexpr char k_upper[] = "0123456789ABCDEF";
  std::string out;
  for (std::size_t i = 0; i < length; ++i)
    out += (upper ? k_upper : k_lower)[rng()() % 16];
  return out;
}

std::string random_base64(std::size_t length) {
  static constexpr char k_chars[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < length; ++i)
    out += k_chars[rng()() % 64];
  return out;
}

} // namespace

std::string new_uuid() {
  return runtime::make_uuid(rng());
}

std::string format_millis_time(TimePoint time) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch());
  const std::time_t t = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms.count() % 1000);
}

json::object sqs_record(const json::object& message, const SourceInfo& source) {
  json::object record;
  record["messageId"] = string_of(message, "MessageId");
  record["receiptHandle"] = string_of(message, "ReceiptHandle");
  record["body"] = string_of(message, "Body");
  json::object attributes;
  const json::object empty;
  const auto* raw = find(message, "Attributes");
  const auto& given = raw != nullptr && raw->is_object() ? raw->as_object() : empty;
  // Lambda's order (standard, then FIFO's additions), then anything else SQS sent.
  const bool fifo = given.contains("MessageGroupId");
  static constexpr std::string_view k_standard[] = {"ApproximateReceiveCount", "SentTimestamp",
                                                    "SenderId", "ApproximateFirstReceiveTimestamp"};
  static constexpr std::string_view k_fifo[] = {"ApproximateReceiveCount",
                                                "SentTimestamp",
                                                "SequenceNumber",
                                                "MessageGroupId",
                                                "SenderId",
                                                "MessageDeduplicationId",
                                                "ApproximateFirstReceiveTimestamp"};
  const auto add = [&](std::string_view key) {
    if (const auto* value = given.if_contains(key))
      attributes[key] = value->is_string() ? *value : json::value(json::serialize(*value));
  };
  if (fifo)
    for (const auto key : k_fifo)
      add(key);
  else
    for (const auto key : k_standard)
      add(key);
  for (const auto& [key, value] : given)
    if (!attributes.contains(key))
      attributes[key] = value.is_string() ? value : json::value(json::serialize(value));
  record["attributes"] = std::move(attributes);
  json::object message_attributes;
  if (const auto* attrs = find(message, "MessageAttributes");
      attrs != nullptr && attrs->is_object()) {
    for (const auto& [name, value] : attrs->as_object()) {
      if (!value.is_object())
        continue;
      const auto& attr = value.as_object();
      json::object out;
      if (const auto* s = attr.if_contains("StringValue"))
        out["stringValue"] = *s;
      if (const auto* b = attr.if_contains("BinaryValue"))
        out["binaryValue"] = *b;
      const auto* sl = attr.if_contains("StringListValues");
      out["stringListValues"] = sl != nullptr && sl->is_array() ? *sl : json::value(json::array());
      const auto* bl = attr.if_contains("BinaryListValues");
      out["binaryListValues"] = bl != nullptr && bl->is_array() ? *bl : json::value(json::array());
      out["dataType"] = string_of(attr, "DataType");
      message_attributes[name] = std::move(out);
    }
  }
  const bool has_attributes = !message_attributes.empty();
  record["messageAttributes"] = std::move(message_attributes);
  record["md5OfBody"] = string_of(message, "MD5OfBody");
  if (has_attributes)
    if (const auto* md5 = find(message, "MD5OfMessageAttributes"))
      record["md5OfMessageAttributes"] = *md5;
  record["eventSource"] = "aws:sqs";
  record["eventSourceARN"] = source.arn;
  record["awsRegion"] = source.region;
  return record;
}

std::optional<json::object> sns_record(std::string_view envelope,
                                       std::string_view subscription_arn) {
  auto parsed = parse_json(envelope);
  if (!parsed || !parsed->is_object())
    return std::nullopt;
  const auto& in = parsed->as_object();
  const auto* type = in.if_contains("Type");
  if (type == nullptr || !type->is_string() || !in.contains("TopicArn"))
    return std::nullopt;
  json::object sns;
  sns["Type"] = *type;
  sns["MessageId"] = string_of(in, "MessageId");
  sns["TopicArn"] = string_of(in, "TopicArn");
  const auto* subject = in.if_contains("Subject");
  sns["Subject"] = subject != nullptr && subject->is_string() ? *subject : json::value(nullptr);
  sns["Message"] = string_of(in, "Message");
  sns["Timestamp"] = string_of(in, "Timestamp");
  sns["SignatureVersion"] = string_of(in, "SignatureVersion");
  sns["Signature"] = string_of(in, "Signature");
  // The queue's envelope spells these …URL; Lambda's record …Url.
  sns["SigningCertUrl"] = string_of(in, "SigningCertURL");
  sns["UnsubscribeUrl"] = fmt::format(
      "https://sns.{}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={}",
      [&] {
        const auto arn = std::string(subscription_arn);
        const auto parts = arn.find(":sns:");
        if (parts == std::string::npos)
          return std::string("us-east-1");
        const auto end = arn.find(':', parts + 5);
        return arn.substr(parts + 5, end - parts - 5);
      }(),
      subscription_arn);
  json::object attributes;
  if (const auto* attrs = in.if_contains("MessageAttributes");
      attrs != nullptr && attrs->is_object())
    attributes = attrs->as_object();
  sns["MessageAttributes"] = std::move(attributes);
  json::object record;
  record["EventSource"] = "aws:sns";
  record["EventVersion"] = "1.0";
  record["EventSubscriptionArn"] = subscription_arn;
  record["Sns"] = std::move(sns);
  return record;
}

std::string s3_event_key(std::string_view key) {
  std::string out;
  for (const char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '*' || c == '/')
      out += static_cast<char>(c);
    else if (c == ' ')
      out += '+';
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::vector<json::object> s3_records(std::string_view body, const SourceInfo& source) {
  std::vector<json::object> out;
  auto parsed = parse_json(body);
  if (!parsed || !parsed->is_object())
    return out;
  const auto* records = parsed->as_object().if_contains("Records");
  if (records == nullptr || !records->is_array())
    return out; // s3:TestEvent and anything else
  for (const auto& item : records->as_array()) {
    if (!item.is_object())
      continue;
    const auto& in = item.as_object();
    json::object record;
    record["eventVersion"] = in.contains("eventVersion") ? in.at("eventVersion") : "2.1";
    record["eventSource"] = "aws:s3";
    record["awsRegion"] =
        in.contains("awsRegion") ? in.at("awsRegion") : json::value(source.region);
    std::string time = string_of(in, "eventTime");
    if (auto seconds = epoch_seconds(json::value(time))) {
      const auto tp = TimePoint(
          std::chrono::milliseconds(static_cast<long long>(std::llround(*seconds * 1000.0))));
      time = format_millis_time(tp);
    }
    record["eventTime"] = time;
    record["eventName"] = string_of(in, "eventName");
    record["userIdentity"] = in.contains("userIdentity")
                                 ? in.at("userIdentity")
                                 : json::value(json::object{{"principalId", "AWS:AIDAWISPLOCAL"}});
    record["requestParameters"] = in.contains("requestParameters")
                                      ? in.at("requestParameters")
                                      : json::value(json::object{{"sourceIPAddress", "127.0.0.1"}});
    record["responseElements"] =
        in.contains("responseElements")
            ? in.at("responseElements")
            : json::value(json::object{{"x-amz-request-id", random_hex(16, true)},
                                       {"x-amz-id-2", random_base64(76)}});
    json::object s3;
    const json::object none;
    const auto* s3_in_value = in.if_contains("s3");
    const auto& s3_in =
        s3_in_value != nullptr && s3_in_value->is_object() ? s3_in_value->as_object() : none;
    s3["s3SchemaVersion"] = s3_in.contains("s3SchemaVersion") ? s3_in.at("s3SchemaVersion") : "1.0";
    s3["configurationId"] = string_of(s3_in, "configurationId");
    json::object bucket;
    const auto* bucket_in_value = s3_in.if_contains("bucket");
    const auto& bucket_in = bucket_in_value != nullptr && bucket_in_value->is_object()
                                ? bucket_in_value->as_object()
                                : none;
    const auto bucket_name = string_of(bucket_in, "name");
    bucket["name"] = bucket_name;
    bucket["ownerIdentity"] = bucket_in.contains("ownerIdentity")
                                  ? bucket_in.at("ownerIdentity")
                                  : json::value(json::object{{"principalId", "A3WISPLOCALOWNER"}});
    bucket["arn"] = bucket_in.contains("arn") ? bucket_in.at("arn")
                                              : json::value("arn:aws:s3:::" + bucket_name);
    s3["bucket"] = std::move(bucket);
    json::object object;
    const auto* object_in_value = s3_in.if_contains("object");
    const auto& object_in = object_in_value != nullptr && object_in_value->is_object()
                                ? object_in_value->as_object()
                                : none;
    // Backends encode keys differently (moto encodes '/' too): decode the form encoding, then
    // encode as S3 does.
    std::string key = string_of(object_in, "key");
    for (auto& c : key)
      if (c == '+')
        c = ' ';
    object["key"] = s3_event_key(support::http::url_decode(key));
    for (const auto& [field, value] : object_in)
      if (field != "key" && field != "sequencer")
        object[field] = value;
    const bool removed = string_of(in, "eventName").starts_with("ObjectRemoved");
    if (!removed || object_in.contains("sequencer"))
      object["sequencer"] =
          object_in.contains("sequencer")
              ? object_in.at("sequencer")
              : json::value(
                    fmt::format("{:016X}", std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count()));
    s3["object"] = std::move(object);
    record["s3"] = std::move(s3);
    out.push_back(std::move(record));
  }
  return out;
}

std::optional<json::object> eventbridge_event(std::string_view body, const SourceInfo& source) {
  auto parsed = parse_json(body);
  if (!parsed || !parsed->is_object())
    return std::nullopt;
  const auto& in = parsed->as_object();
  if (!in.contains("detail-type") || !in.contains("source"))
    return std::nullopt;
  json::object event;
  event["version"] = in.contains("version") ? in.at("version") : "0";
  event["id"] = in.contains("id") ? in.at("id") : json::value(new_uuid());
  event["detail-type"] = in.at("detail-type");
  event["source"] = in.at("source");
  event["account"] = in.contains("account") ? in.at("account") : json::value(source.account);
  event["time"] = in.contains("time")
                      ? in.at("time")
                      : json::value(format_event_time(std::chrono::system_clock::now()));
  event["region"] = in.contains("region") ? in.at("region") : json::value(source.region);
  event["resources"] = in.contains("resources") ? in.at("resources") : json::value(json::array());
  event["detail"] = in.contains("detail") ? in.at("detail") : json::value(json::object());
  for (const auto& [key, value] : in)
    if (!event.contains(key))
      event[key] = value;
  return event;
}

json::object dynamodb_record(const json::object& record, const SourceInfo& source) {
  json::object out;
  out["eventID"] = string_of(record, "eventID");
  out["eventName"] = string_of(record, "eventName");
  out["eventVersion"] = record.contains("eventVersion") ? record.at("eventVersion") : "1.1";
  out["eventSource"] = "aws:dynamodb";
  out["awsRegion"] =
      record.contains("awsRegion") ? record.at("awsRegion") : json::value(source.region);
  json::object data;
  if (const auto* in = record.if_contains("dynamodb"); in != nullptr && in->is_object()) {
    for (const auto& [key, value] : in->as_object()) {
      if (key == "ApproximateCreationDateTime") {
        if (auto seconds = epoch_seconds(value))
          data[key] = static_cast<std::int64_t>(std::floor(*seconds));
        else
          data[key] = value;
      } else {
        data[key] = value;
      }
    }
  }
  out["dynamodb"] = std::move(data);
  out["eventSourceARN"] =
      record.contains("eventSourceARN") ? record.at("eventSourceARN") : json::value(source.arn);
  if (const auto* identity = record.if_contains("userIdentity"))
    out["userIdentity"] = *identity;
  return out;
}

json::object kinesis_record(const json::object& record, std::string_view shard_id,
                            std::string_view role_arn, const SourceInfo& source) {
  json::object kinesis;
  kinesis["kinesisSchemaVersion"] = "1.0";
  kinesis["partitionKey"] = string_of(record, "PartitionKey");
  const auto sequence = string_of(record, "SequenceNumber");
  kinesis["sequenceNumber"] = sequence;
  kinesis["data"] = string_of(record, "Data");
  double arrival = 0;
  if (const auto* value = record.if_contains("ApproximateArrivalTimestamp"))
    arrival = epoch_seconds(*value).value_or(0);
  kinesis["approximateArrivalTimestamp"] = std::round(arrival * 1000.0) / 1000.0;
  json::object out;
  out["kinesis"] = std::move(kinesis);
  out["eventSource"] = "aws:kinesis";
  out["eventVersion"] = "1.0";
  out["eventID"] = fmt::format("{}:{}", shard_id, sequence);
  out["eventName"] = "aws:kinesis:record";
  out["invokeIdentityArn"] = role_arn;
  out["awsRegion"] = source.region;
  out["eventSourceARN"] = source.arn;
  return out;
}

json::object scheduled_event(std::string_view rule_arn, TimePoint time, const SourceInfo& source) {
  json::object event;
  event["version"] = "0";
  event["id"] = new_uuid();
  event["detail-type"] = "Scheduled Event";
  event["source"] = "aws.events";
  event["account"] = source.account;
  event["time"] = format_event_time(time);
  event["region"] = source.region;
  event["resources"] = json::array{json::value(rule_arn)};
  event["detail"] = json::object();
  return event;
}

json::object scheduler_event(std::string_view schedule_arn, std::string_view execution_id,
                             TimePoint time, const SourceInfo& source) {
  json::object event;
  event["version"] = "0";
  event["id"] = execution_id;
  event["detail-type"] = "Scheduled Event";
  event["source"] = "aws.scheduler";
  event["account"] = source.account;
  event["time"] = format_event_time(time);
  event["region"] = source.region;
  event["resources"] = json::array{json::value(schedule_arn)};
  event["detail"] = "{}";
  return event;
}

std::string scheduler_input(std::string_view input, std::string_view schedule_arn,
                            TimePoint scheduled_time, std::string_view execution_id, int attempt) {
  std::string out;
  std::size_t i = 0;
  const std::string time = format_event_time(scheduled_time);
  const std::string attempts = std::to_string(attempt);
  const std::pair<std::string_view, std::string_view> k_values[] = {
      {"<aws.scheduler.schedule-arn>", schedule_arn},
      {"<aws.scheduler.scheduled-time>", time},
      {"<aws.scheduler.execution-id>", execution_id},
      {"<aws.scheduler.attempt-number>", attempts},
  };
  while (i < input.size()) {
    bool replaced = false;
    if (input[i] == '<') {
      for (const auto& [name, value] : k_values) {
        if (input.substr(i).starts_with(name)) {
          out += value;
          i += name.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced)
      out += input[i++];
  }
  return out;
}

BatchAnswer parse_batch_answer(std::string_view response, const std::set<std::string>& items) {
  BatchAnswer answer;
  const auto fail = [&](std::string reason) {
    answer.kind = BatchAnswer::Kind::failure;
    answer.failed.clear();
    answer.reason = std::move(reason);
    return answer;
  };
  std::size_t start = 0;
  while (start < response.size() && std::isspace(static_cast<unsigned char>(response[start])) != 0)
    ++start;
  if (start == response.size())
    return answer; // an empty answer: success
  auto parsed = parse_json(response);
  if (!parsed)
    return fail("the function's answer is not valid JSON");
  if (!parsed->is_object())
    return answer;
  const auto* list = parsed->as_object().if_contains("batchItemFailures");
  if (list == nullptr || list->is_null())
    return answer;
  if (!list->is_array())
    return fail("batchItemFailures is not a list");
  for (const auto& item : list->as_array()) {
    if (!item.is_object())
      return fail("a batchItemFailures entry is not an object");
    const auto* id = item.as_object().if_contains("itemIdentifier");
    if (id == nullptr)
      return fail("a batchItemFailures entry has no itemIdentifier");
    if (!id->is_string() || id->as_string().empty())
      return fail("an itemIdentifier is empty or not a string");
    const std::string value(id->as_string());
    if (items.count(value) == 0)
      return fail(fmt::format("itemIdentifier '{}' is not in the batch", value));
    answer.failed.push_back(value);
  }
  if (!answer.failed.empty())
    answer.kind = BatchAnswer::Kind::partial;
  return answer;
}

} // namespace wisp::events
