// The Lambda Invoke API front door (`local start-lambda`, lambda_door.hpp).

#include <wisp/gateway/invoke_api.hpp>
#include <wisp/gateway/lambda_door.hpp>
#include <wisp/gateway/text.hpp>
#include <wisp/runtime/lambda_config.hpp>
#include <wisp/runtime/lambda_text.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

namespace wisp::gateway {

namespace {

constexpr std::uint64_t k_invoke_payload_limit = 6291456; // 6 MB (InvokeFunction)
constexpr std::uint64_t k_async_payload_limit = 1048576;  // 1 MB (asynchronous Invoke)
constexpr std::uint64_t k_durable_body_limit = 16u * 1024 * 1024;

// An asynchronous (Event) invocation: owns its payload, logs its outcome.
struct EventInvocation final : runtime::InvokeSink {
  std::string payload;
  std::string client_context;
  std::string tenant_id;
  std::string function_id;
  AsyncLog* log = nullptr;
  std::unique_ptr<EventInvocation> self;
  void on_complete(const runtime::InvokeResult& result) override {
    auto keep = std::move(self);
    log->line(fmt::format("{} Event invocation of {} {}: {}", clock_text(), function_id,
                          result.request_id, runtime::to_string(result.outcome)));
  }
};

} // namespace

LambdaDoor::LambdaDoor(Host& host, const sam::Model& model, const StartLambdaOptions& options)
    : Door(host), m_model(model), m_options(options) {}

support::Status LambdaDoor::add(const std::string& id) {
  const auto* fn = m_model.find_function(id);
  if (fn == nullptr) {
    std::vector<std::string> ids;
    for (const auto& f : m_model.functions)
      ids.push_back(f.logical_id);
    std::string hint;
    if (auto close = support::closest_match(id, ids))
      hint = fmt::format("; did you mean '{}'?", *close);
    return support::failf("function '{}' is not in the template{}", id, hint);
  }
  auto& slot = m_host.function(m_model, fn->logical_id);
  m_slots.push_back(&slot);
  return {};
}

std::uint64_t LambdaDoor::body_limit() const {
  // A checkpoint may carry a 6 MB payload and its envelope; Invoke's own limit is checked in
  // handle() then.
  return m_host.durable ? k_durable_body_limit : k_invoke_payload_limit;
}

void LambdaDoor::payload_too_large(Exchange& ex) {
  const auto message = fmt::format("Request must be smaller than {} bytes for the InvokeFunction "
                                   "operation",
                                   k_invoke_payload_limit);
  answer(ex, 413, lambda_error_body(message), "application/json", "RequestTooLargeException");
}

void LambdaDoor::headers_too_large(Exchange& ex) {
  answer(ex, 431, k_header_too_large, "application/json", "RequestHeaderFieldsTooLarge");
}

void LambdaDoor::common_headers(Exchange& ex, std::string& out) {
  if (ex.request_id.empty())
    ex.request_id = runtime::make_uuid(rng());
  out.append("x-amzn-RequestId: ");
  out.append(ex.request_id);
  out.append("\r\n");
}

void LambdaDoor::error(Exchange& ex, unsigned status, std::string_view type,
                       std::string_view message) {
  if (ex.claim())
    answer(ex, status, lambda_error_body(message), "application/json", type);
}

void LambdaDoor::handle(Exchange& ex) {
  auto& request = ex.request;
  if (m_host.durable && durable::Service::owns_path(request.raw_path)) {
    durable_api(ex);
    return;
  }
  auto name = invocation_function(request.raw_path);
  if (!name) {
    name = streaming_invocation_function(request.raw_path);
    ex.response_stream = name.has_value();
  }
  if (!name || request.method != "POST") {
    error(ex, 404, "UnknownOperationException", "Unknown operation");
    return;
  }
  auto ref = parse_function_reference(*name);
  // A nested stack's function by its full path ("Child/Function"), as SAM CLI's start-lambda
  // addresses it; never a Lambda function name (those have no '/').
  if (!ref && name->find('/') != std::string::npos && m_model.find_function(*name) != nullptr)
    ref = FunctionReference{*name, {}};
  if (!ref) {
    error(ex, 400, "ValidationException",
          fmt::format("1 validation error detected: Value '{}' at 'functionName' failed to "
                      "satisfy constraint: Member must satisfy regular expression pattern: "
                      "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?"
                      "(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
                      *name));
    return;
  }
  // ?Qualifier= (must agree with a qualifier in the name).
  std::string qualifier = ref->qualifier;
  {
    std::string_view query = request.raw_query;
    while (!query.empty()) {
      const auto amp = query.find('&');
      const auto part = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      const auto eq = part.find('=');
      if (part.substr(0, eq) == "Qualifier" && eq != std::string_view::npos) {
        const auto value = percent_decoded(part.substr(eq + 1), true);
        if (!qualifier.empty() && value != qualifier) {
          error(ex, 400, "InvalidParameterValueException",
                "The derived qualifier from the function name does not match the specified "
                "qualifier.");
          return;
        }
        qualifier = value;
      }
    }
  }
  FunctionSlot* slot = nullptr;
  for (auto* candidate : m_slots)
    if (candidate->id == ref->name || candidate->name == ref->name)
      slot = candidate;
  if (slot == nullptr)
    if (const auto* fn = m_model.find_function(ref->name)) // a nested function's own id
      for (auto* candidate : m_slots)
        if (candidate->id == fn->logical_id)
          slot = candidate;
  const bool qualifier_ok =
      slot != nullptr &&
      (qualifier.empty() || qualifier == "$LATEST" ||
       (!slot->auto_publish_alias.empty() && qualifier == slot->auto_publish_alias));
  if (!qualifier_ok) {
    error(ex, 404, "ResourceNotFoundException",
          function_not_found_message(m_options.region, m_options.account_id, ref->name, qualifier));
    return;
  }
  const auto invocation_type = request.header("x-amz-invocation-type");
  const std::string_view type = invocation_type.empty() ? "RequestResponse" : invocation_type;
  if (type != "RequestResponse" && type != "DryRun" && (type != "Event" || ex.response_stream)) {
    error(ex, 400, "ValidationException",
          fmt::format("1 validation error detected: Value '{}' at 'invocationType' failed to "
                      "satisfy constraint: Member must satisfy enum value set: {}",
                      type,
                      ex.response_stream ? "[RequestResponse, DryRun]"
                                         : "[Event, RequestResponse, DryRun]"));
    return;
  }
  const auto log_type = request.header("x-amz-log-type");
  if (!log_type.empty() && log_type != "None" && log_type != "Tail") {
    error(ex, 400, "ValidationException",
          fmt::format("1 validation error detected: Value '{}' at 'logType' failed to satisfy "
                      "constraint: Member must satisfy enum value set: [Tail, None]",
                      log_type));
    return;
  }
  std::string_view payload = request.body;
  if (payload.empty())
    payload = "{}";
  if (payload.size() > k_invoke_payload_limit) {
    payload_too_large(ex);
    return;
  }
  {
    boost::system::error_code ec;
    boost::json::parse(payload, ec);
    if (ec) {
      error(ex, 400, "InvalidRequestContentException",
            fmt::format("Could not parse request body into json: Could not parse payload into "
                        "json: {}",
                        ec.message()));
      return;
    }
  }
  ex.client_context.clear();
  if (const auto context = request.header("x-amz-client-context"); !context.empty()) {
    auto decoded = support::base64_decode(context);
    boost::system::error_code ec;
    if (decoded)
      boost::json::parse(*decoded, ec);
    if (!decoded || ec || context.size() > 3583) {
      error(ex, 400, "InvalidRequestContentException",
            "Client context must be a valid Base64-encoded JSON object.");
      return;
    }
    ex.client_context = std::move(*decoded);
  }
  if (!slot->ok) {
    error(ex, 500, "ServiceException", slot->problem);
    return;
  }
  // TenancyConfig: SAM CLI's ValidationException when X-Amz-Tenant-Id does not fit.
  const auto tenant_id = request.header("x-amz-tenant-id");
  if (auto problem = runtime::tenant_id_problem(slot->multi_tenant, tenant_id); !problem.empty()) {
    error(ex, 400, "ValidationException", problem);
    return;
  }
  if (type == "DryRun") {
    if (ex.claim()) {
      ex.mapped.clear();
      ex.mapped.status = 204;
      finish(ex);
    }
    return;
  }
  if (m_host.durable && m_host.durable->is_durable(slot->id)) {
    durable_invoke(ex, *slot, type, payload);
    return;
  }
  if (type == "Event") {
    if (payload.size() > k_async_payload_limit) {
      error(ex, 413, "RequestTooLargeException",
            fmt::format("Request must be smaller than {} bytes for the InvokeAsync operation",
                        k_async_payload_limit));
      return;
    }
    auto event = std::make_unique<EventInvocation>();
    event->payload.assign(payload);
    event->client_context = ex.client_context;
    event->function_id = slot->id;
    event->log = &m_host.log;
    auto* raw = event.get();
    raw->self = std::move(event);
    raw->tenant_id.assign(tenant_id);
    runtime::InvokeRequest invoke;
    invoke.payload = raw->payload;
    invoke.client_context = raw->client_context;
    invoke.tenant_id = raw->tenant_id;
    invoke.qualifier = qualifier;
    m_host.invoke(*slot, invoke, *raw);
    if (ex.claim()) {
      ex.mapped.clear();
      ex.mapped.status = 202;
      ex.function_id = slot->id;
      ex.version = slot->version;
      finish(ex);
    }
    return;
  }
  ex.function_id = slot->id;
  ex.version = slot->version;
  ex.invoked = true;
  ex.qualifier = qualifier;
  ex.tail_log = log_type == "Tail";
  ex.phase = Exchange::Phase::integration;
  ex.self = ex.shared_from_this();
  ex.request_id = runtime::make_uuid(rng());
  runtime::InvokeRequest invoke;
  invoke.request_id = ex.request_id;
  invoke.payload = payload;
  invoke.client_context = ex.client_context;
  invoke.qualifier = ex.qualifier;
  invoke.tail_log = ex.tail_log;
  invoke.trace_id = request.header("x-amzn-trace-id");
  invoke.tenant_id = tenant_id;
  const auto content_type = request.header("content-type");
  if (!content_type.empty())
    invoke.content_type = content_type;
  m_host.invoke(*slot, invoke, ex);
}

// ---- InvokeWithResponseStream

void LambdaDoor::on_stream_start(Exchange& ex, std::string_view content_type) {
  ex.stream_type.assign(content_type);
  if (ex.response_stream && ex.claim())
    begin_event_stream(ex, content_type);
}

void LambdaDoor::on_stream_data(Exchange& ex, std::string_view bytes) {
  if (!ex.response_stream) {
    ex.streamed.append(bytes);
    return;
  }
  if (!ex.stream)
    return;
  std::string& frame = ex.prelude; // scratch, reused per chunk
  frame.clear();
  append_event_message(frame, "PayloadChunk", "application/octet-stream", bytes);
  ex.stream->write(frame);
}

void LambdaDoor::begin_event_stream(Exchange& ex, std::string_view content_type) {
  auto& mapped = ex.mapped;
  mapped.clear();
  mapped.status = 200;
  mapped.headers.emplace_back("X-Amz-Executed-Version", ex.version);
  mapped.headers.emplace_back("Content-Type", content_type.empty()
                                                  ? std::string("application/octet-stream")
                                                  : std::string(content_type));
  if (auto stream = start_stream(ex)) {
    // Lambda's bandwidth for streamed responses: the first 6 MB uncapped, then 2 MB/s.
    ResponseStream::Limits limits;
    limits.free_bytes = 6u * 1024 * 1024;
    limits.bytes_per_second = 2u * 1024 * 1024;
    stream->set_limits(limits);
  }
}

void LambdaDoor::complete_event_stream(Exchange& ex, const runtime::InvokeResult& result) {
  std::string complete = "{";
  if (result.outcome != runtime::Outcome::success) {
    complete.append("\"ErrorCode\":");
    append_json_string(complete, result.error_type.empty() ? std::string_view("Unhandled")
                                                           : result.error_type);
    complete.append(",\"ErrorDetails\":");
    append_json_string(complete, result.body);
  }
  if (ex.tail_log) {
    if (complete.size() > 1)
      complete.push_back(',');
    complete.append("\"LogResult\":");
    append_json_string(complete, support::base64_encode(result.log_tail));
  }
  complete.push_back('}');
  std::string frame;
  append_event_message(frame, "InvokeComplete", "application/json", complete);
  ex.stream->write(frame);
  ex.stream->end();
}

void LambdaDoor::durable_api(Exchange& ex) {
  const auto& request = ex.request;
  durable::HttpRequest call;
  call.method = request.method;
  call.raw_path = request.raw_path;
  call.raw_query = request.raw_query;
  call.body = request.body;
  const auto response = m_host.durable->handle(call);
  if (!ex.claim())
    return;
  // The data plane (a function's own checkpoints and state reads) would flood the access log;
  // the service logs each invocation instead.
  ex.quiet = response.status < 300 &&
             (request.raw_path.ends_with("/checkpoint") || request.raw_path.ends_with("/state"));
  ex.mapped.clear();
  ex.mapped.status = static_cast<unsigned>(response.status);
  ex.mapped.headers.emplace_back("Content-Type", response.content_type);
  if (!response.error_type.empty())
    ex.mapped.headers.emplace_back("x-amzn-ErrorType", response.error_type);
  for (const auto& header : response.headers)
    ex.mapped.headers.push_back(header);
  ex.mapped.body = response.body;
  finish(ex);
}

// Invoke of a durable function: an execution named by X-Amz-Durable-Execution-Name (else a
// generated name) starts, or the one of that name and payload is attached to. Event answers
// 202 at once; RequestResponse waits for the execution's end. Both carry
// X-Amz-Durable-Execution-Arn.
void LambdaDoor::durable_invoke(Exchange& ex, const FunctionSlot& slot, std::string_view type,
                                std::string_view payload) {
  durable::StartRequest start;
  start.function_id = slot.id;
  start.name = std::string(ex.request.header("x-amz-durable-execution-name"));
  start.payload = std::string(payload);
  ex.function_id = slot.id;
  ex.version = slot.version;
  const bool event = type == "Event";
  if (!event)
    ex.self = ex.shared_from_this();
  auto started = m_host.durable->start(
      start, event ? std::function<void(const durable::ExecutionOutcome&)>()
                   : [this, &ex](const durable::ExecutionOutcome& outcome) {
                       auto keep = std::move(ex.self);
                       if (!ex.claim())
                         return;
                       auto& mapped = ex.mapped;
                       mapped.clear();
                       mapped.status = 200;
                       mapped.headers.emplace_back("X-Amz-Durable-Execution-Arn", outcome.arn);
                       mapped.headers.emplace_back("X-Amz-Executed-Version", ex.version);
                       mapped.headers.emplace_back("Content-Type", "application/json");
                       if (outcome.status == durable::ExecutionStatus::succeeded) {
                         mapped.body = outcome.result.value_or("null");
                       } else {
                         mapped.headers.emplace_back("X-Amz-Function-Error", "Unhandled");
                         mapped.body = outcome.error_payload();
                       }
                       finish(ex);
                     });
  if (!started) {
    ex.self.reset();
    const auto& e = started.error();
    error(ex, static_cast<unsigned>(e.status), e.type, e.message);
    return;
  }
  if (event && ex.claim()) {
    ex.mapped.clear();
    ex.mapped.status = 202;
    ex.mapped.headers.emplace_back("X-Amz-Durable-Execution-Arn", started->arn);
    finish(ex);
  }
}

void LambdaDoor::on_complete(Exchange& ex, const runtime::InvokeResult& result) {
  auto keep = std::move(ex.self);
  using runtime::Outcome;
  const bool platform_error =
      result.outcome == Outcome::throttled || result.outcome == Outcome::request_too_large ||
      result.outcome == Outcome::recursive_loop || result.outcome == Outcome::engine_error;
  if (ex.response_stream && (ex.stream || !platform_error)) {
    ex.cold = result.cold;
    if (!ex.stream) {
      if (!ex.claim())
        return;
      begin_event_stream(ex, result.ok() ? result.content_type : std::string_view());
      if (result.ok() && !result.body.empty()) {
        std::string frame;
        append_event_message(frame, "PayloadChunk", "application/octet-stream", result.body);
        ex.stream->write(frame);
      }
    }
    if (ex.stream)
      complete_event_stream(ex, result);
    return;
  }
  if (!ex.claim())
    return;
  ex.cold = result.cold;
  ex.request_id.assign(result.request_id);
  if (!result.executed_version.empty())
    ex.version.assign(result.executed_version);
  auto& mapped = ex.mapped;
  mapped.clear();
  // The Invoke API's own errors: a status, x-amzn-ErrorType and a JSON body.
  const auto refuse = [&](unsigned status, const char* type, std::string body) {
    mapped.status = status;
    mapped.headers.emplace_back("x-amzn-ErrorType", type);
    mapped.headers.emplace_back("Content-Type", "application/json");
    mapped.body = std::move(body);
    finish(ex);
  };
  switch (result.outcome) {
  case Outcome::throttled:
    return refuse(429, "TooManyRequestsException", std::string(result.body));
  case Outcome::request_too_large:
    return refuse(413, "RequestTooLargeException", std::string(result.body));
  case Outcome::recursive_loop:
    return refuse(400, "RecursiveInvocationException", std::string(result.body));
  case Outcome::engine_error:
    return refuse(500, "ServiceException",
                  lambda_error_body("the local engine could not run the function"));
  default:
    break;
  }
  mapped.status = 200;
  const bool failed = result.outcome != Outcome::success;
  if (failed)
    mapped.headers.emplace_back("X-Amz-Function-Error", "Unhandled");
  mapped.headers.emplace_back("X-Amz-Executed-Version", ex.version);
  if (ex.tail_log)
    mapped.headers.emplace_back("X-Amz-Log-Result", support::base64_encode(result.log_tail));
  const std::string_view content_type = result.content_type.empty() || failed
                                            ? std::string_view("application/json")
                                            : result.content_type;
  mapped.headers.emplace_back("Content-Type", std::string(content_type));
  if (result.streamed && !failed)
    mapped.body = std::move(ex.streamed);
  else
    mapped.body.assign(result.body);
  finish(ex);
}
} // namespace wisp::gateway
