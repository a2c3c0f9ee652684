// Physical function names (src/wisp/aws/names.hpp): the rule deploy names functions by and
// logs finds their log groups by.

#include <wisp/aws/names.hpp>
#include <wisp/support/hash.hpp>

#include <doctest/doctest.h>

#include <string>

using wisp::aws::function_name;
using wisp::aws::shorten_name;

TEST_CASE("function names: <stack>-<LogicalId> unless FunctionName is set") {
  CHECK(function_name("my-app", "HelloFunction") == "my-app-HelloFunction");
  CHECK(function_name("my-app", "HelloFunction", "custom-name") == "custom-name");
  CHECK(function_name("", "HelloFunction", "custom-name") == "custom-name");
}

TEST_CASE("function names: past 64 characters, a prefix and 8 hex digits of the SHA-256") {
  const std::string stack(40, 's');
  const std::string id = "AVeryLongLogicalIdForAFunction"; // 40 + 1 + 30 = 71 characters
  const auto full = stack + "-" + id;
  const auto name = function_name(stack, id);
  CHECK(name.size() == 64);
  CHECK(name == full.substr(0, 55) + "-" + wisp::support::sha256_hex(full).substr(0, 8));
  // Stable, and different names stay different.
  CHECK(function_name(stack, id) == name);
  CHECK(function_name(stack, id + "2") != name);
  // Exactly 64 characters are kept as they are.
  const std::string fits = std::string(64 - 4, 'x');
  CHECK(function_name(fits.substr(0, 59), "Abcd") == fits.substr(0, 59) + "-Abcd");
  CHECK(shorten_name("short", 64) == "short");
}
