#include "template_test_support.hpp"

#include <wisp/template/reader.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

using namespace wisp;
using namespace wisp::sam::detail;
using wisp::test::must;

namespace {

struct Read {
  std::optional<Node> node;
  support::Diagnostics diagnostics;
};

Read read(std::string_view text, ReadLimits limits = {}, const std::string& file = "t.yaml") {
  Read result;
  result.node = read_document(text, file, result.diagnostics, limits);
  return result;
}

std::string first(const Read& r) {
  if (r.diagnostics.empty())
    return {};
  const auto& d = r.diagnostics.items().front();
  return fmt::format("{}:{}: {} [{}]", d.line, d.column, d.message, d.code);
}

} // namespace

TEST_CASE("YAML short-form tags become the long form, with positions") {
  const auto r = read("a: !Ref Param\n"
                      "b: !GetAtt Fn.Arn\n"
                      "c: !GetAtt Stack.Outputs.Name\n"
                      "d: !Sub '${AWS::Region}-x'\n"
                      "e: !If [Cond, 1, 2]\n"
                      "f: !Condition IsProd\n"
                      "g: !Join\n  - ','\n  - [a, b]\n");
  REQUIRE(r.node);
  CHECK(r.diagnostics.empty());
  const auto& root = *r.node;
  const Node* a = root.find("a");
  REQUIRE(a);
  CHECK(a->intrinsic() == "Ref");
  CHECK(a->entries[0].value.text == "Param");
  CHECK(a->mark.line == 1);
  CHECK(a->mark.column == 4);
  const Node* b = root.find("b");
  REQUIRE(b->intrinsic() == "Fn::GetAtt");
  REQUIRE(b->entries[0].value.items.size() == 2);
  CHECK(b->entries[0].value.items[0].text == "Fn");
  CHECK(b->entries[0].value.items[1].text == "Arn");
  const Node* c = root.find("c");
  CHECK(c->entries[0].value.items[1].text == "Outputs.Name");
  CHECK(must(root.find("d")).intrinsic() == "Fn::Sub");
  const Node* e = root.find("e");
  REQUIRE(e->intrinsic() == "Fn::If");
  CHECK(e->entries[0].value.items.size() == 3);
  CHECK(e->entries[0].value.items[1].kind == NodeKind::number);
  CHECK(must(root.find("f")).intrinsic(true) == "Condition");
  const Node* g = root.find("g");
  REQUIRE(g->intrinsic() == "Fn::Join");
  CHECK(g->mark.line == 7);
}

TEST_CASE("YAML 1.1 plain scalars are typed as CloudFormation tooling reads them") {
  const auto r =
      read("a: yes\nb: Off\nc: 017\nd: 0x1F\ne: 1e5\nf: 1.5\ng: ~\nh: '12'\ni: 2010-09-09\n"
           "j: .inf\nk: 1_000\n");
  REQUIRE(r.node);
  const auto& n = *r.node;
  CHECK(must(n.find("a")).kind == NodeKind::boolean);
  CHECK(must(n.find("a")).text == "true");
  CHECK(must(n.find("b")).text == "false");
  CHECK(must(n.find("c")).kind == NodeKind::number);
  CHECK(must(n.find("d")).kind == NodeKind::number);
  CHECK(must(n.find("e")).kind == NodeKind::string); // YAML 1.1 floats need a dot
  CHECK(must(n.find("f")).kind == NodeKind::number);
  CHECK(must(n.find("g")).kind == NodeKind::null);
  CHECK(must(n.find("h")).kind == NodeKind::string);
  CHECK(must(n.find("i")).kind == NodeKind::string);
  CHECK(must(n.find("j")).kind == NodeKind::number);
  CHECK(must(n.find("k")).kind == NodeKind::number);
}

TEST_CASE("JSON templates keep line and column of every node") {
  const auto r = read("{\n  \"Resources\": {\n    \"Fn\": {\"Type\": \"X\", \"N\": 12, \"B\": true,"
                      " \"Z\": null, \"S\": \"\\u00e9\\ud83d\\ude00\"}\n  }\n}\n");
  REQUIRE(r.node);
  CHECK(r.diagnostics.empty());
  const Node* fn = must(r.node->find("Resources")).find("Fn");
  REQUIRE(fn);
  CHECK(fn->mark.line == 3);
  CHECK(fn->mark.column == 11);
  const auto* type = fn->find_entry("Type");
  CHECK(type->key_mark.column == 12);
  CHECK(must(fn->find("N")).kind == NodeKind::number);
  CHECK(must(fn->find("B")).kind == NodeKind::boolean);
  CHECK(must(fn->find("Z")).kind == NodeKind::null);
  CHECK(must(fn->find("S")).text == "\xC3\xA9\xF0\x9F\x98\x80");
}

TEST_CASE("JSON syntax errors point at the problem") {
  CHECK(first(read("{\n  \"a\": 1,\n  \"b\" 2\n}\n")) ==
        "3:7: JSON syntax error: expected ':' after the key [json-syntax]");
  CHECK(first(read("{\"a\": [1, 2}\n")) ==
        "1:12: JSON syntax error: expected ',' or ']' [json-syntax]");
  CHECK(first(read("{\"a\": \"x\n\"}", {}, "t.json")) ==
        "1:9: JSON syntax error: unterminated string (a newline inside a string must be written "
        "\\n) [json-syntax]");
  // A .json file is JSON; anything else that is not JSON may still be flow-style YAML.
  CHECK(first(read("{\"a\": 01}", {}, "t.json")) ==
        "1:9: JSON syntax error: invalid number (leading zero) [json-syntax]");
  CHECK(read("{\"a\": 01}").diagnostics.empty());
}

