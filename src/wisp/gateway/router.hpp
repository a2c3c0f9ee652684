#pragma once
// Route matching with API Gateway's priorities, precompiled once per API (no regex, no
// allocation per request beyond the decoded parameter values).
//
// REST APIs (resources): the request goes to the most specific resource that has the
// request's method (or ANY): segment by segment a literal beats {param}, which beats a
// greedy {proxy+}; a resource without the method does not keep the request (measured on
// AWS: it falls through to a {proxy+} elsewhere). A trailing slash is ignored; {proxy+}
// needs at least one segment, so `/` needs its own resource.
// HTTP APIs (routes): a full match (no greedy variable) beats a greedy one, the most
// specific first; an explicit method beats ANY; `$default` catches the rest. A trailing
// slash is significant (`/a/` does not match `/a`, it matches `/a/{proxy+}`).
// Path parameter values are percent-decoded; a greedy value is the rest of the path.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wisp::gateway {

enum class RouterKind : std::uint8_t { rest, http };

struct RouteSpec {
  std::string method; // upper case, or ANY
  std::string path;   // "/users/{id}", "/{proxy+}", "$default"
};

struct RouteMatch {
  std::size_t index = 0; // into the specs given to the Router
  std::vector<std::pair<std::string_view, std::string>> parameters; // name → decoded value
};

class Router {
public:
  Router() = default;
  Router(RouterKind kind, const std::vector<RouteSpec>& specs);

  // The route for `method` and the raw (percent-encoded) request path; false when none.
  bool match(std::string_view method, std::string_view raw_path, RouteMatch& out) const;
  // The methods of the most specific route path that matches `raw_path` whatever the
  // method (empty when no route path matches). `$default` is not a path.
  [[nodiscard]] std::vector<std::string> path_methods(std::string_view raw_path) const;
  [[nodiscard]] bool has_default() const { return m_default != SIZE_MAX; }

  // Whether some request could match both routes (same or ANY method, path patterns that
  // accept a common path; $default overlaps everything). Used to decide whether APIs can share
  // a port.
  static bool overlap(const RouteSpec& a, const RouteSpec& b);
  // A static check of one API's routes, one sentence per problem: a route no request reaches
  // (an earlier one with the same method and the same path but for parameter names takes
  // them all) and, on REST APIs, two variable path parts under one resource (`/a/{id}` and
  // `/a/{name}/b`, or `/a/{id}` and `/a/{proxy+}`), which API Gateway refuses to deploy.
  static std::vector<std::string> conflicts(RouterKind kind, const std::vector<RouteSpec>& specs);

  static constexpr std::size_t k_max_segments = 128; // deeper paths match nothing deeper
  using Segments = std::array<std::string_view, k_max_segments>;

private:
  enum class Kind : std::uint8_t { literal, param, greedy };
  struct Segment {
    Kind kind = Kind::literal;
    std::string text; // literal text, or the parameter's name
  };
  struct Compiled {
    std::size_t index = 0;
    std::string method;
    std::string path;
    std::vector<Segment> segments;
    bool greedy = false;
  };
  bool match_path(const Compiled& route, std::string_view raw_path, const Segments& segments,
                  std::size_t count,
                  std::vector<std::pair<std::string_view, std::string>>* parameters) const;

  RouterKind m_kind = RouterKind::rest;
  std::vector<Compiled> m_routes; // most specific first
  std::size_t m_default = SIZE_MAX;
  std::string m_default_method;
};

} // namespace wisp::gateway
