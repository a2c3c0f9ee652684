#include <wisp/deploy/naming.hpp>
#include <wisp/deploy/shift.hpp>

#include <doctest/doctest.h>

using namespace wisp::deploy;
using namespace std::chrono_literals;

TEST_CASE("shift: canary types hold 10% for their minutes, then 100%") {
  for (const auto& [type, minutes] : {std::pair{"Canary10Percent5Minutes", 5},
                                      {"Canary10Percent10Minutes", 10},
                                      {"Canary10Percent15Minutes", 15},
                                      {"Canary10Percent30Minutes", 30}}) {
    CAPTURE(type);
    auto plan = shift_plan(type);
    REQUIRE(plan.has_value());
    REQUIRE(plan->steps.size() == 2);
    CHECK(plan->steps[0].weight == doctest::Approx(0.1));
    CHECK(plan->steps[0].hold == std::chrono::minutes(minutes));
    CHECK(plan->steps[1].weight == 1.0);
    CHECK(plan->steps[1].hold == 0ms);
  }
}

TEST_CASE("shift: linear types add 10% every N minutes and reach 100% after 9·N") {
  for (const auto& [type, minutes] : {std::pair{"Linear10PercentEvery1Minute", 1},
                                      {"Linear10PercentEvery2Minutes", 2},
                                      {"Linear10PercentEvery3Minutes", 3},
                                      {"Linear10PercentEvery10Minutes", 10}}) {
    CAPTURE(type);
    auto plan = shift_plan(type);
    REQUIRE(plan.has_value());
    REQUIRE(plan->steps.size() == 10);
    for (int i = 0; i < 9; ++i) {
      CHECK(plan->steps[static_cast<std::size_t>(i)].weight == doctest::Approx((i + 1) / 10.0));
      CHECK(plan->steps[static_cast<std::size_t>(i)].hold == std::chrono::minutes(minutes));
    }
    CHECK(plan->steps[9].weight == 1.0);
    CHECK(plan->total() == std::chrono::minutes(9 * minutes));
  }
}

TEST_CASE("shift: AllAtOnce, CodeDeploy names, --step-interval, unknown types") {
  auto all = shift_plan("AllAtOnce");
  REQUIRE(all.has_value());
  REQUIRE(all->steps.size() == 1);
  CHECK(all->steps[0].weight == 1.0);
  auto codedeploy = shift_plan("CodeDeployDefault.LambdaCanary10Percent30Minutes", 2s);
  REQUIRE(codedeploy.has_value());
  CHECK(codedeploy->type == "Canary10Percent30Minutes");
  CHECK(codedeploy->steps[0].hold == 2s);
  CHECK(deployment_types().size() == 9);
  for (const auto& type : deployment_types())
    CHECK(shift_plan(type).has_value());
  auto bad = shift_plan("Canary10Percent5Minute");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message.find("did you mean 'Canary10Percent5Minutes'?") != std::string::npos);
}

TEST_CASE("shift: durations") {
  CHECK(parse_duration("2s") == 2000ms);
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("1m30s") == 90s);
  CHECK(parse_duration("1h") == 3600s);
  CHECK(parse_duration("0") == 0ms);
  for (const char* bad : {"", "s", "2", "2x", "-1s", "1.5s", "9999999999s"})
    CHECK_FALSE(parse_duration(bad).has_value());
  CHECK(format_duration(500ms) == "500ms");
  CHECK(format_duration(12s) == "12s");
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(5min) == "5m");
  CHECK(format_duration(2h + 5min) == "2h5m");
}

TEST_CASE("naming: physical names, shortening, validation") {
  CHECK(function_name("app", "Hello") == "app-Hello");
  CHECK(function_name("app", "Hello", "explicit") == "explicit");
  CHECK(role_name("app", "Hello") == "app-Hello-role");
  const std::string long_id(80, 'F');
  const auto name = function_name("app", long_id);
  CHECK(name.size() == 64);
  CHECK(name.starts_with("app-FFFF"));
  CHECK(name[55] == '-');
  CHECK(function_name("app", long_id) == name);       // stable
  CHECK(function_name("app", long_id + "G") != name); // unique
  CHECK(role_name("app", long_id).size() == 64);
  CHECK(validate_stack_name("my-app1").has_value());
  CHECK_FALSE(validate_stack_name("1app").has_value());
  CHECK_FALSE(validate_stack_name("my_app").has_value());
  CHECK_FALSE(validate_stack_name("").has_value());
  CHECK(validate_stage_name("dev").has_value());
  CHECK(validate_stage_name("prod_2-eu").has_value());
  CHECK_FALSE(validate_stage_name("123").has_value());
  CHECK_FALSE(validate_stage_name("a b").has_value());
  CHECK_FALSE(validate_stage_name(std::string(129, 'a')).has_value());
  CHECK(partition("cn-north-1") == "aws-cn");
  CHECK(partition("us-gov-west-1") == "aws-us-gov");
  CHECK(partition("eu-west-1") == "aws");
}
