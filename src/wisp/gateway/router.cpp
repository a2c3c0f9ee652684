#include <wisp/gateway/router.hpp>
#include <wisp/gateway/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <set>
#include <tuple>

namespace wisp::gateway {

namespace {

// Splits the path after its leading '/' into views; REST drops one trailing empty segment.
std::size_t split_path(std::string_view path, RouterKind kind, Router::Segments& out) {
  if (path.starts_with('/'))
    path.remove_prefix(1);
  std::size_t count = 0;
  if (path.empty())
    return 0;
  std::size_t start = 0;
  while (true) {
    if (count == out.size())
      return SIZE_MAX; // deeper than any route: only $default can take it
    const auto slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      out[count++] = path.substr(start);
      break;
    }
    out[count++] = path.substr(start, slash - start);
    start = slash + 1;
  }
  if (kind == RouterKind::rest && count > 0 && out[count - 1].empty())
    --count;
  return count;
}

// The segments of a route's path pattern (no trailing empty segment).
std::vector<std::string_view> spec_segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.starts_with('/'))
    path.remove_prefix(1);
  while (!path.empty()) {
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

enum class SpecSegment : std::uint8_t { literal, param, greedy };

SpecSegment spec_segment_kind(std::string_view segment) {
  if (segment.size() >= 2 && segment.front() == '{' && segment.back() == '}')
    return segment.ends_with("+}") ? SpecSegment::greedy : SpecSegment::param;
  return SpecSegment::literal;
}

bool segment_equals(std::string_view raw, std::string_view literal) {
  if (raw.find('%') == std::string_view::npos)
    return raw == literal;
  thread_local std::string scratch;
  scratch.clear();
  append_percent_decoded(scratch, raw, false);
  return scratch == literal;
}

} // namespace

Router::Router(RouterKind kind, const std::vector<RouteSpec>& specs) : m_kind(kind) {
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const auto& spec = specs[i];
    if (spec.path == "$default") {
      m_default = i;
      m_default_method = spec.method;
      continue;
    }
    Compiled route;
    route.index = i;
    route.method = spec.method;
    route.path = spec.path;
    std::string_view path = spec.path;
    if (path.starts_with('/'))
      path.remove_prefix(1);
    while (!path.empty()) {
      const auto slash = path.find('/');
      const auto part = path.substr(0, slash);
      Segment segment;
      if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
        auto name = part.substr(1, part.size() - 2);
        if (name.ends_with('+')) {
          name.remove_suffix(1);
          segment.kind = Kind::greedy;
          route.greedy = true;
        } else {
          segment.kind = Kind::param;
        }
        segment.text = std::string(name);
      } else {
        segment.text = std::string(part);
      }
      route.segments.push_back(std::move(segment));
      if (slash == std::string_view::npos)
        break;
      path.remove_prefix(slash + 1);
    }
    m_routes.push_back(std::move(route));
  }
  // Most specific first: (HTTP: full matches before greedy ones), segment kinds in order
  // (literal < param < greedy), then an explicit method before ANY.
  std::stable_sort(m_routes.begin(), m_routes.end(), [&](const Compiled& a, const Compiled& b) {
    if (m_kind == RouterKind::http && a.greedy != b.greedy)
      return !a.greedy;
    const auto rank = [](const Compiled& route) {
      std::vector<int> ranks;
      ranks.reserve(route.segments.size());
      for (const auto& segment : route.segments)
        ranks.push_back(static_cast<int>(segment.kind));
      return ranks;
    };
    const auto ra = rank(a);
    const auto rb = rank(b);
    if (ra != rb)
      return std::lexicographical_compare(ra.begin(), ra.end(), rb.begin(), rb.end());
    return (a.method != "ANY") && (b.method == "ANY");
  });
}

bool Router::match_path(const Compiled& route, std::string_view raw_path, const Segments& segments,
                        std::size_t count,
                        std::vector<std::pair<std::string_view, std::string>>* parameters) const {
  if (parameters != nullptr)
    parameters->clear();
  std::size_t j = 0;
  for (const auto& segment : route.segments) {
    if (j >= count)
      return false;
    switch (segment.kind) {
    case Kind::literal:
      if (!segment_equals(segments[j], segment.text))
        return false;
      ++j;
      break;
    case Kind::param:
      if (segments[j].empty())
        return false;
      if (parameters != nullptr)
        parameters->emplace_back(segment.text, percent_decoded(segments[j], false));
      ++j;
      break;
    case Kind::greedy: {
      if (m_kind == RouterKind::rest && segments[j].empty())
        return false;
      if (parameters != nullptr) {
        // The rest of the raw path from this segment on.
        const auto offset = static_cast<std::size_t>(segments[j].data() - raw_path.data());
        auto rest = raw_path.substr(offset);
        if (m_kind == RouterKind::rest && rest.ends_with('/'))
          rest.remove_suffix(1);
        parameters->emplace_back(segment.text, percent_decoded(rest, false));
      }
      return true;
    }
    }
  }
  return j == count;
}

