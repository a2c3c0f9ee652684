#pragma once
// One durable execution: its operations, history and checkpoint protocol, as a pure state
// machine. No I/O and no clocks: every call takes the execution's current time (epoch ms, the
// time a real run would show, see docs/durable.md "Time"). The service (service.hpp) owns the
// locking, the timers, the invocations and the store.
//
// Protocol (Lambda's, docs/durable.md):
// - An invocation starts with begin_invocation(): a fresh checkpoint token, the operations the
//   handler must replay (children of completed contexts left out unless ReplayChildren), paged
//   by size, and UpdatedOperationIds (operations changed since the last invocation).
// - checkpoint() validates a batch of OperationUpdates against the current state (atomically:
//   all or nothing), applies them, rotates the token and answers the delta: every operation
//   changed since the handler last saw it (its own updates included, e.g. a new CALLBACK with
//   its minted CallbackId). A token other than the current one is "Invalid Checkpoint Token".
// - Waits and step retries whose time has come are completed inside a checkpoint too, so a
//   handler that polls (empty Updates) sees them without a new invocation.

#include <wisp/durable/types.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <tl/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wisp::durable {

// Who an execution is: fixed when it starts.
struct ExecutionIdentity {
  std::string arn;  // arn:aws:lambda:<r>:<acct>:function:<fn>:<ver>/durable-execution/<name>/<id>
  std::string name; // DurableExecutionName
  std::string id;   // last ARN segment; also the EXECUTION operation's Id
  std::string function_id;   // the template's logical id
  std::string function_name; // FunctionName (else the logical id)
  std::string function_arn;  // arn:aws:lambda:<r>:<acct>:function:<fn>
  std::string version = "$LATEST";
  std::int64_t execution_timeout_s = k_default_execution_timeout_s;
  std::int64_t retention_days = k_default_retention_days;
};

std::string make_execution_arn(std::string_view region, std::string_view account,
                               std::string_view function_name, std::string_view version,
                               std::string_view name, std::string_view id);

// Splits an execution ARN into function name, version, execution name and id; nullopt when it
// is not one.
struct ArnParts {
  std::string region;
  std::string account;
  std::string function_name;
  std::string version;
  std::string name;
  std::string id;
};
std::optional<ArnParts> parse_execution_arn(std::string_view arn);

struct HistoryEvent {
  std::int64_t event_id = 0;
  std::string type; // ExecutionStarted, StepSucceeded, ...
  std::int64_t time_ms = 0;
  std::string op_id;
  std::string parent_id;
  std::string name;
  std::string sub_type;
  boost::json::object details; // <Type>Details, timestamps already in API form
};

// The API's Event shape. Without `include_data`, payloads (Input, Result, Error) are left out.
boost::json::object to_json(const HistoryEvent& event, bool include_data);
boost::json::object to_store_json(const HistoryEvent& event);
std::optional<HistoryEvent> event_from_store(const boost::json::object& object);

// One invocation of the function for an execution (the console and `wisp logs` use these).
struct InvocationRecord {
  std::string request_id;
  std::int64_t start_ms = 0; // execution time
  std::int64_t end_ms = 0;
  bool replay = false; // not the first invocation
  std::string outcome; // SUCCEEDED | FAILED | PENDING | an invocation error type
  bool cold = false;
  double duration_ms = 0;
};

struct CheckpointResult {
  std::string token;
  boost::json::array operations;            // the delta, API form
  std::vector<std::string> new_callbacks;   // CallbackIds minted by this checkpoint
  std::vector<std::string> chained_invokes; // CHAINED_INVOKE operations started
  bool closed = false;                      // an EXECUTION update closed the execution
};

struct StatePage {
  boost::json::array operations;
  std::string next_marker;
};

struct Envelope {
  std::string payload; // the invocation event (JSON)
  std::string token;
  bool replay = false; // not the first invocation
};

