#pragma once
// Internal to the gateway: Lambda function URLs (docs/local-api.md, "Function URLs").
//
// Every function with `FunctionUrlConfig` (AWS::Serverless::Function) or an
// `AWS::Lambda::Url` resource targeting it gets its own port, after the API ports (each URL
// has its own domain on AWS too; a port per URL keeps `/` and every path the function's).
// Requests become payload-2.0 events with the function-URL request context (routeKey and
// stage `$default`, accountId `anonymous` or the IAM caller's, apiId the URL id); the output
// is mapped as HTTP APIs map 2.0 responses. `Cors` answers preflights and decorates responses;
// `AuthType: AWS_IAM` verifies SigV4 (service `lambda`) against the configured credentials;
// `InvokeMode: BUFFERED` caps requests and responses at 6 MB; `RESPONSE_STREAM` sends each
// chunk as the function writes it (the `application/vnd.awslambda.http-integration-response`
// prelude gives the status, headers and cookies).

#include <wisp/aws/config.hpp>
#include <wisp/gateway/door.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wisp::gateway {

struct FunctionUrl {
  std::string function_id;
  std::string resource_id; // the AWS::Lambda::Url's logical id, or `<Function>Url`
  bool iam = false;        // AuthType AWS_IAM
  bool streaming = false;  // InvokeMode RESPONSE_STREAM
  std::optional<sam::Cors> cors;
};

// The template's function URLs, in template order; problems (an unknown AuthType or
// InvokeMode, a target that is not a function of the template) are appended to `warnings`.
std::vector<FunctionUrl> function_urls(const sam::Model& model, std::vector<std::string>& warnings);

class FunctionUrlDoor final : public Door {
public:
  FunctionUrlDoor(Host& host, const sam::Model& model, FunctionUrl url,
                  const ServeOptions& options);

  [[nodiscard]] const FunctionUrl& url() const { return m_url; }
  [[nodiscard]] const std::string& url_id() const { return m_url_id; }

  [[nodiscard]] std::uint64_t body_limit() const override;
  void payload_too_large(Exchange& ex) override;
  void headers_too_large(Exchange& ex) override;
  void common_headers(Exchange& ex, std::string& out) override;
  void handle(Exchange& ex) override;
  void on_stream_start(Exchange& ex, std::string_view content_type) override;
  void on_stream_data(Exchange& ex, std::string_view bytes) override;
  void on_complete(Exchange& ex, const runtime::InvokeResult& result) override;

private:
  bool authorize(Exchange& ex);
  void begin_stream(Exchange& ex, std::string_view bytes);
  void map_buffered(Exchange& ex, std::string_view output, bool prelude);

  FunctionUrl m_url;
  FunctionSlot* m_function = nullptr;
  std::string m_url_id;
  ApiEventInfo m_info;
  aws::Credentials m_credentials;
};

// Function URLs for `local start-api` and `local start`: one door per URL, listening on
// `next_port` onwards (0: ephemeral; advanced past the ports taken), each announced on
// `host.info` as `<Function> function URL (<AuthType>, <InvokeMode>): http://host:port/`.
// `reserved_port` (another door's, e.g. `local start`'s Invoke API) is passed over.
support::Status add_function_url_doors(Host& host, const sam::Model& model,
                                       const ServeOptions& options, int& next_port,
                                       std::vector<std::unique_ptr<Door>>& doors,
                                       int reserved_port = -1);

} // namespace wisp::gateway
