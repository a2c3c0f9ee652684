// WebSocket APIs: events as API Gateway builds them, route selection, identity sources and the
// 32 KB frame quota's meter.
#include <wisp/gateway/websocket_event.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <string>

using namespace wisp::gateway;
namespace json = boost::json;

namespace {

struct Fixture {
  WsApiInfo api;
  WsConnectionInfo conn;
  WsEventInfo info;
  Request request;

  Fixture() {
    api.api_id = "abcdefghij";
    api.stage = "prod";
    conn.connection_id = "R1kmxc2VNjMCFIA=";
    conn.connected_at = 1705751697419;
    conn.domain_name = "127.0.0.1:3002";
    conn.source_ip = "127.0.0.1";
    conn.user_agent = "test-agent";
    info.request_id = "R1knPH17NjMFftw=";
    info.time_ms = 1705751700453;
    request.method = "GET";
    request.raw_path = "/";
    request.raw_query = "token=a%20b&x=1&x=2";
    request.headers = {{"Host", "127.0.0.1:3002"},      {"Connection", "Upgrade"},
                       {"Upgrade", "websocket"},        {"Sec-WebSocket-Key", "k=="},
                       {"Sec-WebSocket-Version", "13"}, {"User-Agent", "test-agent"},
                       {"X-Forwarded-For", "127.0.0.1"}};
    request.source_ip = "127.0.0.1";
  }
};

const json::object& context(const json::value& event) {
  return event.as_object().at("requestContext").as_object();
}

} // namespace

TEST_CASE("websocket: the CONNECT event") {
  Fixture f;
  f.info.route_key = "$connect";
  std::string out;
  write_ws_connect_event(out, f.api, f.conn, f.request, f.info);
  const auto event = json::parse(out);
  const auto& headers = event.as_object().at("headers").as_object();
  CHECK(headers.at("Sec-WebSocket-Key") == "k==");
  CHECK_FALSE(headers.contains("Connection")); // the upgrade's own headers are not passed on
  CHECK_FALSE(headers.contains("Upgrade"));
  CHECK(event.as_object().at("multiValueHeaders").at("Host").as_array().size() == 1);
  CHECK(event.at("queryStringParameters").at("token") == "a b");
  CHECK(event.at("queryStringParameters").at("x") == "2");
  CHECK(event.at("multiValueQueryStringParameters").at("x").as_array().size() == 2);
  const auto& ctx = context(event);
  CHECK(ctx.at("routeKey") == "$connect");
  CHECK(ctx.at("eventType") == "CONNECT");
  CHECK(ctx.at("messageDirection") == "IN");
  CHECK(ctx.at("connectionId") == "R1kmxc2VNjMCFIA=");
  CHECK(ctx.at("connectedAt").as_int64() == 1705751697419);
  CHECK(ctx.at("requestTimeEpoch").as_int64() == 1705751700453);
  CHECK(ctx.at("requestTime") == "20/Jan/2024:11:55:00 +0000");
  CHECK(ctx.at("domainName") == "127.0.0.1:3002");
  CHECK(ctx.at("identity").at("userAgent") == "test-agent");
  CHECK(ctx.at("requestId") == ctx.at("extendedRequestId"));
  CHECK_FALSE(ctx.contains("messageId"));
  CHECK_FALSE(ctx.contains("authorizer"));
  CHECK(event.at("isBase64Encoded") == false);
}

TEST_CASE("websocket: MESSAGE events, text and binary, with the authorizer's context") {
  Fixture f;
  f.info.route_key = "sendmessage";
  f.conn.authorizer_json = R"({"principalId":"me","integrationLatency":3,"tier":"gold"})";
  std::string out;
  write_ws_message_event(out, f.api, f.conn, f.info, "R1knPc2ntjMCFIA=", "{\"action\":\"x\"}",
                         false);
  auto event = json::parse(out);
  CHECK(event.at("body") == "{\"action\":\"x\"}");
  CHECK(event.at("isBase64Encoded") == false);
  CHECK_FALSE(event.as_object().contains("headers"));
  const auto& ctx = context(event);
  CHECK(ctx.at("eventType") == "MESSAGE");
  CHECK(ctx.at("messageId") == "R1knPc2ntjMCFIA=");
  CHECK(ctx.at("authorizer").at("tier") == "gold");
  out.clear();
  write_ws_message_event(out, f.api, f.conn, f.info, "m", std::string("\x00\xff", 2), true);
  event = json::parse(out);
  CHECK(event.at("body") == "AP8=");
  CHECK(event.at("isBase64Encoded") == true);
}