TEST_CASE("YAML syntax errors carry libyaml's reason and position") {
  const auto r = read("a: \"unterminated\nb: 1\n");
  CHECK_FALSE(r.node);
  CHECK(first(r).starts_with("3:1: YAML syntax error: found unexpected end of stream"));
  const auto tab = read("a:\n\t- x\n");
  CHECK_FALSE(tab.node);
  CHECK(first(tab).starts_with("2:1: YAML syntax error:"));
}

TEST_CASE("duplicate keys are warnings at the repeat, the last value wins in the first place") {
  // As CloudFormation, the SAM CLI and the AWS CLI read them (a dict: the last assignment
  // wins); cfn-lint alone refuses them.
  const auto r = read("a: 1\nb: 2\na: 3\n");
  REQUIRE(r.node);
  CHECK(first(r) == "3:1: duplicate key 'a' (first defined at line 1): the last one wins, as "
                    "CloudFormation and SAM read it [duplicate-key]");
  CHECK_FALSE(r.diagnostics.has_errors());
  REQUIRE(r.node->entries.size() == 2);
  CHECK(r.node->entries[0].key == "a");
  CHECK(r.node->entries[0].key_mark.line == 3);
  CHECK(must(r.node->find("a")).text == "3");
  const auto three = read("a: 1\na: 2\nb: 0\na: 3\n");
  REQUIRE(three.node);
  CHECK(three.diagnostics.items().size() == 2);
  CHECK(must(three.node->find("a")).text == "3");
  const auto json = read("{\"a\": 1, \"a\": 2}");
  CHECK(first(json) == "1:10: duplicate key 'a' (first defined at line 1): the last one wins, as "
                       "CloudFormation and SAM read it [duplicate-key]");
  REQUIRE(json.node);
  CHECK(must(json.node->find("a")).text == "2");
}

TEST_CASE("anchors, aliases and merge keys") {
  const auto r = read("base: &b {x: 1, y: 2}\nuse: *b\nmerged:\n  <<: *b\n  y: 3\n");
  REQUIRE(r.node);
  CHECK(r.diagnostics.empty());
  CHECK(must(must(r.node->find("use")).find("x")).text == "1");
  CHECK(must(must(r.node->find("merged")).find("x")).text == "1");
  CHECK(must(must(r.node->find("merged")).find("y")).text == "3");
  const auto undefined = read("a: *nope\n");
  CHECK_FALSE(undefined.node);
}

TEST_CASE("an alias bomb is stopped by the expansion budget") {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'k'; ++c)
    bomb +=
        fmt::format("{}: &{} [*{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}]\n", c, c,
                    static_cast<char>(c - 1), static_cast<char>(c - 1), static_cast<char>(c - 1),
                    static_cast<char>(c - 1), static_cast<char>(c - 1), static_cast<char>(c - 1),
                    static_cast<char>(c - 1), static_cast<char>(c - 1), static_cast<char>(c - 1),
                    static_cast<char>(c - 1));
  const auto r = read(bomb);
  CHECK_FALSE(r.node);
  CHECK(first(r).find("[limit-alias]") != std::string::npos);
}

TEST_CASE("deep nesting, huge scalars, invalid UTF-8, several documents, empty input") {
  const auto deep = read(std::string(100000, '[') + std::string(100000, ']'));
  CHECK_FALSE(deep.node);
  CHECK(first(deep) == "1:201: the document nests deeper than 200 levels [limit-depth]");
  const auto deep_json = read("{\"a\":" + std::string(5000, '[') + std::string(5000, ']') + "}");
  CHECK_FALSE(deep_json.node);
  CHECK(first(deep_json).find("[limit-depth]") != std::string::npos);
  ReadLimits small;
  small.max_scalar = 10;
  const auto huge = read("a: " + std::string(100, 'x') + "\n", small);
  CHECK_FALSE(huge.node);
  CHECK(first(huge) ==
        "1:4: a scalar of 100 bytes is longer than the limit of 10 bytes [limit-scalar]");
  const auto utf8 = read("a: ok\nb: caf\xC3\n");
  CHECK_FALSE(utf8.node);
  CHECK(first(utf8) == "2:7: invalid UTF-8 (byte 0xC3); a template must be UTF-8 text [utf8]");
  const auto docs = read("a: 1\n---\nb: 2\n");
  CHECK_FALSE(docs.node);
  CHECK(first(docs).find("[yaml-multiple-documents]") != std::string::npos);
  const auto empty = read("  \n\n");
  CHECK_FALSE(empty.node);
  CHECK(first(empty) == "1:1: the template is empty [template-empty]");
}

TEST_CASE("unknown tags are reported") {
  const auto r = read("a: !Bogus x\n");
  REQUIRE(r.node);
  CHECK(first(r) == "1:4: unknown tag '!Bogus' [yaml-tag]");
}

TEST_CASE("find_invalid_utf8 rejects overlong forms and surrogates") {
  CHECK_FALSE(find_invalid_utf8("plain ascii \xC3\xA9 \xF0\x9F\x98\x80"));
  CHECK(find_invalid_utf8("\xC0\xAF"));         // overlong '/'
  CHECK(find_invalid_utf8("\xED\xA0\x80"));     // surrogate
  CHECK(find_invalid_utf8("\xF4\x90\x80\x80")); // beyond U+10FFFF
  CHECK(find_invalid_utf8("\xE2\x82"));         // truncated
}
