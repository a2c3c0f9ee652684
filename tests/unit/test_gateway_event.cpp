// The proxy events as API Gateway builds them (REST 1.0, HTTP API 1.0 and 2.0, authorizers).
#include <wisp/gateway/event.hpp>
#include <wisp/gateway/text.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <string>

using namespace wisp::gateway;
namespace json = boost::json;

namespace {

struct Fixture {
  Request request;
  ApiEventInfo api;
  RouteEventInfo route;
  RequestEventInfo info;
  RouteMatch match;

  Fixture() {
    request.method = "POST";
    request.raw_path = "/users/a%20b";
    request.raw_query = "q=1&q=2&x=y%26z&flag&plus=a+b";
    request.headers = {{"Host", "127.0.0.1:3000"},
                       {"User-Agent", "curl/8.0"},
                       {"X-Dup", "one"},
                       {"x-dup", "two"},
                       {"Cookie", "a=1; b=2"},
                       {"Cookie", "c=3"},
                       {"Content-Type", "application/json"}};
    request.body = "{\"k\":1}";
    request.source_ip = "127.0.0.1";
    api.api_id = "abcdefghij";
    api.stage = "Prod";
    api.stage_variables = {{"env", "local"}};
    route.method = "POST";
    route.resource_path = "/users/{id}";
    route.route_key = "POST /users/{id}";
    route.resource_id = "abc123";
    match.parameters = {{"id", "a b"}};
    info.request_id = "11111111-2222-4333-8444-555555555555";
    info.extended_request_id = "LV7fzho-PHcEJPw=";
    info.time_ms = 1587481701067;
    info.request_time = "21/Apr/2020:15:08:21 +0000";
    info.match = &match;
  }

  json::object v1() {
    std::string out;
    write_v1_event(out, request, api, route, info);
    return json::parse(out).as_object();
  }
  json::object v2() {
    std::string out;
    write_v2_event(out, request, api, route, info);
    return json::parse(out).as_object();
  }
};

} // namespace

TEST_CASE("event: REST 1.0 fields") {
  Fixture f;
  const auto event = f.v1();
  CHECK_FALSE(event.contains("version"));
  CHECK(event.at("resource") == "/users/{id}");
  CHECK(event.at("path") == "/users/a%20b"); // REST keeps the path encoded
  CHECK(event.at("httpMethod") == "POST");
  // Header names as sent (case-sensitive on REST); the last value in `headers`.
  CHECK(event.at("headers").at("X-Dup") == "one");
  CHECK(event.at("headers").at("x-dup") == "two");
  CHECK(event.at("headers").at("Cookie") == "c=3");
  CHECK(event.at("multiValueHeaders").at("Cookie") == json::array{"a=1; b=2", "c=3"});
  CHECK(event.at("queryStringParameters").at("q") == "2");
  CHECK(event.at("queryStringParameters").at("x") == "y&z");
  CHECK(event.at("queryStringParameters").at("flag") == "");
  CHECK(event.at("queryStringParameters").at("plus") == "a b");
  CHECK(event.at("multiValueQueryStringParameters").at("q") == json::array{"1", "2"});
  CHECK(event.at("pathParameters").at("id") == "a b");
  CHECK(event.at("stageVariables").at("env") == "local");
  CHECK(event.at("body") == "{\"k\":1}");
  CHECK(event.at("isBase64Encoded") == false);
  const auto& context = event.at("requestContext").as_object();
  CHECK(context.at("path") == "/Prod/users/a%20b");
  CHECK(context.at("resourcePath") == "/users/{id}");
  CHECK(context.at("resourceId") == "abc123");
  CHECK(context.at("stage") == "Prod");
  CHECK(context.at("requestId").as_string() == f.info.request_id);
  CHECK(context.at("extendedRequestId") == "LV7fzho-PHcEJPw=");
  CHECK(context.at("requestTimeEpoch") == 1587481701067);
  CHECK(context.at("requestTime") == "21/Apr/2020:15:08:21 +0000");
  CHECK(context.at("apiId") == "abcdefghij");
  CHECK(context.at("accountId") == "123456789012");
  CHECK(context.at("protocol") == "HTTP/1.1");
  CHECK(context.at("domainName") == "127.0.0.1:3000");
  CHECK(context.at("domainPrefix") == "127");
  CHECK(context.at("identity").at("sourceIp") == "127.0.0.1");
  CHECK(context.at("identity").at("userAgent") == "curl/8.0");
  CHECK(context.at("identity").at("caller").is_null());
  CHECK_FALSE(context.contains("authorizer"));
}