TEST_CASE("websocket: the DISCONNECT event") {
  Fixture f;
  f.info.route_key = "$disconnect";
  std::string out;
  write_ws_disconnect_event(out, f.api, f.conn, f.info, 1001, "bye");
  const auto event = json::parse(out);
  CHECK(event.at("headers").at("Host") == "127.0.0.1:3002");
  CHECK(event.at("headers").at("x-api-key") == "");
  const auto& ctx = context(event);
  CHECK(ctx.at("eventType") == "DISCONNECT");
  CHECK(ctx.at("disconnectStatusCode").as_int64() == 1001);
  CHECK(ctx.at("disconnectReason") == "bye");
}

TEST_CASE("websocket: the $connect REQUEST authorizer's event") {
  Fixture f;
  f.info.route_key = "$connect";
  std::string out;
  write_ws_authorizer_event(out, f.api, f.conn, f.request, f.info,
                            "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/prod/$connect");
  const auto event = json::parse(out);
  CHECK(event.at("type") == "REQUEST");
  CHECK(event.at("methodArn") ==
        "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/prod/$connect");
  CHECK(event.at("headers").at("Connection") == "Upgrade"); // as sent
  CHECK(event.at("headers").at("content-length") == "0");
  CHECK(event.at("queryStringParameters").at("token") == "a b");
  CHECK(event.at("stageVariables").is_null());
  CHECK(context(event).at("eventType") == "CONNECT");
  CHECK(event.at("isBase64Encoded") == false);
}

TEST_CASE("websocket: route selection expressions") {
  CHECK(select_route_key("$request.body.action", R"({"action":"send"})") == "send");
  CHECK(select_route_key("$request.body.a.b", R"({"a":{"b":"deep"}})") == "deep");
  CHECK(select_route_key("$request.body.action", R"({"action":7})") == "7");
  CHECK_FALSE(select_route_key("$request.body.action", R"({"other":1})"));
  CHECK_FALSE(select_route_key("$request.body.action", "not json"));
  CHECK_FALSE(select_route_key("$request.body.action", R"({"action":{"x":1}})"));
  CHECK(select_route_key("${request.body.service}-${request.body.verb}",
                         R"({"service":"chat","verb":"join"})") == "chat-join");
  CHECK_FALSE(
      select_route_key("${request.body.service}-${request.body.verb}", R"({"service":"chat"})"));
}

TEST_CASE("websocket: identity sources") {
  Fixture f;
  CHECK(ws_identity_value("route.request.header.User-Agent", f.request, f.api) == "test-agent");
  CHECK(ws_identity_value("route.request.querystring.token", f.request, f.api) == "a b");
  CHECK_FALSE(ws_identity_value("route.request.header.Authorization", f.request, f.api));
  f.api.stage_variables["key"] = "v";
  CHECK(ws_identity_value("stageVariables.key", f.request, f.api) == "v");
}

TEST_CASE("websocket: the frame meter notices frames over 32 KB") {
  const auto frame = [](std::size_t length, unsigned char opcode) {
    std::string out;
    out.push_back(static_cast<char>(0x80 | opcode));
    if (length < 126) {
      out.push_back(static_cast<char>(0x80 | length));
    } else if (length <= 0xFFFF) {
      out.push_back(static_cast<char>(0x80 | 126));
      out.push_back(static_cast<char>(length >> 8));
      out.push_back(static_cast<char>(length & 0xFF));
    } else {
      out.push_back(static_cast<char>(0x80 | 127));
      for (int i = 7; i >= 0; --i)
        out.push_back(static_cast<char>((length >> (8 * i)) & 0xFF));
    }
    out.append("mask");
    out.append(length, 'x');
    return out;
  };
  FrameMeter meter;
  // Fed a byte at a time and in one piece: frames of exactly 32 KB pass.
  const auto ok = frame(10, 1) + frame(32768, 2) + frame(125, 9) + frame(0, 1);
  for (const char c : ok)
    meter.consume(std::string_view(&c, 1));
  CHECK_FALSE(meter.oversized());
  meter.consume(ok);
  CHECK_FALSE(meter.oversized());
  meter.consume(frame(32769, 0)); // a continuation frame counts too
  CHECK(meter.oversized());
  FrameMeter big;
  big.consume(frame(70000, 1));
  CHECK(big.oversized());
}
