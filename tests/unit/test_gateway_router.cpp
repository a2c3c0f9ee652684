// Route matching with API Gateway's priorities (REST resources vs HTTP API routes).
#include <wisp/gateway/router.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace wisp::gateway;

namespace {

// The path of the matched route ("-" when none), e.g. "GET /pets/{id}".
std::string route_of(const Router& router, const std::vector<RouteSpec>& specs,
                     std::string_view method, std::string_view path, RouteMatch* out = nullptr) {
  RouteMatch match;
  if (!router.match(method, path, match))
    return "-";
  if (out != nullptr)
    *out = match;
  return specs[match.index].method + " " + specs[match.index].path;
}

} // namespace

TEST_CASE("router: HTTP API priorities from the AWS documentation's example") {
  const std::vector<RouteSpec> specs = {{"ANY", "/{proxy+}"},
                                        {"GET", "/pets/{proxy+}"},
                                        {"GET", "/pets/dog/{id}"},
                                        {"GET", "/pets/dog/1"},
                                        {"ANY", "$default"}};
  const Router router(RouterKind::http, specs);
  CHECK(route_of(router, specs, "GET", "/pets/dog/1") == "GET /pets/dog/1");
  CHECK(route_of(router, specs, "GET", "/pets/dog/2") == "GET /pets/dog/{id}");
  CHECK(route_of(router, specs, "GET", "/pets/cat/1") == "GET /pets/{proxy+}");
  CHECK(route_of(router, specs, "POST", "/test/5") == "ANY /{proxy+}");
  // `/` is not covered by /{proxy+}: $default takes it.
  CHECK(route_of(router, specs, "GET", "/") == "ANY $default");
}

TEST_CASE("router: HTTP API full matches beat greedy ones; explicit methods beat ANY") {
  const std::vector<RouteSpec> specs = {
      {"ANY", "/a/{proxy+}"}, {"ANY", "/{x}/b"}, {"GET", "/{x}/b"}};
  const Router router(RouterKind::http, specs);
  CHECK(route_of(router, specs, "GET", "/a/b") == "GET /{x}/b");
  CHECK(route_of(router, specs, "POST", "/a/b") == "ANY /{x}/b");
  CHECK(route_of(router, specs, "POST", "/a/c") == "ANY /a/{proxy+}");
  CHECK(route_of(router, specs, "GET", "/z/c") == "-");
  CHECK_FALSE(router.has_default());
}

TEST_CASE("router: HTTP API trailing slashes are significant") {
  const std::vector<RouteSpec> specs = {{"GET", "/metrics"}, {"GET", "/metrics/{proxy+}"}};
  const Router router(RouterKind::http, specs);
  CHECK(route_of(router, specs, "GET", "/metrics") == "GET /metrics");
  RouteMatch match;
  CHECK(route_of(router, specs, "GET", "/metrics/", &match) == "GET /metrics/{proxy+}");
  REQUIRE(match.parameters.size() == 1);
  CHECK(match.parameters[0].second.empty());
}

TEST_CASE("router: REST resources, literal over parameter over greedy, method pairs") {
  // Measured on AWS (see router.hpp): a resource without the method does not keep the request.
  const std::vector<RouteSpec> specs = {{"ANY", "/{proxy+}"},      {"GET", "/jobs/{operation}"},
                                        {"GET", "/users/me"},      {"GET", "/users/{id}"},
                                        {"DELETE", "/users/{id}"}, {"GET", "/"}};
  const Router router(RouterKind::rest, specs);
  CHECK(route_of(router, specs, "GET", "/jobs/reboot") == "GET /jobs/{operation}");
  CHECK(route_of(router, specs, "POST", "/jobs/reboot") == "ANY /{proxy+}");
  CHECK(route_of(router, specs, "GET", "/jobs") == "ANY /{proxy+}");
  CHECK(route_of(router, specs, "GET", "/users/me") == "GET /users/me");
  CHECK(route_of(router, specs, "DELETE", "/users/me") == "DELETE /users/{id}");
  CHECK(route_of(router, specs, "GET", "/") == "GET /");
  CHECK(route_of(router, specs, "POST", "/") == "-"); // {proxy+} needs a segment
  // A trailing slash is ignored by REST APIs.
  CHECK(route_of(router, specs, "GET", "/users/me/") == "GET /users/me");
}

TEST_CASE("router: parameters are decoded; the greedy value is the rest of the path") {
  const std::vector<RouteSpec> specs = {{"GET", "/files/{name}"}, {"GET", "/static/{path+}"}};
  const Router rest(RouterKind::rest, specs);
  RouteMatch match;
  CHECK(route_of(rest, specs, "GET", "/files/a%20b", &match) == "GET /files/{name}");
  REQUIRE(match.parameters.size() == 1);
  CHECK(match.parameters[0].first == "name");
  CHECK(match.parameters[0].second == "a b");
  CHECK(route_of(rest, specs, "GET", "/static/css/site%2Bx.css", &match) == "GET /static/{path+}");
  CHECK(match.parameters[0].second == "css/site+x.css");
  // An encoded literal segment still matches its literal.
  CHECK(route_of(rest, specs, "GET", "/fil%65s/x") == "GET /files/{name}");
  // An empty segment is no parameter value.
  CHECK(route_of(rest, specs, "GET", "/files/") == "-");
}