class Execution {
public:
  // A new RUNNING execution: the EXECUTION operation (STARTED, InputPayload) and its
  // ExecutionStarted event.
  static Execution create(ExecutionIdentity identity, std::string input, std::int64_t now_ms);

  [[nodiscard]] const ExecutionIdentity& identity() const { return m_identity; }
  [[nodiscard]] ExecutionStatus status() const { return m_status; }
  [[nodiscard]] bool running() const { return m_status == ExecutionStatus::running; }
  [[nodiscard]] std::int64_t start_ms() const { return m_start_ms; }
  [[nodiscard]] std::optional<std::int64_t> end_ms() const { return m_end_ms; }
  [[nodiscard]] const std::optional<std::string>& result() const { return m_result; }
  [[nodiscard]] const std::optional<ErrorObject>& error() const { return m_error; }
  [[nodiscard]] const std::string& input() const { return m_ops.front().input_payload; }
  [[nodiscard]] const std::vector<Operation>& operations() const { return m_ops; }
  [[nodiscard]] const std::vector<HistoryEvent>& history() const { return m_history; }
  [[nodiscard]] const std::vector<InvocationRecord>& invocations() const { return m_invocations; }
  [[nodiscard]] const Operation* find(std::string_view id) const;
  [[nodiscard]] const Operation* find_callback(std::string_view callback_id) const;

  // ---- data plane
  [[nodiscard]] bool token_valid(std::string_view token) const;
  // Applies a checkpoint; errors are the service's answers (nothing changed).
  tl::expected<CheckpointResult, ApiError> checkpoint(const ParsedCheckpoint& request,
                                                      std::int64_t now_ms);
  // The response cached for a retried checkpoint (same ClientToken and token), if any.
  [[nodiscard]] std::optional<std::string> replayed_checkpoint(std::string_view token,
                                                               std::string_view client_token) const;
  void remember_checkpoint(std::string_view token, std::string_view client_token,
                           std::string response);
  tl::expected<StatePage, ApiError> state(std::string_view token, std::string_view marker,
                                          std::int64_t max_items) const;

  // ---- orchestration
  [[nodiscard]] bool invoking() const { return m_invoking; }
  Envelope begin_invocation(std::int64_t now_ms, std::size_t page_bytes);
  // Records the invocation's end (an InvocationCompleted event; `error` for a failed one).
  void end_invocation(InvocationRecord record, const std::optional<ErrorObject>& error);
  // Operations changed since the handler last saw them (it must run again at once).
  [[nodiscard]] bool has_unseen_changes() const { return m_seq > m_seen; }
  // Something the execution waits on: a STARTED wait/callback/chained invoke, a PENDING or
  // READY step.
  [[nodiscard]] bool has_pending_work() const;
  // Earliest wait end or step retry time (model ms); nullopt when none.
  [[nodiscard]] std::optional<std::int64_t> next_timer() const;
  // Earliest callback timeout or missed heartbeat (model ms).
  [[nodiscard]] std::optional<std::int64_t> next_callback_deadline() const;
  [[nodiscard]] std::int64_t deadline_ms() const {
    return m_start_ms + m_identity.execution_timeout_s * 1000;
  }
  // Completes waits that ended and makes due retries READY. True when any changed.
  bool fire_timers(std::int64_t now_ms);
  // Times out callbacks past their timeout or heartbeat (Callback.Timeout/Callback.Heartbeat).
  bool fire_callback_deadlines(std::int64_t now_ms);

  tl::expected<void, ApiError> callback_succeed(std::string_view callback_id, std::string result,
                                                std::int64_t now_ms);
  tl::expected<void, ApiError> callback_fail(std::string_view callback_id, ErrorObject error,
                                             std::int64_t now_ms);
  tl::expected<void, ApiError> callback_heartbeat(std::string_view callback_id,
                                                  std::int64_t now_ms);
  // A CHAINED_INVOKE operation finished (SUCCEEDED, FAILED, TIMED_OUT or STOPPED).
  void chained_invoke_done(std::string_view op_id, OpStatus status,
                           std::optional<std::string> result, std::optional<ErrorObject> error,
                           std::int64_t now_ms);

