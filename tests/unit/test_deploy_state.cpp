#include <wisp/deploy/deploy.hpp>
#include <wisp/deploy/state.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace wisp;
namespace json = boost::json;

TEST_CASE("state: stage state round-trips through JSON") {
  deploy::StageState state;
  state.stack = "app";
  state.stage = "prod";
  state.region = "us-east-1";
  state.status = "shifting";
  state.functions["Hello"] = {
      "app-Hello",          "prod", "3", "2", "abc=", "d1", "Canary10Percent5Minutes",
      {"wisp-Api-prod=id1"}};
  state.apis["ServerlessRestApi"] = {"id1", "rest", "prod", "dep1", "https://x/prod/"};
  state.shift["Hello"] = {"2", "3", 0.1, "Canary10Percent5Minutes"};
  state.history.push_back({1, "2026-01-01T00:00:00Z", "deployed", "abc123", "", {{"Hello", "2"}}});
  const auto text = json::serialize(state.to_json());
  auto back = deploy::StageState::from_json(json::parse(text));
  REQUIRE(back.has_value());
  CHECK(json::serialize(back->to_json()) == text);
  CHECK(back->shift.at("Hello").weight == doctest::Approx(0.1));
  CHECK(back->functions.at("Hello").previous_version == "2");
}

TEST_CASE("state: app state round-trips; newer formats and junk are refused") {
  deploy::AppState app;
  app.stack = "app";
  app.functions["Hello"] = "app-Hello";
  app.roles["Hello"] = {"app-Hello-role", "arn:aws:iam::1:role/app-Hello-role", "d"};
  app.apis["Api"] = {"id1", "http", "", "", ""};
  app.alarms["Errors"] = "app-Errors";
  app.stages = {"dev", "prod"};
  app.artifacts = {"app/aa.zip"};
  const auto text = json::serialize(app.to_json());
  auto back = deploy::AppState::from_json(json::parse(text));
  REQUIRE(back.has_value());
  CHECK(json::serialize(back->to_json()) == text);
  auto newer = deploy::AppState::from_json(json::parse(R"({"format": 99})"));
  REQUIRE_FALSE(newer.has_value());
  CHECK(newer.error().message.find("newer wisp") != std::string::npos);
  CHECK_FALSE(deploy::StageState::from_json(json::parse("[1]")).has_value());
  CHECK_FALSE(deploy::StageState::from_json(json::parse("{}")).has_value());
  // Wrong types inside are ignored, not crashes.
  auto odd = deploy::StageState::from_json(
      json::parse(R"({"format": 1, "functions": {"A": 3, "B": {"name": 4}}, "history": [1, {}]})"));
  REQUIRE(odd.has_value());
  CHECK(odd->functions.size() == 1);
}

TEST_CASE("state: object layout and lock staleness") {
  deploy::Location location{"bucket", "app"};
  CHECK(location.artifact_key("ab") == "app/ab.zip");
  CHECK(location.stage_state_key("dev") == "app/state/stages/dev.json");
  CHECK(location.app_state_key() == "app/state/app.json");
  CHECK(location.stage_lock_key("dev") == "app/locks/stages/dev.json");
  CHECK(location.app_lock_key() == "app/locks/app.json");
  deploy::LockInfo lock;
  lock.created = "2026-01-01T00:00:00Z";
  lock.renewed = "2026-01-01T00:01:00Z";
  lock.lease_seconds = 120;
  const auto at = [](const char* t) {
    std::tm tm{};
    strptime(t, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::chrono::system_clock::from_time_t(timegm(&tm));
  };
  CHECK_FALSE(lock.stale(at("2026-01-01T00:02:59Z")));
  CHECK(lock.stale(at("2026-01-01T00:03:01Z")));
  lock.renewed = "garbage";
  CHECK(lock.stale(at("2026-01-01T00:00:01Z")));
  CHECK(deploy::managed_bucket_name("123456789012", "eu-west-1") ==
        "wisp-managed-123456789012-eu-west-1");
}

TEST_CASE("plan: rendering and JSON") {
  deploy::Plan plan;
  plan.stack = "app";
  plan.stage = "dev";
  plan.region = "us-east-1";
  plan.bucket = "b";
  plan.prefix = "app";
  plan.changes = {
      {deploy::Action::create, "role", "app-Hello-role", {}},
      {deploy::Action::update, "function", "app-Hello", {"code aa → bb", "Timeout 3 → 5"}},
      {deploy::Action::unchanged, "function", "app-Other", {}}};
  CHECK(deploy::render_plan(plan, support::Style(false)) ==
        "Plan for app stage dev (us-east-1, s3://b/app):\n"
        "  + role      app-Hello-role\n"
        "  ~ function  app-Hello       code aa → bb; Timeout 3 → 5\n"
        "  = function  app-Other\n"
        "Plan: 1 to create, 1 to update, 0 to delete, 1 unchanged.\n");
  CHECK(plan.has_changes());
  const auto json_plan = deploy::plan_to_json(plan);
  CHECK(json_plan.at("summary").at("create") == 1);
  CHECK(json_plan.at("changes").as_array()[1].at("action") == "update");
  plan.changes.erase(plan.changes.begin(), plan.changes.begin() + 2);
  CHECK_FALSE(plan.has_changes());
  CHECK(deploy::render_plan(plan, support::Style(false)).ends_with("No changes: 1 unchanged.\n"));
}
