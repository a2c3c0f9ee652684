// Event patterns (src/wisp/events/pattern.cpp) against the documentation:
// [EB] EventBridge user guide, "Creating event patterns" and "Content filtering in event
//   patterns" (prefix, suffix, anything-but, numeric, exists, cidr, equals-ignore-case,
//   wildcard, $or, arrays), https://docs.aws.amazon.com/eventbridge/latest/userguide/
//   eb-create-pattern-operators.html
// [LAMBDA] Lambda developer guide, "Lambda event filtering" (invocation-eventfiltering):
//   the comparison operators table, numbers compared as written.

#include <wisp/events/pattern.hpp>

#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <string>

using wisp::events::EventPattern;

namespace {

bool matches(const std::string& pattern, const std::string& event) {
  auto parsed = EventPattern::parse(pattern);
  REQUIRE_MESSAGE(parsed.has_value(), pattern);
  return parsed->matches(boost::json::parse(event));
}

std::string refused(const std::string& pattern) {
  auto parsed = EventPattern::parse(pattern);
  REQUIRE_MESSAGE(!parsed.has_value(), pattern);
  return parsed.error();
}

} // namespace

TEST_CASE("events pattern: [LAMBDA] the comparison operators table") {
  CHECK(matches(R"({"UserID":[null]})", R"({"UserID":null})"));
  CHECK(!matches(R"({"UserID":[null]})", R"({"UserID":"x"})"));
  CHECK(matches(R"({"LastName":[""]})", R"({"LastName":""})"));
  CHECK(matches(R"({"Name":["Alice"]})", R"({"Name":"Alice"})"));
  CHECK(!matches(R"({"Name":["Alice"]})", R"({"Name":"alice"})"));
  CHECK(matches(R"({"Location":["New York"],"Day":["Monday"]})",
                R"({"Location":"New York","Day":"Monday"})"));
  CHECK(!matches(R"({"Location":["New York"],"Day":["Monday"]})",
                 R"({"Location":"New York","Day":"Tuesday"})"));
  CHECK(matches(R"({"PaymentType":["Credit","Debit"]})", R"({"PaymentType":"Debit"})"));
  CHECK(matches(R"({"Weather":[{"anything-but":["Raining"]}]})", R"({"Weather":"Sunny"})"));
  CHECK(!matches(R"({"Weather":[{"anything-but":["Raining"]}]})", R"({"Weather":"Raining"})"));
  CHECK(matches(R"({"Price":[{"numeric":["=",100]}]})", R"({"Price":100})"));
  CHECK(matches(R"({"Price":[{"numeric":[">",10,"<=",20]}]})", R"({"Price":20})"));
  CHECK(!matches(R"({"Price":[{"numeric":[">",10,"<=",20]}]})", R"({"Price":10})"));
  CHECK(!matches(R"({"Price":[{"numeric":[">",10]}]})", R"({"Price":"11"})"));
  CHECK(matches(R"({"ProductName":[{"exists":true}]})", R"({"ProductName":"x"})"));
  CHECK(!matches(R"({"ProductName":[{"exists":true}]})", R"({"Other":"x"})"));
  CHECK(matches(R"({"ProductName":[{"exists":false}]})", R"({"Other":"x"})"));
  CHECK(!matches(R"({"ProductName":[{"exists":false}]})", R"({"ProductName":"x"})"));
  CHECK(matches(R"({"Region":[{"prefix":"us-"}]})", R"({"Region":"us-east-1"})"));
  CHECK(!matches(R"({"Region":[{"prefix":"us-"}]})", R"({"Region":"eu-west-1"})"));
  // Numbers are compared as written: 300 and 300.0 differ.
  CHECK(matches(R"({"n":[300]})", R"({"n":300})"));
  CHECK(!matches(R"({"n":[300]})", R"({"n":300.0})"));
}

TEST_CASE("events pattern: [EB] nesting, arrays, missing fields") {
  CHECK(matches(R"({"detail":{"state":["running"]}})", R"({"detail":{"state":"running"}})"));
  CHECK(!matches(R"({"detail":{"state":["running"]}})", R"({"detail":{}})"));
  CHECK(!matches(R"({"detail":{"state":["running"]}})", R"({"source":"x"})"));
  // An array value matches when any element does.
  CHECK(matches(R"({"resources":["arn:b"]})", R"({"resources":["arn:a","arn:b"]})"));
  CHECK(!matches(R"({"resources":["arn:c"]})", R"({"resources":["arn:a","arn:b"]})"));
  // Objects inside arrays.
  CHECK(matches(R"({"items":{"id":[2]}})", R"({"items":[{"id":1},{"id":2}]})"));
  // exists:false on a nested path whose parent is missing.
  CHECK(matches(R"({"detail":{"error":[{"exists":false}]}})", R"({"source":"x"})"));
  // anything-but never matches a missing field.
  CHECK(!matches(R"({"state":[{"anything-but":"x"}]})", R"({"other":1})"));
  // Fields the pattern does not name are ignored.
  CHECK(matches(R"({"a":[1]})", R"({"a":1,"b":2})"));
  CHECK(matches("{}", R"({"a":1})"));
}

