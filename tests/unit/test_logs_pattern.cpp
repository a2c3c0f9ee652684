// The filter pattern engine (src/wisp/logs/pattern.cpp) against CloudWatch Logs' documented
// semantics. Every case comes from, or is derived from, one of these pages; the group of
// cases says which:
//
// [SYNTAX] "Filter pattern syntax for metric filters, subscription filters, filter log
//   events, and Live Tail" — https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/
//   FilterAndPatternSyntax.html (source: github.com/awsdocs/amazon-cloudwatch-logs-user-guide,
//   doc_source/FilterAndPatternSyntax.md): terms, exclusions, OR, JSON, numeric comparisons,
//   space-delimited fields.
// [JSON] "Using filter patterns to match terms in JSON log events" —
//   https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/matching-terms-json-log-events.html
// [REGEX] "Supported regular expressions (regex) syntax" —
//   https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/regex-expressions.html
// [LIGHTSAIL] GetContainerLog.filterPattern ("-ERROR" excludes, "" returns all) —
//   https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetContainerLog.html
// [WISP] wisp's choice where the documentation is silent (docs/logs.md, "Filter patterns").

#include <wisp/logs/pattern.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using wisp::logs::FilterPattern;
using wisp::logs::PatternKind;

namespace {

struct Case {
  const char* pattern;
  std::string message;
  bool match;
};

void check_table(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    const std::string pattern_text = c.pattern;
    CAPTURE(pattern_text);
    CAPTURE(c.message);
    auto pattern = FilterPattern::parse(c.pattern);
    REQUIRE_MESSAGE(pattern.has_value(), (pattern ? "" : pattern.error().message));
    CHECK(pattern->matches(c.message) == c.match);
  }
}

// [SYNTAX] "JSON Metric Filter Examples".
const std::string k_trail = R"({
  "eventType": "UpdateTrail",
  "sourceIPAddress": "111.111.111.111",
  "arrayKey": ["value", "another value"],
  "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
  "SomeObject": null,
  "ThisFlag": true
})";

// [SYNTAX] "JSON Compound Conditions".
const std::string k_users = R"({
  "user": {"id": 1, "email": "John.Stiles@example.com"},
  "users": [{"id": 2, "email": "John.Doe@example.com"},
            {"id": 3, "email": "Jane.Doe@example.com"}],
  "actions": ["GET", "PUT", "DELETE"],
  "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]]
})";

// [SYNTAX] "Numeric Comparisons" (a log event the documented examples hold for).
const std::string k_numbers = R"({"latency": 500, "numbers": [0.005, 3],
  "processes": [{}, {}, {}, {}, {"averageRuntime": 55.5}], "errorCode": 400})";

// [SYNTAX] "Using Metric Filters to Extract Values from Space-Delimited Log Events".
const std::string k_apache1 =
    R"(127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534)";
const std::string k_apache2 =
    R"(127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324)";
const std::string k_apache3 =
    R"(127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355)";
const std::string k_apache404 =
    R"(127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534)";

} // namespace

