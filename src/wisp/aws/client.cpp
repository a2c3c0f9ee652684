#include <wisp/aws/client.hpp>

#include <wisp/aws/sigv4.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>
#include <wisp/version.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

namespace wisp::aws {

namespace http = support::http;

std::string_view service_name(Service service) {
  switch (service) {
  case Service::lambda:
    return "lambda";
  case Service::apigateway:
    return "apigateway";
  case Service::apigatewayv2:
    return "apigatewayv2";
  case Service::s3:
    return "s3";
  case Service::logs:
    return "logs";
  case Service::cloudwatch:
    return "cloudwatch";
  case Service::iam:
    return "iam";
  case Service::sts:
    return "sts";
  case Service::cloudformation:
    return "cloudformation";
  case Service::sqs:
    return "sqs";
  case Service::sns:
    return "sns";
  case Service::dynamodb:
    return "dynamodb";
  case Service::dynamodbstreams:
    return "dynamodbstreams";
  case Service::kinesis:
    return "kinesis";
  case Service::events:
    return "events";
  case Service::ecr:
    return "ecr";
  }
  return "unknown";
}

namespace {

constexpr Service k_all_services[] = {
    Service::lambda,  Service::apigateway, Service::apigatewayv2,
    Service::s3,      Service::logs,       Service::cloudwatch,
    Service::iam,     Service::sts,        Service::sqs,
    Service::sns,     Service::dynamodb,   Service::dynamodbstreams,
    Service::kinesis, Service::events,     Service::cloudformation,
    Service::ecr};

// SigV4 signing name.
std::string_view signing_name(Service service) {
  switch (service) {
  case Service::apigateway:
  case Service::apigatewayv2:
    return "apigateway";
  case Service::cloudwatch:
    return "monitoring";
  case Service::dynamodbstreams:
    return "dynamodb";
  default:
    return service_name(service);
  }
}

// The AWS_ENDPOINT_URL_<ID> suffix (the service id in upper snake case).
std::string_view endpoint_env_suffix(Service service) {
  switch (service) {
  case Service::lambda:
    return "LAMBDA";
  case Service::apigateway:
    return "API_GATEWAY";
  case Service::apigatewayv2:
    return "APIGATEWAYV2";
  case Service::s3:
    return "S3";
  case Service::logs:
    return "CLOUDWATCH_LOGS";
  case Service::cloudwatch:
    return "CLOUDWATCH";
  case Service::iam:
    return "IAM";
  case Service::sts:
    return "STS";
  case Service::cloudformation:
    return "CLOUDFORMATION";
  case Service::sqs:
    return "SQS";
  case Service::sns:
    return "SNS";
  case Service::dynamodb:
    return "DYNAMODB";
  case Service::dynamodbstreams:
    return "DYNAMODB_STREAMS";
  case Service::kinesis:
    return "KINESIS";
  case Service::events:
    return "EVENTBRIDGE";
  case Service::ecr:
    return "ECR";
  }
  return "";
}

std::string default_endpoint(Service service, const std::string& region) {
  const std::string suffix = region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  switch (service) {
  case Service::iam:
    if (region.starts_with("cn-"))
      return "https://iam.cn-north-1.amazonaws.com.cn";
    if (region.starts_with("us-gov-"))
      return "https://iam.us-gov.amazonaws.com";
    return "https://iam.amazonaws.com";
  case Service::apigateway:
  case Service::apigatewayv2:
    return fmt::format("https://apigateway.{}.{}", region, suffix);
  case Service::cloudwatch:
    return fmt::format("https://monitoring.{}.{}", region, suffix);
  case Service::dynamodbstreams:
    return fmt::format("https://streams.dynamodb.{}.{}", region, suffix);
  case Service::ecr:
    return fmt::format("https://api.ecr.{}.{}", region, suffix);
  default:
    return fmt::format("https://{}.{}.{}", service_name(service), region, suffix);
  }
}

std::string signing_region(Service service, const std::string& region) {
  if (service == Service::iam) {
    if (region.starts_with("cn-"))
      return "cn-north-1";
    if (region.starts_with("us-gov-"))
      return "us-gov-west-1";
    return "us-east-1";
  }
  return region;
}

bool valid_region(std::string_view region) {
  if (region.empty() || region.size() > 64)
    return false;
  return std::all_of(region.begin(), region.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool dns_compatible_bucket(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63)
    return false;
  return std::all_of(bucket.begin(), bucket.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool is_read_operation(std::string_view operation) {
  for (const char* prefix : {"Get", "List", "Describe", "Head", "Filter", "Search", "Lookup"})
    if (operation.starts_with(prefix))
      return true;
  return false;
}

std::string strip_code(std::string code) {
  // "com.amazonaws.logs#ResourceNotFoundException" / "Code:http://internal..."
  if (const auto hash = code.rfind('#'); hash != std::string::npos)
    code = code.substr(hash + 1);
  if (const auto colon = code.find(':'); colon != std::string::npos)
    code = code.substr(0, colon);
  return std::string(support::trim(code));
}

std::string status_text(long status) {
  switch (status) {
  case 400:
    return "Bad Request";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 409:
    return "Conflict";
  case 412:
    return "Precondition Failed";
  case 429:
    return "Too Many Requests";
  case 500:
    return "Internal Server Error";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  default:
    return "HTTP " + std::to_string(status);
  }
}

ServiceError parse_error(Service service, std::string_view operation,
                         const http::Response& response) {
  ServiceError error;
  error.service = std::string(service_name(service));
  error.operation = std::string(operation);
  error.status = response.status;
  error.request_id = response.header("x-amzn-requestid")
                         .value_or(response.header("x-amz-request-id").value_or(""));
  if (auto type = response.header("x-amzn-errortype"))
    error.code = strip_code(*type);
  const auto body = support::trim(response.body);
  if (!body.empty() && body.front() == '{') {
    boost::system::error_code ec;
    const auto json = boost::json::parse(body, ec);
    if (!ec && json.is_object()) {
      const auto& object = json.as_object();
      const auto text = [&](const char* key) -> std::string {
        const auto* value = object.if_contains(key);
        return value != nullptr && value->is_string() ? std::string(value->as_string()) : "";
      };
      if (error.code.empty()) {
        for (const char* key : {"__type", "code", "Code", "errorType"}) {
          if (auto value = text(key); !value.empty()) {
            error.code = strip_code(value);
            break;
          }
        }
      }
      for (const char* key : {"message", "Message", "errorMessage"}) {
        if (auto value = text(key); !value.empty()) {
          error.message = value;
          break;
        }
      }
    }
  } else if (!body.empty() && body.front() == '<') {
    if (auto xml = parse_xml(body)) {
      const XmlNode* node = xml->name == "Error" ? &*xml : xml->find("Error");
      if (node != nullptr) {
        if (error.code.empty())
          error.code = node->text_at("Code");
        error.message = node->text_at("Message");
      }
      if (error.request_id.empty()) {
        error.request_id = xml->text_at("RequestId");
        if (error.request_id.empty())
          error.request_id = xml->text_at("RequestID");
      }
    }
  } else if (!body.empty() && body.size() < 300 && error.message.empty()) {
    error.message = std::string(body);
  }
  if (error.code.empty())
    error.code = response.status == 404 ? "NotFound" : std::to_string(response.status);
  if (error.message.empty())
    error.message = status_text(response.status);
  return error;
}

bool html_page(const http::Response& response) {
  const auto type = support::to_lower(response.header("content-type").value_or(""));
  if (type.find("text/html") != std::string::npos)
    return true;
  const auto start = support::to_lower(support::trim(response.body).substr(0, 15));
  return start.starts_with("<!doctype html") || start.starts_with("<html");
}

bool retryable_status(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504 ||
         status == 509;
}

} // namespace

bool is_throttling_code(std::string_view code) {
  static constexpr std::string_view k_codes[] = {
      "Throttling",
      "ThrottlingException",
      "ThrottledException",
      "RequestThrottledException",
      "TooManyRequestsException",
      "ProvisionedThroughputExceededException",
      "TransactionInProgressException",
      "RequestLimitExceeded",
      "BandwidthLimitExceeded",
      "LimitExceededException",
      "RequestThrottled",
      "SlowDown",
      "PriorRequestNotComplete",
      "EC2ThrottledException",
      "RequestTimeout",
      "RequestTimeoutException",
  };
  return std::find(std::begin(k_codes), std::end(k_codes), code) != std::end(k_codes);
}

std::string ServiceError::describe() const {
  std::string out = fmt::format("{} {}: ", service, operation);
  if (status == 0)
    return out + message;
  if (!code.empty() && code != std::to_string(status))
    out += code + ": ";
  out += message;
  out += fmt::format(" (HTTP {}", status);
  if (!request_id.empty())
    out += ", request id " + request_id;
  if (attempts > 1)
    out += fmt::format(", after {} attempts", attempts);
  out += ")";
  return out;
}

bool ServiceError::not_found() const {
  return status == 404 || code.find("NotFound") != std::string::npos || code.starts_with("NoSuch");
}

struct Client::Impl {
  ClientOptions options;
  AwsConfig config;
  std::map<Service, std::string> endpoints; // base URL, no trailing slash
  std::map<Service, bool> custom;
  int max_attempts = 5;
  http::Client http;
  http::Client metadata_http;
  mutable std::mutex credentials_mutex;
  mutable std::optional<Credentials> cached_credentials;
  mutable Counters counters;
  mutable std::mutex random_mutex;
  mutable std::mt19937_64 random{std::random_device{}()};

  void debug(std::string_view line) const {
    if (options.debug)
      options.debug(line);
  }

  std::chrono::milliseconds backoff(int attempt) const {
    const auto cap = std::chrono::milliseconds(20'000);
    auto ceiling = options.base_delay * (1LL << std::min(attempt, 16));
    if (ceiling > cap)
      ceiling = cap;
    std::lock_guard lock(random_mutex);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    return std::chrono::milliseconds(
        static_cast<long long>(unit(random) * static_cast<double>(ceiling.count())));
  }

  MetadataResponse fetch_metadata(const MetadataRequest& request) const {
    http::Request http_request;
    http_request.method = request.method;
    http_request.url = request.url;
    for (const auto& [name, value] : request.headers)
      http_request.headers.emplace_back(name, value);
    http_request.connect_timeout = std::chrono::milliseconds(1000);
    http_request.timeout = std::chrono::milliseconds(2000);
    auto response = metadata_http.send(http_request);
    if (!response)
      return {0, {}};
    return {response->status, std::move(response->body)};
  }

  support::Result<Credentials> credentials() const {
    std::lock_guard lock(credentials_mutex);
    if (cached_credentials && !cached_credentials->expires_within(std::chrono::minutes(5)))
      return *cached_credentials;
    auto resolved = resolve_credentials(
        config, options.env, [this](const MetadataRequest& r) { return fetch_metadata(r); });
    if (!resolved)
      return resolved;
    debug(fmt::format("aws: credentials from {}", resolved->source));
    cached_credentials = *resolved;
    return resolved;
  }
};

Client::Client() : m_impl(std::make_unique<Impl>()) {}
Client::~Client() = default;

const std::string& Client::region() const {
  return m_impl->config.region;
}

const std::string& Client::profile_name() const {
  return m_impl->config.profile_name;
}

std::string Client::endpoint(Service service) const {
  return m_impl->endpoints.at(service);
}

bool Client::custom_endpoint(Service service) const {
  return m_impl->custom.at(service);
}

const Client::Counters& Client::counters() const {
  return m_impl->counters;
}

support::Result<Credentials> Client::credentials() const {
  return m_impl->credentials();
}

support::Result<std::shared_ptr<Client>> make_client(const ClientOptions& options) {
  std::shared_ptr<Client> client(new Client());
  auto& impl = *client->m_impl;
  impl.options = options;
  WISP_TRY_ASSIGN(impl.config,
                  load_config({options.profile, options.region, options.env, options.home}));
  if (impl.config.region.empty())
    return support::fail("no AWS region: pass --region, set AWS_REGION or AWS_DEFAULT_REGION, "
                         "or set region in the profile (~/.aws/config)");
  if (!valid_region(impl.config.region))
    return support::failf("invalid AWS region '{}'", impl.config.region);

  const auto& env = options.env;
  const auto env_value = [&](const std::string& name) -> std::string {
    auto value = env(name);
    return value ? std::string(support::trim(*value)) : std::string();
  };
  const bool ignore_configured =
      support::iequals(env_value("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true");
  for (const auto service : k_all_services) {
    std::string url = options.endpoint_url;
    std::string origin = "--endpoint-url";
    if (url.empty() && !ignore_configured) {
      const auto specific = fmt::format("AWS_ENDPOINT_URL_{}", endpoint_env_suffix(service));
      url = env_value(specific);
      origin = specific;
      if (url.empty()) {
        url = env_value("AWS_ENDPOINT_URL");
        origin = "AWS_ENDPOINT_URL";
      }
      if (url.empty()) {
        if (auto it = impl.config.profile.find("endpoint_url"); it != impl.config.profile.end())
          url = it->second;
        origin = "endpoint_url in profile " + impl.config.profile_name;
      }
    }
    impl.custom[service] = !url.empty();
    if (url.empty())
      url = default_endpoint(service, impl.config.region);
    auto parsed = http::parse_url(url);
    if (!parsed || !parsed->query.empty())
      return support::failf("invalid endpoint URL '{}' ({}): expected http(s)://host[:port]", url,
                            origin);
    while (url.size() > 1 && url.back() == '/')
      url.pop_back();
    impl.endpoints[service] = url;
  }

  int attempts = options.max_attempts;
  if (attempts <= 0) {
    auto text = env_value("AWS_MAX_ATTEMPTS");
    if (text.empty())
      if (auto it = impl.config.profile.find("max_attempts"); it != impl.config.profile.end())
        text = it->second;
    if (!text.empty()) {
      try {
        attempts = std::stoi(text);
      } catch (const std::exception&) {
        return support::failf("invalid max_attempts '{}': expected a number", text);
      }
    }
  }
  impl.max_attempts = attempts > 0 ? std::min(attempts, 20) : 5;
  if (options.debug) {
    impl.http.set_logger(options.debug);
    impl.debug(fmt::format("aws: profile {}, region {}, endpoint {}", impl.config.profile_name,
                           impl.config.region, impl.endpoints[Service::lambda]));
  }
  return client;
}

AwsResult<http::Response> Client::send(const ServiceRequest& request) const {
  auto& impl = *m_impl;
  const auto service = request.service;
  const auto error_of = [&](std::string message) {
    ServiceError error;
    error.service = std::string(service_name(service));
    error.operation = request.operation;
    error.message = std::move(message);
    return tl::unexpected<ServiceError>(std::move(error));
  };

  // URL: endpoint + (S3 bucket addressing) + path + query.
  const auto& base = impl.endpoints.at(service);
  auto url = http::parse_url(base);
  if (!url)
    return error_of("invalid endpoint " + base);
  std::string host = url->authority();
  std::string base_path = url->path == "/" ? std::string() : url->path;
  std::string path = request.path.empty() ? std::string("/") : request.path;
  if (!request.bucket.empty()) {
    if (!impl.custom.at(service) && dns_compatible_bucket(request.bucket))
      host = request.bucket + "." + host;
    else
      path = "/" + http::url_encode(request.bucket) + (path == "/" ? std::string("/") : path);
  }
  const std::string full_path = base_path + path;
  std::string query_string;
  for (const auto& [key, value] : request.query) {
    if (!query_string.empty())
      query_string += '&';
    query_string += http::url_encode(key) + "=" + http::url_encode(value);
  }
  const std::string full_url = url->scheme + "://" + host + full_path +
                               (query_string.empty() ? std::string() : "?" + query_string);

  // The payload hash (streamed from the file when the body is a file).
  std::string payload_hash = request.body_sha256;
  if (payload_hash.empty()) {
    if (request.body_file) {
      std::FILE* file = std::fopen(request.body_file->c_str(), "rbe");
      if (file == nullptr)
        return error_of("cannot read " + request.body_file->string());
      support::Sha256 hasher;
      char buffer[65536];
      std::size_t n = 0;
      while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0)
        hasher.update(buffer, n);
      const bool failed = std::ferror(file) != 0;
      std::fclose(file);
      if (failed)
        return error_of("cannot read " + request.body_file->string());
      payload_hash = support::to_hex(hasher.finish());
    } else {
      payload_hash = support::sha256_hex(request.body);
    }
  }

  if (!is_read_operation(request.operation))
    ++impl.counters.mutating;

  const auto started = std::chrono::steady_clock::now();
  for (int attempt = 1;; ++attempt) {
    auto credentials = impl.credentials();
    if (!credentials)
      return error_of(credentials.error().message);

    SigningRequest signing;
    signing.method = request.method;
    signing.path = full_path;
    signing.query = request.query;
    signing.headers = request.headers;
    signing.headers.emplace_back("host", host);
    signing.headers.emplace_back("x-amz-content-sha256", payload_hash);
    signing.payload_sha256 = payload_hash;
    const auto signed_request =
        sign(signing, *credentials,
             {signing_region(service, impl.config.region), std::string(signing_name(service)),
              amz_date(std::chrono::system_clock::now())});

    http::Request http_request;
    http_request.method = request.method;
    http_request.url = full_url;
    http_request.headers = request.headers;
    http_request.headers.emplace_back("Host", host);
    http_request.headers.emplace_back("X-Amz-Content-SHA256", payload_hash);
    for (const auto& header : signed_request.add_headers)
      http_request.headers.push_back(header);
    http_request.headers.emplace_back("User-Agent", fmt::format("wisp/{}", version()));
    http_request.body = request.body;
    http_request.body_file = request.body_file;
    http_request.response_file = request.response_file;
    http_request.timeout = impl.options.timeout;
    // libcurl has no "no timeout" for connecting; a day stands in for it.
    http_request.connect_timeout = impl.options.connect_timeout.count() > 0
                                       ? std::chrono::milliseconds(impl.options.connect_timeout)
                                       : std::chrono::milliseconds(86'400'000);
    http_request.low_speed_time = impl.options.read_timeout;
    http_request.verify_tls = impl.options.verify_tls;

    ++impl.counters.requests;
    auto response = impl.http.send(http_request);
    const bool last = attempt >= impl.max_attempts;
    if (!response) {
      if (response.error().retryable() && !last) {
        const auto delay = impl.backoff(attempt);
        impl.debug(fmt::format("aws: {} {} failed ({}); retry {} in {} ms", service_name(service),
                               request.operation, response.error().message, attempt,
                               delay.count()));
        ++impl.counters.retries;
        std::this_thread::sleep_for(delay);
        continue;
      }
      auto message = response.error().message;
      if (response.error().retryable() && attempt > 1)
        message += fmt::format(" (after {} attempts)", attempt);
      return error_of(std::move(message));
    }
    if (response->status >= 200 && response->status < 300) {
      impl.debug(fmt::format("aws: {} {} → {} ({} ms, {} attempt{})", service_name(service),
                             request.operation, response->status,
                             std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - started)
                                 .count(),
                             attempt, attempt == 1 ? "" : "s"));
      return std::move(*response);
    }
    if (response->status == 500 && impl.custom.at(service) && html_page(*response)) {
      ServiceError error;
      error.service = std::string(service_name(service));
      error.operation = request.operation;
      error.status = 500;
      error.code = "UnsupportedOperation";
      error.message = fmt::format("not supported by the endpoint {} (it answered HTTP 500 with "
                                  "an HTML page, as moto does for operations it lacks)",
                                  base);
      return tl::unexpected(std::move(error));
    }
    auto error = parse_error(service, request.operation, *response);
    const bool retryable = retryable_status(response->status) || is_throttling_code(error.code);
    if (retryable && !last) {
      const auto delay = impl.backoff(attempt);
      impl.debug(fmt::format("aws: {} {} → {} {}; retry {} in {} ms", service_name(service),
                             request.operation, response->status, error.code, attempt,
                             delay.count()));
      ++impl.counters.retries;
      std::this_thread::sleep_for(delay);
      continue;
    }
    error.attempts = attempt;
    impl.debug(fmt::format("aws: {}", error.describe()));
    return tl::unexpected(std::move(error));
  }
}

namespace {

AwsResult<boost::json::value> parse_json_body(Service service, std::string_view operation,
                                              const http::Response& response) {
  if (support::trim(response.body).empty())
    return boost::json::value();
  boost::system::error_code ec;
  auto json = boost::json::parse(response.body, ec);
  if (ec) {
    ServiceError error;
    error.service = std::string(service_name(service));
    error.operation = std::string(operation);
    error.status = response.status;
    error.code = "InvalidResponse";
    error.message = "the response is not valid JSON: " + ec.message();
    return tl::unexpected(std::move(error));
  }
  return json;
}

} // namespace

AwsResult<boost::json::value> Client::rest_json(Service service, std::string_view operation,
                                                std::string_view method, std::string path,
                                                Query query, const boost::json::value* body) const {
  ServiceRequest request;
  request.service = service;
  request.operation = std::string(operation);
  request.method = std::string(method);
  request.path = std::move(path);
  request.query = std::move(query);
  if (body != nullptr) {
    request.body = boost::json::serialize(*body);
    request.headers.emplace_back("Content-Type", "application/json");
  }
  auto response = send(request);
  if (!response)
    return tl::unexpected(std::move(response).error());
  return parse_json_body(service, operation, *response);
}

AwsResult<boost::json::value> Client::json_rpc(Service service, std::string_view target_prefix,
                                               std::string_view operation,
                                               const boost::json::object& body,
                                               std::string_view json_version) const {
  ServiceRequest request;
  request.service = service;
  request.operation = std::string(operation);
  request.method = "POST";
  request.path = "/";
  request.body = boost::json::serialize(body);
  request.headers.emplace_back("Content-Type",
                               fmt::format("application/x-amz-json-{}", json_version));
  request.headers.emplace_back("X-Amz-Target", fmt::format("{}.{}", target_prefix, operation));
  auto response = send(request);
  if (!response)
    return tl::unexpected(std::move(response).error());
  return parse_json_body(service, operation, *response);
}

AwsResult<XmlNode> Client::query(Service service, std::string_view action, std::string_view version,
                                 const Query& parameters) const {
  ServiceRequest request;
  request.service = service;
  request.operation = std::string(action);
  request.method = "POST";
  request.path = "/";
  request.body = "Action=" + http::url_encode(action) + "&Version=" + http::url_encode(version);
  for (const auto& [key, value] : parameters)
    request.body += "&" + http::url_encode(key) + "=" + http::url_encode(value);
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  auto response = send(request);
  if (!response)
    return tl::unexpected(std::move(response).error());
  auto xml = parse_xml(response->body);
  if (!xml) {
    ServiceError error;
    error.service = std::string(service_name(service));
    error.operation = std::string(action);
    error.status = response->status;
    error.code = "InvalidResponse";
    error.message = "the response is not valid XML";
    return tl::unexpected(std::move(error));
  }
  return std::move(*xml);
}

} // namespace wisp::aws
