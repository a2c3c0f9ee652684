#include <wisp/runtime/events.hpp>
#include <wisp/runtime/lambda_text.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <chrono>
#include <ctime>
#include <random>

namespace wisp::runtime {

namespace json = boost::json;

namespace {

using Values = std::map<std::string, std::string>;

const EventFlag k_region{"region", "us-east-1", "AWS region"};
const EventFlag k_account{"account-id", "123456789012", "AWS account id"};
const EventFlag k_partition{"partition", "aws", "AWS partition"};

const std::vector<EventKind>& catalogue() {
  static const std::vector<EventKind> kinds = {
      {"apigateway",
       "aws-proxy",
       "REST API proxy integration request (payload format 1.0)",
       {{"path", "/examplepath", "request path"},
        {"method", "POST", "HTTP method"},
        {"body", "{\"message\": \"hello world\"}", "request body"},
        {"resource", "/{proxy+}", "API resource the request matched"},
        {"stage", "prod", "API stage"},
        {"api-id", "1234567890", "REST API id"},
        k_region,
        k_account}},
      {"apigateway",
       "http-api-proxy",
       "HTTP API request (payload format 2.0)",
       {{"path", "/examplepath", "request path"},
        {"method", "POST", "HTTP method"},
        {"body", "{\"message\": \"hello world\"}", "request body"},
        {"stage", "$default", "API stage"},
        {"api-id", "1234567890", "HTTP API id"},
        k_region,
        k_account}},
      {"apigateway",
       "authorizer",
       "REST API Lambda TOKEN authorizer request",
       {{"token", "incoming-client-token", "the Authorization header's value"},
        {"method", "GET", "HTTP method of the request being authorized"},
        {"path", "/request", "resource path of the request being authorized"},
        {"stage", "prod", "API stage"},
        {"api-id", "1234567890", "REST API id"},
        k_region,
        k_account}},
      {"apigateway",
       "request-authorizer",
       "REST API Lambda REQUEST authorizer request",
       {{"token", "incoming-client-token", "the Authorization header's value"},
        {"method", "GET", "HTTP method of the request being authorized"},
        {"path", "/request", "resource path of the request being authorized"},
        {"stage", "prod", "API stage"},
        {"api-id", "1234567890", "REST API id"},
        k_region,
        k_account}},
      {"cloudwatch",
       "scheduled-event",
       "EventBridge (CloudWatch Events) schedule",
       {{"rule", "ExampleRule", "name of the schedule rule"}, k_region, k_account}},
      {"dynamodb",
       "update",
       "DynamoDB stream records (INSERT, MODIFY, REMOVE)",
       {{"table", "ExampleTable", "table name"}, k_region, k_account, k_partition}},
      {"eventbridge",
       "event",
       "EventBridge event",
       {{"source", "com.example.app", "event source"},
        {"detail-type", "Example Event", "detail-type"},
        {"detail", "{}", "detail, a JSON object"},
        {"event-bus", "default", "event bus name"},
        k_region,
        k_account}},
      {"kinesis",
       "get-records",
       "Kinesis Data Streams records",
       {{"stream", "example-stream", "stream name"},
        {"data", "Hello, this is a test.", "record data (base64-encoded in the event)"},
        {"partition-key", "1", "partition key"},
        k_region,
        k_account}},
      {"s3",
       "put",
       "S3 ObjectCreated:Put notification",
       {{"bucket", "example-bucket", "bucket name"},
        {"key", "test/key", "object key (URL-encoded in the event, as S3 does)"},
        {"size", "1024", "object size in bytes"},
        k_region,
        k_partition}},
      {"s3",
       "delete",
       "S3 ObjectRemoved:Delete notification",
       {{"bucket", "example-bucket", "bucket name"},
        {"key", "test/key", "object key (URL-encoded in the event, as S3 does)"},
        k_region,
        k_partition}},
      {"sns",
       "notification",
       "SNS notification",
       {{"topic", "ExampleTopic", "topic name"},
        {"message", "example message", "message"},
        {"subject", "example subject", "subject"},
        k_region,
        k_account}},
      {"sqs",
       "receive-message",
       "SQS messages delivered to Lambda",
       {{"queue", "ExampleQueue", "queue name"},
        {"body", "Hello from SQS!", "message body"},
        k_region,
        k_account,
        k_partition}},
  };
  return kinds;
}

std::string value_of(const EventKind& kind, const Values& values, std::string_view name) {
  if (auto it = values.find(std::string(name)); it != values.end())
    return it->second;
  for (const auto& flag : kind.flags)
    if (flag.name == name)
      return flag.default_value;
  return {};
}

std::mt19937_64& generator() {
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

std::uint64_t random64() {
  return generator()();
}

std::string uuid() {
  return make_uuid(generator());
}

std::string hex(std::size_t digits) {
  std::string out;
  while (out.size() < digits)
    out += fmt::format("{:016x}", random64());
  return out.substr(0, digits);
}

std::string md5_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_md5(), nullptr);
  return support::to_hex(std::string_view(reinterpret_cast<const char*>(digest), size));
}

std::chrono::system_clock::time_point now() {
  return std::chrono::system_clock::now();
}

std::int64_t epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch()).count();
}

