#include "template_test_support.hpp"

#include <wisp/durable/execution.hpp>
#include <wisp/durable/service.hpp>
#include <wisp/durable/store.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/hash.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <fstream>
#include <string>

using namespace wisp;
using namespace wisp::durable;
namespace json = boost::json;

namespace {

constexpr std::int64_t k_t0 = 1'763'894'748'000;

ExecutionIdentity identity(std::string name = "order-1") {
  ExecutionIdentity id;
  id.id = "0b6c2f6e-1111-4222-8333-944455556666";
  id.name = std::move(name);
  id.function_id = "OrderFunction";
  id.function_name = "OrderFunction";
  id.function_arn = "arn:aws:lambda:us-east-1:123456789012:function:OrderFunction";
  id.arn =
      make_execution_arn("us-east-1", "123456789012", "OrderFunction", "$LATEST", id.name, id.id);
  id.execution_timeout_s = 300;
  id.retention_days = 7;
  return id;
}

json::object event_of(const Envelope& envelope) {
  return json::parse(envelope.payload).as_object();
}

std::string token_of(const Envelope& envelope) {
  return std::string(event_of(envelope).at("CheckpointToken").as_string());
}

// A checkpoint request body as the SDKs send it.
ParsedCheckpoint request(std::string token, const std::string& updates_json,
                         std::string client_token = {}) {
  json::object body;
  body["CheckpointToken"] = token;
  if (!client_token.empty())
    body["ClientToken"] = client_token;
  body["Updates"] = json::parse(updates_json);
  ParsedCheckpoint parsed;
  const auto problem = parse_checkpoint(json::serialize(body), parsed);
  REQUIRE_MESSAGE(!problem, (problem ? problem->message : ""));
  return parsed;
}

json::object op_in(const json::array& ops, std::string_view id) {
  for (const auto& op : ops)
    if (op.as_object().at("Id").as_string() == id)
      return op.as_object();
  FAIL("operation " << id << " not in the delta");
  return {};
}

std::vector<std::string> event_types(const Execution& e) {
  std::vector<std::string> out;
  for (const auto& event : e.history())
    out.push_back(event.type);
  return out;
}

} // namespace

TEST_CASE("durable ARNs: built and split as Lambda writes them") {
  const auto arn = make_execution_arn("eu-west-1", "123456789012", "Fn", "$LATEST", "run-1", "abc");
  CHECK(arn ==
        "arn:aws:lambda:eu-west-1:123456789012:function:Fn:$LATEST/durable-execution/run-1/abc");
  const auto parts = parse_execution_arn(arn);
  REQUIRE(parts);
  CHECK(parts->function_name == "Fn");
  CHECK(parts->version == "$LATEST");
  CHECK(parts->name == "run-1");
  CHECK(parts->id == "abc");
  CHECK_FALSE(parse_execution_arn("arn:aws:lambda:eu-west-1:123456789012:function:Fn"));
  CHECK_FALSE(
      parse_execution_arn("arn:aws:lambda:eu-west-1:1:function:Fn:1/durable-execution/a b/c"));
}

TEST_CASE("durable: the first invocation carries the EXECUTION operation with the input") {
  auto e = Execution::create(identity(), R"({"orderId":"42"})", k_t0);
  CHECK(e.running());
  const auto envelope = e.begin_invocation(k_t0 + 5, 5 << 20);
  CHECK_FALSE(envelope.replay);
  const auto event = event_of(envelope);
  CHECK(event.at("DurableExecutionArn").as_string() == e.identity().arn);
  const auto& ops = event.at("InitialExecutionState").at("Operations").as_array();
  REQUIRE(ops.size() == 1);
  const auto& op = ops[0].as_object();
  CHECK(op.at("Id").as_string() == e.identity().id); // == the ARN's last segment
  CHECK(op.at("Type").as_string() == "EXECUTION");
  CHECK(op.at("Status").as_string() == "STARTED");
  CHECK(op.at("StartTimestamp").as_int64() == k_t0); // epoch ms in the event
  CHECK(op.at("ExecutionDetails").at("InputPayload").as_string() == R"({"orderId":"42"})");
  CHECK_FALSE(event.at("InitialExecutionState").as_object().contains("NextMarker"));
  CHECK(event_types(e) == std::vector<std::string>{"ExecutionStarted"});
  CHECK(e.history()[0].details.at("ExecutionTimeout").as_int64() == 300);
}