TEST_CASE("filter patterns: terms, phrases, exclusions, OR [SYNTAX]") {
  check_table({
      // "Example 1: Match everything": the pattern "" matches all log events.
      {"", "anything at all", true},
      {"", "", true},
      {"   ", "anything", true},
      // "Example 2: Single term": ERROR matches both (a term matches inside a word).
      {"ERROR", "[ERROR] A fatal exception has occurred", true},
      {"ERROR", "Exiting with ERRORCODE: -1", true},
      {"\"ERROR\"", "Exiting with ERRORCODE: -1", true},
      {"ERROR", "[WARN] all good", false},
      // "Metric filters are case sensitive."
      {"error", "[ERROR] A fatal exception has occurred", false},
      {"Error", "ERROR", false},
      // "Example 3: Include a term and exclude a term": "ERROR" - "Exiting".
      {"\"ERROR\" - \"Exiting\"", "Exiting with ERRORCODE: -1", false},
      {"\"ERROR\" - \"Exiting\"", "[ERROR] A fatal exception has occurred", true},
      {"ERROR -Exiting", "Exiting with ERRORCODE: -1", false},
      // "Example 4: Multiple terms": every term must appear.
      {"ERROR Exception", "[ERROR] Caught IllegalArgumentException", true},
      {"ERROR Exception", "[ERROR] Unhandled Exception", true},
      {"ERROR Exception", "[ERROR] Unhandled failure", false},
      {"ERROR Exception", "Exception without the level", false},
      {"Failed to process the request", "[WARN] Failed to process the request", true},
      {"Failed to process the request", "[ERROR] Unable to continue: Failed to process the request",
       true},
      // Terms need not be adjacent nor in order; a quoted phrase must appear as written.
      {"Failed to process the request", "request the process to Failed", true},
      {"\"Failed to process the request\"", "request the process to Failed", false},
      {"\"Failed to process the request\"", "[WARN] Failed to process the request now", true},
      {"\"Failed to process\"", "Failed  to process", false},
      // "OR Pattern Matching" with the three documented messages.
      {"ERROR", "ERROR WARN message", true},
      {"ERROR", "ERROR message", true},
      {"ERROR", "WARN message", false},
      {"?ERROR ?WARN", "ERROR WARN message", true},
      {"?ERROR ?WARN", "ERROR message", true},
      {"?ERROR ?WARN", "WARN message", true},
      {"?ERROR ?WARN", "INFO message", false},
      {"ERROR WARN", "ERROR WARN message", true},
      {"ERROR WARN", "ERROR message", false},
      {"ERROR WARN", "WARN message", false},
      {"ERROR -WARN", "ERROR WARN message", false},
      {"ERROR -WARN", "ERROR message", true},
      {"ERROR -WARN", "WARN message", false},
      // Terms with characters other than letters, digits and '_' are quoted.
      {"\"ERRORCODE: -1\"", "Exiting with ERRORCODE: -1", true},
      {"\"192.168.0.1\"", "request from 192.168.0.1 refused", true},
      {"\"192.168.0.1\"", "request from 192.168.0.10 refused", true},
      {"\"192.168.0.1\"", "request from 192.168.1.0 refused", false},
      {"?\"timed out\" ?\"Runtime.ExitError\"",
       "2026-11-23T10:00:00.000Z 3f2a Task timed out after 3.00 seconds", true},
      {"-\"Task timed out\"", "2026-11-23T10:00:00.000Z 3f2a Task timed out after 3.00 seconds",
       false},
      {"snake_case_term", "a snake_case_term here", true},
  });
}

TEST_CASE("filter patterns: exclusion alone [LIGHTSAIL]") {
  check_table({
      {"-ERROR", "all is well", true},
      {"-ERROR", "[ERROR] not well", false},
      {"-ERROR -WARN", "[INFO] fine", true},
      {"-ERROR -WARN", "[WARN] hmm", false},
  });
}

TEST_CASE("filter patterns: wisp's choices for unstated combinations [WISP]") {
  check_table({
      // Plain terms are all required; '?' terms: at least one of them.
      {"ERROR ?db ?cache", "ERROR in db layer", true},
      {"ERROR ?db ?cache", "ERROR in cache layer", true},
      {"ERROR ?db ?cache", "ERROR in http layer", false},
      {"ERROR ?db ?cache", "db and cache are fine", false},
      {"?db ?cache -timeout", "db timeout", false},
      {"?db ?cache -timeout", "cache miss", true},
      // Escapes in quoted terms: \" and \\ .
      {R"("say \"hi\"")", R"(they say "hi" loudly)", true},
      {R"("C:\\temp")", R"(wrote C:\temp\x)", true},
      // Non-ASCII text is matched byte for byte.
      {"\"café\"", "un café crème", true},
      {"\"café\"", "un cafe creme", false},
      // An empty phrase is contained in every message.
      {"\"\"", "anything", true},
  });
}

