// Response mapping (payload 1.0 and 2.0), CORS, authorizer policies, throttling, Invoke API.
#include <wisp/gateway/authorizer.hpp>
#include <wisp/gateway/cors.hpp>
#include <wisp/gateway/invoke_api.hpp>
#include <wisp/gateway/response.hpp>
#include <wisp/gateway/throttle.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace wisp;
using namespace wisp::gateway;

namespace {

std::string header(const MappedResponse& response, std::string_view name) {
  std::string out;
  for (const auto& [key, value] : response.headers)
    if (key == name)
      out += (out.empty() ? "" : "|") + value;
  return out;
}

} // namespace

TEST_CASE("response 1.0: headers merged, Content-Type default on REST, owned headers remapped") {
  MappedResponse out;
  REQUIRE(map_v1_response(
      R"({"statusCode":201,"headers":{"X-A":"1","X-B":2,"Content-Length":"99","Set-Cookie":"a=1"},
          "multiValueHeaders":{"Set-Cookie":["a=1","b=2"],"X-C":["x",true]},"body":"hi"})",
      true, false, out));
  CHECK(out.status == 201);
  CHECK(out.body == "hi");
  CHECK(header(out, "X-A") == "1");
  CHECK(header(out, "X-B") == "2");
  CHECK(header(out, "Set-Cookie") == "a=1|b=2"); // the pair in both appears once
  CHECK(header(out, "X-C") == "x|true");
  CHECK(header(out, "X-Amzn-Remapped-Content-Length") == "99");
  CHECK(header(out, "Content-Length").empty());
  CHECK(header(out, "Content-Type") == "application/json");
  // HTTP API 1.0: no default Content-Type, owned headers dropped.
  REQUIRE(map_v1_response(R"({"statusCode":"200","headers":{"Date":"x"}})", false, false, out));
  CHECK(out.status == 200);
  CHECK(out.headers.empty());
  CHECK(out.body.empty());
}

TEST_CASE("response 1.0: malformed outputs") {
  MappedResponse out;
  for (const char* bad :
       {R"("just a string")", R"({"body":"no status"})", R"({"statusCode":99})",
        R"({"statusCode":"2xx"})", R"({"statusCode":200,"body":{"a":1}})",
        R"({"statusCode":200,"headers":"x"})", R"({"statusCode":200,"headers":{"a":{"b":1}}})",
        R"({"statusCode":200,"multiValueHeaders":{"a":"b"}})",
        R"({"statusCode":200,"isBase64Encoded":"true"})", "not json", "", R"({"statusCode":200.5})",
        "[1,2]"})
    CHECK_MESSAGE(!map_v1_response(bad, true, false, out), bad);
  // A body that claims base64 but is not is malformed when decoded.
  CHECK_FALSE(map_v1_response(R"({"statusCode":200,"isBase64Encoded":true,"body":"%%%"})", false,
                              false, out));
}

TEST_CASE("response 1.0: REST decodes base64 only for a binary Accept; HTTP APIs always") {
  MappedResponse out;
  const char* output = R"({"statusCode":200,"isBase64Encoded":true,"body":"aGk=",
                           "headers":{"Content-Type":"image/png"}})";
  REQUIRE(map_v1_response(output, true, false, out));
  CHECK(out.body == "aGk=");
  REQUIRE(map_v1_response(output, true, true, out));
  CHECK(out.body == "hi");
  REQUIRE(map_v1_response(output, false, false, out));
  CHECK(out.body == "hi");
}

TEST_CASE("response 2.0: inference and structured responses") {
  MappedResponse out;
  REQUIRE(map_v2_response(R"("Hello from Lambda!")", out));
  CHECK(out.status == 200);
  CHECK(out.body == "Hello from Lambda!");
  CHECK(header(out, "content-type") == "application/json");
  REQUIRE(map_v2_response(R"({ "message": "Hello from Lambda!" })", out));
  CHECK(out.body == R"({ "message": "Hello from Lambda!" })");
  REQUIRE(map_v2_response("42", out));
  CHECK(out.body == "42");
  REQUIRE(map_v2_response(
      R"({"statusCode":302,"headers":{"Location":"/x"},"cookies":["a=1; Path=/","b=2"],
                             "body":"","multiValueHeaders":{},"extra":1})",
      out));
  CHECK(out.status == 302);
  CHECK(header(out, "Location") == "/x");
  CHECK(header(out, "set-cookie") == "a=1; Path=/|b=2");
  REQUIRE(map_v2_response(R"({"statusCode":200,"isBase64Encoded":true,"body":"aGk="})", out));
  CHECK(out.body == "hi");
  CHECK_FALSE(map_v2_response("not json", out));
  CHECK_FALSE(map_v2_response(R"({"statusCode":"abc"})", out));
  CHECK_FALSE(map_v2_response(R"({"statusCode":200,"cookies":"a=1"})", out));
  CHECK_FALSE(map_v2_response(R"({"statusCode":200,"body":5})", out));
}

