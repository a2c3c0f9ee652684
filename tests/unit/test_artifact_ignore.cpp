#include <wisp/artifact/ignore.hpp>

#include <doctest/doctest.h>

using wisp::artifact::IgnoreRules;

TEST_CASE("default exclusions") {
  const auto rules = IgnoreRules::defaults();
  CHECK(rules.excluded(".git", true));
  CHECK(rules.excluded("sub/.git", true));
  CHECK(rules.excluded(".wisp", true));
  CHECK(rules.excluded(".aws-sam", true));
  CHECK(rules.excluded("__pycache__", true));
  CHECK(rules.excluded("pkg/__pycache__", true));
  CHECK_FALSE(rules.excluded("__pycache__", false)); // a file of that name stays
  CHECK(rules.excluded("mod.pyc", false));
  CHECK(rules.excluded("a/b/mod.pyc", false));
  CHECK(rules.excluded(".DS_Store", false));
  CHECK(rules.excluded(".wispignore", false));
  CHECK_FALSE(rules.excluded("app.py", false));
  CHECK_FALSE(rules.excluded("mod.pyc.txt", false));
  CHECK_FALSE(rules.excluded(".gitignore", false));
}

TEST_CASE("gitignore syntax") {
  IgnoreRules rules;
  rules.add_lines("# a comment\n"
                  "\n"
                  "*.log\n"
                  "!keep.log\n"
                  "build/\n"
                  "/top-only.txt\n"
                  "docs/**/*.md\n"
                  "**/tmp\n"
                  "cache/**\n"
                  "\\#literal\n"
                  "name?.txt\n"
                  "[ab]c.js\n"
                  "trailing.txt   \n"
                  "a/*/z\n");
  CHECK(rules.excluded("x.log", false));
  CHECK(rules.excluded("deep/dir/x.log", false));
  CHECK_FALSE(rules.excluded("keep.log", false));
  CHECK_FALSE(rules.excluded("sub/keep.log", false));
  CHECK(rules.excluded("build", true));
  CHECK(rules.excluded("src/build", true));
  CHECK_FALSE(rules.excluded("build", false)); // dir-only pattern, a file
  CHECK(rules.excluded("top-only.txt", false));
  CHECK_FALSE(rules.excluded("sub/top-only.txt", false));
  CHECK(rules.excluded("docs/a.md", false));
  CHECK(rules.excluded("docs/x/y/a.md", false));
  CHECK_FALSE(rules.excluded("other/docs/a.md", false));
  CHECK(rules.excluded("tmp", true));
  CHECK(rules.excluded("a/b/tmp", false));
  CHECK(rules.excluded("cache/x", false));
  CHECK(rules.excluded("cache/x/y", false));
  CHECK_FALSE(rules.excluded("cache", true)); // "x/**" matches inside x, not x
  CHECK(rules.excluded("#literal", false));
  CHECK(rules.excluded("name1.txt", false));
  CHECK_FALSE(rules.excluded("name12.txt", false));
  CHECK(rules.excluded("ac.js", false));
  CHECK(rules.excluded("bc.js", false));
  CHECK_FALSE(rules.excluded("cc.js", false));
  CHECK(rules.excluded("trailing.txt", false));
  CHECK(rules.excluded("a/m/z", false));
  CHECK_FALSE(rules.excluded("a/m/n/z", false));
  CHECK_FALSE(rules.excluded("b/a/m/z", false));
}

TEST_CASE("the last matching rule wins; fingerprints differ with rules") {
  IgnoreRules rules;
  rules.add("!x.txt");
  rules.add("*.txt");
  CHECK(rules.excluded("x.txt", false));
  IgnoreRules other;
  other.add("*.txt");
  other.add("!x.txt");
  CHECK_FALSE(other.excluded("x.txt", false));
  CHECK(rules.fingerprint() != other.fingerprint());
}
