// The console page and its API (site.hpp).

#include <wisp/console/site.hpp>

#include <wisp/support/embedded.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <span>

namespace wisp::console {

std::span<const support::EmbeddedFile> page_files();  // generated (cmake/embed.cmake)
std::span<const support::EmbeddedFile> chart_files(); // uPlot (third_party/uplot)

namespace {

constexpr std::int64_t k_keepalive_ms = 15'000;

struct Asset {
  std::string_view path;     // under /_wisp/
  std::string_view embedded; // the embedded file's name
  std::string_view content_type;
};

constexpr Asset k_assets[] = {
    {"", "page/index.html", "text/html; charset=utf-8"},
    {"index.html", "page/index.html", "text/html; charset=utf-8"},
    {"console.css", "page/console.css", "text/css; charset=utf-8"},
    {"console.js", "page/console.js", "text/javascript; charset=utf-8"},
    {"uPlot.min.css", "uplot/uPlot.min.css", "text/css; charset=utf-8"},
    {"uPlot.iife.min.js", "uplot/uPlot.iife.min.js", "text/javascript; charset=utf-8"},
    {"LICENSE.uPlot.txt", "uplot/LICENSE", "text/plain; charset=utf-8"},
};

SiteResponse json_response(std::string body, unsigned status = 200) {
  SiteResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

SiteResponse error(unsigned status, std::string_view message) {
  std::string body = "{\"message\":\"";
  for (const char c : message) {
    if (c == '"' || c == '\\')
      body += '\\';
    body += c;
  }
  body += "\"}";
  return json_response(std::move(body), status);
}

} // namespace

std::string url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size()) {
      unsigned value = 0;
      const auto [ptr, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      if (ec == std::errc() && ptr == text.data() + i + 3) {
        out += static_cast<char>(value);
        i += 2;
      } else {
        out += c;
      }
    } else {
      out += c;
    }
  }
  return out;
}

std::string query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (url_decode(pair.substr(0, eq)) == name)
      return eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

std::string Site::frame(std::string_view event, std::string_view data) {
  // One data line: the JSON wisp writes has no raw newlines.
  return fmt::format("event: {}\ndata: {}\n\n", event, data);
}

Site::Site(Dashboard& dashboard, ColdStartRunner coldstart)
    : m_dashboard(dashboard), m_coldstart(std::move(coldstart)) {}

Site::~Site() {
  close_all();
}

SiteResponse Site::handle(std::string_view method, std::string_view target) const {
  const auto question = target.find('?');
  const auto path = target.substr(0, question);
  const auto query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  if (path == "/_wisp") {
    SiteResponse r;
    r.status = 308;
    r.headers.emplace_back("Location", "/_wisp/");
    return r;
  }
  if (!path.starts_with("/_wisp/"))
    return error(404, "not found");
  if (method != "GET" && method != "HEAD") {
    auto r = error(405, "the console answers GET only");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  const auto rest = path.substr(7);
  for (const auto& asset : k_assets) {
    if (rest != asset.path)
      continue;
    auto data = support::find_embedded(page_files(), asset.embedded);
    if (!data)
      data = support::find_embedded(chart_files(), asset.embedded);
    if (!data)
      return error(500, "the console's page is not embedded in this build");
    SiteResponse r;
    r.content_type = std::string(asset.content_type);
    r.body = std::string(*data);
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; connect-src 'self'");
    return r;
  }
  const auto now = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  if (rest == "api/state") {
    auto r = json_response(m_dashboard.state_json(now()));
    r.headers.emplace_back("X-Wisp-Subscribers", std::to_string(subscribers()));
    return r;
  }
  if (rest == "api/events") {
    SiteResponse r;
    r.content_type = "text/event-stream";
    r.event_stream = true;
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("X-Accel-Buffering", "no");
    return r;
  }
  if (rest == "api/logs") {
    const auto function = query_value(query, "function");
    const auto request = query_value(query, "request");
    if (function.empty() || request.empty())
      return error(400, "give function= and request=");
    return json_response(m_dashboard.logs_json(function, request));
  }
  if (rest == "api/projection") {
    const auto function = query_value(query, "function");
    const auto rate_text = query_value(query, "rate");
    double rate = -1;
    const auto [ptr, ec] =
        std::from_chars(rate_text.data(), rate_text.data() + rate_text.size(), rate);
    if (function.empty() || ec != std::errc() || ptr != rate_text.data() + rate_text.size() ||
        !std::isfinite(rate) || rate < 0)
      return error(400, "give function= and rate= (requests per second, at least 0)");
    return json_response(m_dashboard.projection_json(function, rate));
  }
  if (rest == "api/coldstart") {
    auto function = query_value(query, "function");
    if (function.empty())
      return error(400, "give function=");
    if (!m_coldstart)
      return error(501, "cold-start profiles are not available here");
    SiteResponse r;
    r.deferred = [runner = m_coldstart, function = std::move(function)] {
      auto profile = runner(function);
      if (!profile)
        return error(422, profile.error().message);
      return json_response(std::move(*profile));
    };
    return r;
  }
  return error(404, "not found");
}

void Site::subscribe(std::shared_ptr<EventSink> sink, std::int64_t now_ms) {
  auto state = std::make_shared<const std::string>(frame("state", m_dashboard.state_json(now_ms)));
  if (!sink->send(std::move(state))) {
    sink->close();
    return;
  }
  std::lock_guard lock(m_mutex);
  m_sinks.push_back(std::move(sink));
}

void Site::tick(std::int64_t now_ms) {
  std::vector<std::shared_ptr<EventSink>> sinks;
  std::shared_ptr<const std::string> bytes;
  {
    std::lock_guard lock(m_mutex);
    std::erase_if(m_sinks, [](const std::shared_ptr<EventSink>& sink) { return sink->closed(); });
    if (m_sinks.empty()) {
      // Nobody is watching: nothing is built (the cursor catches up for the next one).
      m_cursor = m_dashboard.version();
      m_durable_sent = m_durable_changes.load();
      return;
    }
    auto changes = m_dashboard.changes_json(m_cursor, now_ms);
    std::string out;
    if (!changes.empty())
      out = frame("changes", changes);
    if (const auto durable = m_durable_changes.load(); durable != m_durable_sent) {
      m_durable_sent = durable;
      out += frame("durable", std::to_string(durable));
    }
    if (!out.empty())
      bytes = std::make_shared<const std::string>(std::move(out));
    else if (now_ms - m_last_send_ms >= k_keepalive_ms)
      bytes = std::make_shared<const std::string>(": keep-alive\n\n");
    if (!bytes)
      return;
    m_last_send_ms = now_ms;
    sinks = m_sinks;
  }
  std::vector<EventSink*> dropped;
  for (const auto& sink : sinks)
    if (!sink->send(bytes))
      dropped.push_back(sink.get());
  if (dropped.empty())
    return;
  std::lock_guard lock(m_mutex);
  std::erase_if(m_sinks, [&](const std::shared_ptr<EventSink>& sink) {
    if (std::find(dropped.begin(), dropped.end(), sink.get()) == dropped.end())
      return false;
    sink->close();
    return true;
  });
}

void Site::notify(std::string_view topic) {
  if (topic == "durable")
    ++m_durable_changes;
}

void Site::close_all() {
  std::vector<std::shared_ptr<EventSink>> sinks;
  {
    std::lock_guard lock(m_mutex);
    sinks.swap(m_sinks);
  }
  for (const auto& sink : sinks)
    sink->close();
}

std::size_t Site::subscribers() const {
  std::lock_guard lock(m_mutex);
  return m_sinks.size();
}

} // namespace wisp::console