TEST_CASE("events pattern: [EB] string operators") {
  CHECK(matches(R"({"f":[{"suffix":".png"}]})", R"({"f":"a.png"})"));
  CHECK(!matches(R"({"f":[{"suffix":".png"}]})", R"({"f":"a.PNG"})"));
  CHECK(matches(R"({"f":[{"suffix":{"equals-ignore-case":".png"}}]})", R"({"f":"a.PNG"})"));
  CHECK(matches(R"({"f":[{"prefix":{"equals-ignore-case":"EUW"}}]})", R"({"f":"euw1"})"));
  CHECK(matches(R"({"f":[{"equals-ignore-case":"alice"}]})", R"({"f":"ALICE"})"));
  CHECK(matches(R"({"f":[{"wildcard":"dir/*.png"}]})", R"({"f":"dir/a/b.png"})"));
  CHECK(!matches(R"({"f":[{"wildcard":"dir/*.png"}]})", R"({"f":"dir/a.jpg"})"));
  CHECK(matches(R"({"f":[{"wildcard":"a\\*b"}]})", R"({"f":"a*b"})"));
  CHECK(!matches(R"({"f":[{"wildcard":"a\\*b"}]})", R"({"f":"axb"})"));
  CHECK(matches(R"({"f":[{"anything-but":{"prefix":"init"}}]})", R"({"f":"running"})"));
  CHECK(!matches(R"({"f":[{"anything-but":{"prefix":"init"}}]})", R"({"f":"initializing"})"));
  CHECK(!matches(R"({"f":[{"anything-but":{"suffix":".txt"}}]})", R"({"f":"a.txt"})"));
  CHECK(!matches(R"({"f":[{"anything-but":{"equals-ignore-case":["A","b"]}}]})", R"({"f":"B"})"));
  CHECK(!matches(R"({"f":[{"anything-but":{"wildcard":"*/lib/*"}}]})", R"({"f":"x/lib/y"})"));
  CHECK(matches(R"({"f":[{"anything-but":[100,200]}]})", R"({"f":300})"));
  CHECK(!matches(R"({"f":[{"anything-but":100}]})", R"({"f":100})"));
}

TEST_CASE("events pattern: [EB] cidr and $or") {
  CHECK(matches(R"({"ip":[{"cidr":"10.0.0.0/24"}]})", R"({"ip":"10.0.0.255"})"));
  CHECK(!matches(R"({"ip":[{"cidr":"10.0.0.0/24"}]})", R"({"ip":"10.0.1.1"})"));
  CHECK(matches(R"({"ip":[{"cidr":"2001:db8::/32"}]})", R"({"ip":"2001:db8::1"})"));
  CHECK(!matches(R"({"ip":[{"cidr":"10.0.0.0/8"}]})", R"({"ip":"2001:db8::1"})"));
  const std::string either = R"({"$or":[{"a":[1]},{"b":[2]}]})";
  CHECK(matches(either, R"({"a":1})"));
  CHECK(matches(either, R"({"b":2})"));
  CHECK(!matches(either, R"({"a":2,"b":1})"));
}

TEST_CASE("events pattern: [EB] invalid patterns are refused, naming the path") {
  CHECK(refused("[1]").find("JSON object") != std::string::npos);
  CHECK(refused("{\"a\":").find("not valid JSON") != std::string::npos);
  CHECK(refused(R"({"a":"x"})").find("a:") == 0);
  CHECK(refused(R"({"a":[]})").find("empty list") != std::string::npos);
  CHECK(refused(R"({"a":{"b":[{"begins":"x"}]}})").find("a.b") == 0);
  CHECK(refused(R"({"a":[{"numeric":[">"]}]})").find("numeric") != std::string::npos);
  CHECK(refused(R"({"a":[{"numeric":["!=",1]}]})").find("not a numeric operator") !=
        std::string::npos);
  CHECK(refused(R"({"a":[{"exists":"yes"}]})").find("true or false") != std::string::npos);
  CHECK(refused(R"({"a":[{"cidr":"10.0.0.0/33"}]})").find("CIDR") != std::string::npos);
  CHECK(refused(R"({"$or":[{"a":[1]}]})").find("at least two") != std::string::npos);
  CHECK(refused(R"({"a":[{"prefix":1}]})").find("prefix") != std::string::npos);
}