TEST_CASE("filter patterns: JSON selectors, strings, wildcards, IS/NOT [SYNTAX]") {
  check_table({
      // "The following filters would match:" the documented event.
      {R"({ $.eventType = "UpdateTrail" })", k_trail, true},
      {R"({ $.sourceIPAddress != 123.123.* })", k_trail, true},
      {R"({ $.arrayKey[0] = "value" })", k_trail, true},
      {R"({ $.objectList[1].id = 2 })", k_trail, true},
      {R"({ $.SomeObject IS NULL })", k_trail, true},
      {R"({ $.SomeOtherObject NOT EXISTS })", k_trail, true},
      {R"({ $.ThisFlag IS TRUE })", k_trail, true},
      // ... and their opposites do not.
      {R"({ $.eventType = "CreateTrail" })", k_trail, false},
      {R"({ $.eventType = UpdateTrail })", k_trail, true}, // alphanumeric: quotes optional
      {R"({ $.sourceIPAddress != 111.111.* })", k_trail, false},
      {R"({ $.sourceIPAddress = 111.111.* })", k_trail, true},
      {R"({ $.arrayKey[1] = "value" })", k_trail, false},
      {R"({ $.arrayKey[1] = "another value" })", k_trail, true},
      {R"({ $.arrayKey[2] = "value" })", k_trail, false},
      {R"({ $.objectList[1].id = 1 })", k_trail, false},
      {R"({ $.objectList[0].name = a })", k_trail, true},
      {R"({ $.eventType IS NULL })", k_trail, false},
      {R"({ $.Missing IS NULL })", k_trail, false},
      {R"({ $.eventType NOT EXISTS })", k_trail, false},
      {R"({ $.SomeObject NOT EXISTS })", k_trail, false}, // null exists
      {R"({ $.ThisFlag IS FALSE })", k_trail, false},
      {R"({ $.eventType IS TRUE })", k_trail, false},
      // "If arrayKey is not an array this will be false."
      {R"({ $.eventType[0] = "U" })", k_trail, false},
      // "If the items in objectList are not objects or do not have an id property, false."
      {R"({ $.objectList[0].missing = 1 })", k_trail, false},
      {R"({ $.arrayKey[0].id = 1 })", k_trail, false},
      // STRING wildcards: "*Event will match PutEvent and GetEvent. Event* will match EventId
      // and EventName. Ev*ent will only match the actual string Ev*ent."
      {R"({ $.e = *Event })", R"({"e": "PutEvent"})", true},
      {R"({ $.e = *Event })", R"({"e": "GetEvent"})", true},
      {R"({ $.e = *Event })", R"({"e": "EventId"})", false},
      {R"({ $.e = Event* })", R"({"e": "EventId"})", true},
      {R"({ $.e = Event* })", R"({"e": "EventName"})", true},
      {R"({ $.e = Event* })", R"({"e": "PutEvent"})", false},
      {R"({ $.e = Ev*ent })", R"({"e": "Ev*ent"})", true},
      {R"({ $.e = Ev*ent })", R"({"e": "Event"})", false},
      {R"({ $.e = Ev*ent })", R"({"e": "EvXent"})", false},
      {R"({ $.e = "*html*" })", R"({"e": "GET /index.html HTTP/1.1"})", true},
      // "Property selectors ... also support '-' and '_' characters."
      {R"({ $.request-id = abc })", R"({"request-id": "abc"})", true},
      {R"({ $.request_id = abc })", R"({"request_id": "abc"})", true},
      // Case-sensitive values; strings with other characters are quoted.
      {R"({ $.level = "ERROR" })", R"({"level": "error"})", false},
      {R"({ $.user = "a@b.c" })", R"({"user": "a@b.c"})", true},
  });
}

TEST_CASE("filter patterns: JSON compound conditions and OR [SYNTAX]") {
  check_table({
      // "Parenthesis are allowed and the syntax follows standard order of operations
      // () > && > ||" with the four documented examples.
      {R"({ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") })", k_users, true},
      {R"({ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" })", k_users,
       false},
      {R"({ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch })",
       k_users, true},
      {R"({ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch })",
       k_users, false},
      {R"({ $.coordinates[1][2] = 6 })", k_users, true},
      {R"({ $.actions[2] = "DELETE" && $.users[1].id = 3 })", k_users, true},
      // "OR Pattern Matching" in JSON filters.
      {"{$.foo = bar}", R"({"foo": "bar"})", true},
      {"{$.foo = bar}", R"({"foo": "baz"})", false},
      {"{$.foo = baz }", R"({"foo": "baz"})", true},
      {"{$.foo = bar || $.foo = baz }", R"({"foo": "bar"})", true},
      {"{$.foo = bar || $.foo = baz }", R"({"foo": "baz"})", true},
      {"{$.foo = bar || $.foo = baz }", R"({"foo": "qux"})", false},
  });
}

