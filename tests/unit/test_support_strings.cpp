#include <wisp/support/strings.hpp>

#include <doctest/doctest.h>

using namespace wisp::support;

TEST_CASE("split keeps empty fields") {
  CHECK(split("a,,b", ',') == std::vector<std::string>{"a", "", "b"});
  CHECK(split("", ',') == std::vector<std::string>{""});
}

TEST_CASE("edit distance and closest match") {
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("", "abc") == 3);
  const std::vector<std::string> names{"Handler", "Runtime", "CodeUri", "MemorySize"};
  CHECK(closest_match("Handlr", names).value() == "Handler");
  CHECK(closest_match("codeuri", names).value() == "CodeUri");
  CHECK_FALSE(closest_match("Banana", names).has_value());
}

TEST_CASE("trim and join") {
  CHECK(trim("  x y \n") == "x y");
  const std::vector<std::string> parts{"a", "b"};
  CHECK(join(parts, ", ") == "a, b");
}
