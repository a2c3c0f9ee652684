#include <wisp/support/prompt.hpp>

#include <doctest/doctest.h>

#include <sstream>
#include <vector>

using namespace wisp::support;

TEST_CASE("ask takes the default on an empty answer and trims") {
  std::istringstream in("\n  given  \n");
  std::ostringstream out;
  Prompter prompter(in, out);
  CHECK(prompter.ask("Project name", "wisp-app").value() == "wisp-app");
  CHECK(out.str() == "Project name [wisp-app]: ");
  CHECK(prompter.ask("Project name", "wisp-app").value() == "given");
}

TEST_CASE("ask repeats while the check rejects, showing why") {
  std::istringstream in("bad one\n\ngood\n");
  std::ostringstream out;
  Prompter prompter(in, out);
  auto check = [](std::string_view answer) -> Status {
    if (answer.find(' ') != std::string_view::npos)
      return fail("no spaces");
    return {};
  };
  CHECK(prompter.ask("Name", "", check).value() == "good");
  CHECK(out.str() == "Name:   no spaces\nName:   an answer is required\nName: ");
}

TEST_CASE("end of input is an error, not a default") {
  std::istringstream in("");
  std::ostringstream out;
  Prompter prompter(in, out);
  auto answer = prompter.ask("Name", "default");
  REQUIRE_FALSE(answer.has_value());
  CHECK(answer.error().message == "no answer: end of input");
}

TEST_CASE("choose accepts a number, a value, or the default; rejects others") {
  const std::vector<Choice> options = {{"python3.13", ""}, {"nodejs22.x", "(deprecated)"}};
  std::istringstream in("\n2\nnodejs22.x\n7\nruby\n1\n");
  std::ostringstream out;
  Prompter prompter(in, out);
  CHECK(prompter.choose("Runtime?", options, 0).value() == "python3.13");
  CHECK(out.str() == "Runtime?\n   1 - python3.13\n   2 - nodejs22.x (deprecated)\nChoice [1]: ");
  CHECK(prompter.choose("Runtime?", options, 0).value() == "nodejs22.x");
  CHECK(prompter.choose("Runtime?", options, 1).value() == "nodejs22.x");
  out.str("");
  CHECK(prompter.choose("Runtime?", options, 1).value() == "python3.13");
  CHECK(out.str().find("'7' is not one of the choices: enter 1 to 2") != std::string::npos);
  CHECK(out.str().find("'ruby' is not one of the choices") != std::string::npos);
}