TEST_CASE("durable: checkpoint rotates the token and answers the delta") {
  auto e = Execution::create(identity(), "{}", k_t0);
  const auto envelope = e.begin_invocation(k_t0, 5 << 20);
  const auto token = token_of(envelope);
  CHECK(e.token_valid(token));

  // A step started and finished in one batch (the JS SDK batches START with SUCCEED).
  auto first = e.checkpoint(request(token, R"([
      {"Id":"s1","Type":"STEP","SubType":"Step","Action":"START","Name":"fetch"},
      {"Id":"s1","Type":"STEP","SubType":"Step","Action":"SUCCEED","Name":"fetch","Payload":"\"ok\""}])"),
                            k_t0 + 10);
  REQUIRE(first);
  CHECK(first->token != token);
  CHECK_FALSE(e.token_valid(token)); // the old token is spent
  CHECK(e.token_valid(first->token));
  REQUIRE(first->operations.size() == 1);
  const auto s1 = op_in(first->operations, "s1");
  CHECK(s1.at("Status").as_string() == "SUCCEEDED");
  CHECK(s1.at("StepDetails").at("Result").as_string() == "\"ok\"");
  CHECK(s1.at("StepDetails").at("Attempt").as_int64() == 1);

  // An empty poll returns nothing new.
  auto poll = e.checkpoint(request(first->token, "[]"), k_t0 + 20);
  REQUIRE(poll);
  CHECK(poll->operations.empty());

  // A stale token: InvalidParameterValueException whose message starts "Invalid Checkpoint Token"
  // (the SDKs retry the invocation on exactly that).
  auto stale = e.checkpoint(request(first->token, "[]"), k_t0 + 30);
  REQUIRE_FALSE(stale);
  CHECK(stale.error().status == 400);
  CHECK(stale.error().type == "InvalidParameterValueException");
  CHECK(stale.error().message.starts_with("Invalid Checkpoint Token"));
  const auto body = json::parse(stale.error().body()).as_object();
  CHECK(body.at("message").as_string().starts_with("Invalid Checkpoint Token"));

  CHECK(event_types(e) ==
        std::vector<std::string>{"ExecutionStarted", "StepStarted", "StepSucceeded"});
}