bool Router::match(std::string_view method, std::string_view raw_path, RouteMatch& out) const {
  Segments segments{};
  const auto count = split_path(raw_path, m_kind, segments);
  for (const auto& route : m_routes) {
    if (count == SIZE_MAX)
      break;
    if (route.method != "ANY" && route.method != method)
      continue;
    if (!match_path(route, raw_path, segments, count, &out.parameters))
      continue;
    out.index = route.index;
    return true;
  }
  if (m_default != SIZE_MAX && (m_default_method == "ANY" || m_default_method == method)) {
    out.index = m_default;
    out.parameters.clear();
    return true;
  }
  return false;
}

std::vector<std::string> Router::path_methods(std::string_view raw_path) const {
  Segments segments{};
  const auto count = split_path(raw_path, m_kind, segments);
  const Compiled* best = nullptr;
  for (const auto& route : m_routes) {
    if (count == SIZE_MAX)
      break;
    if (match_path(route, raw_path, segments, count, nullptr)) {
      best = &route;
      break;
    }
  }
  std::vector<std::string> methods;
  if (best == nullptr)
    return methods;
  for (const auto& route : m_routes)
    if (route.path == best->path)
      methods.push_back(route.method);
  return methods;
}

bool Router::overlap(const RouteSpec& a, const RouteSpec& b) {
  if (a.path == "$default" || b.path == "$default")
    return true;
  if (a.method != b.method && a.method != "ANY" && b.method != "ANY")
    return false;
  const auto sa = spec_segments(a.path);
  const auto sb = spec_segments(b.path);
  std::size_t i = 0;
  for (; i < sa.size() && i < sb.size(); ++i) {
    const auto ka = spec_segment_kind(sa[i]);
    const auto kb = spec_segment_kind(sb[i]);
    if (ka == SpecSegment::greedy || kb == SpecSegment::greedy)
      return true; // both have a segment here, the greedy one takes the rest
    if (ka == SpecSegment::literal && kb == SpecSegment::literal && sa[i] != sb[i])
      return false;
  }
  if (sa.size() == sb.size())
    return true;
  // Different lengths and no greedy segment in the common part: no path matches both (a
  // greedy segment needs at least one segment of its own).
  return false;
}

std::vector<std::string> Router::conflicts(RouterKind kind, const std::vector<RouteSpec>& specs) {
  std::vector<std::string> out;
  // A path pattern with its parameter names erased: equal shapes match the same requests.
  const auto shape = [kind](std::string_view path) {
    std::string text;
    for (const auto segment : spec_segments(path)) {
      text += '/';
      switch (spec_segment_kind(segment)) {
      case SpecSegment::literal:
        text += segment;
        break;
      case SpecSegment::param:
        text += "{}";
        break;
      case SpecSegment::greedy:
        text += "{+}";
        break;
      }
    }
    if (kind == RouterKind::http && path.size() > 1 && path.ends_with('/'))
      text += '/'; // significant on HTTP APIs
    return text;
  };
  std::vector<std::string> shapes;
  shapes.reserve(specs.size());
  for (const auto& spec : specs)
    shapes.push_back(shape(spec.path));
  std::set<std::string> siblings_reported;
  for (std::size_t j = 0; j < specs.size(); ++j) {
    const auto& b = specs[j];
    if (b.path == "$default")
      continue;
    for (std::size_t i = 0; i < j; ++i) {
      const auto& a = specs[i];
      if (a.path == "$default" || a.path == b.path)
        continue; // the same route twice is the template loader's error
      // REST resources form a tree in which a resource has at most one variable child
      // (`{id}` or `{proxy+}`); API Gateway refuses a second one at deployment.
      std::string sibling;
      if (kind == RouterKind::rest) {
        const auto sa = spec_segments(a.path);
        const auto sb = spec_segments(b.path);
        for (std::size_t d = 0; d < sa.size() && d < sb.size(); ++d) {
          if (sa[d] == sb[d])
            continue;
          if (spec_segment_kind(sa[d]) != SpecSegment::literal &&
              spec_segment_kind(sb[d]) != SpecSegment::literal) {
            std::string parent;
            for (std::size_t k = 0; k < d; ++k)
              parent += fmt::format("/{}", sb[k]);
            const auto key =
                fmt::format("{}/{}/{}", parent, std::min(sa[d], sb[d]), std::max(sa[d], sb[d]));
            if (siblings_reported.insert(key).second)
              sibling = fmt::format("{}/{} and {}/{}: a REST API resource has at most one "
                                    "variable child; API Gateway refuses this at deployment",
                                    parent, sa[d], parent, sb[d]);
          }
          break;
        }
      }
      if (a.method == b.method && shapes[i] == shapes[j])
        out.push_back(fmt::format("{} {} is never reached: {} {} matches the same requests{}",
                                  b.method, b.path, a.method, a.path,
                                  sibling.empty() ? std::string() : " (" + sibling + ")"));
      else if (!sibling.empty())
        out.push_back(sibling + " (served here as written)");
    }
  }
  return out;
}

} // namespace wisp::gateway