TEST_CASE("response: CR/LF in values cannot split headers; bad names are dropped") {
  MappedResponse out;
  REQUIRE(map_v1_response(R"({"statusCode":200,"headers":{"X-A":"a\r\nX-Evil: 1","Bad Name":"x"}})",
                          true, false, out));
  CHECK(header(out, "X-A") == "a  X-Evil: 1");
  CHECK(header(out, "Bad Name").empty());
}

TEST_CASE("cors: REST preflight") {
  sam::Cors cors;
  cors.allow_origins = {"*"};
  MappedResponse out;
  rest_preflight(cors, {"GET", "POST"}, out);
  CHECK(out.status == 200);
  CHECK(header(out, "Access-Control-Allow-Origin") == "*");
  CHECK(header(out, "Access-Control-Allow-Methods") == "GET,OPTIONS,POST");
  CHECK(header(out, "Access-Control-Allow-Headers").empty());
  rest_preflight(cors, {"ANY"}, out);
  CHECK(header(out, "Access-Control-Allow-Methods") == "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT");
  cors.allow_methods = {"GET", "PUT"};
  cors.allow_headers = {"Content-Type", "X-Api-Key"};
  cors.max_age = 600;
  cors.allow_credentials = true;
  rest_preflight(cors, {"GET"}, out);
  CHECK(header(out, "Access-Control-Allow-Methods") == "GET,PUT");
  CHECK(header(out, "Access-Control-Allow-Headers") == "Content-Type,X-Api-Key");
  CHECK(header(out, "Access-Control-Max-Age") == "600");
  CHECK(header(out, "Access-Control-Allow-Credentials") == "true");
}

TEST_CASE("cors: HTTP API preflight and actual responses") {
  sam::Cors cors;
  cors.allow_origins = {"https://app.example"};
  cors.allow_methods = {"GET", "POST"};
  cors.allow_headers = {"authorization"};
  cors.expose_headers = {"x-total"};
  cors.max_age = 300;
  Request request;
  request.method = "OPTIONS";
  request.headers = {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "POST"}};
  CHECK(is_preflight(request));
  MappedResponse out;
  http_preflight(cors, request, out);
  CHECK(out.status == 204);
  CHECK(header(out, "access-control-allow-origin") == "https://app.example");
  CHECK(header(out, "access-control-allow-methods") == "GET,POST");
  CHECK(header(out, "access-control-allow-headers") == "authorization");
  CHECK(header(out, "access-control-max-age") == "300");
  request.headers[0].value = "https://evil.example";
  http_preflight(cors, request, out);
  CHECK(out.status == 204);
  CHECK(out.headers.empty());

  out.clear();
  out.headers = {{"Access-Control-Allow-Origin", "*"}, {"x-own", "1"}};
  http_apply_cors(cors, "https://app.example", out);
  CHECK(header(out, "Access-Control-Allow-Origin").empty());
  CHECK(header(out, "access-control-allow-origin") == "https://app.example");
  CHECK(header(out, "access-control-expose-headers") == "x-total");
  CHECK(header(out, "x-own") == "1");
  out.headers = {{"Access-Control-Allow-Origin", "*"}};
  http_apply_cors(cors, "https://evil.example", out);
  CHECK(out.headers.empty());
}

TEST_CASE("authorizer: IAM policies") {
  const auto arn = "arn:aws:execute-api:us-east-1:123456789012:abc/Prod/GET/users/1";
  auto allow = parse_authorizer_output(
      R"({"principalId":"me","policyDocument":{"Version":"2012-10-17","Statement":[
          {"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:*:*:abc/*/GET/*"}]},
          "context":{"role":"admin","n":1,"b":true}})",
      false, true);
  REQUIRE(allow);
  CHECK(evaluate(*allow, arn) == PolicyDecision::allow);
  CHECK(evaluate(*allow, "arn:aws:execute-api:us-east-1:123456789012:abc/Prod/POST/users/1") ==
        PolicyDecision::implicit_deny);
  CHECK(rest_authorizer_json(*allow, 5) ==
        R"({"principalId":"me","integrationLatency":5,"role":"admin","n":1,"b":true})");
  CHECK(http_authorizer_json(*allow) == R"({"lambda":{"role":"admin","n":1,"b":true}})");
  auto deny = parse_authorizer_output(
      R"({"principalId":"me","policyDocument":{"Statement":[
          {"Action":["execute-api:*"],"Effect":"Allow","Resource":["*"]},
          {"Action":"*","Effect":"Deny","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc/Prod/GET/users/?"}]}})",
      false, true);
  REQUIRE(deny);
  CHECK(evaluate(*deny, arn) == PolicyDecision::explicit_deny);
  CHECK(evaluate(*deny, arn + std::string("0")) == PolicyDecision::allow);
  // Invalid answers.
  CHECK_FALSE(parse_authorizer_output("nope", false, true));
  CHECK_FALSE(parse_authorizer_output(R"({"principalId":"x"})", false, true));
  CHECK_FALSE(parse_authorizer_output(
      R"({"policyDocument":{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}})", false,
      true));
  // REST context values must be scalars; HTTP APIs take any JSON.
  const char* nested = R"({"policyDocument":{"Statement":[]},"context":{"a":[1]}})";
  CHECK_FALSE(parse_authorizer_output(nested, false, true));
  CHECK(parse_authorizer_output(nested, false, false));
}

