#pragma once
// Internal to the gateway: the Lambda Invoke API front door (`local start-lambda`):
// POST /2015-03-31/functions/{FunctionName}/invocations for the functions added, with
// RequestResponse, Event and DryRun invocations, Tail logs, qualifiers and Lambda's errors;
// and InvokeWithResponseStream (POST /2021-11-15/functions/{FunctionName}/
// response-streaming-invocations): the function's chunks as PayloadChunk events of an
// `application/vnd.amazon.eventstream` body as they are written, then InvokeComplete (with
// ErrorCode/ErrorDetails when the function failed, LogResult with Tail).
// With the host's durable execution service enabled it also answers the service's routes
// (/2025-12-01/...), and Invoke of a durable function starts (or attaches to) an execution.

#include <wisp/gateway/door.hpp>

#include <string>
#include <vector>

namespace wisp::gateway {

class LambdaDoor final : public Door {
public:
  LambdaDoor(Host& host, const sam::Model& model, const StartLambdaOptions& options);

  // Serves the template's function `id` (registered on the host); fails, with the closest
  // logical id as a hint, when the template has no such function.
  support::Status add(const std::string& id);
  [[nodiscard]] const std::vector<FunctionSlot*>& slots() const { return m_slots; }

  [[nodiscard]] std::uint64_t body_limit() const override;
  void payload_too_large(Exchange& ex) override;
  void headers_too_large(Exchange& ex) override;
  void common_headers(Exchange& ex, std::string& out) override;
  void handle(Exchange& ex) override;
  void on_stream_start(Exchange& ex, std::string_view content_type) override;
  void on_stream_data(Exchange& ex, std::string_view bytes) override;
  void on_complete(Exchange& ex, const runtime::InvokeResult& result) override;

private:
  void begin_event_stream(Exchange& ex, std::string_view content_type);
  void complete_event_stream(Exchange& ex, const runtime::InvokeResult& result);
  void error(Exchange& ex, unsigned status, std::string_view type, std::string_view message);
  void durable_api(Exchange& ex);
  void durable_invoke(Exchange& ex, const FunctionSlot& slot, std::string_view type,
                      std::string_view payload);

  const sam::Model& m_model;
  const StartLambdaOptions& m_options;
  std::vector<FunctionSlot*> m_slots;
};

} // namespace wisp::gateway
