#pragma once
// The durable execution model as Lambda's API (2025-12-01) defines it: operations, their
// updates, errors, history events and the service's error answers. Names, enums and limits
// follow the Lambda service model (docs/durable.md lists the sources).
//
// Times are Unix epoch milliseconds everywhere in wisp; the JSON writers convert them to the
// form each surface uses (epoch milliseconds in the invocation event, epoch seconds in API
// responses, as restJson1 writes timestamps).

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::durable {

enum class OpType : std::uint8_t { execution, context, step, wait, callback, chained_invoke };
enum class OpStatus : std::uint8_t {
  started,
  pending,
  ready,
  succeeded,
  failed,
  cancelled,
  timed_out,
  stopped,
};
enum class OpAction : std::uint8_t { start, succeed, fail, retry, cancel };
enum class ExecutionStatus : std::uint8_t { running, succeeded, failed, timed_out, stopped };

std::string_view to_string(OpType type);
std::string_view to_string(OpStatus status);
std::string_view to_string(OpAction action);
std::string_view to_string(ExecutionStatus status);
std::optional<OpType> parse_op_type(std::string_view text);
std::optional<OpStatus> parse_op_status(std::string_view text);
std::optional<OpAction> parse_op_action(std::string_view text);
std::optional<ExecutionStatus> parse_execution_status(std::string_view text);
bool is_terminal(OpStatus status);

// Lambda's limits for durable executions.
inline constexpr std::size_t k_max_payload = 6291456;        // OperationPayload, InputPayload
inline constexpr std::size_t k_max_callback_result = 262144; // callback Result (256 KiB)
inline constexpr std::size_t k_max_error_bytes = 32768;      // an update carrying an Error
inline constexpr std::int64_t k_max_duration_s = 31'622'400; // WaitSeconds, delays, timeouts
inline constexpr std::int64_t k_default_retention_days = 14; // RetentionPeriodInDays
inline constexpr std::int64_t k_default_execution_timeout_s = 86'400; // when DurableConfig has none

// ErrorObject: every member optional, as the API has it.
struct ErrorObject {
  std::optional<std::string> message;
  std::optional<std::string> type;
  std::optional<std::string> data;
  std::optional<std::vector<std::string>> stack_trace;

  [[nodiscard]] bool empty() const { return !message && !type && !data && !stack_trace; }
  static ErrorObject of(std::string type, std::string message);
};

boost::json::object to_json(const ErrorObject& error);
// nullopt when `value` is not an object or a member has the wrong type.
std::optional<ErrorObject> error_from_json(const boost::json::value& value);

struct Operation {
  std::string id;
  std::string parent_id;
  std::string name;
  std::string sub_type;
  OpType type = OpType::step;
  OpStatus status = OpStatus::started;
  std::int64_t start_ms = 0;
  std::optional<std::int64_t> end_ms;
  // EXECUTION
  std::string input_payload;
  // CONTEXT, STEP, CALLBACK, CHAINED_INVOKE
  std::optional<std::string> result;
  std::optional<ErrorObject> error;
  std::optional<bool> replay_children; // CONTEXT
  // STEP
  int attempt = 0;
  std::optional<std::int64_t> next_attempt_ms;
  // WAIT
  std::optional<std::int64_t> scheduled_end_ms;
  std::int64_t wait_seconds = 0;
  // CALLBACK
  std::string callback_id;
  std::optional<std::int64_t> callback_timeout_s;
  std::optional<std::int64_t> heartbeat_timeout_s;
  std::int64_t last_heartbeat_ms = 0;
  // CHAINED_INVOKE
  std::string function_name;
  std::string tenant_id;
  std::optional<std::string> input; // the payload the chained invoke was started with
  // Bookkeeping: the execution's change counter when this operation last changed.
  std::uint64_t touched = 0;
};

enum class TimeForm : std::uint8_t {
  event_ms,    // invocation event: epoch milliseconds (integers), what both SDKs read
  api_seconds, // API responses: epoch seconds (restJson1)
};
// The Operation shape of the API (only the members that apply to the type).
boost::json::object to_json(const Operation& operation, TimeForm form);
// wisp's own store form: every field, times in ms.
boost::json::object to_store_json(const Operation& operation);
std::optional<Operation> operation_from_store(const boost::json::object& object);

struct OperationUpdate {
  std::string id;
  std::string parent_id;
  std::string name;
  std::string sub_type;
  OpType type = OpType::step;
  OpAction action = OpAction::start;
  std::optional<std::string> payload;
  std::optional<ErrorObject> error;
  std::optional<bool> replay_children;            // ContextOptions
  std::optional<std::int64_t> next_attempt_delay; // StepOptions.NextAttemptDelaySeconds
  bool has_step_options = false;                  // StepOptions present (RETRY requires it)
  std::optional<std::int64_t> wait_seconds;       // WaitOptions.WaitSeconds
  std::optional<std::int64_t> callback_timeout;   // CallbackOptions.TimeoutSeconds
  std::optional<std::int64_t> callback_heartbeat; // CallbackOptions.HeartbeatTimeoutSeconds
  std::optional<std::string> chained_function;    // ChainedInvokeOptions.FunctionName
  std::optional<std::string> chained_tenant;      // ChainedInvokeOptions.TenantId
  std::size_t json_size = 0; // with an Error: the update's size as sent (its 32 KiB limit)
};

// An answer of the service in AWS's shape: status, x-amzn-ErrorType and the JSON body.
struct ApiError {
  int status = 400;
  std::string type;
  std::string message;
  // The exception's message member: `message` (InvalidParameterValueException,
  // TooManyRequestsException) or `Message` (the others), as the service model spells it.
  [[nodiscard]] std::string body() const;
};
ApiError invalid_parameter(std::string message);
ApiError validation_error(std::string message);
ApiError resource_not_found(std::string message);
ApiError service_error(std::string message);

// Parses CheckpointDurableExecution's Updates (absent: none). Model violations are
// ValidationException ("1 validation error detected: ..."), as the service answers them.
struct ParsedCheckpoint {
  std::string checkpoint_token;
  std::string client_token;
  std::vector<OperationUpdate> updates;
};
std::optional<ApiError> parse_checkpoint(std::string_view body, ParsedCheckpoint& out);

// Epoch milliseconds → epoch seconds as restJson writes timestamps.
boost::json::value api_time(std::int64_t ms);

// [A-Za-z0-9-_]{1,64}: operation ids and execution names.
bool valid_id(std::string_view text);

} // namespace wisp::durable
