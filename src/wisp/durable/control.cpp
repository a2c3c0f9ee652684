#include <wisp/durable/control.hpp>

#include <wisp/durable/detail.hpp>
#include <wisp/durable/remote.hpp>
#include <wisp/durable/service.hpp>
#include <wisp/support/http.hpp>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <chrono>

namespace wisp::durable {

namespace json = boost::json;
using detail::wall_ms;

namespace {

HttpResponse stop_answer(std::int64_t ms) {
  json::object out;
  out["StopTimestamp"] = api_time(ms);
  return ok(std::move(out));
}

ApiError unreachable(std::string_view name) {
  return service_error(
      fmt::format("Durable execution {} is run by another wisp that could not be reached", name));
}

} // namespace

json::object execution_json(const Execution& e) {
  const auto& id = e.identity();
  json::object out;
  out["DurableExecutionArn"] = id.arn;
  out["DurableExecutionName"] = id.name;
  out["FunctionArn"] = id.function_arn;
  out["InputPayload"] = e.input();
  if (e.result() && e.status() == ExecutionStatus::succeeded)
    out["Result"] = *e.result();
  if (e.error())
    out["Error"] = to_json(*e.error());
  out["StartTimestamp"] = api_time(e.start_ms());
  out["Status"] = to_string(e.status());
  if (e.end_ms())
    out["EndTimestamp"] = api_time(*e.end_ms());
  out["Version"] = id.version;
  return out;
}

json::object summary_json(const ExecutionSummary& s) {
  json::object out;
  out["DurableExecutionArn"] = s.arn;
  out["DurableExecutionName"] = s.name;
  out["FunctionArn"] = s.function_arn;
  out["Status"] = to_string(s.status);
  out["StartTimestamp"] = api_time(s.start_ms);
  if (s.end_ms)
    out["EndTimestamp"] = api_time(*s.end_ms);
  return out;
}

json::object history_json(const Execution& execution, bool include_data) {
  json::array events;
  for (const auto& event : execution.history())
    events.push_back(to_json(event, include_data));
  json::object out;
  out["Events"] = std::move(events);
  return out;
}

support::Result<std::optional<Execution>> load_by_arn(const Store& store, std::string_view arn) {
  const auto parts = parse_execution_arn(arn);
  if (!parts)
    return std::optional<Execution>();
  WISP_TRY_ASSIGN(auto loaded, store.load(parts->function_name, parts->name));
  if (!loaded || loaded->identity().arn != arn)
    return std::optional<Execution>();
  return loaded;
}

HttpResponse stop_in_store(Store& store, std::string_view arn, const ErrorObject& error) {
  auto loaded = load_by_arn(store, arn);
  if (!loaded)
    return error_response(service_error(loaded.error().message));
  if (!*loaded)
    return error_response(resource_not_found(fmt::format("Durable execution not found: {}", arn)));
  auto& execution = **loaded;
  if (!execution.running())
    return stop_answer(execution.end_ms().value_or(wall_ms()));
  auto acquired = store.acquire(execution);
  if (!acquired || !*acquired)
    return error_response(unreachable(execution.identity().name));
  const auto now = wall_ms() + execution.skew_ms;
  execution.stop(error, now);
  auto written = store.append(execution);
  store.release(execution);
  if (!written)
    return error_response(service_error(written.error().message));
  return stop_answer(now);
}

HttpResponse callback_in_store(Store& store, std::string_view callback_id, std::string_view action,
                               std::string_view body) {
  const auto missing = invalid_parameter(fmt::format("Callback {} does not exist", callback_id));
  ErrorObject error;
  if (action == "fail" && !body.empty()) {
    boost::system::error_code ec;
    const auto value = json::parse(body, ec);
    auto parsed = ec ? std::nullopt : error_from_json(value);
    if (!parsed)
      return error_response(ApiError{400, "InvalidRequestContentException",
                                     "Could not parse request body into json: the body is not "
                                     "an ErrorObject"});
    error = std::move(*parsed);
  }
  const auto arn = callback_execution(callback_id);
  if (!arn)
    return error_response(missing);
  auto loaded = load_by_arn(store, *arn);
  if (!loaded)
    return error_response(service_error(loaded.error().message));
  if (!*loaded || (*loaded)->find_callback(callback_id) == nullptr)
    return error_response(missing);
  auto& execution = **loaded;
  auto acquired = store.acquire(execution);
  if (!acquired || !*acquired)
    return error_response(unreachable(execution.identity().name));
  const auto now = wall_ms() + execution.skew_ms;
  tl::expected<void, ApiError> applied;
  if (action == "succeed")
    applied = execution.callback_succeed(callback_id, std::string(body), now);
  else if (action == "fail")
    applied = execution.callback_fail(callback_id, std::move(error), now);
  else
    applied = execution.callback_heartbeat(callback_id, now);
  support::Status written;
  if (applied)
    written = store.append(execution);
  store.release(execution);
  if (!applied)
    return error_response(applied.error());
  if (!written)
    return error_response(service_error(written.error().message));
  return ok({});
}

HttpResponse stop_execution(Store& store, std::string_view arn, const ErrorObject& error) {
  auto loaded = load_by_arn(store, arn);
  if (loaded && *loaded && (*loaded)->running() && !(*loaded)->owner.empty()) {
    const auto& id = (*loaded)->identity();
    if (store.held_elsewhere(id.function_name, id.name)) {
      HttpRequest request;
      request.method = "POST";
      const auto path =
          "/2025-12-01/durable-executions/" + support::http::url_encode(arn) + "/stop";
      request.raw_path = path;
      const auto body = json::serialize(to_json(error));
      request.body = body;
      if (auto answer = forward((*loaded)->owner, request))
        return std::move(*answer);
    }
  }
  return stop_in_store(store, arn, error);
}

HttpResponse send_callback(Store& store, std::string_view callback_id, std::string_view action,
                           std::string_view body) {
  if (const auto arn = callback_execution(callback_id)) {
    auto loaded = load_by_arn(store, *arn);
    if (loaded && *loaded && (*loaded)->running() && !(*loaded)->owner.empty()) {
      const auto& id = (*loaded)->identity();
      if (store.held_elsewhere(id.function_name, id.name)) {
        HttpRequest request;
        request.method = "POST";
        const auto path = "/2025-12-01/durable-execution-callbacks/" +
                          support::http::url_encode(callback_id) + "/" + std::string(action);
        request.raw_path = path;
        request.body = body;
        if (auto answer = forward((*loaded)->owner, request))
          return std::move(*answer);
      }
    }
  }
  return callback_in_store(store, callback_id, action, body);
}

} // namespace wisp::durable