TEST_CASE("event: REST 1.0 empty maps are null, empty body is null") {
  Fixture f;
  f.request.raw_query = "";
  f.request.body = "";
  f.api.stage_variables.clear();
  f.match.parameters.clear();
  f.request.headers = {{"Host", "localhost"}};
  const auto event = f.v1();
  CHECK(event.at("queryStringParameters").is_null());
  CHECK(event.at("multiValueQueryStringParameters").is_null());
  CHECK(event.at("pathParameters").is_null());
  CHECK(event.at("stageVariables").is_null());
  CHECK(event.at("body").is_null());
  CHECK(event.at("requestContext").at("identity").at("userAgent").is_null());
  CHECK(event.at("requestContext").at("domainPrefix") == "localhost");
}

TEST_CASE("event: binary bodies are base64-encoded when the caller says so") {
  Fixture f;
  f.request.body = std::string_view("\x89PNG\0\xff", 6);
  f.info.base64_body = true;
  auto event = f.v1();
  CHECK(event.at("isBase64Encoded") == true);
  CHECK(event.at("body") == "iVBORwD/");
  const auto v2 = f.v2();
  CHECK(v2.at("isBase64Encoded") == true);
  CHECK(v2.at("body") == "iVBORwD/");
  // Invalid UTF-8 sent as text still yields valid JSON (U+FFFD).
  f.info.base64_body = false;
  event = f.v1();
  CHECK(event.at("body").as_string().size() > 0);
}

TEST_CASE("event: HTTP API 2.0 fields") {
  Fixture f;
  f.api.http_api = true;
  f.api.stage = "$default";
  f.route.v2 = true;
  const auto event = f.v2();
  CHECK(event.at("version") == "2.0");
  CHECK(event.at("routeKey") == "POST /users/{id}");
  CHECK(event.at("rawPath") == "/users/a b"); // HTTP APIs decode the path
  CHECK(event.at("rawQueryString") == "q=1&q=2&x=y%26z&flag&plus=a+b");
  CHECK(event.at("cookies") == json::array{"a=1", "b=2", "c=3"});
  // Lower-case names, duplicates joined with commas, no cookie header.
  CHECK(event.at("headers").at("x-dup") == "one,two");
  CHECK(event.at("headers").at("host") == "127.0.0.1:3000");
  CHECK_FALSE(event.at("headers").as_object().contains("cookie"));
  CHECK_FALSE(event.at("headers").as_object().contains("X-Dup"));
  CHECK(event.at("queryStringParameters").at("q") == "1,2");
  CHECK(event.at("queryStringParameters").at("x") == "y&z");
  CHECK(event.at("pathParameters").at("id") == "a b");
  CHECK(event.at("stageVariables").at("env") == "local");
  CHECK(event.at("body") == "{\"k\":1}");
  CHECK(event.at("isBase64Encoded") == false);
  const auto& context = event.at("requestContext").as_object();
  CHECK(context.at("routeKey") == "POST /users/{id}");
  CHECK(context.at("stage") == "$default");
  CHECK(context.at("http").at("method") == "POST");
  CHECK(context.at("http").at("path") == "/users/a b");
  CHECK(context.at("http").at("sourceIp") == "127.0.0.1");
  CHECK(context.at("http").at("userAgent") == "curl/8.0");
  CHECK(context.at("timeEpoch") == 1587481701067);
  CHECK(context.at("time") == "21/Apr/2020:15:08:21 +0000");
  CHECK_FALSE(context.contains("authorizer"));
  CHECK_FALSE(event.contains("multiValueHeaders"));
}

TEST_CASE("event: HTTP API 2.0 leaves empty fields out; a named stage prefixes the path") {
  Fixture f;
  f.api.http_api = true;
  f.api.stage = "dev";
  f.api.stage_variables.clear();
  f.request.raw_query = "";
  f.request.body = "";
  f.match.parameters.clear();
  f.request.headers = {{"Host", "h"}};
  const auto event = f.v2();
  CHECK(event.at("rawPath") == "/dev/users/a b");
  CHECK(event.at("requestContext").at("http").at("path") == "/dev/users/a b");
  CHECK(event.at("requestContext").at("http").at("userAgent") == "");
  for (const char* key :
       {"cookies", "queryStringParameters", "pathParameters", "stageVariables", "body"})
    CHECK_MESSAGE(!event.contains(key), key);
}

TEST_CASE("event: HTTP API 1.0 has version, lower-case names and a decoded path") {
  Fixture f;
  f.api.http_api = true;
  f.api.stage = "$default";
  const auto event = f.v1();
  CHECK(event.at("version") == "1.0");
  CHECK(event.at("path") == "/users/a b");
  CHECK(event.at("headers").at("x-dup") == "two");
  CHECK(event.at("multiValueHeaders").at("x-dup") == json::array{"one", "two"});
  CHECK(event.at("requestContext").at("resourceId").is_null());
  CHECK(event.at("requestContext").at("path") == "/users/a b");
}