TEST_CASE("router: methods of a path (REST CORS preflight)") {
  const std::vector<RouteSpec> specs = {
      {"GET", "/users/{id}"}, {"PUT", "/users/{id}"}, {"ANY", "/{proxy+}"}};
  const Router router(RouterKind::rest, specs);
  CHECK(router.path_methods("/users/1") == std::vector<std::string>{"GET", "PUT"});
  CHECK(router.path_methods("/other") == std::vector<std::string>{"ANY"});
  CHECK(router.path_methods("/").empty());
}

TEST_CASE("router: hostile paths") {
  const std::vector<RouteSpec> specs = {{"GET", "/{proxy+}"}, {"ANY", "$default"}};
  const Router router(RouterKind::http, specs);
  std::string deep;
  for (int i = 0; i < 300; ++i)
    deep += "/a";
  CHECK(route_of(router, specs, "GET", deep) == "ANY $default");
  CHECK(route_of(router, specs, "GET", "") == "ANY $default");
  CHECK(route_of(router, specs, "GET", "/%zz%") == "GET /{proxy+}");
  CHECK(route_of(router, specs, "BREW", "/x") == "ANY $default");
}

TEST_CASE("router: overlap between routes (APIs sharing a port)") {
  const auto overlap = [](std::string m1, std::string p1, std::string m2, std::string p2) {
    return Router::overlap(RouteSpec{m1, p1}, RouteSpec{m2, p2});
  };
  CHECK_FALSE(overlap("GET", "/hello", "GET", "/hello/{name}"));
  CHECK(overlap("GET", "/hello", "ANY", "/hello"));
  CHECK_FALSE(overlap("GET", "/hello", "POST", "/hello"));
  CHECK(overlap("GET", "/a/{x}", "GET", "/{y}/b"));
  CHECK_FALSE(overlap("GET", "/a/x", "GET", "/a/y"));
  CHECK(overlap("GET", "/{proxy+}", "GET", "/a/b/c"));
  CHECK_FALSE(overlap("GET", "/{proxy+}", "GET", "/"));
  CHECK(overlap("GET", "/a/{proxy+}", "GET", "/a/b"));
  CHECK_FALSE(overlap("GET", "/a/{proxy+}", "GET", "/a"));
  CHECK(overlap("GET", "$default", "POST", "/x"));
  CHECK(overlap("GET", "/", "ANY", "/"));
}

TEST_CASE("router: static conflicts (unreachable routes, REST variable siblings)") {
  using Specs = std::vector<RouteSpec>;
  // Different parameter names, same method: the later route is never reached.
  auto problems =
      Router::conflicts(RouterKind::http, Specs{{"GET", "/x/{id}"}, {"GET", "/x/{name}"}});
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "GET /x/{name} is never reached: GET /x/{id} matches the same requests");
  const Router router(RouterKind::http, Specs{{"GET", "/x/{id}"}, {"GET", "/x/{name}"}});
  RouteMatch match;
  REQUIRE(router.match("GET", "/x/1", match));
  CHECK(match.index == 0);
  // Another method, ANY beside an explicit method, a significant trailing slash, a greedy
  // route beside a parameter: all reachable on an HTTP API.
  CHECK(Router::conflicts(RouterKind::http, Specs{{"GET", "/x/{id}"}, {"POST", "/x/{name}"}})
            .empty());
  CHECK(
      Router::conflicts(RouterKind::http, Specs{{"ANY", "/x/{id}"}, {"GET", "/x/{name}"}}).empty());
  CHECK(Router::conflicts(RouterKind::http, Specs{{"GET", "/x/{id}/"}, {"GET", "/x/{name}"}})
            .empty());
  CHECK(Router::conflicts(RouterKind::http, Specs{{"GET", "/x/{id}"}, {"GET", "/x/{p+}"}}).empty());
  CHECK(Router::conflicts(RouterKind::http, Specs{{"GET", "$default"}, {"GET", "/x"}}).empty());
  CHECK(Router::conflicts(RouterKind::rest, Specs{{"GET", "/users/{id}"},
                                                  {"ANY", "/{proxy+}"},
                                                  {"POST", "/users/me"},
                                                  {"GET", "/users/{id}/x"}})
            .empty());
  // REST: one variable child per resource, whatever the methods; reported once per pair.
  problems = Router::conflicts(
      RouterKind::rest, Specs{{"GET", "/a/{id}"}, {"POST", "/a/{name}/b"}, {"PUT", "/a/{name}"}});
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "/a/{id} and /a/{name}: a REST API resource has at most one variable "
                       "child; API Gateway refuses this at deployment (served here as written)");
  problems = Router::conflicts(RouterKind::rest, Specs{{"GET", "/{id}"}, {"GET", "/{proxy+}"}});
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "/{id} and /{proxy+}: a REST API resource has at most one variable child; "
                       "API Gateway refuses this at deployment (served here as written)");
  problems = Router::conflicts(RouterKind::rest, Specs{{"GET", "/a/{id}/"}, {"GET", "/a/{n}"}});
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "GET /a/{n} is never reached: GET /a/{id}/ matches the same requests "
                       "(/a/{id} and /a/{n}: a REST API resource has at most one variable child; "
                       "API Gateway refuses this at deployment)");
}