TEST_CASE("filter patterns: JSON special considerations and numbers [SYNTAX]") {
  check_table({
      // "both {$.users = 1} and {$.users != 1} will fail to match a log event where users is
      // an array"
      {"{$.users = 1}", R"({"users": [1, 2, 3]})", false},
      {"{$.users != 1}", R"({"users": [1, 2, 3]})", false},
      {"{$.users = 1}", R"({"users": {"a": 1}})", false},
      // Numeric comparisons, the documented examples.
      {"{ $.latency >= 500 }", k_numbers, true},
      {"{ $.latency > 500 }", k_numbers, false},
      {"{ $.numbers[0] < 10e3 }", k_numbers, true},
      {"{ $.numbers[0] < 10e-3 }", k_numbers, true},
      {"{ $.numbers[1] < 10e-3 }", k_numbers, false},
      {"{ $.processes[4].averageRuntime <= 55.5 }", k_numbers, true},
      {"{ $.processes[4].averageRuntime < 55.5 }", k_numbers, false},
      {"{ $.errorCode = 400 }", k_numbers, true},
      {"{ $.errorCode != 500 }", k_numbers, true},
      {"{ $.errorCode != 400 }", k_numbers, false},
      {"{ $.latency > +1000 }", R"({"latency": 1500})", true},
      {"{ $.latency > +1000 }", k_numbers, false},
      {"{ $.latency > -1.5 }", R"({"latency": -1})", true},
      {"{ $.latency = 500.0 }", k_numbers, true},
      {"{ $.latency = 5e2 }", k_numbers, true},
      // "SELECTOR must point to a value node": missing fields satisfy no comparison.
      {"{ $.missing != 500 }", k_numbers, false},
      {"{ $.missing < 500 }", k_numbers, false},
      // [WISP] ordering needs a number node; '=' against a string node compares the text.
      {"{ $.latency > 100 }", R"({"latency": "500"})", false},
      {"{ $.code = 404 }", R"({"code": "404"})", true},
      {R"({ $.code = "404" })", R"({"code": 404})", true},
      {"{ $.flag = true }", R"({"flag": true})", false}, // booleans: IS TRUE / IS FALSE
      // Messages that are not JSON never match a JSON pattern.
      {"{ $.level = ERROR }", "ERROR plain text", false},
      {"{ $.level = ERROR }", R"(2026-11-23T10:00:00Z	id	INFO	{"level":"ERROR"})", false},
      {"{ $.level = ERROR }", R"({"level": "ERROR")", false},
      {"{ $.a = 1 }", "[1, 2]", false},
  });
}

