#include <wisp/scaffold/names.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace wisp::scaffold;

namespace {
std::string error_of(std::string_view name) {
  auto result = validate_name(name);
  return result ? std::string() : result.error().message;
}
} // namespace

TEST_CASE("names a Lambda function and a directory both allow") {
  for (const char* good : {"a", "my-app", "my_app", "App2", "0day", "_private", "x-", "a--b"})
    CHECK_MESSAGE(validate_name(good).has_value(), good);
  CHECK(validate_name(std::string(64, 'a')).has_value());
}

TEST_CASE("bad names get exact messages and the usage exit code") {
  CHECK(error_of("") == "invalid name '': a name cannot be empty");
  CHECK(error_of("my app") ==
        "invalid name 'my app': ' ' is not allowed (use letters, digits, '-' and '_')");
  CHECK(error_of("a/b") == "invalid name 'a/b': '/' is not allowed (use letters, digits, '-' "
                           "and '_')");
  CHECK(error_of("..") ==
        "invalid name '..': '.' is not allowed (use letters, digits, '-' and '_')");
  CHECK(error_of("caf\xc3\xa9") == "invalid name 'caf\\xc3\\xa9': '\xc3\xa9' is not allowed "
                                   "(use letters, digits, '-' and '_')");
  CHECK(error_of("a\nb") ==
        "invalid name 'a\\x0ab': byte 0x0a is not allowed (use letters, digits, '-' and '_')");
  CHECK(error_of("-app") == "invalid name '-app': a name cannot start with '-'");
  CHECK(error_of(std::string(65, 'a')) ==
        "invalid name '" + std::string(65, 'a') + "': 65 characters, at most 64 are allowed");
  CHECK(validate_name("a b").error().exit_code == wisp::support::ExitCode::usage);
}

TEST_CASE("stack names follow CloudFormation's rule") {
  CHECK(stack_name_for("my-app") == "my-app");
  CHECK(stack_name_for("my_app") == "my-app");
  CHECK(stack_name_for("0day") == "app-0day");
  CHECK(stack_name_for("_x") == "app--x");
}
