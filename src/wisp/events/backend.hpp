#pragma once
// The backend the event sources talk to (moto, LocalStack or an AWS account): typed calls for
// SQS, SNS, DynamoDB, DynamoDB Streams, Kinesis, S3 notifications, EventBridge and STS, over
// the shared AWS client (SigV4, the credential chain, retries with backoff).
//
// Contract: every call is one blocking request (retried by the client on throttling, 5xx and
// transport failures); failures are aws::ServiceError values. Thread-safe.

#include <wisp/aws/client.hpp>

#include <boost/json/object.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::events {

template <class T> using AwsResult = aws::AwsResult<T>;
using AwsStatus = aws::AwsStatus;

struct ShardInfo {
  std::string id;
  std::string parent;  // empty when none
  bool closed = false; // has an ending sequence number
};

struct GetRecordsResult {
  std::vector<boost::json::object> records;
  std::string next_iterator; // empty: the shard is closed and read to its end
};

class Backend {
public:
  explicit Backend(std::shared_ptr<aws::Client> client);

  [[nodiscard]] const aws::Client& client() const { return *m_client; }
  [[nodiscard]] std::shared_ptr<aws::Client> shared_client() const { return m_client; }
  [[nodiscard]] const std::string& region() const { return m_client->region(); }
  // The account id (STS GetCallerIdentity, asked once).
  AwsResult<std::string> account_id() const;

  // ---- SQS (JSON protocol)
  AwsResult<std::optional<std::string>> queue_url(std::string_view name) const; // nullopt: none
  AwsResult<std::string> create_queue(std::string_view name,
                                      const std::map<std::string, std::string>& attributes) const;
  AwsResult<std::map<std::string, std::string>> queue_attributes(std::string_view url) const;
  AwsStatus set_queue_attributes(std::string_view url,
                                 const std::map<std::string, std::string>& attributes) const;
  AwsResult<std::vector<boost::json::object>> receive(std::string_view url, int max_messages,
                                                      int wait_seconds) const;
  struct Receipt {
    std::string id; // the message id
    std::string handle;
  };
  // The message ids that could not be deleted (with SQS's reason).
  AwsResult<std::map<std::string, std::string>>
  delete_messages(std::string_view url, const std::vector<Receipt>& items) const;
  AwsResult<std::map<std::string, std::string>>
  change_visibility(std::string_view url, const std::vector<Receipt>& items, int seconds) const;
  AwsResult<std::string> send_message(std::string_view url, std::string_view body,
                                      std::string_view group_id = {}) const;

  // ---- SNS (query protocol)
  AwsResult<std::string> create_topic(std::string_view name,
                                      const std::map<std::string, std::string>& attributes) const;
  AwsResult<bool> topic_exists(std::string_view arn) const;
  struct Subscription {
    std::string arn;
    std::string protocol;
    std::string endpoint;
  };
  AwsResult<std::vector<Subscription>> subscriptions(std::string_view topic_arn) const;
  AwsResult<std::string> subscribe(std::string_view topic_arn, std::string_view protocol,
                                   std::string_view endpoint,
                                   const std::map<std::string, std::string>& attributes) const;
  AwsStatus set_subscription_attribute(std::string_view arn, std::string_view name,
                                       std::string_view value) const;
  AwsResult<std::string> publish(std::string_view topic_arn, std::string_view message) const;

  // ---- DynamoDB and Streams
  AwsResult<std::optional<boost::json::object>> describe_table(std::string_view name) const;
  AwsStatus create_table(const boost::json::object& request) const;
  AwsResult<std::vector<ShardInfo>> dynamodb_shards(std::string_view stream_arn) const;
  AwsResult<std::string> dynamodb_iterator(std::string_view stream_arn, std::string_view shard,
                                           std::string_view type,
                                           std::string_view sequence = {}) const;
  AwsResult<GetRecordsResult> dynamodb_records(std::string_view iterator, int limit) const;

  // ---- Kinesis
  AwsResult<std::optional<boost::json::object>> describe_stream(std::string_view name) const;
  AwsStatus create_stream(std::string_view name, const boost::json::object& settings) const;
  AwsResult<std::vector<ShardInfo>> kinesis_shards(std::string_view stream_arn) const;
  AwsResult<std::string> kinesis_iterator(std::string_view stream_arn, std::string_view shard,
                                          std::string_view type, std::string_view sequence = {},
                                          std::optional<double> timestamp = {}) const;
  AwsResult<GetRecordsResult> kinesis_records(std::string_view stream_arn,
                                              std::string_view iterator, int limit) const;

  // ---- S3
  AwsResult<bool> bucket_exists(std::string_view bucket) const;
  AwsStatus create_bucket(std::string_view bucket) const;
  // The bucket's NotificationConfiguration XML (an empty configuration when none).
  AwsResult<std::string> bucket_notifications(std::string_view bucket) const;
  AwsStatus put_bucket_notifications(std::string_view bucket, std::string_view xml) const;

  // ---- EventBridge
  AwsResult<std::optional<std::string>> event_bus_arn(std::string_view name) const;
  AwsResult<std::string> create_event_bus(std::string_view name) const;
  AwsResult<std::string> put_rule(std::string_view name, std::string_view bus,
                                  std::string_view pattern) const; // the rule's ARN
  AwsResult<std::optional<std::string>> rule_arn(std::string_view name, std::string_view bus) const;
  AwsStatus put_target(std::string_view rule, std::string_view bus, std::string_view id,
                       std::string_view arn) const;

private:
  AwsResult<boost::json::value> call(aws::Service service, std::string_view prefix,
                                     std::string_view operation, const boost::json::object& body,
                                     std::string_view version) const;
  std::shared_ptr<aws::Client> m_client;
  mutable std::string m_account;
};

// Lower-cased "is this a not-found error" for the services' various codes.
bool not_found(const aws::ServiceError& error);

} // namespace wisp::events
