#include <wisp/durable/types.hpp>

#include <wisp/durable/detail.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <array>
#include <span>

namespace wisp::durable {

namespace json = boost::json;
using detail::member;

namespace {

constexpr std::array<std::string_view, 6> k_types = {"EXECUTION", "CONTEXT",  "STEP",
                                                     "WAIT",      "CALLBACK", "CHAINED_INVOKE"};
constexpr std::array<std::string_view, 8> k_statuses = {
    "STARTED", "PENDING", "READY", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT", "STOPPED"};
constexpr std::array<std::string_view, 5> k_actions = {"START", "SUCCEED", "FAIL", "RETRY",
                                                       "CANCEL"};
constexpr std::array<std::string_view, 5> k_execution_statuses = {"RUNNING", "SUCCEEDED", "FAILED",
                                                                  "TIMED_OUT", "STOPPED"};

template <class E, std::size_t N>
std::optional<E> find(const std::array<std::string_view, N>& names, std::string_view text) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == text)
      return static_cast<E>(i);
  return std::nullopt;
}

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool printable(std::string_view text) {
  for (const char c : text)
    if (c < 0x20 || c > 0x7e)
      return false;
  return true;
}

bool base64_token(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() &&
         ((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z') ||
          (text[i] >= '0' && text[i] <= '9') || text[i] == '+' || text[i] == '/'))
    ++i;
  if (i == 0)
    return false;
  const std::size_t pad = text.size() - i;
  if (pad > 2)
    return false;
  for (; i < text.size(); ++i)
    if (text[i] != '=')
      return false;
  return true;
}

std::string enum_list(std::span<const std::string_view> names) {
  std::string out = "[";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0)
      out += ", ";
    out += names[i];
  }
  out += "]";
  return out;
}

// Collects model-constraint violations the way AWS words them.
class Violations {
public:
  void add(std::string text) { m_items.push_back(std::move(text)); }
  void value(std::string_view value, std::string_view where, std::string_view constraint) {
    add(fmt::format("Value '{}' at '{}' failed to satisfy constraint: {}", value, where,
                    constraint));
  }
  // Sensitive members are not echoed.
  void hidden(std::string_view where, std::string_view constraint) {
    add(fmt::format("Value at '{}' failed to satisfy constraint: {}", where, constraint));
  }
  [[nodiscard]] bool empty() const { return m_items.empty(); }
  [[nodiscard]] std::string message() const {
    std::string out = fmt::format("{} validation error{} detected: ", m_items.size(),
                                  m_items.size() == 1 ? "" : "s");
    for (std::size_t i = 0; i < m_items.size(); ++i) {
      if (i > 0)
        out += "; ";
      out += m_items[i];
    }
    return out;
  }

private:
  std::vector<std::string> m_items;
};

