#include <wisp/durable/execution.hpp>

#include <wisp/durable/detail.hpp>

#include <wisp/support/hash.hpp>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <unordered_set>

namespace wisp::durable {

namespace json = boost::json;
using detail::member;

namespace {

std::uint64_t random64() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

std::string new_invocation_id() {
  return fmt::format("{:016x}", random64());
}

json::object payload_details(std::string_view key, const std::optional<std::string>& payload) {
  json::object inner;
  if (payload)
    inner["Payload"] = *payload;
  json::object out;
  out[key] = std::move(inner);
  return out;
}

json::object error_details(const std::optional<ErrorObject>& error) {
  json::object inner;
  if (error)
    inner["Payload"] = to_json(*error);
  json::object out;
  out["Error"] = std::move(inner);
  return out;
}

json::object retry_details(int attempt, std::optional<std::int64_t> delay) {
  json::object retry;
  retry["CurrentAttempt"] = attempt;
  if (delay)
    retry["NextAttemptDelaySeconds"] = *delay;
  return retry;
}

std::int64_t int_member(const json::object& object, std::string_view key,
                        std::int64_t fallback = 0) {
  const auto* v = member(object, key);
  if (v == nullptr)
    return fallback;
  if (v->is_int64())
    return v->as_int64();
  if (v->is_uint64())
    return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double())
    return static_cast<std::int64_t>(v->as_double());
  return fallback;
}

std::string str_member(const json::object& object, std::string_view key) {
  const auto* v = member(object, key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// Strips payloads from an event's details (IncludeExecutionData=false).
void strip_payloads(json::object& details) {
  for (auto& [key, value] : details) {
    if (!value.is_object())
      continue;
    auto& inner = value.as_object();
    if (key == "Input" || key == "Result" || key == "Error")
      inner.erase("Payload");
    else
      strip_payloads(inner);
  }
}

} // namespace

std::string make_execution_arn(std::string_view region, std::string_view account,
                               std::string_view function_name, std::string_view version,
                               std::string_view name, std::string_view id) {
  return fmt::format("arn:aws:lambda:{}:{}:function:{}:{}/durable-execution/{}/{}", region, account,
                     function_name, version, name, id);
}

std::optional<ArnParts> parse_execution_arn(std::string_view arn) {
  // arn:aws:lambda:<region>:<account>:function:<name>:<version>/durable-execution/<name>/<id>
  const auto slash = arn.find('/');
  if (slash == std::string_view::npos)
    return std::nullopt;
  const auto head = arn.substr(0, slash);
  const auto tail = arn.substr(slash + 1);
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const auto colon = head.find(':', start);
    parts.push_back(head.substr(start, colon - start));
    if (colon == std::string_view::npos)
      break;
    start = colon + 1;
  }
  if (parts.size() != 8 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function")
    return std::nullopt;
  const std::string_view prefix = "durable-execution/";
  if (!tail.starts_with(prefix))
    return std::nullopt;
  const auto rest = tail.substr(prefix.size());
  const auto second = rest.find('/');
  if (second == std::string_view::npos)
    return std::nullopt;
  ArnParts out;
  out.region = std::string(parts[3]);
  out.account = std::string(parts[4]);
  out.function_name = std::string(parts[6]);
  out.version = std::string(parts[7]);
  out.name = std::string(rest.substr(0, second));
  out.id = std::string(rest.substr(second + 1));
  // The service model's ARN pattern: ([a-zA-Z0-9_-]+) for each of the three names.
  if (!valid_id(out.name) || !valid_id(out.id) || !valid_id(out.function_name))
    return std::nullopt;
  return out;
}

json::object to_json(const HistoryEvent& event, bool include_data) {
  json::object out;
  out["EventType"] = event.type;
  if (!event.sub_type.empty())
    out["SubType"] = event.sub_type;
  out["EventId"] = event.event_id;
  if (!event.op_id.empty())
    out["Id"] = event.op_id;
  if (!event.name.empty())
    out["Name"] = event.name;
  out["EventTimestamp"] = api_time(event.time_ms);
  if (!event.parent_id.empty())
    out["ParentId"] = event.parent_id;
  json::object details = event.details;
  if (!include_data)
    strip_payloads(details);
  out[event.type + "Details"] = std::move(details);
  return out;
}

json::object to_store_json(const HistoryEvent& event) {
  json::object out;
  out["n"] = event.event_id;
  out["type"] = event.type;
  out["time"] = event.time_ms;
  if (!event.op_id.empty())
    out["id"] = event.op_id;
  if (!event.parent_id.empty())
    out["parent"] = event.parent_id;
  if (!event.name.empty())
    out["name"] = event.name;
  if (!event.sub_type.empty())
    out["sub"] = event.sub_type;
  out["d"] = event.details;
  return out;
}

std::optional<HistoryEvent> event_from_store(const json::object& object) {
  HistoryEvent event;
  event.event_id = int_member(object, "n");
  event.type = str_member(object, "type");
  event.time_ms = int_member(object, "time");
  event.op_id = str_member(object, "id");
  event.parent_id = str_member(object, "parent");
  event.name = str_member(object, "name");
  event.sub_type = str_member(object, "sub");
  if (const auto* d = member(object, "d"); d != nullptr && d->is_object())
    event.details = d->as_object();
  if (event.type.empty() || event.event_id <= 0)
    return std::nullopt;
  return event;
}

// ------------------------------------------------------------------ lifecycle

Execution Execution::create(ExecutionIdentity identity, std::string input, std::int64_t now_ms) {
  Execution execution;
  execution.m_identity = std::move(identity);
  execution.m_start_ms = now_ms;
  Operation op;
  op.id = execution.m_identity.id;
  op.type = OpType::execution;
  op.status = OpStatus::started;
  op.start_ms = now_ms;
  op.input_payload = std::move(input);
  const auto index = execution.add_operation(std::move(op));
  json::object details;
  json::object in;
  in["Payload"] = execution.m_ops[index].input_payload;
  details["Input"] = std::move(in);
  details["ExecutionTimeout"] = execution.m_identity.execution_timeout_s;
  execution.add_event("ExecutionStarted", &execution.m_ops[index], std::move(details), now_ms);
  return execution;
}

const Operation* Execution::find(std::string_view id) const {
  const auto it = m_index.find(std::string(id));
  return it == m_index.end() ? nullptr : &m_ops[it->second];
}

const Operation* Execution::find_callback(std::string_view callback_id) const {
  const auto it = m_callbacks.find(std::string(callback_id));
  return it == m_callbacks.end() ? nullptr : &m_ops[it->second];
}

Operation& Execution::touch(std::size_t index) {
  auto& op = m_ops[index];
  op.touched = ++m_seq;
  if (index >= m_dirty_flag.size())
    m_dirty_flag.resize(m_ops.size(), false);
  if (!m_dirty_flag[index]) {
    m_dirty_flag[index] = true;
    m_dirty_ops.push_back(index);
  }
  m_scalars_dirty = true;
  return op;
}

std::size_t Execution::add_operation(Operation operation) {
  const auto index = m_ops.size();
  m_index.emplace(operation.id, index);
  if (!operation.callback_id.empty())
    m_callbacks.emplace(operation.callback_id, index);
  m_ops.push_back(std::move(operation));
  m_dirty_flag.resize(m_ops.size(), false);
  touch(index);
  return index;
}

void Execution::add_event(std::string type, const Operation* op, json::object details,
                          std::int64_t now_ms) {
  HistoryEvent event;
  event.event_id = static_cast<std::int64_t>(m_history.size()) + 1;
  event.type = std::move(type);
  event.time_ms = now_ms;
  if (op != nullptr) {
    event.op_id = op->id;
    event.parent_id = op->parent_id;
    event.name = op->name;
    event.sub_type = op->sub_type;
  }
  event.details = std::move(details);
  m_history.push_back(std::move(event));
}

void Execution::close(ExecutionStatus status, std::int64_t now_ms) {
  m_status = status;
  m_end_ms = now_ms;
  auto& op = touch(0);
  switch (status) {
  case ExecutionStatus::succeeded:
    op.status = OpStatus::succeeded;
    break;
  case ExecutionStatus::failed:
    op.status = OpStatus::failed;
    break;
  case ExecutionStatus::timed_out:
    op.status = OpStatus::timed_out;
    break;
  case ExecutionStatus::stopped:
    op.status = OpStatus::stopped;
    break;
  case ExecutionStatus::running:
    break;
  }
  op.end_ms = now_ms;
  m_invocation.clear(); // every token is stale now
  m_scalars_dirty = true;
}

void Execution::succeed(std::optional<std::string> result, std::int64_t now_ms) {
  if (!running())
    return;
  m_result = std::move(result);
  close(ExecutionStatus::succeeded, now_ms);
  add_event("ExecutionSucceeded", &m_ops[0], payload_details("Result", m_result), now_ms);
}

void Execution::fail(ErrorObject error, std::int64_t now_ms) {
  if (!running())
    return;
  m_error = std::move(error);
  close(ExecutionStatus::failed, now_ms);
  add_event("ExecutionFailed", &m_ops[0], error_details(m_error), now_ms);
}

void Execution::time_out(std::int64_t now_ms) {
  if (!running())
    return;
  ErrorObject error;
  error.message =
      fmt::format("Execution timed out after {} seconds.", m_identity.execution_timeout_s);
  m_error = std::move(error);
  close(ExecutionStatus::timed_out, now_ms);
  add_event("ExecutionTimedOut", &m_ops[0], error_details(m_error), now_ms);
}

void Execution::stop(ErrorObject error, std::int64_t now_ms) {
  if (!running())
    return;
  m_error = std::move(error);
  close(ExecutionStatus::stopped, now_ms);
  add_event("ExecutionStopped", &m_ops[0], error_details(m_error), now_ms);
}

// ------------------------------------------------------------------ tokens

std::string Execution::make_token() const {
  return support::base64_encode(
      fmt::format("wisp1|{}|{}|{}", m_identity.id, m_invocation, m_token_seq));
}

bool Execution::token_valid(std::string_view token) const {
  return running() && !m_invocation.empty() && token == make_token();
}

std::string Execution::mint_callback_id(std::string_view op_id) const {
  return support::base64_encode(fmt::format("{}|{}|{:016x}", m_identity.arn, op_id, random64()));
}

// ------------------------------------------------------------------ checkpoint

std::optional<ApiError> Execution::validate(const std::vector<OperationUpdate>& updates) const {
  // At most one EXECUTION update, and it comes last.
  std::size_t execution_updates = 0;
  for (const auto& u : updates)
    if (u.type == OpType::execution)
      ++execution_updates;
  if (execution_updates > 1)
    return invalid_parameter("Cannot checkpoint multiple EXECUTION updates.");
  if (execution_updates == 1 && updates.back().type != OpType::execution)
    return invalid_parameter("EXECUTION checkpoint must be the last update.");

  // Parents exist (or start earlier in the batch) and are CONTEXTs; no operation twice,
  // except a STEP or CONTEXT started and closed in one batch.
  std::unordered_map<std::string, const OperationUpdate*> started;
  std::unordered_map<std::string, const OperationUpdate*> last_seen;
  for (const auto& u : updates) {
    if (const auto it = last_seen.find(u.id); it != last_seen.end()) {
      const auto& prev = *it->second;
      const bool allowed = (prev.type == OpType::step || prev.type == OpType::context) &&
                           prev.action == OpAction::start && u.action != OpAction::start;
      if (!allowed)
        return invalid_parameter("Cannot update the same operation twice in a single request.");
    }
    if (!u.parent_id.empty()) {
      bool ok = false;
      if (const auto s = started.find(u.parent_id); s != started.end())
        ok = s->second->type == OpType::context;
      else if (const auto* parent = find(u.parent_id))
        ok = parent->type == OpType::context;
      if (!ok)
        return invalid_parameter("Invalid parent operation id.");
    }
    if (u.action == OpAction::start)
      started[u.id] = &u;
    last_seen[u.id] = &u;
  }

  for (const auto& u : updates) {
    if (u.error && u.json_size > k_max_error_bytes)
      return invalid_parameter(
          fmt::format("Error object size must be less than {} bytes.", k_max_error_bytes));
    // Actions each type accepts.
    bool valid_action = false;
    switch (u.type) {
    case OpType::step:
      valid_action = u.action != OpAction::cancel;
      break;
    case OpType::context:
      valid_action = u.action == OpAction::start || u.action == OpAction::succeed ||
                     u.action == OpAction::fail;
      break;
    case OpType::wait:
    case OpType::callback:
    case OpType::chained_invoke:
      valid_action = u.action == OpAction::start || u.action == OpAction::cancel;
      break;
    case OpType::execution:
      valid_action = u.action == OpAction::succeed || u.action == OpAction::fail;
      break;
    }
    if (!valid_action)
      return invalid_parameter("Invalid action for the given operation type.");
    if (u.type == OpType::execution) {
      if (u.action == OpAction::succeed && u.error)
        return invalid_parameter("Cannot provide an Error for SUCCEED action.");
      if (u.action == OpAction::fail && u.payload)
        return invalid_parameter("Cannot provide a Payload for FAIL action.");
      continue;
    }
    const Operation* op = find(u.id);
    if (op != nullptr && op->type != u.type)
      return invalid_parameter(
          fmt::format("Cannot apply a {} update to operation {}, which is a {}.", to_string(u.type),
                      u.id, to_string(op->type)));
    const auto status_in = [&](std::initializer_list<OpStatus> allowed) {
      return op == nullptr ||
             std::find(allowed.begin(), allowed.end(), op->status) != allowed.end();
    };
    const std::string type_name(to_string(u.type));
    switch (u.type) {
    case OpType::step:
      if (u.action == OpAction::start && !status_in({OpStatus::ready}))
        return invalid_parameter("Invalid current STEP state to start.");
      if ((u.action == OpAction::succeed || u.action == OpAction::fail) &&
          !status_in({OpStatus::started, OpStatus::ready}))
        return invalid_parameter("Invalid current STEP state to close.");
      if (u.action == OpAction::retry) {
        if (!status_in({OpStatus::started, OpStatus::ready}))
          return invalid_parameter("Invalid current STEP state to re-attempt.");
        if (!u.has_step_options)
          return invalid_parameter("Invalid StepOptions for the given action.");
        if (u.error && u.payload)
          return invalid_parameter("Cannot provide both error and payload to RETRY a STEP.");
      }
      break;
    case OpType::context:
      if (u.action == OpAction::start && op != nullptr)
        return invalid_parameter("Cannot start a CONTEXT that already exists.");
      if (u.action != OpAction::start && !status_in({OpStatus::started}))
        return invalid_parameter("Invalid current CONTEXT state to close.");
      break;
    case OpType::wait:
    case OpType::callback:
    case OpType::chained_invoke:
      if (u.action == OpAction::start && op != nullptr)
        return invalid_parameter(fmt::format("Cannot start a {} that already exists.", type_name));
      if (u.action == OpAction::cancel && (op == nullptr || op->status != OpStatus::started))
        return invalid_parameter(fmt::format(
            "Cannot cancel a {} that does not exist or has already completed.", type_name));
      break;
    case OpType::execution:
      break;
    }
    if (u.type == OpType::step || u.type == OpType::context) {
      if (u.action == OpAction::fail && u.payload)
        return invalid_parameter("Cannot provide a Payload for FAIL action.");
      if (u.action == OpAction::succeed && u.error)
        return invalid_parameter("Cannot provide an Error for SUCCEED action.");
    }
  }
  return std::nullopt;
}

void Execution::apply(const OperationUpdate& u, std::int64_t now, CheckpointResult& result) {
  if (u.type == OpType::execution) {
    if (u.action == OpAction::succeed)
      succeed(u.payload.value_or(""), now);
    else
      fail(u.error.value_or(ErrorObject{}), now);
    result.closed = true;
    return;
  }
  std::size_t index = 0;
  if (const auto it = m_index.find(u.id); it != m_index.end()) {
    index = it->second;
  } else {
    Operation op;
    op.id = u.id;
    op.parent_id = u.parent_id;
    op.name = u.name;
    op.sub_type = u.sub_type;
    op.type = u.type;
    op.status = OpStatus::started;
    op.start_ms = now;
    index = add_operation(std::move(op));
  }
  auto& op = touch(index);
  if (op.name.empty() && !u.name.empty())
    op.name = u.name;
  if (op.sub_type.empty() && !u.sub_type.empty())
    op.sub_type = u.sub_type;
  switch (u.type) {
  case OpType::step:
    switch (u.action) {
    case OpAction::start:
      op.status = OpStatus::started;
      op.next_attempt_ms.reset();
      add_event("StepStarted", &op, {}, now);
      break;
    case OpAction::retry: {
      const auto delay = u.next_attempt_delay.value_or(0);
      op.attempt += 1;
      op.status = OpStatus::pending;
      op.next_attempt_ms = now + delay * 1000;
      op.result = u.payload;
      op.error = u.error;
      json::object details =
          u.error ? error_details(u.error) : payload_details("Result", u.payload);
      details["RetryDetails"] = retry_details(op.attempt, delay);
      add_event(u.error ? "StepFailed" : "StepSucceeded", &op, std::move(details), now);
      break;
    }
    case OpAction::succeed: {
      op.attempt += 1;
      op.status = OpStatus::succeeded;
      op.end_ms = now;
      op.next_attempt_ms.reset();
      op.result = u.payload;
      op.error.reset();
      json::object details = payload_details("Result", u.payload);
      details["RetryDetails"] = retry_details(op.attempt, std::nullopt);
      add_event("StepSucceeded", &op, std::move(details), now);
      break;
    }
    case OpAction::fail: {
      op.attempt += 1;
      op.status = OpStatus::failed;
      op.end_ms = now;
      op.next_attempt_ms.reset();
      op.error = u.error.value_or(ErrorObject{});
      json::object details = error_details(op.error);
      details["RetryDetails"] = retry_details(op.attempt, std::nullopt);
      add_event("StepFailed", &op, std::move(details), now);
      break;
    }
    case OpAction::cancel:
      break;
    }
    break;
  case OpType::context:
    if (u.replay_children)
      op.replay_children = u.replay_children;
    if (u.action == OpAction::start) {
      add_event("ContextStarted", &op, {}, now);
    } else if (u.action == OpAction::succeed) {
      op.status = OpStatus::succeeded;
      op.end_ms = now;
      op.result = u.payload;
      add_event("ContextSucceeded", &op, payload_details("Result", u.payload), now);
    } else {
      op.status = OpStatus::failed;
      op.end_ms = now;
      op.error = u.error.value_or(ErrorObject{});
      add_event("ContextFailed", &op, error_details(op.error), now);
    }
    break;
  case OpType::wait:
    if (u.action == OpAction::start) {
      op.wait_seconds = u.wait_seconds.value_or(0);
      op.scheduled_end_ms = now + op.wait_seconds * 1000;
      json::object details;
      details["Duration"] = op.wait_seconds;
      details["ScheduledEndTimestamp"] = api_time(*op.scheduled_end_ms);
      add_event("WaitStarted", &op, std::move(details), now);
    } else {
      op.status = OpStatus::cancelled;
      op.end_ms = now;
      json::object details;
      if (u.error)
        details = error_details(u.error);
      add_event("WaitCancelled", &op, std::move(details), now);
    }
    break;
  case OpType::callback:
    if (u.action == OpAction::start) {
      op.callback_id = mint_callback_id(op.id);
      m_callbacks.emplace(op.callback_id, index);
      op.callback_timeout_s = u.callback_timeout;
      op.heartbeat_timeout_s = u.callback_heartbeat;
      op.last_heartbeat_ms = now;
      json::object details;
      details["CallbackId"] = op.callback_id;
      if (u.callback_timeout && *u.callback_timeout > 0)
        details["Timeout"] = *u.callback_timeout;
      if (u.callback_heartbeat && *u.callback_heartbeat > 0)
        details["HeartbeatTimeout"] = *u.callback_heartbeat;
      add_event("CallbackStarted", &op, std::move(details), now);
      result.new_callbacks.push_back(op.callback_id);
    } else {
      op.status = OpStatus::cancelled;
      op.end_ms = now;
    }
    break;
  case OpType::chained_invoke:
    if (u.action == OpAction::start) {
      op.function_name = u.chained_function.value_or("");
      op.tenant_id = u.chained_tenant.value_or("");
      op.input = u.payload.value_or("");
      json::object details;
      details["FunctionName"] = op.function_name;
      if (!op.tenant_id.empty())
        details["TenantId"] = op.tenant_id;
      json::object in;
      in["Payload"] = *op.input;
      details["Input"] = std::move(in);
      add_event("ChainedInvokeStarted", &op, std::move(details), now);
      result.chained_invokes.push_back(op.id);
    } else {
      op.status = OpStatus::cancelled;
      op.end_ms = now;
    }
    break;
  case OpType::execution:
    break;
  }
}

tl::expected<CheckpointResult, ApiError> Execution::checkpoint(const ParsedCheckpoint& request,
                                                               std::int64_t now_ms) {
  if (!token_valid(request.checkpoint_token))
    return tl::unexpected(invalid_parameter(
        running() ? "Invalid Checkpoint Token: the token is not the execution's current token"
                  : "Invalid Checkpoint Token: the execution is closed"));
  if (auto problem = validate(request.updates))
    return tl::unexpected(std::move(*problem));
  CheckpointResult result;
  for (const auto& update : request.updates)
    apply(update, now_ms, result);
  ++m_token_seq;
  m_scalars_dirty = true;
  if (running())
    fire_timers(now_ms);
  // The delta: every operation changed since the handler last saw it, in creation order.
  for (const auto& op : m_ops)
    if (op.touched > m_seen)
      result.operations.push_back(to_json(op, TimeForm::api_seconds));
  m_seen = m_seq;
  result.token = running() ? make_token() : std::string();
  if (result.token.empty())
    result.token =
        support::base64_encode(fmt::format("wisp1|{}|closed|{}", m_identity.id, m_token_seq));
  return result;
}

std::optional<std::string> Execution::replayed_checkpoint(std::string_view token,
                                                          std::string_view client_token) const {
  if (client_token.empty() || m_last_client_token != client_token || m_last_token != token)
    return std::nullopt;
  return m_last_response;
}

void Execution::remember_checkpoint(std::string_view token, std::string_view client_token,
                                    std::string response) {
  m_last_token = std::string(token);
  m_last_client_token = std::string(client_token);
  m_last_response = std::move(response);
}

std::vector<const Operation*> Execution::visible_operations() const {
  // Children of a completed CONTEXT are left out unless it asked for ReplayChildren (and so
  // are their descendants): the SDK replays the context from its result.
  std::unordered_set<std::string> hidden;
  std::vector<const Operation*> out;
  out.reserve(m_ops.size());
  for (const auto& op : m_ops) {
    if (!op.parent_id.empty()) {
      if (hidden.contains(op.parent_id)) {
        hidden.insert(op.id);
        continue;
      }
      if (const auto* parent = find(op.parent_id);
          parent != nullptr && parent->type == OpType::context &&
          (parent->status == OpStatus::succeeded || parent->status == OpStatus::failed) &&
          !parent->replay_children.value_or(false)) {
        hidden.insert(op.id);
        continue;
      }
    }
    out.push_back(&op);
  }
  return out;
}

tl::expected<StatePage, ApiError> Execution::state(std::string_view token, std::string_view marker,
                                                   std::int64_t max_items) const {
  if (!token_valid(token))
    return tl::unexpected(invalid_parameter(
        running() ? "Invalid Checkpoint Token: the token is not the execution's current token"
                  : "Invalid Checkpoint Token: the execution is closed"));
  const auto ops = visible_operations();
  std::size_t start = 0;
  if (!marker.empty()) {
    const auto expected_prefix = fmt::format("{}:{}:", m_invocation, m_token_seq);
    if (!marker.starts_with(expected_prefix))
      return tl::unexpected(invalid_parameter("Invalid marker"));
    try {
      start = std::stoul(std::string(marker.substr(expected_prefix.size())));
    } catch (const std::exception&) {
      return tl::unexpected(invalid_parameter("Invalid marker"));
    }
    if (start > ops.size())
      return tl::unexpected(invalid_parameter("Invalid marker"));
  }
  const std::size_t limit =
      max_items <= 0 ? 100 : static_cast<std::size_t>(std::min<std::int64_t>(max_items, 1000));
  StatePage page;
  std::size_t bytes = 0;
  std::size_t i = start;
  for (; i < ops.size() && page.operations.size() < limit; ++i) {
    auto json_op = to_json(*ops[i], TimeForm::api_seconds);
    bytes += json::serialize(json_op).size();
    if (!page.operations.empty() && bytes > 5u * 1024 * 1024)
      break;
    page.operations.push_back(std::move(json_op));
  }
  if (i < ops.size())
    page.next_marker = fmt::format("{}:{}:{}", m_invocation, m_token_seq, i);
  return page;
}

// ------------------------------------------------------------------ orchestration

Envelope Execution::begin_invocation(std::int64_t now_ms, std::size_t page_bytes) {
  Envelope envelope;
  envelope.replay = !m_invocations.empty();
  m_invocation = new_invocation_id();
  m_invoking = true;
  m_invocation_start_ms = now_ms;
  m_scalars_dirty = true;
  envelope.token = make_token();
  const auto ops = visible_operations();
  json::array operations;
  std::size_t bytes = 0;
  std::size_t i = 0;
  for (; i < ops.size(); ++i) {
    auto json_op = to_json(*ops[i], TimeForm::event_ms);
    bytes += json::serialize(json_op).size();
    if (!operations.empty() && bytes > page_bytes)
      break;
    operations.push_back(std::move(json_op));
  }
  json::object state;
  state["Operations"] = std::move(operations);
  if (i < ops.size())
    state["NextMarker"] = fmt::format("{}:{}:{}", m_invocation, m_token_seq, i);
  json::object event;
  event["DurableExecutionArn"] = m_identity.arn;
  event["CheckpointToken"] = envelope.token;
  event["InitialExecutionState"] = std::move(state);
  json::array updated;
  for (const auto& id : m_updated_ids)
    updated.emplace_back(id);
  event["UpdatedOperationIds"] = std::move(updated);
  m_updated_ids.clear();
  m_seen = m_seq;
  envelope.payload = json::serialize(event);
  return envelope;
}

void Execution::end_invocation(InvocationRecord record, const std::optional<ErrorObject>& error) {
  m_invoking = false;
  if (running())
    m_invocation.clear();
  json::object details;
  details["StartTimestamp"] = api_time(record.start_ms);
  details["EndTimestamp"] = api_time(record.end_ms);
  details["RequestId"] = record.request_id;
  if (error) {
    json::object e;
    e["Payload"] = to_json(*error);
    details["Error"] = std::move(e);
  }
  add_event("InvocationCompleted", nullptr, std::move(details), record.end_ms);
  m_invocations.push_back(std::move(record));
  m_scalars_dirty = true;
}

bool Execution::has_pending_work() const {
  for (const auto& op : m_ops) {
    switch (op.type) {
    case OpType::step:
      if (op.status == OpStatus::pending || op.status == OpStatus::ready)
        return true;
      break;
    case OpType::wait:
    case OpType::callback:
    case OpType::chained_invoke:
      if (op.status == OpStatus::started)
        return true;
      break;
    default:
      break;
    }
  }
  return false;
}

std::optional<std::int64_t> Execution::next_timer() const {
  std::optional<std::int64_t> out;
  for (const auto& op : m_ops) {
    std::optional<std::int64_t> t;
    if (op.type == OpType::wait && op.status == OpStatus::started)
      t = op.scheduled_end_ms;
    else if (op.type == OpType::step && op.status == OpStatus::pending)
      t = op.next_attempt_ms;
    if (t && (!out || *t < *out))
      out = t;
  }
  return out;
}

std::optional<std::int64_t> Execution::next_callback_deadline() const {
  std::optional<std::int64_t> out;
  for (const auto& op : m_ops) {
    if (op.type != OpType::callback || op.status != OpStatus::started)
      continue;
    if (op.callback_timeout_s && *op.callback_timeout_s > 0) {
      const auto t = op.start_ms + *op.callback_timeout_s * 1000;
      if (!out || t < *out)
        out = t;
    }
    if (op.heartbeat_timeout_s && *op.heartbeat_timeout_s > 0) {
      const auto t = op.last_heartbeat_ms + *op.heartbeat_timeout_s * 1000;
      if (!out || t < *out)
        out = t;
    }
  }
  return out;
}

void Execution::record_async_change(const std::string& op_id) {
  if (std::find(m_updated_ids.begin(), m_updated_ids.end(), op_id) == m_updated_ids.end())
    m_updated_ids.push_back(op_id);
  m_scalars_dirty = true;
}

bool Execution::fire_timers(std::int64_t now_ms) {
  bool changed = false;
  for (std::size_t i = 0; i < m_ops.size(); ++i) {
    const auto& op = m_ops[i];
    if (op.type == OpType::wait && op.status == OpStatus::started && op.scheduled_end_ms &&
        *op.scheduled_end_ms <= now_ms) {
      auto& w = touch(i);
      w.status = OpStatus::succeeded;
      w.end_ms = *w.scheduled_end_ms;
      json::object details;
      details["Duration"] = w.wait_seconds;
      add_event("WaitSucceeded", &w, std::move(details), *w.end_ms);
      record_async_change(w.id);
      changed = true;
    } else if (op.type == OpType::step && op.status == OpStatus::pending && op.next_attempt_ms &&
               *op.next_attempt_ms <= now_ms) {
      auto& s = touch(i);
      s.status = OpStatus::ready;
      s.next_attempt_ms.reset();
      record_async_change(s.id);
      changed = true;
    }
  }
  return changed;
}

bool Execution::fire_callback_deadlines(std::int64_t now_ms) {
  bool changed = false;
  for (std::size_t i = 0; i < m_ops.size(); ++i) {
    const auto& op = m_ops[i];
    if (op.type != OpType::callback || op.status != OpStatus::started)
      continue;
    const bool timed_out = op.callback_timeout_s && *op.callback_timeout_s > 0 &&
                           op.start_ms + *op.callback_timeout_s * 1000 <= now_ms;
    const bool missed_beat = op.heartbeat_timeout_s && *op.heartbeat_timeout_s > 0 &&
                             op.last_heartbeat_ms + *op.heartbeat_timeout_s * 1000 <= now_ms;
    if (!timed_out && !missed_beat)
      continue;
    auto& cb = touch(i);
    cb.status = OpStatus::timed_out;
    cb.end_ms = now_ms;
    cb.error = timed_out ? ErrorObject::of("Callback.Timeout", "Callback timed out")
                         : ErrorObject::of("Callback.Heartbeat", "Callback timed out on heartbeat");
    add_event("CallbackTimedOut", &cb, error_details(cb.error), now_ms);
    record_async_change(cb.id);
    changed = true;
  }
  return changed;
}

namespace {

ApiError callback_not_found(std::string_view callback_id) {
  return invalid_parameter(fmt::format("Callback {} does not exist", callback_id));
}

ApiError callback_closed(const Operation& op, bool execution_running) {
  if (op.status == OpStatus::timed_out)
    return ApiError{400, "CallbackTimeoutException",
                    fmt::format("Callback {} has timed out", op.callback_id)};
  if (!execution_running && op.status == OpStatus::started)
    return invalid_parameter(
        fmt::format("Callback {} belongs to a closed execution", op.callback_id));
  return invalid_parameter(
      fmt::format("Callback {} is already {}", op.callback_id, to_string(op.status)));
}

} // namespace

tl::expected<void, ApiError> Execution::callback_succeed(std::string_view callback_id,
                                                         std::string result, std::int64_t now_ms) {
  const auto it = m_callbacks.find(std::string(callback_id));
  if (it == m_callbacks.end())
    return tl::unexpected(callback_not_found(callback_id));
  if (!running() || m_ops[it->second].status != OpStatus::started)
    return tl::unexpected(callback_closed(m_ops[it->second], running()));
  auto& op = touch(it->second);
  op.status = OpStatus::succeeded;
  op.end_ms = now_ms;
  op.result = std::move(result);
  add_event("CallbackSucceeded", &op, payload_details("Result", op.result), now_ms);
  record_async_change(op.id);
  return {};
}

tl::expected<void, ApiError> Execution::callback_fail(std::string_view callback_id,
                                                      ErrorObject error, std::int64_t now_ms) {
  const auto it = m_callbacks.find(std::string(callback_id));
  if (it == m_callbacks.end())
    return tl::unexpected(callback_not_found(callback_id));
  if (!running() || m_ops[it->second].status != OpStatus::started)
    return tl::unexpected(callback_closed(m_ops[it->second], running()));
  auto& op = touch(it->second);
  op.status = OpStatus::failed;
  op.end_ms = now_ms;
  op.error = std::move(error);
  add_event("CallbackFailed", &op, error_details(op.error), now_ms);
  record_async_change(op.id);
  return {};
}

tl::expected<void, ApiError> Execution::callback_heartbeat(std::string_view callback_id,
                                                           std::int64_t now_ms) {
  const auto it = m_callbacks.find(std::string(callback_id));
  if (it == m_callbacks.end())
    return tl::unexpected(callback_not_found(callback_id));
  if (!running() || m_ops[it->second].status != OpStatus::started)
    return tl::unexpected(callback_closed(m_ops[it->second], running()));
  // A heartbeat is not a change the handler sees: no touch.
  m_ops[it->second].last_heartbeat_ms = now_ms;
  if (it->second >= m_dirty_flag.size())
    m_dirty_flag.resize(m_ops.size(), false);
  if (!m_dirty_flag[it->second]) {
    m_dirty_flag[it->second] = true;
    m_dirty_ops.push_back(it->second);
  }
  return {};
}

void Execution::chained_invoke_done(std::string_view op_id, OpStatus status,
                                    std::optional<std::string> result,
                                    std::optional<ErrorObject> error, std::int64_t now_ms) {
  const auto it = m_index.find(std::string(op_id));
  if (it == m_index.end() || m_ops[it->second].status != OpStatus::started || !running())
    return;
  auto& op = touch(it->second);
  op.status = status;
  op.end_ms = now_ms;
  op.result = std::move(result);
  op.error = std::move(error);
  switch (status) {
  case OpStatus::succeeded:
    add_event("ChainedInvokeSucceeded", &op, payload_details("Result", op.result), now_ms);
    break;
  case OpStatus::timed_out:
    add_event("ChainedInvokeTimedOut", &op, error_details(op.error), now_ms);
    break;
  case OpStatus::stopped:
    add_event("ChainedInvokeStopped", &op, error_details(op.error), now_ms);
    break;
  default:
    add_event("ChainedInvokeFailed", &op, error_details(op.error), now_ms);
    break;
  }
  record_async_change(op.id);
}

// ------------------------------------------------------------------ persistence

namespace {

json::object identity_json(const ExecutionIdentity& id) {
  json::object out;
  out["arn"] = id.arn;
  out["name"] = id.name;
  out["id"] = id.id;
  out["function"] = id.function_id;
  out["functionName"] = id.function_name;
  out["functionArn"] = id.function_arn;
  out["version"] = id.version;
  out["timeout"] = id.execution_timeout_s;
  out["retention"] = id.retention_days;
  return out;
}

json::object invocation_json(const InvocationRecord& r) {
  json::object out;
  out["requestId"] = r.request_id;
  out["start"] = r.start_ms;
  out["end"] = r.end_ms;
  out["replay"] = r.replay;
  out["outcome"] = r.outcome;
  out["cold"] = r.cold;
  out["ms"] = r.duration_ms;
  return out;
}

InvocationRecord invocation_from(const json::object& o) {
  InvocationRecord r;
  r.request_id = str_member(o, "requestId");
  r.start_ms = int_member(o, "start");
  r.end_ms = int_member(o, "end");
  if (const auto* v = member(o, "replay"); v != nullptr && v->is_bool())
    r.replay = v->as_bool();
  r.outcome = str_member(o, "outcome");
  if (const auto* v = member(o, "cold"); v != nullptr && v->is_bool())
    r.cold = v->as_bool();
  if (const auto* v = member(o, "ms"); v != nullptr && v->is_number())
    r.duration_ms = v->to_number<double>();
  return r;
}

} // namespace

// The execution's fields that change, as the snapshot and each journal record's "s" store them.
void Execution::put_scalars(json::object& out) const {
  out["status"] = to_string(m_status);
  if (m_end_ms)
    out["end"] = *m_end_ms;
  if (m_result)
    out["result"] = *m_result;
  if (m_error)
    out["error"] = to_json(*m_error);
  out["seq"] = m_seq;
  out["seen"] = m_seen;
  out["tokenSeq"] = m_token_seq;
  out["skew"] = skew_ms;
  out["failedInvocations"] = failed_invocations;
  out["owner"] = owner;
  out["invoking"] = m_invoking;
  json::array updated;
  for (const auto& id : m_updated_ids)
    updated.emplace_back(id);
  out["updated"] = std::move(updated);
}

json::object Execution::snapshot() const {
  json::object out;
  out["format"] = 1;
  out["identity"] = identity_json(m_identity);
  out["start"] = m_start_ms;
  out["records"] = m_records;
  put_scalars(out);
  json::array ops;
  for (const auto& op : m_ops)
    ops.push_back(to_store_json(op));
  out["ops"] = std::move(ops);
  json::array events;
  for (const auto& e : m_history)
    events.push_back(to_store_json(e));
  out["events"] = std::move(events);
  json::array invocations;
  for (const auto& r : m_invocations)
    invocations.push_back(invocation_json(r));
  out["invocations"] = std::move(invocations);
  return out;
}

namespace {

void apply_scalars(const json::object& s, ExecutionStatus& status, std::optional<std::int64_t>& end,
                   std::optional<std::string>& result, std::optional<ErrorObject>& error,
                   std::uint64_t& seq, std::uint64_t& seen, std::uint64_t& token_seq,
                   std::int64_t& skew, int& failed, std::vector<std::string>& updated,
                   std::string& owner, bool& invoking) {
  if (const auto* v = member(s, "owner"); v != nullptr && v->is_string())
    owner = std::string(v->as_string());
  if (const auto* v = member(s, "invoking"); v != nullptr && v->is_bool())
    invoking = v->as_bool();
  if (const auto parsed = parse_execution_status(str_member(s, "status")))
    status = *parsed;
  if (member(s, "end") != nullptr)
    end = int_member(s, "end");
  if (const auto* v = member(s, "result"); v != nullptr && v->is_string())
    result = std::string(v->as_string());
  if (const auto* v = member(s, "error"); v != nullptr)
    error = error_from_json(*v);
  seq = static_cast<std::uint64_t>(int_member(s, "seq", static_cast<std::int64_t>(seq)));
  seen = static_cast<std::uint64_t>(int_member(s, "seen", static_cast<std::int64_t>(seen)));
  token_seq =
      static_cast<std::uint64_t>(int_member(s, "tokenSeq", static_cast<std::int64_t>(token_seq)));
  skew = int_member(s, "skew", skew);
  failed = static_cast<int>(int_member(s, "failedInvocations", failed));
  if (const auto* v = member(s, "updated"); v != nullptr && v->is_array()) {
    updated.clear();
    for (const auto& id : v->as_array())
      if (id.is_string())
        updated.emplace_back(id.as_string());
  }
}

} // namespace

std::optional<Execution> Execution::from_snapshot(const json::object& object) {
  const auto* identity = member(object, "identity");
  if (identity == nullptr || !identity->is_object())
    return std::nullopt;
  const auto& id = identity->as_object();
  Execution e;
  e.m_identity.arn = str_member(id, "arn");
  e.m_identity.name = str_member(id, "name");
  e.m_identity.id = str_member(id, "id");
  e.m_identity.function_id = str_member(id, "function");
  e.m_identity.function_name = str_member(id, "functionName");
  e.m_identity.function_arn = str_member(id, "functionArn");
  e.m_identity.version = str_member(id, "version");
  e.m_identity.execution_timeout_s = int_member(id, "timeout", k_default_execution_timeout_s);
  e.m_identity.retention_days = int_member(id, "retention", k_default_retention_days);
  e.m_start_ms = int_member(object, "start");
  apply_scalars(object, e.m_status, e.m_end_ms, e.m_result, e.m_error, e.m_seq, e.m_seen,
                e.m_token_seq, e.skew_ms, e.failed_invocations, e.m_updated_ids, e.owner,
                e.m_invoking);
  e.m_records = static_cast<std::uint64_t>(int_member(object, "records"));
  if (const auto* ops = member(object, "ops"); ops != nullptr && ops->is_array()) {
    for (const auto& v : ops->as_array()) {
      if (!v.is_object())
        return std::nullopt;
      auto op = operation_from_store(v.as_object());
      if (!op)
        return std::nullopt;
      const auto index = e.m_ops.size();
      e.m_index.emplace(op->id, index);
      if (!op->callback_id.empty())
        e.m_callbacks.emplace(op->callback_id, index);
      e.m_ops.push_back(std::move(*op));
    }
  }
  if (e.m_ops.empty() || e.m_ops.front().type != OpType::execution || e.m_identity.arn.empty())
    return std::nullopt;
  if (const auto* events = member(object, "events"); events != nullptr && events->is_array())
    for (const auto& v : events->as_array())
      if (v.is_object())
        if (auto event = event_from_store(v.as_object()))
          e.m_history.push_back(std::move(*event));
  if (const auto* inv = member(object, "invocations"); inv != nullptr && inv->is_array())
    for (const auto& v : inv->as_array())
      if (v.is_object())
        e.m_invocations.push_back(invocation_from(v.as_object()));
  e.m_dirty_flag.assign(e.m_ops.size(), false);
  e.m_events_flushed = e.m_history.size();
  e.m_invocations_flushed = e.m_invocations.size();
  e.m_scalars_dirty = false;
  return e;
}

bool Execution::dirty() const {
  return m_scalars_dirty || !m_dirty_ops.empty() || m_events_flushed < m_history.size() ||
         m_invocations_flushed < m_invocations.size();
}

json::object Execution::take_changes() {
  json::object record;
  record["n"] = ++m_records;
  json::object s;
  put_scalars(s);
  record["s"] = std::move(s);
  if (!m_dirty_ops.empty()) {
    json::array ops;
    for (const auto index : m_dirty_ops) {
      ops.push_back(to_store_json(m_ops[index]));
      m_dirty_flag[index] = false;
    }
    m_dirty_ops.clear();
    record["o"] = std::move(ops);
  }
  if (m_events_flushed < m_history.size()) {
    json::array events;
    for (auto i = m_events_flushed; i < m_history.size(); ++i)
      events.push_back(to_store_json(m_history[i]));
    m_events_flushed = m_history.size();
    record["e"] = std::move(events);
  }
  if (m_invocations_flushed < m_invocations.size()) {
    json::array inv;
    for (auto i = m_invocations_flushed; i < m_invocations.size(); ++i)
      inv.push_back(invocation_json(m_invocations[i]));
    m_invocations_flushed = m_invocations.size();
    record["i"] = std::move(inv);
  }
  m_scalars_dirty = false;
  return record;
}

bool Execution::apply_changes(const json::object& record) {
  const auto n = static_cast<std::uint64_t>(int_member(record, "n"));
  if (n <= m_records)
    return true; // already in the snapshot
  if (const auto* s = member(record, "s"); s != nullptr && s->is_object())
    apply_scalars(s->as_object(), m_status, m_end_ms, m_result, m_error, m_seq, m_seen, m_token_seq,
                  skew_ms, failed_invocations, m_updated_ids, owner, m_invoking);
  if (const auto* ops = member(record, "o"); ops != nullptr && ops->is_array()) {
    for (const auto& v : ops->as_array()) {
      if (!v.is_object())
        return false;
      auto op = operation_from_store(v.as_object());
      if (!op)
        return false;
      if (const auto it = m_index.find(op->id); it != m_index.end()) {
        if (!op->callback_id.empty())
          m_callbacks[op->callback_id] = it->second;
        m_ops[it->second] = std::move(*op);
      } else {
        const auto index = m_ops.size();
        m_index.emplace(op->id, index);
        if (!op->callback_id.empty())
          m_callbacks.emplace(op->callback_id, index);
        m_ops.push_back(std::move(*op));
      }
    }
  }
  if (const auto* events = member(record, "e"); events != nullptr && events->is_array())
    for (const auto& v : events->as_array())
      if (v.is_object())
        if (auto event = event_from_store(v.as_object());
            event && event->event_id == static_cast<std::int64_t>(m_history.size()) + 1)
          m_history.push_back(std::move(*event));
  if (const auto* inv = member(record, "i"); inv != nullptr && inv->is_array())
    for (const auto& v : inv->as_array())
      if (v.is_object())
        m_invocations.push_back(invocation_from(v.as_object()));
  m_records = n;
  m_dirty_flag.assign(m_ops.size(), false);
  m_events_flushed = m_history.size();
  m_invocations_flushed = m_invocations.size();
  return true;
}

} // namespace wisp::durable