TEST_CASE("filter patterns: space-delimited fields [SYNTAX]") {
  check_table({
      {"[ip, user, username, timestamp, request, status_code, bytes]", k_apache1, true},
      {"[ip, user, username, timestamp, request, status_code, bytes]", k_apache2, true},
      // Without '...' the number of fields must match.
      {"[ip, user, username, timestamp, request, status_code]", k_apache1, false},
      {"[ip, user, username, timestamp, request, status_code, bytes, extra]", k_apache1, false},
      // "shorthand notification using an ellipsis"
      {"[..., status_code, bytes]", k_apache1, true},
      {"[ip, user, ..., status_code, bytes]", k_apache1, true},
      {"[ip, user, ...]", k_apache1, true},
      {"[..., status_code = 500, bytes]", k_apache2, true},
      {"[..., status_code = 500, bytes]", k_apache1, false},
      // Conditions.
      {"[ip, user, username, timestamp, request, status_code, bytes > 1000]", k_apache1, true},
      {"[ip, user, username, timestamp, request, status_code, bytes > 5000]", k_apache1, false},
      {"[ip, user, username, timestamp, request, status_code, bytes > 5000]", k_apache2, true},
      {"[ip, user, username, timestamp, request, status_code = 200, bytes]", k_apache1, true},
      {"[ip, user, username, timestamp, request, status_code = 200, bytes]", k_apache2, false},
      {"[ip, user, username, timestamp, request, status_code = 200, bytes]", k_apache3, true},
      {"[ip, user, username, timestamp, request, status_code = 4*, bytes]", k_apache404, true},
      {"[ip, user, username, timestamp, request, status_code = 4*, bytes]", k_apache1, false},
      {"[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", k_apache404,
       true},
      {"[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", k_apache1,
       false},
      // "The characters between a pair of square brackets [] or two double quotes are treated
      // as a single field" (without the brackets or quotes).
      {"[ip, user, username, timestamp = \"10/Oct/2000:13:25:15 -0700\", ...]", k_apache1, true},
      {"[ip, user, username, timestamp, request = \"GET /apache_pb.gif HTTP/1.0\", ...]", k_apache1,
       true},
      // "&&" and "||" inside a field's condition.
      {"[ip, user, username, timestamp, request, status_code = 2* && bytes > 4000, bytes]",
       k_apache3, true},
      {"[ip, user, username, timestamp, request, status_code = 2* && bytes > 4000, bytes]",
       k_apache1, false},
      {"[ip, user, username, timestamp, request, status_code = 403 || status_code = 404, bytes]",
       k_apache404, true},
      {"[ip, user, username, timestamp, request, status_code = 403 || status_code = 404, bytes]",
       k_apache1, false},
      {"[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]",
       k_apache404, true},
      // The documented example filter and event ("Extracted fields"): a trailing comma is an
      // unnamed last field (the bytes, "$7").
      {"[..., request=*.html*, status_code=4*,]", k_apache404, true},
      {"[..., request=*.html*, status_code=4*,]", k_apache1, false},
      {"[..., request=*.html*, status_code=4*]", k_apache404, false},
      {"[a, b,]", "x y z", true},
      {"[a, b,]", "x y", false},
      {"[a,,c = z]", "x y z", true},
      // "OR Pattern Matching" in space-delimited filters, the three documented messages.
      {"[w1=ERROR, w2]", "ERROR WARN message", false},
      {"[w1=ERROR, w2]", "ERROR message", true},
      {"[w1=ERROR, w2]", "WARN message", false},
      {"[w1=ERROR || w1=WARN, w2]", "ERROR WARN message", false},
      {"[w1=ERROR || w1=WARN, w2]", "ERROR message", true},
      {"[w1=ERROR || w1=WARN, w2]", "WARN message", true},
      {"[w1!=ERROR&&w1!=WARN, w2]", "INFO message", true},
      {"[w1!=ERROR&&w1!=WARN, w2]", "WARN message", false},
      // [WISP] tabs separate fields too (Lambda's runtime lines are tab-separated).
      {"[time, id, level = ERROR, ...]",
       "2026-11-23T10:00:00.000Z\t0b1c2d3e-0000-4000-8000-000000000001\tERROR\tboom", true},
      {"[time, id, level = ERROR, ...]",
       "2026-11-23T10:00:00.000Z\t0b1c2d3e-0000-4000-8000-000000000001\tINFO\tfine", false},
      // Several '...': any split of the fields may satisfy the conditions.
      {"[..., level = ERROR, ...]", "a b ERROR c d", true},
      {"[..., level = ERROR, ...]", "a b WARN c d", false},
      {"[..., a = x, ..., b = y, ...]", "q x r y s", true},
      {"[..., a = x, ..., b = y, ...]", "q y r x s", false},
  });
}

