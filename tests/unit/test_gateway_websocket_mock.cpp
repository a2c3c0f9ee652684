// WebSocket MOCK integrations: the request template's statusCode picks the integration
// response ($default, or a /regex/ over the status), whose template is rendered with the
// $context and $input references wisp knows.
#include <wisp/gateway/websocket_mock.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace wisp;
using namespace wisp::gateway;

namespace {

MockContext context() {
  MockContext c;
  c.connection_id = "R1kmxc2VNjMCFIA=";
  c.request_id = "R1knPH17NjMFftw=";
  c.route_key = "ping";
  c.event_type = "MESSAGE";
  c.stage = "prod";
  c.api_id = "abcdefghij";
  c.domain_name = "127.0.0.1:3002";
  c.body = R"({"action":"ping"})";
  return c;
}

} // namespace

TEST_CASE("templates: $context and ${context} names, $input.body, the rest left as written") {
  const auto c = context();
  CHECK(render_mock_template(R"({"id":"$context.connectionId","r":"${context.routeKey}"})", c) ==
        R"({"id":"R1kmxc2VNjMCFIA=","r":"ping"})");
  CHECK(render_mock_template("$input.body|$input.json('$')", c) ==
        R"({"action":"ping"}|{"action":"ping"})");
  CHECK(render_mock_template("$context.unknownName $util.x ${context.stage", c) ==
        "$context.unknownName $util.x ${context.stage");
  CHECK(render_mock_template("$", c) == "$");
}

TEST_CASE("the request template's statusCode selects the integration response") {
  const auto c = context();
  sam::WebSocketRoute route;
  route.request_templates["$default"] = R"({"statusCode": 404})";
  route.integration_responses.push_back({"$default", {{"$default", "fallback"}}});
  route.integration_responses.push_back({"/4\\d\\d/", {{"$default", "client $context.stage"}}});
  route.integration_responses.push_back({"/2\\d\\d/", {{"$default", "ok"}}});
  auto answer = run_mock(route, c);
  CHECK(answer.status == 404);
  REQUIRE(answer.body);
  CHECK(*answer.body == "client prod");

  route.request_templates["$default"] = R"({"statusCode": "201"})";
  answer = run_mock(route, c);
  CHECK(answer.status == 201);
  CHECK(*answer.body == "ok");

  route.request_templates["$default"] = R"({"statusCode": 302})";
  CHECK(*run_mock(route, c).body == "fallback");
}

TEST_CASE("no request template is 200; no integration response sends nothing") {
  sam::WebSocketRoute route;
  const auto answer = run_mock(route, context());
  CHECK(answer.status == 200);
  CHECK_FALSE(answer.body);
  route.request_templates["$default"] = "not json";
  CHECK(run_mock(route, context()).status == 200);
  route.request_templates["$default"] = R"({"statusCode": 99})";
  CHECK(run_mock(route, context()).status == 500);
}
