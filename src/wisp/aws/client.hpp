#pragma once
// The AWS client shared by package (S3), deploy (Lambda, API Gateway, IAM, CloudWatch, STS)
// and logs (CloudWatch Logs).
//
// Contract:
// - `make_client` resolves the profile, region and endpoints up front (a missing region is
//   an error there); credentials are resolved on the first call and refreshed before they
//   expire.
// - Every request is signed with SigV4 and carries `x-amz-content-sha256`.
// - Throttling (429, ThrottlingException, TooManyRequestsException, ...), 5xx and transport
//   failures (refused, reset, timeout) are retried with exponential backoff and full
//   jitter, up to `max_attempts` attempts in all.
// - Failures are `ServiceError`s naming the service, operation, HTTP status, the service's
//   error code and message. They convert to support::Error, so WISP_TRY works with them.
// - A custom endpoint answering 500 with an HTML page (what moto does for operations it
//   does not implement) is reported as unsupported at once, not retried.
// - The client is thread-safe; connections are kept alive and reused.
// - Secrets (keys, tokens, signatures) never appear in errors or debug logs.

#include <wisp/aws/config.hpp>
#include <wisp/aws/xml.hpp>
#include <wisp/support/error.hpp>
#include <wisp/support/http.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wisp::aws {

enum class Service {
  lambda,
  apigateway,   // API Gateway REST APIs (v1)
  apigatewayv2, // API Gateway HTTP APIs (v2)
  s3,
  logs,       // CloudWatch Logs
  cloudwatch, // CloudWatch (alarms, metrics)
  iam,
  sts,
  cloudformation,
  sqs,             // JSON 1.0 (AmazonSQS)
  sns,             // query protocol
  dynamodb,        // JSON 1.0 (DynamoDB_20120810)
  dynamodbstreams, // JSON 1.0 (DynamoDBStreams_20120810), signed as dynamodb
  kinesis,         // JSON 1.1 (Kinesis_20131202)
  events,          // EventBridge, JSON 1.1 (AWSEvents)
  ecr,             // JSON 1.1 (AmazonEC2ContainerRegistry_V20150921), api.ecr.<region>
};

std::string_view service_name(Service service); // "lambda", "apigateway", ...

struct ServiceError {
  std::string service;   // "lambda"
  std::string operation; // "CreateFunction"
  long status = 0;       // HTTP status; 0 when no response arrived
  std::string code;      // e.g. "ResourceNotFoundException"; empty on transport failures
  std::string message;   // the service's message (or the transport failure)
  std::string request_id;
  int attempts = 1; // how many were made (retries included)

  // "lambda CreateFunction: ResourceConflictException: Function already exist (HTTP 409)"
  [[nodiscard]] std::string describe() const;
  [[nodiscard]] bool is(std::string_view error_code) const { return code == error_code; }
  [[nodiscard]] bool not_found() const; // 404 or a *NotFound* / NoSuch* code
  // NOLINTNEXTLINE(google-explicit-constructor): lets WISP_TRY pass it on as support::Error
  operator support::Error() const {
    return support::Error{describe(), {}, support::ExitCode::failure};
  }
};

template <class T> using AwsResult = tl::expected<T, ServiceError>;

// The error of a failed call as wisp's own error (what `tl::unexpected` of a Result wants).
template <class T> support::Error error_of(const AwsResult<T>& result) {
  return support::Error(result.error());
}
using AwsStatus = tl::expected<void, ServiceError>;

struct ClientOptions {
  std::string region;       // --region; empty: AWS_REGION, AWS_DEFAULT_REGION, profile
  std::string profile;      // --profile
  std::string endpoint_url; // --endpoint-url; empty: AWS_ENDPOINT_URL[_<SERVICE>], AWS
  int max_attempts = 0;     // 0: AWS_MAX_ATTEMPTS, the profile's max_attempts, else 5
  bool verify_tls = true;
  std::chrono::milliseconds base_delay{200};  // backoff base (delay ≤ base·2^attempt, ≤ 20 s)
  std::chrono::milliseconds timeout{120'000}; // per attempt
  // --cli-connect-timeout / --cli-read-timeout: connecting, and a transfer stalled (no byte)
  // this long, fail the attempt (then retried). 0 = no limit.
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds read_timeout{60};
  EnvLookup env = process_env();
  std::filesystem::path home;                  // ~ for ~/.aws; empty: $HOME
  std::function<void(std::string_view)> debug; // debug lines (never secrets)
};

using Query = std::vector<std::pair<std::string, std::string>>;

struct ServiceRequest {
  Service service = Service::lambda;
  std::string operation; // for errors and logs
  std::string method = "GET";
  std::string path = "/"; // percent-encoded path below the endpoint
  Query query;            // raw pairs
  support::http::Headers headers;
  std::string body;
  std::optional<std::filesystem::path> body_file;
  std::string body_sha256; // hex; computed when empty
  std::optional<std::filesystem::path> response_file;
  std::string bucket; // S3: virtual-hosted or path-style addressing is chosen by the client
};

class Client {
public:
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  [[nodiscard]] const std::string& region() const;
  [[nodiscard]] const std::string& profile_name() const;
  // The base URL a service is reached at (the custom endpoint, or AWS's).
  [[nodiscard]] std::string endpoint(Service service) const;
  [[nodiscard]] bool custom_endpoint(Service service) const;

  // The raw exchange: signed, retried; 2xx responses are returned, others are errors.
  AwsResult<support::http::Response> send(const ServiceRequest& request) const;

  // REST-JSON (Lambda, API Gateway): an optional JSON body; the response JSON (null when
  // the body is empty).
  AwsResult<boost::json::value> rest_json(Service service, std::string_view operation,
                                          std::string_view method, std::string path,
                                          Query query = {},
                                          const boost::json::value* body = nullptr) const;

  // JSON 1.0/1.1 RPC (CloudWatch Logs): POST / with X-Amz-Target: <target_prefix>.<operation>.
  AwsResult<boost::json::value> json_rpc(Service service, std::string_view target_prefix,
                                         std::string_view operation,
                                         const boost::json::object& body,
                                         std::string_view json_version = "1.1") const;

  // Query protocol (IAM, STS, CloudWatch): POST form with Action and Version; the
  // response XML's root element.
  AwsResult<XmlNode> query(Service service, std::string_view action, std::string_view version,
                           const Query& parameters) const;

  // Credentials in use (resolved now if needed). Do not print them.
  support::Result<Credentials> credentials() const;

  // Counts of calls sent, by kind (for tests and benchmarks: "no mutating call").
  struct Counters {
    std::atomic<long> requests{0}; // attempts sent, retries included
    std::atomic<long> mutating{0}; // non-GET/HEAD operations (first attempts only)
    std::atomic<long> retries{0};
  };
  [[nodiscard]] const Counters& counters() const;

private:
  friend support::Result<std::shared_ptr<Client>> make_client(const ClientOptions& options);
  Client();
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

support::Result<std::shared_ptr<Client>> make_client(const ClientOptions& options);

// Whether an error code means throttling (retried with backoff).
bool is_throttling_code(std::string_view code);

} // namespace wisp::aws