TEST_CASE("filter patterns: regular expressions [REGEX]") {
  check_table({
      // "%AUTHORIZED%" returns both documented messages.
      {"%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST", true},
      {"%AUTHORIZED%", "[SUCCESS 200] AUTHORIZED REQUEST", true},
      {"%AUTHORIZED%", "[SUCCESS 200] authorized", false},
      // "^: anchors the match to the beginning", "$: to the end".
      {"%^[hc]at%", "hat trick", true},
      {"%^[hc]at%", "cat", true},
      {"%^[hc]at%", "a cat", false},
      {"%[hc]at$%", "a cat", true},
      {"%[hc]at$%", "cats", false},
      // "?", "[]", "{m,n}", "|", "*", "+", ".".
      {"%colou?r%", "color", true},
      {"%colou?r%", "colour", true},
      {"%colou?r%", "colouur", false},
      {"%[abc]%", "xbx", true},
      {"%[abc]%", "xyz", false},
      {"%[a-z]%", "123q", true},
      {"%[a-z]%", "123", false},
      {"%a{3,5}%", "baaab", true},
      {"%^a{3,5}$%", "aa", false},
      {"%^a{3,5}$%", "aaaaaa", false},
      {"%^a{3,5}$%", "aaaa", true},
      {"%[Ee]rror|[Ff]ail%", "an Error", true},
      {"%[Ee]rror|[Ff]ail%", "it will fail", true},
      {"%[Ee]rror|[Ff]ail%", "all good", false},
      {"%\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}%", "from 10.0.0.1 ok", true},
      {"%\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}%", "from 10.0.0 ok", false},
      {"%a.c%", "abc", true},
      {"%ab+c%", "ac", false},
      {"%ab*c%", "ac", true},
      // Regex values in JSON and space-delimited patterns.
      {R"({ $.errorCode = %\d{3}% })", R"({"errorCode": "404"})", true},
      {R"({ $.errorCode = %^\d{3}$% })", R"({"errorCode": "40x"})", false},
      {R"({ $.errorCode = %^\d{3}$% })", R"({"errorCode": 404})", true},
      {"[ip, user, ..., status_code = %^5\\d\\d$%, bytes]", k_apache2, true},
      {"[ip, user, ..., status_code = %^5\\d\\d$%, bytes]", k_apache1, false},
  });
}

TEST_CASE("filter patterns: kinds") {
  CHECK(FilterPattern().kind() == PatternKind::all);
  CHECK(FilterPattern::parse("")->kind() == PatternKind::all);
  CHECK(FilterPattern::parse("ERROR")->kind() == PatternKind::terms);
  CHECK(FilterPattern::parse("%x%")->kind() == PatternKind::regex);
  CHECK(FilterPattern::parse("{ $.a = 1 }")->kind() == PatternKind::json);
  CHECK(FilterPattern::parse("[a, b]")->kind() == PatternKind::space_delimited);
  CHECK(FilterPattern::parse("  ERROR  ")->text() == "  ERROR  ");
}