TEST_CASE("authorizer: simple responses and the cache") {
  auto yes =
      parse_authorizer_output(R"({"isAuthorized":true,"context":{"user":"u"}})", true, false);
  REQUIRE(yes);
  CHECK(evaluate(*yes, "any") == PolicyDecision::allow);
  auto no = parse_authorizer_output(R"({"isAuthorized":false})", true, false);
  REQUIRE(no);
  CHECK(evaluate(*no, "any") == PolicyDecision::explicit_deny);
  CHECK_FALSE(parse_authorizer_output(R"({"isAuthorized":"yes"})", true, false));
  AuthorizerCache cache;
  cache.store("k", *yes, std::chrono::seconds(60));
  cache.store("zero", *yes, std::chrono::seconds(0));
  CHECK(cache.find("k"));
  CHECK_FALSE(cache.find("zero"));
  CHECK_FALSE(cache.find("other"));
  CHECK(wildcard_match("a*c?e", "abbbcde"));
  CHECK_FALSE(wildcard_match("a*c?e", "abbbce"));
}

TEST_CASE("throttle: token bucket and method settings") {
  using Clock = TokenBucket::Clock;
  TokenBucket bucket(2.0, 3.0);
  const auto t0 = Clock::now() + std::chrono::seconds(1);
  CHECK(bucket.take(t0));
  CHECK(bucket.take(t0));
  CHECK(bucket.take(t0));
  CHECK_FALSE(bucket.take(t0));
  CHECK(bucket.take(t0 + std::chrono::milliseconds(500)));
  CHECK_FALSE(bucket.take(t0 + std::chrono::milliseconds(500)));
  TokenBucket closed(0.0, 0.0);
  CHECK_FALSE(closed.take());

  CHECK(StageThrottle::decode_resource_path("/~1users~1{id}") == "/users/{id}");
  CHECK(StageThrottle::decode_resource_path("/*") == "/*");
  sam::MethodSetting all;
  all.throttling_rate_limit = 1000;
  all.throttling_burst_limit = 1000;
  sam::MethodSetting one;
  one.resource_path = "/~1slow";
  one.http_method = "GET";
  one.throttling_rate_limit = 0;
  one.throttling_burst_limit = 0;
  StageThrottle stage({all, one});
  CHECK_FALSE(stage.admit("/slow", "GET"));
  CHECK(stage.admit("/slow", "POST"));
  CHECK(stage.admit("/fast", "GET"));
}

TEST_CASE("invoke api: function references and paths") {
  auto ref = parse_function_reference("my-fn");
  REQUIRE(ref);
  CHECK(ref->name == "my-fn");
  CHECK(ref->qualifier.empty());
  ref = parse_function_reference("my-fn:live");
  REQUIRE(ref);
  CHECK(ref->qualifier == "live");
  ref = parse_function_reference("arn:aws:lambda:us-east-1:123456789012:function:my-fn:$LATEST");
  REQUIRE(ref);
  CHECK(ref->name == "my-fn");
  CHECK(ref->qualifier == "$LATEST");
  ref = parse_function_reference("123456789012:function:my-fn");
  REQUIRE(ref);
  CHECK(ref->name == "my-fn");
  for (const char* bad : {"", "a b", "my-fn:", "arn:aws:s3:::bucket", "a:b:c",
                          "x:function:", "arn:aws:lambda:us-east-1:1:function:f:q:extra"})
    CHECK_MESSAGE(!parse_function_reference(bad), bad);
  CHECK(invocation_function("/2015-03-31/functions/Hello/invocations") == "Hello");
  CHECK(invocation_function("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction"
                            "%3Ax/invocations") == "arn:aws:lambda:us-east-1:1:function:x");
  CHECK(invocation_function("/2015-03-31/functions/a/b/invocations") == "a/b"); // nested
  CHECK(invocation_function("/2015-03-31/functions/a%2Fb/invocations") == "a/b");
  CHECK_FALSE(invocation_function("/2015-03-31/functions/a//b/invocations"));
  CHECK_FALSE(invocation_function("/2015-03-31/functions//invocations"));
  CHECK_FALSE(invocation_function("/other"));
  CHECK(lambda_error_body("x\"y") == R"({"Type":"User","Message":"x\"y"})");
  CHECK(function_not_found_message("us-east-1", "123456789012", "f", "") ==
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:f");
}