std::optional<std::int64_t> as_int(const json::value& value) {
  if (value.is_int64())
    return value.as_int64();
  if (value.is_uint64() && value.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(value.as_uint64());
  if (value.is_double()) {
    const double d = value.as_double();
    if (d == static_cast<double>(static_cast<std::int64_t>(d)))
      return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

} // namespace

std::string_view to_string(OpType type) {
  return k_types.at(static_cast<std::size_t>(type));
}
std::string_view to_string(OpStatus status) {
  return k_statuses.at(static_cast<std::size_t>(status));
}
std::string_view to_string(OpAction action) {
  return k_actions.at(static_cast<std::size_t>(action));
}
std::string_view to_string(ExecutionStatus status) {
  return k_execution_statuses.at(static_cast<std::size_t>(status));
}
std::optional<OpType> parse_op_type(std::string_view text) {
  return find<OpType>(k_types, text);
}
std::optional<OpStatus> parse_op_status(std::string_view text) {
  return find<OpStatus>(k_statuses, text);
}
std::optional<OpAction> parse_op_action(std::string_view text) {
  return find<OpAction>(k_actions, text);
}
std::optional<ExecutionStatus> parse_execution_status(std::string_view text) {
  return find<ExecutionStatus>(k_execution_statuses, text);
}

bool is_terminal(OpStatus status) {
  return status == OpStatus::succeeded || status == OpStatus::failed ||
         status == OpStatus::cancelled || status == OpStatus::timed_out ||
         status == OpStatus::stopped;
}

bool valid_id(std::string_view text) {
  if (text.empty() || text.size() > 64)
    return false;
  for (const char c : text)
    if (!id_char(c))
      return false;
  return true;
}

ErrorObject ErrorObject::of(std::string type, std::string message) {
  ErrorObject error;
  error.type = std::move(type);
  error.message = std::move(message);
  return error;
}

json::object to_json(const ErrorObject& error) {
  json::object out;
  if (error.message)
    out["ErrorMessage"] = *error.message;
  if (error.type)
    out["ErrorType"] = *error.type;
  if (error.data)
    out["ErrorData"] = *error.data;
  if (error.stack_trace) {
    json::array trace;
    for (const auto& line : *error.stack_trace)
      trace.emplace_back(line);
    out["StackTrace"] = std::move(trace);
  }
  return out;
}

std::optional<ErrorObject> error_from_json(const json::value& value) {
  if (!value.is_object())
    return std::nullopt;
  const auto& object = value.as_object();
  ErrorObject error;
  const auto text = [&](std::string_view key, std::optional<std::string>& out) {
    const auto* v = member(object, key);
    if (v == nullptr || v->is_null())
      return true;
    if (!v->is_string())
      return false;
    out = std::string(v->as_string());
    return true;
  };
  if (!text("ErrorMessage", error.message) || !text("ErrorType", error.type) ||
      !text("ErrorData", error.data))
    return std::nullopt;
  if (const auto* trace = member(object, "StackTrace"); trace != nullptr && !trace->is_null()) {
    if (!trace->is_array())
      return std::nullopt;
    std::vector<std::string> lines;
    for (const auto& line : trace->as_array()) {
      if (!line.is_string())
        return std::nullopt;
      lines.emplace_back(line.as_string());
    }
    error.stack_trace = std::move(lines);
  }
  return error;
}

json::value api_time(std::int64_t ms) {
  if (ms % 1000 == 0)
    return json::value(ms / 1000);
  return json::value(static_cast<double>(ms) / 1000.0);
}

namespace {

json::value time_value(std::int64_t ms, TimeForm form) {
  return form == TimeForm::event_ms ? json::value(ms) : api_time(ms);
}

} // namespace

json::object to_json(const Operation& op, TimeForm form) {
  json::object out;
  out["Id"] = op.id;
  if (!op.parent_id.empty())
    out["ParentId"] = op.parent_id;
  if (!op.name.empty())
    out["Name"] = op.name;
  out["Type"] = to_string(op.type);
  if (!op.sub_type.empty())
    out["SubType"] = op.sub_type;
  out["StartTimestamp"] = time_value(op.start_ms, form);
  if (op.end_ms)
    out["EndTimestamp"] = time_value(*op.end_ms, form);
  out["Status"] = to_string(op.status);
  switch (op.type) {
  case OpType::execution: {
    json::object details;
    details["InputPayload"] = op.input_payload;
    out["ExecutionDetails"] = std::move(details);
    break;
  }
  case OpType::context: {
    json::object details;
    if (op.replay_children)
      details["ReplayChildren"] = *op.replay_children;
    if (op.result)
      details["Result"] = *op.result;
    if (op.error)
      details["Error"] = to_json(*op.error);
    out["ContextDetails"] = std::move(details);
    break;
  }
  case OpType::step: {
    json::object details;
    details["Attempt"] = op.attempt;
    if (op.next_attempt_ms)
      details["NextAttemptTimestamp"] = time_value(*op.next_attempt_ms, form);
    if (op.result)
      details["Result"] = *op.result;
    if (op.error)
      details["Error"] = to_json(*op.error);
    out["StepDetails"] = std::move(details);
    break;
  }
  case OpType::wait: {
    json::object details;
    if (op.scheduled_end_ms)
      details["ScheduledEndTimestamp"] = time_value(*op.scheduled_end_ms, form);
    out["WaitDetails"] = std::move(details);
    break;
  }
  case OpType::callback: {
    json::object details;
    details["CallbackId"] = op.callback_id;
    if (op.result)
      details["Result"] = *op.result;
    if (op.error)
      details["Error"] = to_json(*op.error);
    out["CallbackDetails"] = std::move(details);
    break;
  }
  case OpType::chained_invoke: {
    json::object details;
    if (op.result)
      details["Result"] = *op.result;
    if (op.error)
      details["Error"] = to_json(*op.error);
    out["ChainedInvokeDetails"] = std::move(details);
    break;
  }
  }
  return out;
}

json::object to_store_json(const Operation& op) {
  json::object out;
  out["id"] = op.id;
  if (!op.parent_id.empty())
    out["parent"] = op.parent_id;
  if (!op.name.empty())
    out["name"] = op.name;
  if (!op.sub_type.empty())
    out["sub"] = op.sub_type;
  out["type"] = to_string(op.type);
  out["status"] = to_string(op.status);
  out["start"] = op.start_ms;
  if (op.end_ms)
    out["end"] = *op.end_ms;
  if (op.type == OpType::execution)
    out["input"] = op.input_payload;
  if (op.result)
    out["result"] = *op.result;
  if (op.error)
    out["error"] = to_json(*op.error);
  if (op.replay_children)
    out["replay"] = *op.replay_children;
  if (op.attempt != 0)
    out["attempt"] = op.attempt;
  if (op.next_attempt_ms)
    out["next"] = *op.next_attempt_ms;
  if (op.scheduled_end_ms)
    out["until"] = *op.scheduled_end_ms;
  if (op.wait_seconds != 0)
    out["wait"] = op.wait_seconds;
  if (!op.callback_id.empty())
    out["cb"] = op.callback_id;
  if (op.callback_timeout_s)
    out["cbt"] = *op.callback_timeout_s;
  if (op.heartbeat_timeout_s)
    out["cbh"] = *op.heartbeat_timeout_s;
  if (op.last_heartbeat_ms != 0)
    out["beat"] = op.last_heartbeat_ms;
  if (!op.function_name.empty())
    out["fn"] = op.function_name;
  if (!op.tenant_id.empty())
    out["tenant"] = op.tenant_id;
  if (op.input)
    out["in"] = *op.input;
  out["t"] = op.touched;
  return out;
}

std::optional<Operation> operation_from_store(const json::object& object) {
  Operation op;
  const auto str = [&](std::string_view key) -> std::string {
    const auto* v = member(object, key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  const auto opt_str = [&](std::string_view key) -> std::optional<std::string> {
    const auto* v = member(object, key);
    if (v != nullptr && v->is_string())
      return std::string(v->as_string());
    return std::nullopt;
  };
  const auto opt_int = [&](std::string_view key) -> std::optional<std::int64_t> {
    const auto* v = member(object, key);
    return v != nullptr ? as_int(*v) : std::nullopt;
  };
  op.id = str("id");
  op.parent_id = str("parent");
  op.name = str("name");
  op.sub_type = str("sub");
  const auto type = parse_op_type(str("type"));
  const auto status = parse_op_status(str("status"));
  const auto start = opt_int("start");
  if (op.id.empty() || !type || !status || !start)
    return std::nullopt;
  op.type = *type;
  op.status = *status;
  op.start_ms = *start;
  op.end_ms = opt_int("end");
  op.input_payload = str("input");
  op.result = opt_str("result");
  if (const auto* e = member(object, "error"); e != nullptr)
    op.error = error_from_json(*e);
  if (const auto* r = member(object, "replay"); r != nullptr && r->is_bool())
    op.replay_children = r->as_bool();
  op.attempt = static_cast<int>(opt_int("attempt").value_or(0));
  op.next_attempt_ms = opt_int("next");
  op.scheduled_end_ms = opt_int("until");
  op.wait_seconds = opt_int("wait").value_or(0);
  op.callback_id = str("cb");
  op.callback_timeout_s = opt_int("cbt");
  op.heartbeat_timeout_s = opt_int("cbh");
  op.last_heartbeat_ms = opt_int("beat").value_or(0);
  op.function_name = str("fn");
  op.tenant_id = str("tenant");
  op.input = opt_str("in");
  op.touched = static_cast<std::uint64_t>(opt_int("t").value_or(0));
  return op;
}

std::string ApiError::body() const {
  json::object out;
  out["Type"] = "User";
  if (type == "InvalidParameterValueException" || type == "TooManyRequestsException" ||
      type == "RequestTooLargeException" || type == "ValidationException")
    out["message"] = message;
  else
    out["Message"] = message;
  if (status >= 500)
    out["Type"] = "Service";
  return json::serialize(out);
}

ApiError invalid_parameter(std::string message) {
  return {400, "InvalidParameterValueException", std::move(message)};
}
ApiError validation_error(std::string message) {
  return {400, "ValidationException", std::move(message)};
}
ApiError resource_not_found(std::string message) {
  return {404, "ResourceNotFoundException", std::move(message)};
}
ApiError service_error(std::string message) {
  return {500, "ServiceException", std::move(message)};
}

std::optional<ApiError> parse_checkpoint(std::string_view body, ParsedCheckpoint& out) {
  boost::system::error_code ec;
  const auto root = json::parse(body.empty() ? std::string_view("{}") : body, ec);
  if (ec || !root.is_object())
    return ApiError{400, "InvalidRequestContentException",
                    "Could not parse request body into json: " +
                        (ec ? ec.message() : std::string("the body is not a JSON object"))};
  const auto& object = root.as_object();
  Violations problems;
  const auto* token = member(object, "CheckpointToken");
  if (token == nullptr || token->is_null()) {
    problems.add("Value null at 'checkpointToken' failed to satisfy constraint: Member must not "
                 "be null");
  } else if (!token->is_string()) {
    return ApiError{400, "InvalidRequestContentException",
                    "Could not parse request body into json: CheckpointToken is not a string"};
  } else {
    out.checkpoint_token = std::string(token->as_string());
    if (out.checkpoint_token.size() > 2048)
      problems.add("Value at 'checkpointToken' failed to satisfy constraint: Member must have "
                   "length less than or equal to 2048");
    else if (!base64_token(out.checkpoint_token))
      problems.add("Value at 'checkpointToken' failed to satisfy constraint: Member must satisfy "
                   "regular expression pattern: [A-Za-z0-9+/]+={0,2}");
  }
  if (const auto* client = member(object, "ClientToken"); client != nullptr && !client->is_null()) {
    if (!client->is_string())
      return ApiError{400, "InvalidRequestContentException",
                      "Could not parse request body into json: ClientToken is not a string"};
    out.client_token = std::string(client->as_string());
    if (out.client_token.empty() || out.client_token.size() > 64 || !printable(out.client_token) ||
        out.client_token.find(' ') != std::string::npos)
      problems.value(out.client_token, "clientToken",
                     "Member must satisfy regular expression pattern: [\\x21-\\x7E]+");
  }
  const auto* updates = member(object, "Updates");
  if (updates != nullptr && !updates->is_null()) {
    if (!updates->is_array())
      return ApiError{400, "InvalidRequestContentException",
                      "Could not parse request body into json: Updates is not a list"};
    std::size_t index = 0;
    for (const auto& item : updates->as_array()) {
      ++index;
      const std::string where = fmt::format("updates.{}.member", index);
      if (!item.is_object())
        return ApiError{400, "InvalidRequestContentException",
                        "Could not parse request body into json: an update is not an object"};
      const auto& u = item.as_object();
      OperationUpdate update;
      // Lambda bounds an update carrying an Error (32 KiB, whole update): measured only then.
      if (const auto* e = member(u, "Error"); e != nullptr && !e->is_null())
        update.json_size = json::serialize(u).size();
      const auto text = [&](std::string_view key, std::string& into) -> bool {
        const auto* v = member(u, key);
        if (v == nullptr || v->is_null())
          return true;
        if (!v->is_string())
          return false;
        into = std::string(v->as_string());
        return true;
      };
      std::string type_text;
      std::string action_text;
      if (!text("Id", update.id) || !text("ParentId", update.parent_id) ||
          !text("Name", update.name) || !text("SubType", update.sub_type) ||
          !text("Type", type_text) || !text("Action", action_text))
        return ApiError{400, "InvalidRequestContentException",
                        "Could not parse request body into json: a string member has another "
                        "type"};
      if (member(u, "Id") == nullptr)
        problems.add(fmt::format("Value null at '{}.id' failed to satisfy constraint: Member "
                                 "must not be null",
                                 where));
      else if (update.id.empty() || update.id.size() > 64)
        problems.value(update.id, where + ".id", "Member must have length between 1 and 64");
      else if (!valid_id(update.id))
        problems.value(update.id, where + ".id",
                       "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+");
      if (!update.parent_id.empty() && !valid_id(update.parent_id))
        problems.value(update.parent_id, where + ".parentId",
                       "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+");
      if (member(u, "Name") != nullptr &&
          (update.name.empty() || update.name.size() > 256 || !printable(update.name)))
        problems.value(update.name, where + ".name",
                       update.name.size() > 256
                           ? "Member must have length less than or equal to 256"
                           : "Member must satisfy regular expression pattern: [\\x20-\\x7E]+");
      if (member(u, "SubType") != nullptr &&
          (update.sub_type.empty() || update.sub_type.size() > 32 || !valid_id(update.sub_type)))
        problems.value(update.sub_type, where + ".subType",
                       update.sub_type.size() > 32
                           ? "Member must have length less than or equal to 32"
                           : "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+");
      if (const auto type = parse_op_type(type_text))
        update.type = *type;
      else if (member(u, "Type") == nullptr)
        problems.add(fmt::format("Value null at '{}.type' failed to satisfy constraint: Member "
                                 "must not be null",
                                 where));
      else
        problems.value(type_text, where + ".type",
                       "Member must satisfy enum value set: " + enum_list(k_types));
      if (const auto action = parse_op_action(action_text))
        update.action = *action;
      else if (member(u, "Action") == nullptr)
        problems.add(fmt::format("Value null at '{}.action' failed to satisfy constraint: "
                                 "Member must not be null",
                                 where));
      else
        problems.value(action_text, where + ".action",
                       "Member must satisfy enum value set: " + enum_list(k_actions));
      if (const auto* payload = member(u, "Payload"); payload != nullptr && !payload->is_null()) {
        if (!payload->is_string())
          return ApiError{400, "InvalidRequestContentException",
                          "Could not parse request body into json: Payload is not a string"};
        update.payload = std::string(payload->as_string());
        if (update.payload->size() > k_max_payload)
          problems.hidden(
              where + ".payload",
              fmt::format("Member must have length less than or equal to {}", k_max_payload));
      }
      if (const auto* error = member(u, "Error"); error != nullptr && !error->is_null()) {
        update.error = error_from_json(*error);
        if (!update.error)
          return ApiError{400, "InvalidRequestContentException",
                          "Could not parse request body into json: Error is not an ErrorObject"};
      }
      const auto options = [&](std::string_view key) -> const json::object* {
        const auto* v = member(u, key);
        return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
      };
      const auto seconds = [&](const json::object* o, std::string_view key, std::string_view name,
                               std::int64_t minimum,
                               std::optional<std::int64_t>& into) -> std::optional<ApiError> {
        if (o == nullptr)
          return std::nullopt;
        const auto* v = member(*o, key);
        if (v == nullptr || v->is_null())
          return std::nullopt;
        const auto n = as_int(*v);
        if (!n)
          return ApiError{400, "InvalidRequestContentException",
                          fmt::format("Could not parse request body into json: {} is not an "
                                      "integer",
                                      key)};
        into = *n;
        if (*n < minimum)
          problems.value(
              std::to_string(*n), fmt::format("{}.{}", where, name),
              fmt::format("Member must have value greater than or equal to {}", minimum));
        else if (*n > k_max_duration_s && minimum == 1)
          problems.value(
              std::to_string(*n), fmt::format("{}.{}", where, name),
              fmt::format("Member must have value less than or equal to {}", k_max_duration_s));
        return std::nullopt;
      };
      if (const auto* o = options("ContextOptions")) {
        if (const auto* r = member(*o, "ReplayChildren"); r != nullptr && r->is_bool())
          update.replay_children = r->as_bool();
      }
      const auto* step = options("StepOptions");
      update.has_step_options = step != nullptr;
      if (auto e = seconds(step, "NextAttemptDelaySeconds", "stepOptions.nextAttemptDelaySeconds",
                           1, update.next_attempt_delay))
        return e;
      if (auto e = seconds(options("WaitOptions"), "WaitSeconds", "waitOptions.waitSeconds", 1,
                           update.wait_seconds))
        return e;
      if (auto e = seconds(options("CallbackOptions"), "TimeoutSeconds",
                           "callbackOptions.timeoutSeconds", 0, update.callback_timeout))
        return e;
      if (auto e = seconds(options("CallbackOptions"), "HeartbeatTimeoutSeconds",
                           "callbackOptions.heartbeatTimeoutSeconds", 0, update.callback_heartbeat))
        return e;
      if (const auto* o = options("ChainedInvokeOptions")) {
        if (const auto* f = member(*o, "FunctionName"); f != nullptr && f->is_string())
          update.chained_function = std::string(f->as_string());
        else
          problems.add(fmt::format("Value null at '{}.chainedInvokeOptions.functionName' failed "
                                   "to satisfy constraint: Member must not be null",
                                   where));
        if (const auto* t = member(*o, "TenantId"); t != nullptr && t->is_string())
          update.chained_tenant = std::string(t->as_string());
      }
      out.updates.push_back(std::move(update));
    }
  }
  if (!problems.empty())
    return validation_error(problems.message());
  return std::nullopt;
}

} // namespace wisp::durable