TEST_CASE("event: authorizer context reaches the event") {
  Fixture f;
  f.info.authorizer_json = R"({"principalId":"me","integrationLatency":3,"role":"admin"})";
  const auto event = f.v1();
  CHECK(event.at("requestContext").at("authorizer").at("principalId") == "me");
  CHECK(event.at("requestContext").at("authorizer").at("role") == "admin");
}

TEST_CASE("event: authorizer events") {
  Fixture f;
  const auto arn = method_arn(f.api, "GET", "/users/1");
  CHECK(arn == "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/Prod/GET/users/1");
  CHECK(method_arn(f.api, "GET", "/") ==
        "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/Prod/GET/");
  std::string out;
  write_token_authorizer_event(out, "Bearer x\"y", arn);
  const auto token = json::parse(out).as_object();
  CHECK(token.at("type") == "TOKEN");
  CHECK(token.at("authorizationToken") == "Bearer x\"y");
  CHECK(token.at("methodArn").as_string() == arn);

  out.clear();
  f.request.raw_query = "";
  f.api.stage_variables.clear();
  write_request_authorizer_event(out, f.request, f.api, f.route, f.info, arn, nullptr);
  const auto request = json::parse(out).as_object();
  CHECK(request.at("type") == "REQUEST");
  CHECK(request.at("methodArn").as_string() == arn);
  // REQUEST authorizer events carry {} rather than null.
  CHECK(request.at("queryStringParameters") == json::object{});
  CHECK(request.at("stageVariables") == json::object{});
  CHECK(request.at("headers").at("Cookie") == "c=3");
  CHECK_FALSE(request.contains("body"));

  out.clear();
  f.api.http_api = true;
  write_v2_authorizer_event(out, f.request, f.api, f.route, f.info, arn, {"tok", "2"});
  const auto v2 = json::parse(out).as_object();
  CHECK(v2.at("version") == "2.0");
  CHECK(v2.at("type") == "REQUEST");
  CHECK(v2.at("routeArn").as_string() == arn);
  CHECK(v2.at("identitySource") == json::array{"tok", "2"});
  CHECK(v2.at("cookies") == json::array{"a=1", "b=2", "c=3"});
}

TEST_CASE("text: JSON strings, percent-decoding, ids, times, media types") {
  std::string out;
  append_json_string(out, std::string_view("a\"\\\n\x01\xc3\xa9\xff", 8));
  CHECK(out == "\"a\\\"\\\\\\n\\u0001\xc3\xa9\xef\xbf\xbd\"");
  CHECK(json::parse(out).as_string() == "a\"\\\n\x01\xc3\xa9\xef\xbf\xbd");
  CHECK(percent_decoded("a%20b+c%2", false) == "a b+c%2");
  CHECK(percent_decoded("a%20b+c", true) == "a b c");
  std::mt19937_64 rng(7);
  const auto uuid = make_rest_request_id(rng);
  CHECK(uuid.size() == 36);
  CHECK(uuid[14] == '4');
  const auto short_id = make_short_request_id(rng);
  CHECK(short_id.size() == 16);
  CHECK(short_id.back() == '=');
  CHECK(make_rest_request_id(rng) != uuid);
  CHECK(stable_id("ServerlessRestApi", 10) == stable_id("ServerlessRestApi", 10));
  CHECK(stable_id("ServerlessRestApi", 10).size() == 10);
  CHECK(format_request_time(1587481701067) == "21/Apr/2020:15:08:21 +0000");
  CHECK(format_http_date(1587481701) == "Tue, 21 Apr 2020 15:08:21 GMT");
  CHECK(media_type(" Text/HTML ; charset=utf-8") == "text/html");
  CHECK(first_accept_type("image/webp,image/*,*/*;q=0.8") == "image/webp");
  const std::vector<std::string> types = {"image/*", "application/octet-stream"};
  CHECK(matches_media_types("image/png", types));
  CHECK(matches_media_types("application/octet-stream", types));
  CHECK_FALSE(matches_media_types("application/json", types));
  CHECK(matches_media_types("application/json", std::vector<std::string>{"*/*"}));
  CHECK(is_http_api_text_type("text/plain; charset=utf-8"));
  CHECK(is_http_api_text_type("application/json"));
  CHECK_FALSE(is_http_api_text_type("application/x-www-form-urlencoded"));
  CHECK_FALSE(is_http_api_text_type(""));
  CHECK_FALSE(is_http_api_text_type("application/vnd.api+json"));
}
