#include <wisp/support/diagnostic.hpp>

#include <doctest/doctest.h>

using namespace wisp::support;

TEST_CASE("plain diagnostic format") {
  Diagnostic d{"template.yaml", 12, 5, Severity::error, "unknown-property", "bad thing"};
  CHECK(format_plain(d) == "template.yaml:12:5: error: bad thing [unknown-property]");
  d.column = 0;
  CHECK(format_plain(d) == "template.yaml:12: error: bad thing [unknown-property]");
  d.file.clear();
  CHECK(format_plain(d) == "error: bad thing [unknown-property]");
}

TEST_CASE("render shows the source line and a caret under the column") {
  const Diagnostic d{"t.yaml", 2, 3, Severity::warning, "W1", "look here"};
  const auto text = render(d, {false, true}, "first\n  second\nthird\n");
  CHECK(text == "t.yaml:2:3: warning: look here [W1]\n"
                "    2 |   second\n"
                "      |   ^\n");
}

TEST_CASE("diagnostics to json escapes") {
  const std::vector<Diagnostic> list{{"a\"b.yaml", 1, 2, Severity::error, "c", "m\n"}};
  CHECK(
      to_json(list) ==
      R"([{"file":"a\"b.yaml","line":1,"column":2,"severity":"error","code":"c","message":"m\n"}])");
}

TEST_CASE("sort orders by position") {
  Diagnostics list;
  list.error("b", 1, 1, "x", "1");
  list.error("a", 5, 1, "x", "2");
  list.error("a", 2, 9, "x", "3");
  list.sort();
  CHECK(list.items()[0].message == "3");
  CHECK(list.items()[1].message == "2");
  CHECK(list.items()[2].message == "1");
  CHECK(list.error_count() == 3);
}
