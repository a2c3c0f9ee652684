#pragma once
// The control plane outside a running service: what `wisp local execution` and
// `wisp local callback` do from another terminal, and what a service does for executions it
// does not run. Each call goes to the live wisp that runs the execution (remote.hpp) or, when
// none does, straight to the store, under the execution's lock.
//
// The JSON shapes of the API (GetDurableExecution, history, list) are built here too, so every
// surface (HTTP, CLI --format json, console) shows the same thing.

#include <wisp/durable/execution.hpp>
#include <wisp/durable/store.hpp>

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace wisp::durable {

struct HttpResponse;

// GetDurableExecution's response.
boost::json::object execution_json(const Execution& execution);
// ListDurableExecutionsByFunction's Execution item.
boost::json::object summary_json(const ExecutionSummary& summary);
// GetDurableExecutionHistory's response for the whole history (Events, no NextMarker).
boost::json::object history_json(const Execution& execution, bool include_data = true);

// Loads the execution an ARN names; nullopt when there is none.
support::Result<std::optional<Execution>> load_by_arn(const Store& store, std::string_view arn);

// StopDurableExecution / SendDurableExecutionCallback{Success,Failure,Heartbeat} applied to the
// store for an execution no live wisp runs. `action` is succeed | fail | heartbeat; `body` the
// request body (the Result bytes, or an ErrorObject JSON). Answers as the API would.
HttpResponse stop_in_store(Store& store, std::string_view arn, const ErrorObject& error);
HttpResponse callback_in_store(Store& store, std::string_view callback_id, std::string_view action,
                               std::string_view body);

// What the CLI calls: forwards to the owner when one is alive, else applies to the store.
HttpResponse stop_execution(Store& store, std::string_view arn, const ErrorObject& error);
HttpResponse send_callback(Store& store, std::string_view callback_id, std::string_view action,
                           std::string_view body);

} // namespace wisp::durable
