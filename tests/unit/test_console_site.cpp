#include <wisp/console/site.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

using namespace wisp::console;
namespace json = boost::json;

namespace {

DashboardOptions options() {
  DashboardOptions o;
  o.prices = builtin_prices();
  return o;
}

FunctionInfo function(std::string id) {
  FunctionInfo f;
  f.id = id;
  f.name = id;
  f.runtime = "python3.12";
  f.memory_size_mb = 128;
  f.environment_names = {"API_KEY"};
  return f;
}

Invocation invocation(std::string id, std::int64_t start) {
  Invocation i;
  i.function_id = "Fn";
  i.request_id = std::move(id);
  i.start_ms = start;
  i.end_ms = start + 10;
  i.outcome = "success";
  i.duration_ms = 10;
  i.billed_duration_ms = 10;
  i.memory_size_mb = 128;
  i.max_memory_used_mb = 30;
  return i;
}

// A connection that records what it was sent; `accept` false: it cannot take more.
class RecordingSink final : public EventSink {
public:
  bool send(std::shared_ptr<const std::string> bytes) override {
    if (!accept)
      return false;
    sent.push_back(*bytes);
    return true;
  }
  void close() override { closed_ = true; }
  [[nodiscard]] bool closed() const override { return closed_; }

  bool accept = true;
  bool closed_ = false;
  std::vector<std::string> sent;
};

} // namespace

TEST_CASE("console site: query strings") {
  CHECK(url_decode("a%2Fb+c%3") == "a/b c%3");
  CHECK(query_value("function=Orders&rate=2.5", "rate") == "2.5");
  CHECK(query_value("function=My%20Fn&rate=2", "function") == "My Fn");
  CHECK(query_value("flag&x=1", "flag").empty());
  CHECK(query_value("x=1", "y").empty());
}

TEST_CASE("console site: the page, its assets and its API") {
  Dashboard dashboard(options());
  dashboard.add_function(function("Fn"));
  Site site(dashboard, nullptr);

  const auto page = site.handle("GET", "/_wisp/");
  CHECK(page.status == 200);
  CHECK(page.content_type.starts_with("text/html"));
  CHECK(page.body.find("console.js") != std::string::npos);
  for (const auto* asset : {"/_wisp/console.js", "/_wisp/console.css", "/_wisp/uPlot.iife.min.js",
                            "/_wisp/uPlot.min.css", "/_wisp/LICENSE.uPlot.txt"}) {
    const auto r = site.handle("GET", asset);
    CHECK_MESSAGE(r.status == 200, asset);
    CHECK_MESSAGE(!r.body.empty(), asset);
  }
  CHECK(site.handle("GET", "/_wisp").status == 308);
  CHECK(site.handle("GET", "/elsewhere").status == 404);
  CHECK(site.handle("GET", "/_wisp/nope").status == 404);
  CHECK(site.handle("POST", "/_wisp/api/state").status == 405);

  const auto state = site.handle("GET", "/_wisp/api/state");
  CHECK(state.status == 200);
  const auto parsed = json::parse(state.body);
  CHECK(parsed.at("functions").as_array().size() == 1);

  CHECK(site.handle("GET", "/_wisp/api/projection?function=Fn&rate=-1").status == 400);
  CHECK(site.handle("GET", "/_wisp/api/projection?function=Fn&rate=lots").status == 400);
  CHECK(site.handle("GET", "/_wisp/api/projection?function=Fn&rate=3").status == 200);
  CHECK(site.handle("GET", "/_wisp/api/logs?function=Fn").status == 400);
  // No profiler given: cold-start profiles are not available.
  CHECK(site.handle("GET", "/_wisp/api/coldstart?function=Fn").status == 501);
  const auto events = site.handle("GET", "/_wisp/api/events");
  CHECK(events.event_stream);
}

TEST_CASE("console site: event streams get the state, then changes once per tick") {
  Dashboard dashboard(options());
  dashboard.add_function(function("Fn"));
  Site site(dashboard, nullptr);

  // Nobody watching: ticks build nothing, and what happened meanwhile is not replayed as
  // changes (a new subscriber gets it in its state).
  dashboard.started("Fn", 1000);
  dashboard.finished(invocation("early", 1000));
  site.notify("durable");
  site.tick(1100);

  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  site.subscribe(a, 1200);
  site.subscribe(b, 1200);
  CHECK(site.subscribers() == 2);
  REQUIRE(a->sent.size() == 1);
  CHECK(a->sent[0].starts_with("event: state\ndata: "));
  CHECK(a->sent[0].find("early") != std::string::npos);

  site.tick(1250); // nothing changed
  CHECK(a->sent.size() == 1);

  dashboard.started("Fn", 1300);
  dashboard.finished(invocation("second", 1300));
  site.notify("durable");
  site.notify("durable");
  site.tick(1500);
  REQUIRE(a->sent.size() == 2);
  CHECK(a->sent[1].starts_with("event: changes\ndata: "));
  CHECK(a->sent[1].find("second") != std::string::npos);
  CHECK(a->sent[1].find("early") == std::string::npos);
  // Two durable changes, one event.
  CHECK(a->sent[1].find("event: durable\n") != std::string::npos);
  CHECK(a->sent[1].find("event: durable\n") == a->sent[1].rfind("event: durable\n"));
  CHECK(b->sent == a->sent);

  // Quiet for 15 s: a keep-alive comment.
  site.tick(1500 + 15'000);
  REQUIRE(a->sent.size() == 3);
  CHECK(a->sent[2] == ": keep-alive\n\n");

  // A subscriber that cannot keep up is dropped and closed; one that closed goes too.
  b->accept = false;
  dashboard.started("Fn", 20'000);
  dashboard.finished(invocation("third", 20'000));
  site.tick(20'100);
  CHECK(b->closed());
  CHECK(site.subscribers() == 1);
  a->closed_ = true;
  site.tick(20'400);
  CHECK(site.subscribers() == 0);

  // A sink that refuses its first state is closed at once.
  auto c = std::make_shared<RecordingSink>();
  c->accept = false;
  site.subscribe(c, 21'000);
  CHECK(c->closed());
  CHECK(site.subscribers() == 0);
}
