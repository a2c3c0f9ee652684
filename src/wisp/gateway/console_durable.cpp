// The console's durable executions (console_mount.hpp: durable_api): the list with a status
// filter, one execution's operations and invocations on a timeline, and stop / complete or fail
// a callback, all through the durable execution service (durable/service.hpp) this server runs.

#include <wisp/gateway/console_mount.hpp>

#include <wisp/console/site.hpp>
#include <wisp/durable/service.hpp>
#include <wisp/support/http.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace wisp::gateway {

namespace json = boost::json;

namespace {

// Payloads shown on the page are cut here (the whole value: `wisp local execution get`).
constexpr std::size_t k_max_payload = 4096;
// Executions listed at most (newest first).
constexpr std::size_t k_max_listed = 200;

console::SiteResponse json_answer(unsigned status, const json::value& body) {
  console::SiteResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = json::serialize(body);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

console::SiteResponse message(unsigned status, std::string_view text) {
  json::object o;
  o["message"] = text;
  return json_answer(status, o);
}

json::value payload(const std::optional<std::string>& text) {
  if (!text)
    return nullptr;
  if (text->size() <= k_max_payload)
    return json::value(*text);
  return json::value(text->substr(0, k_max_payload) + "…");
}

json::value time_or_null(const std::optional<std::int64_t>& ms) {
  if (!ms)
    return nullptr;
  return *ms;
}

json::object error_json(const durable::ErrorObject& error) {
  json::object o;
  o["type"] = error.type ? json::value(*error.type) : json::value(nullptr);
  o["message"] = error.message ? json::value(*error.message) : json::value(nullptr);
  return o;
}

json::object summary_json(const durable::ExecutionSummary& s) {
  json::object o;
  o["arn"] = s.arn;
  o["name"] = s.name;
  o["function"] = s.function_name;
  o["status"] = durable::to_string(s.status);
  o["start"] = s.start_ms;
  o["end"] = time_or_null(s.end_ms);
  return o;
}

json::object execution_json(const durable::Service& service, const durable::Execution& e) {
  const auto& id = e.identity();
  json::object o;
  o["arn"] = id.arn;
  o["name"] = id.name;
  o["function"] = id.function_name;
  o["status"] = durable::to_string(e.status());
  o["start"] = e.start_ms();
  o["end"] = time_or_null(e.end_ms());
  o["deadline"] = e.deadline_ms();
  o["input"] = payload(e.input());
  o["result"] = payload(e.result());
  o["error"] = e.error() ? json::value(error_json(*e.error())) : json::value(nullptr);
  o["invoking"] = e.invoking();
  json::array operations;
  for (const auto& op : e.operations()) {
    if (op.type == durable::OpType::execution)
      continue;
    json::object p;
    p["id"] = op.id;
    p["parentId"] = op.parent_id;
    p["name"] = op.name;
    p["type"] = durable::to_string(op.type);
    p["subType"] = op.sub_type;
    p["status"] = durable::to_string(op.status);
    p["start"] = op.start_ms;
    p["end"] = time_or_null(op.end_ms);
    p["attempt"] = op.attempt;
    p["nextAttempt"] = time_or_null(op.next_attempt_ms);
    p["scheduledEnd"] = time_or_null(op.scheduled_end_ms);
    p["callbackId"] = op.callback_id;
    p["result"] = payload(op.result);
    p["error"] = op.error ? json::value(error_json(*op.error)) : json::value(nullptr);
    operations.push_back(std::move(p));
  }
  o["operations"] = std::move(operations);
  json::array invocations;
  for (const auto& inv : e.invocations()) {
    json::object p;
    p["requestId"] = inv.request_id;
    p["start"] = inv.start_ms;
    p["end"] = inv.end_ms;
    p["replay"] = inv.replay;
    p["outcome"] = inv.outcome;
    p["cold"] = inv.cold;
    p["durationMs"] = inv.duration_ms;
    invocations.push_back(std::move(p));
  }
  o["invocations"] = std::move(invocations);
  json::array awaited;
  for (const auto& callback : service.awaited_callbacks(id.arn))
    awaited.push_back(json::value(callback));
  o["awaitedCallbacks"] = std::move(awaited);
  o["historyEvents"] = e.history().size();
  return o;
}

// A control-plane POST through the service (it may forward to the wisp that runs the
// execution: off the I/O threads).
console::SiteResponse forward(durable::Service& service, std::string path, std::string body) {
  console::SiteResponse r;
  r.deferred = [&service, target = std::move(path), payload_text = std::move(body)] {
    durable::HttpRequest request;
    request.method = "POST";
    request.raw_path = target;
    request.body = payload_text;
    auto answer = service.handle(request);
    console::SiteResponse out;
    out.status = static_cast<unsigned>(answer.status);
    out.content_type = answer.content_type;
    out.body = std::move(answer.body);
    if (!answer.error_type.empty())
      out.headers.emplace_back("X-Amzn-ErrorType", answer.error_type);
    out.headers.emplace_back("Cache-Control", "no-store");
    return out;
  };
  return r;
}

} // namespace

std::optional<console::SiteResponse> durable_api(durable::Service* service, std::string_view method,
                                                 std::string_view path, std::string_view query,
                                                 std::string_view body, bool from_page) {
  constexpr std::string_view k_prefix = "/_wisp/api/durable";
  if (!path.starts_with(k_prefix))
    return std::nullopt;
  const auto rest = path.substr(k_prefix.size());
  if (!rest.empty() && rest.front() != '/')
    return std::nullopt;
  if (rest.empty() || rest == "/") {
    if (method != "GET")
      return message(405, "GET only");
    json::object o;
    o["enabled"] = service != nullptr;
    json::array list;
    if (service != nullptr) {
      const auto status = console::query_value(query, "status");
      auto all = service->list();
      std::reverse(all.begin(), all.end()); // newest first
      std::size_t matching = 0;
      for (const auto& s : all) {
        if (!status.empty() && durable::to_string(s.status) != status)
          continue;
        if (++matching <= k_max_listed)
          list.push_back(summary_json(s));
      }
      o["matching"] = matching;
    }
    o["executions"] = std::move(list);
    return json_answer(200, o);
  }
  if (service == nullptr)
    return message(404, "no durable functions run here");
  if (rest == "/execution") {
    if (method != "GET")
      return message(405, "GET only");
    const auto arn = console::query_value(query, "arn");
    const auto execution = service->find(arn);
    if (!execution)
      return message(404, "no such execution");
    return json_answer(200, execution_json(*service, *execution));
  }
  // Actions change state: only from the page (a custom header: another site's page cannot send
  // it without a CORS preflight, which the console never allows).
  if (method != "POST")
    return message(405, "POST only");
  if (!from_page)
    return message(403, "send X-Wisp-Console: 1 (the console's page does)");
  if (rest == "/stop") {
    const auto arn = console::query_value(query, "arn");
    if (arn.empty())
      return message(400, "give arn=");
    return forward(*service,
                   "/2025-12-01/durable-executions/" + support::http::url_encode(arn, true) +
                       "/stop",
                   std::string(body));
  }
  if (rest == "/callback") {
    const auto id = console::query_value(query, "id");
    const auto action = console::query_value(query, "action");
    if (id.empty() || (action != "succeed" && action != "fail"))
      return message(400, "give id= and action=succeed|fail");
    return forward(*service,
                   "/2025-12-01/durable-execution-callbacks/" + support::http::url_encode(id) +
                       "/" + action,
                   std::string(body));
  }
  return message(404, "not found");
}

} // namespace wisp::gateway