std::int64_t epoch_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
}

// `2026-11-23T10:45:48Z` (EventBridge's time format).
std::string iso_seconds() {
  auto text = iso8601_ms(now());
  return text.substr(0, 19) + "Z";
}

// `23/Nov/2026:10:45:48 +0000` (API Gateway's requestTime).
std::string clf_time() {
  const std::time_t t = std::chrono::system_clock::to_time_t(now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%d/%b/%Y:%H:%M:%S +0000", &tm);
  return buffer;
}

// S3 notification keys are form-URL-encoded (space → '+'), keeping '/'.
std::string s3_key(std::string_view key) {
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

json::object headers_v1(std::string_view host) {
  return json::object{{"Accept", "*/*"},
                      {"Content-Type", "application/json"},
                      {"Host", host},
                      {"User-Agent", "curl/8.4.0"},
                      {"X-Forwarded-For", "127.0.0.1"},
                      {"X-Forwarded-Port", "443"},
                      {"X-Forwarded-Proto", "https"}};
}

json::object multi(const json::object& single) {
  json::object out;
  for (const auto& [key, value] : single)
    out[key] = json::array{value};
  return out;
}

json::value aws_proxy(const EventKind& kind, const Values& values) {
  const auto path = value_of(kind, values, "path");
  const auto resource = value_of(kind, values, "resource");
  const auto stage = value_of(kind, values, "stage");
  const auto api = value_of(kind, values, "api-id");
  const auto region = value_of(kind, values, "region");
  const auto method = support::to_lower(value_of(kind, values, "method"));
  const auto host = fmt::format("{}.execute-api.{}.amazonaws.com", api, region);
  const auto body = value_of(kind, values, "body");
  json::value path_parameters = nullptr;
  if (const auto brace = resource.find("{proxy+}"); brace != std::string::npos) {
    const auto prefix = resource.substr(0, brace);
    auto proxy = path.starts_with(prefix) ? path.substr(prefix.size()) : path;
    path_parameters = json::object{{"proxy", proxy}};
  }
  auto headers = headers_v1(host);
  std::string upper_method;
  for (const char c : method)
    upper_method += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return json::object{
      {"body", body},
      {"resource", resource},
      {"path", path},
      {"httpMethod", upper_method},
      {"isBase64Encoded", false},
      {"queryStringParameters", json::object{{"foo", "bar"}}},
      {"multiValueQueryStringParameters", json::object{{"foo", json::array{"bar"}}}},
      {"pathParameters", path_parameters},
      {"stageVariables", nullptr},
      {"headers", headers},
      {"multiValueHeaders", multi(headers)},
      {"requestContext",
       json::object{{"accountId", value_of(kind, values, "account-id")},
                    {"resourceId", hex(6)},
                    {"stage", stage},
                    {"requestId", uuid()},
                    {"requestTime", clf_time()},
                    {"requestTimeEpoch", epoch_ms()},
                    {"identity", json::object{{"cognitoIdentityPoolId", nullptr},
                                              {"accountId", nullptr},
                                              {"cognitoIdentityId", nullptr},
                                              {"caller", nullptr},
                                              {"accessKey", nullptr},
                                              {"sourceIp", "127.0.0.1"},
                                              {"cognitoAuthenticationType", nullptr},
                                              {"cognitoAuthenticationProvider", nullptr},
                                              {"userArn", nullptr},
                                              {"userAgent", "curl/8.4.0"},
                                              {"user", nullptr}}},
                    {"path", fmt::format("/{}{}", stage, path)},
                    {"resourcePath", resource},
                    {"httpMethod", upper_method},
                    {"apiId", api},
                    {"protocol", "HTTP/1.1"},
                    {"domainName", host},
                    {"domainPrefix", api},
                    {"extendedRequestId", hex(16)}}}};
}

json::value http_api_proxy(const EventKind& kind, const Values& values) {
  const auto path = value_of(kind, values, "path");
  const auto stage = value_of(kind, values, "stage");
  const auto api = value_of(kind, values, "api-id");
  const auto region = value_of(kind, values, "region");
  std::string method;
  for (const char c : value_of(kind, values, "method"))
    method += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const auto host = fmt::format("{}.execute-api.{}.amazonaws.com", api, region);
  const auto raw_path = stage == "$default" ? path : fmt::format("/{}{}", stage, path);
  return json::object{
      {"version", "2.0"},
      {"routeKey", "$default"},
      {"rawPath", raw_path},
      {"rawQueryString", "foo=bar"},
      {"headers", json::object{{"accept", "*/*"},
                               {"content-type", "application/json"},
                               {"host", host},
                               {"user-agent", "curl/8.4.0"},
                               {"x-forwarded-for", "127.0.0.1"},
                               {"x-forwarded-port", "443"},
                               {"x-forwarded-proto", "https"}}},
      {"queryStringParameters", json::object{{"foo", "bar"}}},
      {"requestContext", json::object{{"accountId", value_of(kind, values, "account-id")},
                                      {"apiId", api},
                                      {"domainName", host},
                                      {"domainPrefix", api},
                                      {"http", json::object{{"method", method},
                                                            {"path", raw_path},
                                                            {"protocol", "HTTP/1.1"},
                                                            {"sourceIp", "127.0.0.1"},
                                                            {"userAgent", "curl/8.4.0"}}},
                                      {"requestId", hex(16)},
                                      {"routeKey", "$default"},
                                      {"stage", stage},
                                      {"time", clf_time()},
                                      {"timeEpoch", epoch_ms()}}},
      {"body", value_of(kind, values, "body")},
      {"isBase64Encoded", false}};
}

std::string method_arn(const EventKind& kind, const Values& values) {
  std::string method;
  for (const char c : value_of(kind, values, "method"))
    method += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto path = value_of(kind, values, "path");
  if (!path.starts_with('/'))
    path.insert(path.begin(), '/');
  return fmt::format("arn:aws:execute-api:{}:{}:{}/{}/{}{}", value_of(kind, values, "region"),
                     value_of(kind, values, "account-id"), value_of(kind, values, "api-id"),
                     value_of(kind, values, "stage"), method, path);
}

json::value token_authorizer(const EventKind& kind, const Values& values) {
  return json::object{{"type", "TOKEN"},
                      {"authorizationToken", value_of(kind, values, "token")},
                      {"methodArn", method_arn(kind, values)}};
}

json::value request_authorizer(const EventKind& kind, const Values& values) {
  std::string method;
  for (const char c : value_of(kind, values, "method"))
    method += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const auto path = value_of(kind, values, "path");
  const auto api = value_of(kind, values, "api-id");
  const auto host =
      fmt::format("{}.execute-api.{}.amazonaws.com", api, value_of(kind, values, "region"));
  json::object headers{{"Authorization", value_of(kind, values, "token")},
                       {"Host", host},
                       {"User-Agent", "curl/8.4.0"}};
  return json::object{
      {"type", "REQUEST"},
      {"methodArn", method_arn(kind, values)},
      {"resource", path},
      {"path", path},
      {"httpMethod", method},
      {"headers", headers},
      {"multiValueHeaders", multi(headers)},
      {"queryStringParameters", json::object{}},
      {"multiValueQueryStringParameters", json::object{}},
      {"pathParameters", json::object{}},
      {"stageVariables", json::object{}},
      {"requestContext",
       json::object{
           {"path", fmt::format("/{}{}", value_of(kind, values, "stage"), path)},
           {"accountId", value_of(kind, values, "account-id")},
           {"resourceId", hex(6)},
           {"stage", value_of(kind, values, "stage")},
           {"requestId", uuid()},
           {"identity", json::object{{"sourceIp", "127.0.0.1"}, {"userAgent", "curl/8.4.0"}}},
           {"resourcePath", path},
           {"httpMethod", method},
           {"apiId", api},
           {"protocol", "HTTP/1.1"},
           {"requestTime", clf_time()},
           {"requestTimeEpoch", epoch_ms()},
           {"domainName", host},
           {"domainPrefix", api}}}};
}

json::value scheduled_event(const EventKind& kind, const Values& values) {
  const auto region = value_of(kind, values, "region");
  const auto account = value_of(kind, values, "account-id");
  return json::object{
      {"version", "0"},
      {"id", uuid()},
      {"detail-type", "Scheduled Event"},
      {"source", "aws.events"},
      {"account", account},
      {"time", iso_seconds()},
      {"region", region},
      {"resources", json::array{fmt::format("arn:aws:events:{}:{}:rule/{}", region, account,
                                            value_of(kind, values, "rule"))}},
      {"detail", json::object{}}};
}

json::value eventbridge_event(const EventKind& kind, const Values& values) {
  const auto detail_text = value_of(kind, values, "detail");
  boost::system::error_code ec;
  auto detail = json::parse(detail_text, ec);
  if (ec || !detail.is_object())
    throw std::invalid_argument("--detail must be a JSON object");
  return json::object{{"version", "0"},
                      {"id", uuid()},
                      {"detail-type", value_of(kind, values, "detail-type")},
                      {"source", value_of(kind, values, "source")},
                      {"account", value_of(kind, values, "account-id")},
                      {"time", iso_seconds()},
                      {"region", value_of(kind, values, "region")},
                      {"resources", json::array{}},
                      {"detail", detail}};
}

json::value dynamodb_update(const EventKind& kind, const Values& values) {
  const auto arn =
      fmt::format("arn:{}:dynamodb:{}:{}:table/{}/stream/{}", value_of(kind, values, "partition"),
                  value_of(kind, values, "region"), value_of(kind, values, "account-id"),
                  value_of(kind, values, "table"), iso8601_ms(now()).substr(0, 23));
  auto record = [&](std::string_view name, json::value keys, json::value new_image,
                    json::value old_image, int size) {
    json::object dynamodb{{"ApproximateCreationDateTime", epoch_s()}, {"Keys", std::move(keys)}};
    if (!new_image.is_null())
      dynamodb["NewImage"] = std::move(new_image);
    if (!old_image.is_null())
      dynamodb["OldImage"] = std::move(old_image);
    dynamodb["SequenceNumber"] =
        std::to_string(100000000000000000ULL + random64() % 900000000000000000ULL);
    dynamodb["SizeBytes"] = size;
    dynamodb["StreamViewType"] = "NEW_AND_OLD_IMAGES";
    return json::object{{"eventID", hex(32)},
                        {"eventName", name},
                        {"eventVersion", "1.1"},
                        {"eventSource", "aws:dynamodb"},
                        {"awsRegion", value_of(kind, values, "region")},
                        {"dynamodb", std::move(dynamodb)},
                        {"eventSourceARN", arn}};
  };
  auto key = json::object{{"Id", json::object{{"N", "101"}}}};
  auto item = [](std::string_view message) {
    return json::object{{"Message", json::object{{"S", message}}},
                        {"Id", json::object{{"N", "101"}}}};
  };
  return json::object{
      {"Records",
       json::array{record("INSERT", key, item("New item!"), nullptr, 26),
                   record("MODIFY", key, item("This item has changed"), item("New item!"), 59),
                   record("REMOVE", key, nullptr, item("This item has changed"), 38)}}};
}

json::value kinesis_records(const EventKind& kind, const Values& values) {
  const auto region = value_of(kind, values, "region");
  return json::object{
      {"Records",
       json::array{json::object{
           {"kinesis",
            json::object{{"kinesisSchemaVersion", "1.0"},
                         {"partitionKey", value_of(kind, values, "partition-key")},
                         {"sequenceNumber", fmt::format("4959{:052}", random64() % 1000000)},
                         {"data", support::base64_encode(value_of(kind, values, "data"))},
                         {"approximateArrivalTimestamp", epoch_s()}}},
           {"eventSource", "aws:kinesis"},
           {"eventVersion", "1.0"},
           {"eventID", fmt::format("shardId-000000000000:4959{:052}", random64() % 1000000)},
           {"eventName", "aws:kinesis:record"},
           {"invokeIdentityArn",
            fmt::format("arn:aws:iam::{}:role/lambda-role", value_of(kind, values, "account-id"))},
           {"awsRegion", region},
           {"eventSourceARN", fmt::format("arn:aws:kinesis:{}:{}:stream/{}", region,
                                          value_of(kind, values, "account-id"),
                                          value_of(kind, values, "stream"))}}}}};
}

json::value s3_event(const EventKind& kind, const Values& values, bool put) {
  const auto bucket = value_of(kind, values, "bucket");
  json::object object{{"key", s3_key(value_of(kind, values, "key"))}};
  if (put) {
    const auto size_text = value_of(kind, values, "size");
    std::int64_t size = 0;
    try {
      size = std::stoll(size_text);
    } catch (const std::exception&) {
      throw std::invalid_argument("--size must be a number of bytes");
    }
    object["size"] = size;
    object["eTag"] = hex(32);
  }
  object["sequencer"] = fmt::format("{:016X}", random64()).substr(0, 18);
  return json::object{
      {"Records",
       json::array{json::object{
           {"eventVersion", "2.1"},
           {"eventSource", "aws:s3"},
           {"awsRegion", value_of(kind, values, "region")},
           {"eventTime", iso8601_ms(now())},
           {"eventName", put ? "ObjectCreated:Put" : "ObjectRemoved:Delete"},
           {"userIdentity", json::object{{"principalId", "EXAMPLE"}}},
           {"requestParameters", json::object{{"sourceIPAddress", "127.0.0.1"}}},
           {"responseElements",
            json::object{{"x-amz-request-id", fmt::format("{:016X}", random64())},
                         {"x-amz-id-2", support::base64_encode(hex(48))}}},
           {"s3",
            json::object{
                {"s3SchemaVersion", "1.0"},
                {"configurationId", "testConfigRule"},
                {"bucket",
                 json::object{{"name", bucket},
                              {"ownerIdentity", json::object{{"principalId", "EXAMPLE"}}},
                              {"arn", fmt::format("arn:{}:s3:::{}",
                                                  value_of(kind, values, "partition"), bucket)}}},
                {"object", object}}}}}}};
}

json::value sns_notification(const EventKind& kind, const Values& values) {
  const auto topic_arn =
      fmt::format("arn:aws:sns:{}:{}:{}", value_of(kind, values, "region"),
                  value_of(kind, values, "account-id"), value_of(kind, values, "topic"));
  const auto subscription = topic_arn + ":" + uuid();
  return json::object{
      {"Records",
       json::array{json::object{
           {"EventSource", "aws:sns"},
           {"EventVersion", "1.0"},
           {"EventSubscriptionArn", subscription},
           {"Sns", json::object{
                       {"Type", "Notification"},
                       {"MessageId", uuid()},
                       {"TopicArn", topic_arn},
                       {"Subject", value_of(kind, values, "subject")},
                       {"Message", value_of(kind, values, "message")},
                       {"Timestamp", iso8601_ms(now())},
                       {"SignatureVersion", "1"},
                       {"Signature", "EXAMPLE"},
                       {"SigningCertUrl", fmt::format("https://sns.{}.amazonaws.com/"
                                                      "SimpleNotificationService-{}.pem",
                                                      value_of(kind, values, "region"), hex(32))},
                       {"UnsubscribeUrl",
                        fmt::format("https://sns.{}.amazonaws.com/"
                                    "?Action=Unsubscribe&SubscriptionArn={}",
                                    value_of(kind, values, "region"), subscription)},
                       {"MessageAttributes", json::object{}}}}}}}};
}

json::value sqs_receive(const EventKind& kind, const Values& values) {
  const auto body = value_of(kind, values, "body");
  const auto sent = std::to_string(epoch_ms());
  return json::object{
      {"Records",
       json::array{json::object{
           {"messageId", uuid()},
           {"receiptHandle", support::base64_encode(hex(96))},
           {"body", body},
           {"attributes", json::object{{"ApproximateReceiveCount", "1"},
                                       {"SentTimestamp", sent},
                                       {"SenderId", "AIDAIENQZJOLO23YVJ4VO"},
                                       {"ApproximateFirstReceiveTimestamp", sent}}},
           {"messageAttributes", json::object{}},
           {"md5OfBody", md5_hex(body)},
           {"eventSource", "aws:sqs"},
           {"eventSourceARN",
            fmt::format("arn:{}:sqs:{}:{}:{}", value_of(kind, values, "partition"),
                        value_of(kind, values, "region"), value_of(kind, values, "account-id"),
                        value_of(kind, values, "queue"))},
           {"awsRegion", value_of(kind, values, "region")}}}}};
}

void pretty(std::string& out, const json::value& value, int indent) {
  const std::string pad(static_cast<std::size_t>(indent) + 2, ' ');
  if (value.is_object()) {
    const auto& object = value.as_object();
    if (object.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    std::size_t i = 0;
    for (const auto& [key, item] : object) {
      out += pad;
      out += json::serialize(json::string(key));
      out += ": ";
      pretty(out, item, indent + 2);
      out += ++i < object.size() ? ",\n" : "\n";
    }
    out += std::string(static_cast<std::size_t>(indent), ' ') + "}";
    return;
  }
  if (value.is_array()) {
    const auto& array = value.as_array();
    if (array.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (std::size_t i = 0; i < array.size(); ++i) {
      out += pad;
      pretty(out, array[i], indent + 2);
      out += i + 1 < array.size() ? ",\n" : "\n";
    }
    out += std::string(static_cast<std::size_t>(indent), ' ') + "]";
    return;
  }
  out += json::serialize(value);
}

} // namespace

const std::vector<EventKind>& event_catalogue() {
  return catalogue();
}

std::vector<EventFlag> all_event_flags() {
  std::vector<EventFlag> flags;
  for (const auto& kind : catalogue())
    for (const auto& flag : kind.flags) {
      bool seen = false;
      for (const auto& existing : flags)
        seen = seen || existing.name == flag.name;
      if (!seen)
        flags.push_back(EventFlag{flag.name, "", flag.help});
    }
  return flags;
}

support::Result<std::string> generate_event(std::string_view service, std::string_view event,
                                            const std::map<std::string, std::string>& values) {
  std::vector<std::string> services;
  const EventKind* kind = nullptr;
  std::vector<std::string> events;
  for (const auto& candidate : catalogue()) {
    if (std::find(services.begin(), services.end(), candidate.service) == services.end())
      services.push_back(candidate.service);
    if (candidate.service == service) {
      events.push_back(candidate.event);
      if (candidate.event == event)
        kind = &candidate;
    }
  }
  auto usage = [](std::string message) {
    return support::fail(std::move(message), support::ExitCode::usage);
  };
  if (events.empty()) {
    std::string hint;
    if (auto close = support::closest_match(service, services))
      hint = fmt::format("; did you mean '{}'?", *close);
    return usage(fmt::format("unknown service '{}'{} (services: {})", service, hint,
                             support::join(services, ", ")));
  }
  if (kind == nullptr) {
    std::string hint;
    if (auto close = support::closest_match(event, events))
      hint = fmt::format("; did you mean '{}'?", *close);
    return usage(fmt::format("unknown {} event '{}'{} ({} events: {})", service, event, hint,
                             service, support::join(events, ", ")));
  }
  for (const auto& [name, value] : values) {
    bool known = false;
    std::vector<std::string> names;
    for (const auto& flag : kind->flags) {
      known = known || flag.name == name;
      names.push_back("--" + flag.name);
    }
    if (!known)
      return usage(fmt::format("--{} does not apply to {} {} (its flags: {})", name, service, event,
                               support::join(names, " ")));
  }
  json::value document;
  try {
    const auto& k = *kind;
    if (k.service == "apigateway" && k.event == "aws-proxy")
      document = aws_proxy(k, values);
    else if (k.service == "apigateway" && k.event == "http-api-proxy")
      document = http_api_proxy(k, values);
    else if (k.service == "apigateway" && k.event == "authorizer")
      document = token_authorizer(k, values);
    else if (k.service == "apigateway" && k.event == "request-authorizer")
      document = request_authorizer(k, values);
    else if (k.service == "cloudwatch")
      document = scheduled_event(k, values);
    else if (k.service == "dynamodb")
      document = dynamodb_update(k, values);
    else if (k.service == "eventbridge")
      document = eventbridge_event(k, values);
    else if (k.service == "kinesis")
      document = kinesis_records(k, values);
    else if (k.service == "s3")
      document = s3_event(k, values, k.event == "put");
    else if (k.service == "sns")
      document = sns_notification(k, values);
    else
      document = sqs_receive(k, values);
  } catch (const std::invalid_argument& e) {
    return usage(e.what());
  }
  std::string out;
  pretty(out, document, 0);
  out += '\n';
  return out;
}

} // namespace wisp::runtime
