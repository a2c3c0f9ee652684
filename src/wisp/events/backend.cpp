#include <wisp/events/backend.hpp>

#include <wisp/aws/json_fields.hpp>
#include <wisp/aws/s3.hpp>
#include <wisp/aws/xml.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <mutex>

namespace wisp::events {

namespace json = boost::json;
using aws::Service;

namespace {

std::mutex g_account_mutex;

template <class T>
tl::unexpected<aws::ServiceError> error_of(tl::expected<T, aws::ServiceError>& r) {
  return tl::unexpected(std::move(r).error());
}

json::array receipts_json(const std::vector<Backend::Receipt>& items, std::size_t from,
                          std::size_t to, int visibility) {
  json::array entries;
  for (std::size_t i = from; i < to; ++i) {
    json::object entry{{"Id", fmt::format("m{}", i)}, {"ReceiptHandle", items[i].handle}};
    if (visibility >= 0)
      entry["VisibilityTimeout"] = visibility;
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::vector<ShardInfo> shards_of(const json::array& shards) {
  std::vector<ShardInfo> out;
  for (const auto& shard : shards) {
    if (!shard.is_object())
      continue;
    const auto& object = shard.as_object();
    ShardInfo info;
    info.id = aws::json_string(object, "ShardId");
    info.parent = aws::json_string(object, "ParentShardId");
    if (const auto* range = object.if_contains("SequenceNumberRange"); range && range->is_object())
      info.closed = range->as_object().contains("EndingSequenceNumber");
    out.push_back(std::move(info));
  }
  return out;
}

GetRecordsResult records_of(const json::value& answer) {
  GetRecordsResult out;
  if (!answer.is_object())
    return out;
  const auto& object = answer.as_object();
  if (const auto* records = object.if_contains("Records"); records && records->is_array())
    for (const auto& record : records->as_array())
      if (record.is_object())
        out.records.push_back(record.as_object());
  out.next_iterator = aws::json_string(object, "NextShardIterator");
  return out;
}

} // namespace

bool not_found(const aws::ServiceError& error) {
  return error.not_found() || error.is("QueueDoesNotExist") ||
         error.is("AWS.SimpleQueueService.NonExistentQueue") ||
         error.is("ResourceNotFoundException") || error.is("NotFound") || error.is("NoSuchBucket");
}

Backend::Backend(std::shared_ptr<aws::Client> client) : m_client(std::move(client)) {}

AwsResult<json::value> Backend::call(Service service, std::string_view prefix,
                                     std::string_view operation, const json::object& body,
                                     std::string_view version) const {
  return m_client->json_rpc(service, prefix, operation, body, version);
}

AwsResult<std::string> Backend::account_id() const {
  {
    std::lock_guard lock(g_account_mutex);
    if (!m_account.empty())
      return m_account;
  }
  auto answer = m_client->query(Service::sts, "GetCallerIdentity", "2011-06-15", {});
  if (!answer)
    return error_of(answer);
  auto account = answer->text_at("GetCallerIdentityResult/Account");
  if (account.empty())
    account = "123456789012";
  std::lock_guard lock(g_account_mutex);
  m_account = account;
  return account;
}

// ------------------------------------------------------------------ SQS

AwsResult<std::optional<std::string>> Backend::queue_url(std::string_view name) const {
  auto answer = call(Service::sqs, "AmazonSQS", "GetQueueUrl", {{"QueueName", name}}, "1.0");
  if (!answer) {
    if (not_found(answer.error()))
      return std::optional<std::string>();
    return error_of(answer);
  }
  return std::optional<std::string>(aws::json_string(answer->as_object(), "QueueUrl"));
}

AwsResult<std::string>
Backend::create_queue(std::string_view name,
                      const std::map<std::string, std::string>& attributes) const {
  json::object attrs;
  for (const auto& [key, value] : attributes)
    attrs[key] = value;
  json::object body{{"QueueName", name}};
  if (!attrs.empty())
    body["Attributes"] = std::move(attrs);
  auto answer = call(Service::sqs, "AmazonSQS", "CreateQueue", body, "1.0");
  if (!answer)
    return error_of(answer);
  return aws::json_string(answer->as_object(), "QueueUrl");
}

AwsResult<std::map<std::string, std::string>>
Backend::queue_attributes(std::string_view url) const {
  auto answer = call(Service::sqs, "AmazonSQS", "GetQueueAttributes",
                     {{"QueueUrl", url}, {"AttributeNames", json::array{"All"}}}, "1.0");
  if (!answer)
    return error_of(answer);
  std::map<std::string, std::string> out;
  if (answer->is_object())
    if (const auto* attrs = answer->as_object().if_contains("Attributes");
        attrs && attrs->is_object())
      for (const auto& [key, value] : attrs->as_object())
        out[std::string(key)] =
            value.is_string() ? std::string(value.as_string()) : json::serialize(value);
  return out;
}

AwsStatus
Backend::set_queue_attributes(std::string_view url,
                              const std::map<std::string, std::string>& attributes) const {
  json::object attrs;
  for (const auto& [key, value] : attributes)
    attrs[key] = value;
  auto answer = call(Service::sqs, "AmazonSQS", "SetQueueAttributes",
                     {{"QueueUrl", url}, {"Attributes", std::move(attrs)}}, "1.0");
  if (!answer)
    return error_of(answer);
  return {};
}

AwsResult<std::vector<json::object>> Backend::receive(std::string_view url, int max_messages,
                                                      int wait_seconds) const {
  json::object body{{"QueueUrl", url},
                    {"MaxNumberOfMessages", max_messages},
                    {"WaitTimeSeconds", wait_seconds},
                    {"AttributeNames", json::array{"All"}},
                    {"MessageSystemAttributeNames", json::array{"All"}},
                    {"MessageAttributeNames", json::array{"All"}}};
  auto answer = call(Service::sqs, "AmazonSQS", "ReceiveMessage", body, "1.0");
  if (!answer)
    return error_of(answer);
  std::vector<json::object> out;
  if (answer->is_object())
    if (const auto* messages = answer->as_object().if_contains("Messages");
        messages && messages->is_array())
      for (const auto& message : messages->as_array())
        if (message.is_object())
          out.push_back(message.as_object());
  return out;
}

namespace {

// Runs a *Batch SQS call over `items` in chunks of 10; returns the failed ids.
template <class Call>
AwsResult<std::map<std::string, std::string>> batched(const std::vector<Backend::Receipt>& items,
                                                      Call call) {
  std::map<std::string, std::string> failed;
  for (std::size_t from = 0; from < items.size(); from += 10) {
    const auto to = std::min(items.size(), from + 10);
    auto answer = call(from, to);
    if (!answer)
      return tl::unexpected(std::move(answer).error());
    if (!answer->is_object())
      continue;
    if (const auto* errors = answer->as_object().if_contains("Failed");
        errors && errors->is_array()) {
      for (const auto& entry : errors->as_array()) {
        if (!entry.is_object())
          continue;
        const auto id = aws::json_string(entry.as_object(), "Id");
        const auto index = id.size() > 1 ? std::stoul(id.substr(1)) : 0;
        if (index < items.size())
          failed[items[index].id] =
              fmt::format("{}: {}", aws::json_string(entry.as_object(), "Code"),
                          aws::json_string(entry.as_object(), "Message"));
      }
    }
  }
  return failed;
}

} // namespace

AwsResult<std::map<std::string, std::string>>
Backend::delete_messages(std::string_view url, const std::vector<Receipt>& items) const {
  return batched(items, [&](std::size_t from, std::size_t to) {
    return call(Service::sqs, "AmazonSQS", "DeleteMessageBatch",
                {{"QueueUrl", url}, {"Entries", receipts_json(items, from, to, -1)}}, "1.0");
  });
}

AwsResult<std::map<std::string, std::string>>
Backend::change_visibility(std::string_view url, const std::vector<Receipt>& items,
                           int seconds) const {
  return batched(items, [&](std::size_t from, std::size_t to) {
    return call(Service::sqs, "AmazonSQS", "ChangeMessageVisibilityBatch",
                {{"QueueUrl", url}, {"Entries", receipts_json(items, from, to, seconds)}}, "1.0");
  });
}

AwsResult<std::string> Backend::send_message(std::string_view url, std::string_view body,
                                             std::string_view group_id) const {
  json::object request{{"QueueUrl", url}, {"MessageBody", body}};
  if (!group_id.empty()) {
    request["MessageGroupId"] = group_id;
    request["MessageDeduplicationId"] = fmt::format(
        "{:x}",
        std::hash<std::string_view>{}(body) ^
            static_cast<std::size_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  }
  auto answer = call(Service::sqs, "AmazonSQS", "SendMessage", request, "1.0");
  if (!answer)
    return error_of(answer);
  return aws::json_string(answer->as_object(), "MessageId");
}

// ------------------------------------------------------------------ SNS

AwsResult<std::string>
Backend::create_topic(std::string_view name,
                      const std::map<std::string, std::string>& attributes) const {
  aws::Query params{{"Name", std::string(name)}};
  int i = 1;
  for (const auto& [key, value] : attributes) {
    params.emplace_back(fmt::format("Attributes.entry.{}.key", i), key);
    params.emplace_back(fmt::format("Attributes.entry.{}.value", i), value);
    ++i;
  }
  auto answer = m_client->query(Service::sns, "CreateTopic", "2010-03-31", params);
  if (!answer)
    return error_of(answer);
  return answer->text_at("CreateTopicResult/TopicArn");
}

AwsResult<bool> Backend::topic_exists(std::string_view arn) const {
  auto answer = m_client->query(Service::sns, "GetTopicAttributes", "2010-03-31",
                                {{"TopicArn", std::string(arn)}});
  if (!answer) {
    if (not_found(answer.error()))
      return false;
    return error_of(answer);
  }
  return true;
}

AwsResult<std::vector<Backend::Subscription>>
Backend::subscriptions(std::string_view topic_arn) const {
  std::vector<Subscription> out;
  std::string token;
  do {
    aws::Query params{{"TopicArn", std::string(topic_arn)}};
    if (!token.empty())
      params.emplace_back("NextToken", token);
    auto answer = m_client->query(Service::sns, "ListSubscriptionsByTopic", "2010-03-31", params);
    if (!answer)
      return error_of(answer);
    if (const auto* list = answer->find("Subscriptions"))
      for (const auto* member : list->all("member"))
        out.push_back({member->text_at("SubscriptionArn"), member->text_at("Protocol"),
                       member->text_at("Endpoint")});
    token = answer->text_at("ListSubscriptionsByTopicResult/NextToken");
  } while (!token.empty());
  return out;
}

AwsResult<std::string>
Backend::subscribe(std::string_view topic_arn, std::string_view protocol, std::string_view endpoint,
                   const std::map<std::string, std::string>& attributes) const {
  aws::Query params{{"TopicArn", std::string(topic_arn)},
                    {"Protocol", std::string(protocol)},
                    {"Endpoint", std::string(endpoint)},
                    {"ReturnSubscriptionArn", "true"}};
  int i = 1;
  for (const auto& [key, value] : attributes) {
    params.emplace_back(fmt::format("Attributes.entry.{}.key", i), key);
    params.emplace_back(fmt::format("Attributes.entry.{}.value", i), value);
    ++i;
  }
  auto answer = m_client->query(Service::sns, "Subscribe", "2010-03-31", params);
  if (!answer)
    return error_of(answer);
  return answer->text_at("SubscribeResult/SubscriptionArn");
}

AwsStatus Backend::set_subscription_attribute(std::string_view arn, std::string_view name,
                                              std::string_view value) const {
  auto answer = m_client->query(Service::sns, "SetSubscriptionAttributes", "2010-03-31",
                                {{"SubscriptionArn", std::string(arn)},
                                 {"AttributeName", std::string(name)},
                                 {"AttributeValue", std::string(value)}});
  if (!answer)
    return error_of(answer);
  return {};
}

AwsResult<std::string> Backend::publish(std::string_view topic_arn,
                                        std::string_view message) const {
  aws::Query params{{"TopicArn", std::string(topic_arn)}, {"Message", std::string(message)}};
  if (topic_arn.ends_with(".fifo")) {
    params.emplace_back("MessageGroupId", "wisp");
    params.emplace_back("MessageDeduplicationId",
                        fmt::format("{:x}", std::hash<std::string_view>{}(message)));
  }
  auto answer = m_client->query(Service::sns, "Publish", "2010-03-31", params);
  if (!answer)
    return error_of(answer);
  return answer->text_at("PublishResult/MessageId");
}

// ------------------------------------------------------------------ DynamoDB

AwsResult<std::optional<json::object>> Backend::describe_table(std::string_view name) const {
  auto answer =
      call(Service::dynamodb, "DynamoDB_20120810", "DescribeTable", {{"TableName", name}}, "1.0");
  if (!answer) {
    if (not_found(answer.error()))
      return std::optional<json::object>();
    return error_of(answer);
  }
  const auto* table = answer->is_object() ? answer->as_object().if_contains("Table") : nullptr;
  if (table == nullptr || !table->is_object())
    return std::optional<json::object>();
  return std::optional<json::object>(table->as_object());
}

AwsStatus Backend::create_table(const json::object& request) const {
  auto answer = call(Service::dynamodb, "DynamoDB_20120810", "CreateTable", request, "1.0");
  if (!answer)
    return error_of(answer);
  return {};
}

AwsResult<std::vector<ShardInfo>> Backend::dynamodb_shards(std::string_view stream_arn) const {
  std::vector<ShardInfo> out;
  std::string last;
  while (true) {
    json::object body{{"StreamArn", stream_arn}};
    if (!last.empty())
      body["ExclusiveStartShardId"] = last;
    auto answer =
        call(Service::dynamodbstreams, "DynamoDBStreams_20120810", "DescribeStream", body, "1.0");
    if (!answer)
      return error_of(answer);
    const auto* description =
        answer->is_object() ? answer->as_object().if_contains("StreamDescription") : nullptr;
    if (description == nullptr || !description->is_object())
      break;
    if (const auto* shards = description->as_object().if_contains("Shards");
        shards && shards->is_array())
      for (auto& shard : shards_of(shards->as_array()))
        out.push_back(std::move(shard));
    last = aws::json_string(description->as_object(), "LastEvaluatedShardId");
    if (last.empty())
      break;
  }
  return out;
}

AwsResult<std::string> Backend::dynamodb_iterator(std::string_view stream_arn,
                                                  std::string_view shard, std::string_view type,
                                                  std::string_view sequence) const {
  json::object body{{"StreamArn", stream_arn}, {"ShardId", shard}, {"ShardIteratorType", type}};
  if (!sequence.empty())
    body["SequenceNumber"] = sequence;
  auto answer =
      call(Service::dynamodbstreams, "DynamoDBStreams_20120810", "GetShardIterator", body, "1.0");
  if (!answer)
    return error_of(answer);
  return aws::json_string(answer->as_object(), "ShardIterator");
}

AwsResult<GetRecordsResult> Backend::dynamodb_records(std::string_view iterator, int limit) const {
  auto answer = call(Service::dynamodbstreams, "DynamoDBStreams_20120810", "GetRecords",
                     {{"ShardIterator", iterator}, {"Limit", std::min(limit, 1000)}}, "1.0");
  if (!answer)
    return error_of(answer);
  return records_of(*answer);
}

// ------------------------------------------------------------------ Kinesis

AwsResult<std::optional<json::object>> Backend::describe_stream(std::string_view name) const {
  auto answer = call(Service::kinesis, "Kinesis_20131202", "DescribeStreamSummary",
                     {{"StreamName", name}}, "1.1");
  if (!answer) {
    if (not_found(answer.error()))
      return std::optional<json::object>();
    return error_of(answer);
  }
  const auto* summary =
      answer->is_object() ? answer->as_object().if_contains("StreamDescriptionSummary") : nullptr;
  if (summary == nullptr || !summary->is_object())
    return std::optional<json::object>();
  return std::optional<json::object>(summary->as_object());
}

AwsStatus Backend::create_stream(std::string_view name, const json::object& settings) const {
  json::object body = settings;
  body["StreamName"] = name;
  auto answer = call(Service::kinesis, "Kinesis_20131202", "CreateStream", body, "1.1");
  if (!answer)
    return error_of(answer);
  return {};
}

AwsResult<std::vector<ShardInfo>> Backend::kinesis_shards(std::string_view stream_arn) const {
  std::vector<ShardInfo> out;
  std::string token;
  while (true) {
    json::object body;
    if (token.empty())
      body["StreamARN"] = stream_arn;
    else
      body["NextToken"] = token;
    auto answer = call(Service::kinesis, "Kinesis_20131202", "ListShards", body, "1.1");
    if (!answer)
      return error_of(answer);
    if (!answer->is_object())
      break;
    if (const auto* shards = answer->as_object().if_contains("Shards");
        shards && shards->is_array())
      for (auto& shard : shards_of(shards->as_array()))
        out.push_back(std::move(shard));
    token = aws::json_string(answer->as_object(), "NextToken");
    if (token.empty())
      break;
  }
  return out;
}

AwsResult<std::string> Backend::kinesis_iterator(std::string_view stream_arn,
                                                 std::string_view shard, std::string_view type,
                                                 std::string_view sequence,
                                                 std::optional<double> timestamp) const {
  json::object body{{"StreamARN", stream_arn}, {"ShardId", shard}, {"ShardIteratorType", type}};
  if (!sequence.empty())
    body["StartingSequenceNumber"] = sequence;
  if (timestamp)
    body["Timestamp"] = *timestamp;
  auto answer = call(Service::kinesis, "Kinesis_20131202", "GetShardIterator", body, "1.1");
  if (!answer)
    return error_of(answer);
  return aws::json_string(answer->as_object(), "ShardIterator");
}

AwsResult<GetRecordsResult> Backend::kinesis_records(std::string_view stream_arn,
                                                     std::string_view iterator, int limit) const {
  auto answer =
      call(Service::kinesis, "Kinesis_20131202", "GetRecords",
           {{"ShardIterator", iterator}, {"Limit", limit}, {"StreamARN", stream_arn}}, "1.1");
  if (!answer)
    return error_of(answer);
  return records_of(*answer);
}

// ------------------------------------------------------------------ S3

AwsResult<bool> Backend::bucket_exists(std::string_view bucket) const {
  return aws::s3::bucket_exists(*m_client, bucket);
}

AwsStatus Backend::create_bucket(std::string_view bucket) const {
  return aws::s3::create_bucket(*m_client, bucket);
}

AwsResult<std::string> Backend::bucket_notifications(std::string_view bucket) const {
  aws::ServiceRequest request;
  request.service = Service::s3;
  request.operation = "GetBucketNotificationConfiguration";
  request.method = "GET";
  request.bucket = std::string(bucket);
  request.query = {{"notification", ""}};
  auto response = m_client->send(request);
  if (!response)
    return error_of(response);
  return std::move(response->body);
}

AwsStatus Backend::put_bucket_notifications(std::string_view bucket, std::string_view xml) const {
  aws::ServiceRequest request;
  request.service = Service::s3;
  request.operation = "PutBucketNotificationConfiguration";
  request.method = "PUT";
  request.bucket = std::string(bucket);
  request.query = {{"notification", ""}};
  request.body = std::string(xml);
  request.headers.emplace_back("Content-Type", "application/xml");
  auto response = m_client->send(request);
  if (!response)
    return error_of(response);
  return {};
}

// ------------------------------------------------------------------ EventBridge

AwsResult<std::optional<std::string>> Backend::event_bus_arn(std::string_view name) const {
  auto answer = call(Service::events, "AWSEvents", "DescribeEventBus", {{"Name", name}}, "1.1");
  if (!answer) {
    if (not_found(answer.error()))
      return std::optional<std::string>();
    return error_of(answer);
  }
  return std::optional<std::string>(aws::json_string(answer->as_object(), "Arn"));
}

AwsResult<std::string> Backend::create_event_bus(std::string_view name) const {
  auto answer = call(Service::events, "AWSEvents", "CreateEventBus", {{"Name", name}}, "1.1");
  if (!answer)
    return error_of(answer);
  return aws::json_string(answer->as_object(), "EventBusArn");
}

AwsResult<std::string> Backend::put_rule(std::string_view name, std::string_view bus,
                                         std::string_view pattern) const {
  auto answer = call(Service::events, "AWSEvents", "PutRule",
                     {{"Name", name},
                      {"EventBusName", bus},
                      {"EventPattern", pattern},
                      {"State", "ENABLED"},
                      {"Description", "wisp local start: delivers to a queue wisp polls"}},
                     "1.1");
  if (!answer)
    return error_of(answer);
  return aws::json_string(answer->as_object(), "RuleArn");
}

AwsResult<std::optional<std::string>> Backend::rule_arn(std::string_view name,
                                                        std::string_view bus) const {
  auto answer = call(Service::events, "AWSEvents", "DescribeRule",
                     {{"Name", name}, {"EventBusName", bus}}, "1.1");
  if (!answer) {
    if (not_found(answer.error()))
      return std::optional<std::string>();
    return error_of(answer);
  }
  return std::optional<std::string>(aws::json_string(answer->as_object(), "Arn"));
}

AwsStatus Backend::put_target(std::string_view rule, std::string_view bus, std::string_view id,
                              std::string_view arn) const {
  auto answer = call(Service::events, "AWSEvents", "PutTargets",
                     {{"Rule", rule},
                      {"EventBusName", bus},
                      {"Targets", json::array{json::object{{"Id", id}, {"Arn", arn}}}}},
                     "1.1");
  if (!answer)
    return error_of(answer);
  if (answer->is_object())
    if (const auto* count = answer->as_object().if_contains("FailedEntryCount");
        count && count->is_int64() && count->as_int64() > 0) {
      aws::ServiceError error;
      error.service = "events";
      error.operation = "PutTargets";
      error.message = json::serialize(*answer);
      return tl::unexpected(std::move(error));
    }
  return {};
}

} // namespace wisp::events