  // Terminal transitions (no-ops when already closed).
  void succeed(std::optional<std::string> result, std::int64_t now_ms);
  void fail(ErrorObject error, std::int64_t now_ms);
  void time_out(std::int64_t now_ms);
  void stop(ErrorObject error, std::int64_t now_ms);

  // Consecutive failed invocations (reset by one that completed cleanly).
  int failed_invocations = 0;
  // Model time minus real time: grows when waits are skipped or scaled (docs/durable.md).
  std::int64_t skew_ms = 0;
  // A re-invocation became due while one was in flight.
  bool reinvoke = false;
  // The URL of the wisp that runs this execution (where `wisp local callback` and a second
  // wisp forward requests), and whether an invocation was in flight when it last wrote.
  std::string owner;
  [[nodiscard]] bool was_invoking() const { return m_invoking; }
  // Forgets an invocation that died with the wisp that made it (resume).
  void abandon_invocation() {
    m_invoking = false;
    m_invocation.clear();
    m_scalars_dirty = true;
  }

  // ---- persistence (store.cpp): full snapshot, and the changes since the last flush.
  [[nodiscard]] boost::json::object snapshot() const;
  static std::optional<Execution> from_snapshot(const boost::json::object& object);
  [[nodiscard]] bool dirty() const;
  // The changes since the last call as one journal record (and forgets them).
  boost::json::object take_changes();
  // Applies a journal record written by take_changes().
  bool apply_changes(const boost::json::object& record);

private:
  Operation& touch(std::size_t index);
  std::size_t add_operation(Operation operation);
  void put_scalars(boost::json::object& out) const;
  void add_event(std::string type, const Operation* op, boost::json::object details,
                 std::int64_t now_ms);
  void close(ExecutionStatus status, std::int64_t now_ms);
  std::optional<ApiError> validate(const std::vector<OperationUpdate>& updates) const;
  void apply(const OperationUpdate& update, std::int64_t now_ms, CheckpointResult& result);
  [[nodiscard]] std::vector<const Operation*> visible_operations() const;
  [[nodiscard]] std::string make_token() const;
  [[nodiscard]] std::string mint_callback_id(std::string_view op_id) const;
  void record_async_change(const std::string& op_id);

  ExecutionIdentity m_identity;
  ExecutionStatus m_status = ExecutionStatus::running;
  std::int64_t m_start_ms = 0;
  std::optional<std::int64_t> m_end_ms;
  std::optional<std::string> m_result;
  std::optional<ErrorObject> m_error;
  std::vector<Operation> m_ops;
  std::unordered_map<std::string, std::size_t> m_index;
  std::unordered_map<std::string, std::size_t> m_callbacks; // CallbackId → operation index
  std::vector<HistoryEvent> m_history;
  std::vector<InvocationRecord> m_invocations;
  std::uint64_t m_seq = 0;       // bumped by every operation change
  std::uint64_t m_seen = 0;      // the handler has seen every change up to here
  std::uint64_t m_token_seq = 0; // bumped by every accepted checkpoint
  std::string m_invocation;      // the invocation allowed to checkpoint ("" none)
  bool m_invoking = false;
  std::int64_t m_invocation_start_ms = 0;
  std::vector<std::string> m_updated_ids; // changed outside an invocation, for the next one
  // idempotent checkpoint replay (memory only)
  std::string m_last_client_token;
  std::string m_last_token;
  std::string m_last_response;
  // dirty tracking
  std::vector<std::size_t> m_dirty_ops;
  std::vector<bool> m_dirty_flag;
  std::size_t m_events_flushed = 0;
  std::size_t m_invocations_flushed = 0;
  bool m_scalars_dirty = true;
  std::uint64_t m_records = 0; // journal records written for this execution
};

} // namespace wisp::durable