TEST_CASE("durable: a CALLBACK gets its CallbackId in the checkpoint answer") {
  auto e = Execution::create(identity(), "{}", k_t0);
  const auto token = token_of(e.begin_invocation(k_t0, 5 << 20));
  auto cp = e.checkpoint(request(token, R"([{"Id":"cb1","Type":"CALLBACK","SubType":"Callback",
      "Action":"START","CallbackOptions":{"TimeoutSeconds":60,"HeartbeatTimeoutSeconds":10}}])"),
                         k_t0 + 1);
  REQUIRE(cp);
  const auto cb = op_in(cp->operations, "cb1");
  const std::string id(cb.at("CallbackDetails").at("CallbackId").as_string());
  REQUIRE(cp->new_callbacks == std::vector<std::string>{id});
  // [A-Za-z0-9+/]+={0,2}, at most 1024 characters, and it names the execution.
  CHECK(id.size() <= 1024);
  CHECK(id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") ==
        std::string::npos);
  CHECK(support::base64_decode(id)->starts_with(e.identity().arn + "|cb1|"));
  CHECK(e.has_pending_work());
  // Heartbeat deadline first (10 s after start), then the timeout.
  CHECK(e.next_callback_deadline() == k_t0 + 1 + 10'000);
  CHECK(e.callback_heartbeat(id, k_t0 + 8'000));
  CHECK(e.next_callback_deadline() == k_t0 + 18'000);
  // The invocation suspends; the callback succeeds from outside.
  e.end_invocation({"req-1", k_t0, k_t0 + 50, false, "PENDING", true, 50}, std::nullopt);
  CHECK_FALSE(e.has_unseen_changes());
  REQUIRE(e.callback_succeed(id, R"({"approved":true})", k_t0 + 9'000));
  CHECK(e.has_unseen_changes()); // the handler must run again
  // A second answer for the same callback is refused.
  const auto again = e.callback_succeed(id, "{}", k_t0 + 9'500);
  REQUIRE_FALSE(again);
  CHECK(again.error().type == "InvalidParameterValueException");
  const auto unknown = e.callback_fail("bm9wZQ==", ErrorObject::of("X", "y"), k_t0);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().type == "InvalidParameterValueException");
  // The next invocation lists it as updated and replays it.
  const auto next = e.begin_invocation(k_t0 + 9'600, 5 << 20);
  CHECK(next.replay);
  const auto event = event_of(next);
  REQUIRE(event.at("UpdatedOperationIds").as_array().size() == 1);
  CHECK(event.at("UpdatedOperationIds").as_array()[0].as_string() == "cb1");
  const auto& ops = event.at("InitialExecutionState").at("Operations").as_array();
  const auto replayed = op_in(ops, "cb1");
  CHECK(replayed.at("Status").as_string() == "SUCCEEDED");
  CHECK(replayed.at("CallbackDetails").at("Result").as_string() == R"({"approved":true})");
}

TEST_CASE("durable: callbacks time out on their timeout and on a missed heartbeat") {
  auto e = Execution::create(identity(), "{}", k_t0);
  const auto token = token_of(e.begin_invocation(k_t0, 5 << 20));
  REQUIRE(e.checkpoint(request(token, R"([
      {"Id":"a","Type":"CALLBACK","Action":"START","CallbackOptions":{"TimeoutSeconds":5}},
      {"Id":"b","Type":"CALLBACK","Action":"START","CallbackOptions":{"HeartbeatTimeoutSeconds":2}}])"),
                       k_t0));
  CHECK_FALSE(e.fire_callback_deadlines(k_t0 + 1'999));
  CHECK(e.fire_callback_deadlines(k_t0 + 2'000));
  CHECK(e.find("b")->status == OpStatus::timed_out);
  CHECK(e.find("b")->error->type == "Callback.Heartbeat");
  CHECK(e.find("a")->status == OpStatus::started);
  CHECK(e.fire_callback_deadlines(k_t0 + 5'000));
  CHECK(e.find("a")->error->type == "Callback.Timeout");
  CHECK(e.find("a")->error->message == "Callback timed out");
  const auto late = e.callback_succeed(e.find("a")->callback_id, "{}", k_t0 + 6'000);
  REQUIRE_FALSE(late);
  CHECK(late.error().type == "CallbackTimeoutException");
  CHECK(late.error().status == 400);
  CHECK(event_types(e).back() == "CallbackTimedOut");
}

TEST_CASE("durable: waits end at their time; step retries become READY") {
  auto e = Execution::create(identity(), "{}", k_t0);
  const auto token = token_of(e.begin_invocation(k_t0, 5 << 20));
  auto cp = e.checkpoint(request(token, R"([
      {"Id":"w","Type":"WAIT","SubType":"Wait","Action":"START","WaitOptions":{"WaitSeconds":30}},
      {"Id":"s","Type":"STEP","SubType":"Step","Action":"START"},
      {"Id":"s","Type":"STEP","SubType":"Step","Action":"RETRY","StepOptions":{"NextAttemptDelaySeconds":4},
       "Error":{"ErrorType":"Error","ErrorMessage":"flaky"}}])"),
                         k_t0 + 100);
  REQUIRE(cp);
  const auto w = op_in(cp->operations, "w");
  CHECK(w.at("WaitDetails").at("ScheduledEndTimestamp").as_double() ==
        doctest::Approx((k_t0 + 30'100) / 1000.0));
  const auto s = op_in(cp->operations, "s");
  CHECK(s.at("Status").as_string() == "PENDING");
  CHECK(s.at("StepDetails").at("Attempt").as_int64() == 1);
  CHECK(e.next_timer() == k_t0 + 4'100);
  e.end_invocation({"r1", k_t0, k_t0 + 200, false, "PENDING", false, 100}, std::nullopt);
  CHECK_FALSE(e.fire_timers(k_t0 + 4'099));
  CHECK(e.fire_timers(k_t0 + 4'100));
  CHECK(e.find("s")->status == OpStatus::ready);
  CHECK(e.next_timer() == k_t0 + 30'100);
  CHECK(e.fire_timers(k_t0 + 60'000));
  const auto* wait = e.find("w");
  CHECK(wait->status == OpStatus::succeeded);
  CHECK(wait->end_ms == k_t0 + 30'100); // the scheduled end, not when it was noticed
  // The retried step: START from READY, then SUCCEED (attempt 2).
  const auto t2 = token_of(e.begin_invocation(k_t0 + 60'000, 5 << 20));
  auto retried = e.checkpoint(request(t2, R"([
      {"Id":"s","Type":"STEP","Action":"START"},
      {"Id":"s","Type":"STEP","Action":"SUCCEED","Payload":"2"}])"),
                              k_t0 + 60'010);
  REQUIRE(retried);
  CHECK(e.find("s")->attempt == 2);
  const auto& events = e.history();
  const auto& retry_event = events[3]; // ExecutionStarted, WaitStarted, StepStarted, StepFailed
  CHECK(retry_event.type == "StepFailed");
  CHECK(retry_event.details.at("RetryDetails").at("CurrentAttempt").as_int64() == 1);
  CHECK(retry_event.details.at("RetryDetails").at("NextAttemptDelaySeconds").as_int64() == 4);
  CHECK(events.back().type == "StepSucceeded");
  CHECK(events.back().details.at("RetryDetails").at("CurrentAttempt").as_int64() == 2);
}

TEST_CASE("durable: bad checkpoints are refused whole, with AWS's error types") {
  auto e = Execution::create(identity(), "{}", k_t0);
  auto token = token_of(e.begin_invocation(k_t0, 5 << 20));
  const auto refuse = [&](const std::string& updates, std::string_view type,
                          std::string_view message) {
    const auto before = e.operations().size();
    const auto events = e.history().size();
    auto result = e.checkpoint(request(token, updates), k_t0 + 1);
    REQUIRE_FALSE(result);
    CHECK(result.error().type == type);
    CHECK(result.error().message == message);
    CHECK(e.operations().size() == before); // nothing applied
    CHECK(e.history().size() == events);
    CHECK(e.token_valid(token)); // the token stays current
  };
  REQUIRE(e.checkpoint(
      request(token,
              R"([{"Id":"w","Type":"WAIT","Action":"START","WaitOptions":{"WaitSeconds":5}}])"),
      k_t0));
  token = token_of(e.begin_invocation(k_t0, 5 << 20));
  refuse(R"([{"Id":"w","Type":"WAIT","Action":"SUCCEED"}])", "InvalidParameterValueException",
         "Invalid action for the given operation type.");
  refuse(R"([{"Id":"w","Type":"WAIT","Action":"START","WaitOptions":{"WaitSeconds":5}}])",
         "InvalidParameterValueException", "Cannot start a WAIT that already exists.");
  refuse(R"([{"Id":"nope","Type":"WAIT","Action":"CANCEL"}])", "InvalidParameterValueException",
         "Cannot cancel a WAIT that does not exist or has already completed.");
  refuse(R"([{"Id":"x","Type":"STEP","Action":"START","ParentId":"missing"}])",
         "InvalidParameterValueException", "Invalid parent operation id.");
  refuse(R"([{"Id":"x","Type":"STEP","Action":"START","ParentId":"w"}])",
         "InvalidParameterValueException", "Invalid parent operation id.");
  refuse(
      R"([{"Id":"e","Type":"EXECUTION","Action":"SUCCEED"},{"Id":"x","Type":"STEP","Action":"START"}])",
      "InvalidParameterValueException", "EXECUTION checkpoint must be the last update.");
  refuse(R"([{"Id":"x","Type":"STEP","Action":"RETRY"}])", "InvalidParameterValueException",
         "Invalid StepOptions for the given action.");
  refuse(R"([{"Id":"x","Type":"STEP","Action":"START"},{"Id":"x","Type":"STEP","Action":"START"}])",
         "InvalidParameterValueException",
         "Cannot update the same operation twice in a single request.");
  refuse(R"([{"Id":"w","Type":"STEP","Action":"SUCCEED"}])", "InvalidParameterValueException",
         "Cannot apply a STEP update to operation w, which is a WAIT.");
  // A context child may start in the same batch as its parent.
  auto ok = e.checkpoint(request(token, R"([{"Id":"c","Type":"CONTEXT","Action":"START"},
      {"Id":"c1","ParentId":"c","Type":"STEP","Action":"START"}])"),
                         k_t0 + 2);
  CHECK(ok);
}

TEST_CASE("durable: model violations are ValidationException, unparsable bodies are refused") {
  ParsedCheckpoint parsed;
  auto problem = parse_checkpoint(
      R"({"CheckpointToken":"dG9r","Updates":[{"Id":"bad id","Type":"STEP","Action":"START"},
         {"Id":"a","Type":"LOOP","Action":"GO"}]})",
      parsed);
  REQUIRE(problem);
  CHECK(problem->type == "ValidationException");
  CHECK(problem->status == 400);
  CHECK(problem->message ==
        "3 validation errors detected: Value 'bad id' at 'updates.1.member.id' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+; Value "
        "'LOOP' at 'updates.2.member.type' failed to satisfy constraint: Member must satisfy "
        "enum value set: [EXECUTION, CONTEXT, STEP, WAIT, CALLBACK, CHAINED_INVOKE]; Value 'GO' "
        "at 'updates.2.member.action' failed to satisfy constraint: Member must satisfy enum "
        "value set: [START, SUCCEED, FAIL, RETRY, CANCEL]");
  // An oversized payload: the value is not echoed.
  json::object big;
  big["CheckpointToken"] = "dG9r";
  json::array updates;
  json::object update;
  update["Id"] = "s";
  update["Type"] = "STEP";
  update["Action"] = "SUCCEED";
  update["Payload"] = std::string(k_max_payload + 1, 'x');
  updates.push_back(update);
  big["Updates"] = updates;
  ParsedCheckpoint parsed_big;
  problem = parse_checkpoint(json::serialize(big), parsed_big);
  REQUIRE(problem);
  CHECK(problem->message == "1 validation error detected: Value at 'updates.1.member.payload' "
                            "failed to satisfy constraint: Member must have length less than or "
                            "equal to 6291456");
  ParsedCheckpoint parsed_bad;
  problem = parse_checkpoint("{not json", parsed_bad);
  REQUIRE(problem);
  CHECK(problem->type == "InvalidRequestContentException");
  problem = parse_checkpoint(R"({"Updates":[]})", parsed_bad);
  REQUIRE(problem);
  CHECK(problem->message == "1 validation error detected: Value null at 'checkpointToken' failed "
                            "to satisfy constraint: Member must not be null");
}

TEST_CASE("durable: completed contexts hide their children from replay unless ReplayChildren") {
  auto e = Execution::create(identity(), "{}", k_t0);
  auto token = token_of(e.begin_invocation(k_t0, 5 << 20));
  auto cp = e.checkpoint(request(token, R"([
      {"Id":"p","Type":"CONTEXT","SubType":"Parallel","Action":"START"},
      {"Id":"p1","ParentId":"p","Type":"CONTEXT","SubType":"ParallelBranch","Action":"START"},
      {"Id":"p1s","ParentId":"p1","Type":"STEP","Action":"START"},
      {"Id":"p1s","ParentId":"p1","Type":"STEP","Action":"SUCCEED","Payload":"1"},
      {"Id":"p1","ParentId":"p","Type":"CONTEXT","Action":"SUCCEED","Payload":"1"},
      {"Id":"p","Type":"CONTEXT","Action":"SUCCEED","Payload":"[1]"},
      {"Id":"r","Type":"CONTEXT","Action":"START"},
      {"Id":"r1","ParentId":"r","Type":"STEP","Action":"START"},
      {"Id":"r1","ParentId":"r","Type":"STEP","Action":"SUCCEED","Payload":"2"},
      {"Id":"r","Type":"CONTEXT","Action":"SUCCEED","Payload":"2","ContextOptions":{"ReplayChildren":true}}])"),
                         k_t0 + 1);
  REQUIRE(cp);
  CHECK(cp->operations.size() == 5); // the delta has them all
  const auto event = event_of(e.begin_invocation(k_t0 + 2, 5 << 20));
  std::vector<std::string> ids;
  for (const auto& op : event.at("InitialExecutionState").at("Operations").as_array())
    ids.emplace_back(op.as_object().at("Id").as_string());
  CHECK(ids == std::vector<std::string>{e.identity().id, "p", "r", "r1"});
}

TEST_CASE("durable: GetDurableExecutionState pages with MaxItems and a marker") {
  auto e = Execution::create(identity(), "{}", k_t0);
  auto token = token_of(e.begin_invocation(k_t0, 5 << 20));
  std::string updates = "[";
  for (int i = 0; i < 250; ++i)
    updates += std::string(i ? "," : "") + R"({"Id":"s)" + std::to_string(i) +
               R"(","Type":"STEP","Action":"SUCCEED","Payload":"1"})";
  updates += "]";
  REQUIRE(e.checkpoint(request(token, updates), k_t0 + 1));
  // A small event page: the rest comes from GetDurableExecutionState.
  const auto envelope = e.begin_invocation(k_t0 + 2, 2000);
  const auto event = event_of(envelope);
  const auto& first = event.at("InitialExecutionState").at("Operations").as_array();
  const std::string marker(event.at("InitialExecutionState").at("NextMarker").as_string());
  std::size_t total = first.size();
  std::string next = marker;
  int pages = 0;
  while (!next.empty()) {
    auto page = e.state(envelope.token, next, 100);
    REQUIRE(page);
    CHECK(page->operations.size() <= 100);
    total += page->operations.size();
    next = page->next_marker;
    ++pages;
  }
  CHECK(total == 251);
  CHECK(pages >= 3);
  const auto bad = e.state(envelope.token, "garbage", 10);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "Invalid marker");
  CHECK_FALSE(e.state("c3RhbGU=", "", 10));
}

TEST_CASE("durable: EXECUTION updates close the execution; later tokens are stale") {
  auto e = Execution::create(identity(), "{}", k_t0);
  const auto token = token_of(e.begin_invocation(k_t0, 5 << 20));
  auto cp = e.checkpoint(
      request(
          token,
          R"([{"Id":"execution-result","Type":"EXECUTION","Action":"SUCCEED","Payload":"\"big\""}])"),
      k_t0 + 5);
  REQUIRE(cp);
  CHECK(cp->closed);
  CHECK(e.status() == ExecutionStatus::succeeded);
  CHECK(e.result() == "\"big\"");
  CHECK(e.end_ms() == k_t0 + 5);
  CHECK(e.operations()[0].status == OpStatus::succeeded);
  CHECK_FALSE(e.token_valid(cp->token));
  CHECK(event_types(e).back() == "ExecutionSucceeded");
  // Terminal transitions do not repeat.
  e.stop(ErrorObject::of("X", "y"), k_t0 + 6);
  CHECK(e.status() == ExecutionStatus::succeeded);
}

TEST_CASE("durable: stop, timeout and the history's event shapes") {
  auto e = Execution::create(identity(), R"({"a":1})", k_t0);
  e.time_out(k_t0 + 300'000);
  CHECK(e.status() == ExecutionStatus::timed_out);
  CHECK(e.error()->message == "Execution timed out after 300 seconds.");
  const auto json_event = to_json(e.history().back(), true);
  CHECK(json_event.at("EventType").as_string() == "ExecutionTimedOut");
  CHECK(json_event.at("EventId").as_int64() == 2);
  CHECK(json_event.at("EventTimestamp").as_int64() == (k_t0 + 300'000) / 1000);
  CHECK(json_event.at("ExecutionTimedOutDetails").at("Error").at("Payload").at("ErrorMessage") ==
        "Execution timed out after 300 seconds.");
  // Without execution data the payloads are left out.
  const auto started = to_json(e.history().front(), false);
  CHECK_FALSE(started.at("ExecutionStartedDetails").at("Input").as_object().contains("Payload"));
  CHECK(
      to_json(e.history().front(), true).at("ExecutionStartedDetails").at("Input").at("Payload") ==
      R"({"a":1})");
}

TEST_CASE("durable store: snapshot + journal survive a reload; a torn record is ignored") {
  support::TempDir dir("wisp-durable");
  {
    Store store(dir.path());
    auto e = Execution::create(identity(), R"({"n":1})", k_t0);
    REQUIRE(store.create(e));
    auto token = token_of(e.begin_invocation(k_t0, 5 << 20));
    REQUIRE(store.append(e));
    for (int i = 0; i < 5; ++i) {
      auto cp =
          e.checkpoint(request(token, R"([{"Id":"s)" + std::to_string(i) +
                                          R"(","Type":"STEP","Action":"SUCCEED","Payload":"1"}])"),
                       k_t0 + i);
      REQUIRE(cp);
      token = cp->token;
      REQUIRE(store.append(e));
    }
    CHECK(store.held_elsewhere("OrderFunction", "order-1") == false); // held by us
    store.sync();
  } // the lock is released with the store
  // A torn record at the end (a crash mid-write) is not committed.
  {
    std::ofstream log(dir.path() / "OrderFunction" / "order-1.log", std::ios::app);
    log << R"({"n":99,"o":[{"id":"torn")";
  }
  Store store(dir.path());
  auto loaded = store.load("OrderFunction", "order-1");
  REQUIRE(loaded);
  REQUIRE(*loaded);
  const auto& e = **loaded;
  CHECK(e.operations().size() == 6);
  CHECK(e.find("s4")->status == OpStatus::succeeded);
  CHECK(e.history().size() == 6);
  CHECK(e.input() == R"({"n":1})");
  CHECK(e.was_invoking());
  // Nobody holds it: a restarted wisp may resume it.
  CHECK(store.orphaned("OrderFunction") == std::vector<std::string>{"order-1"});
  const auto listed = store.list();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].status == ExecutionStatus::running);
  // A second execution by the same name cannot be created.
  auto twin = Execution::create(identity(), "{}", k_t0);
  CHECK_FALSE(store.create(twin));
}

TEST_CASE("durable store: closed executions are compacted and purged after retention") {
  support::TempDir dir("wisp-durable");
  Store store(dir.path());
  auto e = Execution::create(identity("done-1"), "{}", k_t0);
  REQUIRE(store.create(e));
  e.succeed("\"ok\"", k_t0 + 1000);
  REQUIRE(store.append(e));
  store.release(e);
  // Closed: one fsynced snapshot, an empty journal.
  CHECK(std::filesystem::file_size(dir.path() / "OrderFunction" / "done-1.log") == 0);
  auto loaded = store.load("OrderFunction", "done-1");
  REQUIRE(loaded);
  REQUIRE(*loaded);
  CHECK((*loaded)->status() == ExecutionStatus::succeeded);
  CHECK((*loaded)->result() == "\"ok\"");
  CHECK(store.purge_expired(k_t0 + 1000 + 6 * 86'400'000LL) == 0);
  CHECK(store.purge_expired(k_t0 + 1000 + 7 * 86'400'000LL) == 1);
  CHECK_FALSE(*store.load("OrderFunction", "done-1"));
}

TEST_CASE("durable: DurableConfig from the function or Globals; AWS::NoValue opts out") {
  test::TemplateFixture fixture;
  sam::LoadOptions options;
  options.check_code = false;
  const auto result = fixture.load(R"(
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: nodejs22.x
    Handler: index.handler
    DurableConfig:
      ExecutionTimeout: 900
Resources:
  FromGlobals:
    Type: AWS::Serverless::Function
  Own:
    Type: AWS::Serverless::Function
    Properties:
      DurableConfig:
        ExecutionTimeout: 60
        RetentionPeriodInDays: 3
  OptedOut:
    Type: AWS::Serverless::Function
    Properties:
      DurableConfig: !Ref AWS::NoValue
  TooLong:
    Type: AWS::Serverless::Function
    Properties:
      DurableConfig:
        ExecutionTimeout: 99999999
)",
                                   options);
  REQUIRE_MESSAGE(!result.diagnostics.has_errors(), test::lines(result).front());
  const auto& model = result.model;
  const auto from_globals = durable_config(model, *model.find_function("FromGlobals"));
  REQUIRE(from_globals);
  CHECK(from_globals->execution_timeout_s == 900);
  CHECK(from_globals->retention_days == 14); // Lambda's default
  const auto own = durable_config(model, *model.find_function("Own"));
  REQUIRE(own);
  CHECK(own->execution_timeout_s == 60); // the function's mapping merges over Globals'
  CHECK(own->retention_days == 3);
  CHECK_FALSE(durable_config(model, *model.find_function("OptedOut")));
  std::vector<std::string> problems;
  const auto clamped = durable_config(model, *model.find_function("TooLong"), &problems);
  REQUIRE(clamped);
  CHECK(clamped->execution_timeout_s == 31'622'400);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "TooLong: DurableConfig.ExecutionTimeout 99999999 is outside 1–31622400 "
                       "(Lambda would refuse it)");
}