TEST_CASE("filter patterns: malformed patterns are errors with a column") {
  struct Bad {
    const char* pattern;
    const char* message; // a part of the error message
  };
  const std::vector<Bad> bad{
      {"foo.bar", "the term 'foo.bar' has characters other than letters, digits and '_': put it "
                  "in double quotes (\"foo.bar\") (column 4)"},
      {"ERROR 500ms 10.0.0.1", "the term '10.0.0.1'"},
      {"\"unterminated", "this quoted string is not closed (column 1)"},
      {"ERROR -", "'-' must be followed by a term (column 7)"},
      {"?", "'?' must be followed by a term"},
      {"\"a\"b", "a quoted term must be followed by a space"},
      {"{ $.level = }", "expected a value after the comparison but found '}' (column 13)"},
      {"{ $.level = \"x\"", "this '{' is not closed (column 1)"},
      {"{ level = x }", "expected a selector starting with '$'"},
      {"{ $ = x }", "expected '.' or '[' after '$'"},
      {"{ $. = 1 }", "expected a property name after '.'"},
      {"{ $.a[x] = 1 }", "an array index is a number in brackets"},
      {"{ $.a[99999999999999999999999] = 1 }", "the array index is too large"},
      {"{ $.a IS MAYBE }", "expected NULL, TRUE or FALSE after IS"},
      {"{ $.a NOT THERE }", "expected EXISTS after NOT"},
      {"{ $.a ~ 1 }", "expected a comparison (=, !=, <, <=, >, >=)"},
      {"{ $.a > abc }", "'>' compares numbers: expected a number after it"},
      {"{ $.a <= \"5\" }", "'<=' compares numbers"},
      {"{ $.a = a@b }", "the value 'a@b' must be in double quotes"},
      {"{ $.a = 1 } extra", "unexpected text after the closing '}'"},
      {"{ $.a = 1 && }", "expected a selector starting with '$'"},
      {"{ ($.a = 1 }", "expected ')' but found '}'"},
      {"{ $.a = 1 $.b = 2 }", "expected '&&', '||' or '}'"},
      {"[a, b", "expected ',' or ']' after a field but found the end of the pattern (column 6)"},
      {"[a,", "expected ']' to close the space-delimited pattern"},
      {"[]", "expected at least one field name"},
      {"[a, a]", "the field 'a' is named twice"},
      {"[a b]", "expected a comparison"},
      {"[a, b = ]", "expected a value after the comparison"},
      {"[a, b > x]", "'>' compares numbers"},
      {"[a, b] tail", "unexpected text after the closing ']'"},
      {"[a; b]", "expected a comparison"},
      {"%abc", "this regular expression is not closed with '%'"},
      {"%%", "the regular expression is empty"},
      {"%a(b)%", "parentheses are not supported in CloudWatch regular expressions"},
      {"%something!%", "the character '!' is not allowed in a CloudWatch regular expression"},
      {"%caf\xc3\xa9%", "multibyte characters are not supported"},
      {"%a% b", "unexpected text after the regular expression"},
      {"%[a%", "invalid regular expression"},
      {"{ $.a = %1% || $.b = %2% || $.c = %3% }",
       "a filter pattern can use at most 2 regular expressions"},
  };
  for (const auto& b : bad) {
    const std::string pattern_text = b.pattern;
    CAPTURE(pattern_text);
    auto pattern = FilterPattern::parse(b.pattern);
    REQUIRE_FALSE(pattern.has_value());
    CHECK(pattern.error().message.starts_with("invalid filter pattern: "));
    CHECK_MESSAGE(pattern.error().message.find(b.message) != std::string::npos,
                  pattern.error().message);
  }
}

TEST_CASE("filter patterns: the error shows the pattern with a caret") {
  auto pattern = FilterPattern::parse("{ $.level = }");
  REQUIRE_FALSE(pattern.has_value());
  CHECK(pattern.error().message == "invalid filter pattern: expected a value after the comparison "
                                   "but found '}' (column 13)\n"
                                   "  { $.level = }\n"
                                   "              ^");
}

TEST_CASE("filter patterns: hostile input neither crashes nor hangs") {
  // Deep nesting is refused, not recursed into without bound.
  std::string deep = "{ " + std::string(5000, '(') + "$.a = 1" + std::string(5000, ')') + " }";
  auto nested = FilterPattern::parse(deep);
  REQUIRE_FALSE(nested.has_value());
  CHECK(nested.error().message.find("nests too deeply") != std::string::npos);
  // A regex over a 1 MiB message runs in linear time.
  const std::string big(1u << 20, 'a');
  auto regex = FilterPattern::parse("%a*a*a*a*b%");
  REQUIRE(regex.has_value());
  CHECK_FALSE(regex->matches(big));
  CHECK(regex->matches(big + "b"));
  // Many '...' on many fields are bounded.
  auto spread = FilterPattern::parse("[..., a = x, ..., b = y, ..., c = z, ..., d = w, ...]");
  REQUIRE(spread.has_value());
  std::string words;
  for (int i = 0; i < 400; ++i)
    words += "q ";
  CHECK_FALSE(spread->matches(words));
  // Deeply nested JSON messages do not match and do not crash.
  auto json = FilterPattern::parse("{ $.a = 1 }");
  REQUIRE(json.has_value());
  CHECK_FALSE(json->matches(std::string(100000, '[') + std::string(100000, ']')));
  CHECK_FALSE(json->matches(std::string("{\"a\":1") + std::string(1, '\0') + "}"));
}
