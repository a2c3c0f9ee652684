// CloudWatch Logs filter patterns: parser and evaluator (see pattern.hpp, docs/logs.md).
//
// Semantics follow "Filter pattern syntax for metric filters, subscription filters, filter
// log events, and Live Tail" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/
// FilterAndPatternSyntax.html). Where the documentation is silent, wisp's choice is written
// next to the code and in docs/logs.md.

#include <wisp/logs/pattern.hpp>

#include <wisp/template/regex.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cstddef>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace wisp::logs {

namespace {

using Regex = sam::detail::Regex;

// At most this many regular expressions in a JSON or space-delimited pattern (CloudWatch's
// limit for FilterLogEvents and Live Tail).
constexpr int k_max_regexes = 2;
// Space-delimited patterns with several '...' try every split of the message's fields;
// this bounds the work per message.
constexpr std::size_t k_max_assignments = 100'000;

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_word(char c) {
  return is_alnum(c) || c == '_';
}
bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// A number as CloudWatch documents it: an optional sign, an integer or a decimal, and an
// optional exponent ("10e3", "-1.5", "+1000", "10e-3").
std::optional<double> parse_number(std::string_view text) {
  std::size_t i = 0;
  const auto n = text.size();
  if (i < n && (text[i] == '+' || text[i] == '-'))
    ++i;
  std::size_t digits = 0;
  while (i < n && text[i] >= '0' && text[i] <= '9') {
    ++i;
    ++digits;
  }
  if (i < n && text[i] == '.') {
    ++i;
    while (i < n && text[i] >= '0' && text[i] <= '9') {
      ++i;
      ++digits;
    }
  }
  if (digits == 0)
    return std::nullopt;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-'))
      ++i;
    std::size_t exponent_digits = 0;
    while (i < n && text[i] >= '0' && text[i] <= '9') {
      ++i;
      ++exponent_digits;
    }
    if (exponent_digits == 0)
      return std::nullopt;
  }
  if (i != n)
    return std::nullopt;
  auto body = text;
  if (body.front() == '+')
    body.remove_prefix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), value);
  if (ec != std::errc() || end != body.data() + body.size())
    return std::nullopt;
  return value;
}

// A string value with CloudWatch's wildcards: a '*' at the start or the end matches any
// text there ("*Event", "Event*", "*html*", "*"); a '*' inside is literal ("Ev*ent").
struct Wildcard {
  std::string text;
  bool any_before = false;
  bool any_after = false;

  static Wildcard make(std::string_view raw) {
    Wildcard w;
    if (!raw.empty() && raw.front() == '*') {
      w.any_before = true;
      raw.remove_prefix(1);
    }
    if (!raw.empty() && raw.back() == '*') {
      w.any_after = true;
      raw.remove_suffix(1);
    }
    if (w.any_before && raw.empty())
      w.any_after = true; // "*" alone
    w.text = std::string(raw);
    return w;
  }

  [[nodiscard]] bool match(std::string_view s) const {
    if (any_before && any_after)
      return s.find(text) != std::string_view::npos;
    if (any_before)
      return s.ends_with(text);
    if (any_after)
      return s.starts_with(text);
    return s == text;
  }
};

struct Value {
  enum class Kind { string, number, regex } kind = Kind::string;
  std::string text; // as written (without quotes); numbers compare as text against strings
  Wildcard wildcard;
  double number = 0;
  std::shared_ptr<const Regex> regex;
};

enum class Op { eq, ne, lt, le, gt, ge, is_null, not_exists, is_true, is_false };

struct PathStep {
  std::string key;
  std::size_t index = 0;
  bool is_index = false;
};

struct Comparison {
  std::vector<PathStep> path; // JSON selectors
  std::string field;          // space-delimited field names
  Op op = Op::eq;
  Value value;
};

struct Expr {
  enum class Kind { comparison, all, any } kind = Kind::comparison;
  std::vector<Expr> children;
  Comparison comparison;
};

struct Field {
  std::string name;
  bool ellipsis = false;
};

// What a comparison looks at: a JSON value node or a space-delimited field.
struct Operand {
  enum class Kind { missing, text, number, other } kind = Kind::missing;
  std::string_view text;
  double number = 0;
  bool numeric_text = false; // a text operand may be compared as a number when it is one
};

std::string_view op_name(Op op) {
  switch (op) {
  case Op::eq:
    return "=";
  case Op::ne:
    return "!=";
  case Op::lt:
    return "<";
  case Op::le:
    return "<=";
  case Op::gt:
    return ">";
  case Op::ge:
    return ">=";
  default:
    return "IS";
  }
}

bool compare_numbers(double a, Op op, double b) {
  switch (op) {
  case Op::eq:
    return a == b;
  case Op::ne:
    return a != b;
  case Op::lt:
    return a < b;
  case Op::le:
    return a <= b;
  case Op::gt:
    return a > b;
  case Op::ge:
    return a >= b;
  default:
    return false;
  }
}

// A comparison holds only when the operand is a value (a string or a number): a missing
// field, null, a boolean, an array or an object satisfies neither '=' nor '!='.
bool compare(const Operand& operand, Op op, const Value& value) {
  if (operand.kind == Operand::Kind::missing || operand.kind == Operand::Kind::other)
    return false;
  switch (value.kind) {
  case Value::Kind::number: {
    std::optional<double> x;
    if (operand.kind == Operand::Kind::number)
      x = operand.number;
    else if (operand.numeric_text)
      x = parse_number(operand.text);
    if (x)
      return compare_numbers(*x, op, value.number);
    // Not a number: '=' and '!=' compare the text as written; ordering cannot hold.
    if (op == Op::eq)
      return operand.text == value.text;
    if (op == Op::ne)
      return operand.text != value.text;
    return false;
  }
  case Value::Kind::string: {
    const bool match = value.wildcard.match(operand.text);
    return op == Op::ne ? !match : match;
  }
  case Value::Kind::regex: {
    const bool match = value.regex->full_match(operand.text);
    return op == Op::ne ? !match : match;
  }
  }
  return false;
}

template <class Leaf> bool evaluate(const Expr& expr, const Leaf& leaf) {
  switch (expr.kind) {
  case Expr::Kind::comparison:
    return leaf(expr.comparison);
  case Expr::Kind::all:
    for (const auto& child : expr.children)
      if (!evaluate(child, leaf))
        return false;
    return true;
  case Expr::Kind::any:
    for (const auto& child : expr.children)
      if (evaluate(child, leaf))
        return true;
    return false;
  }
  return false;
}

// ---- JSON operands ----

const boost::json::value* resolve(const boost::json::value& root,
                                  const std::vector<PathStep>& path) {
  const boost::json::value* node = &root;
  for (const auto& step : path) {
    if (step.is_index) {
      const auto* array = node->if_array();
      if (array == nullptr || step.index >= array->size())
        return nullptr;
      node = &(*array)[step.index];
    } else {
      const auto* object = node->if_object();
      if (object == nullptr)
        return nullptr;
      const auto* found = object->if_contains(step.key);
      if (found == nullptr)
        return nullptr;
      node = found;
    }
  }
  return node;
}

bool evaluate_json(const Comparison& comparison, const boost::json::value& root) {
  const auto* node = resolve(root, comparison.path);
  switch (comparison.op) {
  case Op::not_exists:
    return node == nullptr;
  case Op::is_null:
    return node != nullptr && node->is_null();
  case Op::is_true:
    return node != nullptr && node->is_bool() && node->get_bool();
  case Op::is_false:
    return node != nullptr && node->is_bool() && !node->get_bool();
  default:
    break;
  }
  Operand operand;
  std::string number_text;
  if (node == nullptr) {
    operand.kind = Operand::Kind::missing;
  } else if (const auto* s = node->if_string()) {
    operand.kind = Operand::Kind::text;
    operand.text = std::string_view(s->data(), s->size());
  } else if (node->is_number()) {
    operand.kind = Operand::Kind::number;
    operand.number = node->to_number<double>();
    number_text = boost::json::serialize(*node);
    operand.text = number_text;
  } else {
    operand.kind = Operand::Kind::other;
  }
  return compare(operand, comparison.op, comparison.value);
}

// ---- space-delimited messages ----

// Splits a message into fields: runs of spaces and tabs separate them; the text between a
// pair of double quotes or square brackets is one field (without the quotes/brackets).
std::vector<std::string_view> split_fields(std::string_view message) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  const auto n = message.size();
  while (true) {
    while (i < n &&
           (message[i] == ' ' || message[i] == '\t' || message[i] == '\n' || message[i] == '\r'))
      ++i;
    if (i >= n)
      break;
    const char open = message[i];
    if (open == '"' || open == '[') {
      const char close = open == '"' ? '"' : ']';
      const auto end = message.find(close, i + 1);
      if (end != std::string_view::npos) {
        fields.push_back(message.substr(i + 1, end - i - 1));
        i = end + 1;
        continue;
      }
    }
    const auto start = i;
    while (i < n && message[i] != ' ' && message[i] != '\t' && message[i] != '\n' &&
           message[i] != '\r')
      ++i;
    fields.push_back(message.substr(start, i - start));
  }
  return fields;
}

// ---- the parser ----

class Parser {
public:
  explicit Parser(std::string_view text) : m_text(text) {}

  support::Result<std::shared_ptr<FilterPattern::Impl>> parse();

private:
  [[nodiscard]] bool at_end() const { return m_pos >= m_text.size(); }
  [[nodiscard]] char peek(std::size_t ahead = 0) const {
    return m_pos + ahead < m_text.size() ? m_text[m_pos + ahead] : '\0';
  }
  void skip_blanks() {
    while (!at_end() && is_blank(m_text[m_pos]))
      ++m_pos;
  }
  bool accept(std::string_view token) {
    if (m_text.substr(m_pos).starts_with(token)) {
      m_pos += token.size();
      return true;
    }
    return false;
  }
  // Error at `pos` (0-based); the message shows the pattern with a caret under the column.
  tl::unexpected<support::Error> error_at(std::size_t pos, std::string_view what) const {
    std::string message = fmt::format("invalid filter pattern: {} (column {})", what, pos + 1);
    const bool one_line = m_text.find_first_of("\n\r") == std::string_view::npos;
    if (one_line && m_text.size() <= 160)
      message += fmt::format("\n  {}\n  {}^", m_text, std::string(pos, ' '));
    return support::fail(std::move(message));
  }
  tl::unexpected<support::Error> error(std::string_view what) const {
    return error_at(m_pos, what);
  }
  [[nodiscard]] std::string describe_here() const {
    if (at_end())
      return "the end of the pattern";
    return fmt::format("'{}'", m_text[m_pos]);
  }

  support::Result<std::string> quoted();
  support::Status terms(FilterPattern::Impl& impl);
  support::Result<std::shared_ptr<const Regex>> regex_body(); // at '%'
  support::Result<Value> value(Op op);
  support::Result<Op> comparison_operator();
  // JSON
  using Operand = support::Result<Expr> (Parser::*)();
  support::Result<Expr> joined(Expr::Kind kind, std::string_view op, Operand operand);
  support::Result<Expr> parenthesised(Operand inner_rule);
  support::Result<Expr> json_or();
  support::Result<Expr> json_and();
  support::Result<Expr> json_primary();
  support::Result<Expr> json_comparison();
  // space-delimited
  support::Status space_delimited(FilterPattern::Impl& impl);
  support::Result<Expr> field_or();
  support::Result<Expr> field_and();
  support::Result<Expr> field_primary();
  support::Result<std::string> field_name();

  std::string_view m_text;
  std::size_t m_pos = 0;
  int m_regexes = 0;
  int m_depth = 0;
};

} // namespace

struct FilterPattern::Impl {
  std::string text;
  PatternKind kind = PatternKind::all;
  // terms
  std::vector<std::string> required;
  std::vector<std::string> excluded;
  std::vector<std::string> optional;
  // regex
  std::shared_ptr<const Regex> regex;
  // json
  Expr json;
  // space-delimited
  std::vector<Field> fields;
  std::vector<Expr> conditions; // all must hold
};

namespace {

constexpr int k_max_depth = 64;

support::Result<std::string> Parser::quoted() {
  const auto start = m_pos;
  ++m_pos; // the opening quote
  std::string out;
  while (!at_end()) {
    const char c = m_text[m_pos];
    if (c == '"') {
      ++m_pos;
      return out;
    }
    if (c == '\\' && (peek(1) == '"' || peek(1) == '\\')) {
      out += peek(1);
      m_pos += 2;
      continue;
    }
    out += c;
    ++m_pos;
  }
  return error_at(start, "this quoted string is not closed");
}

support::Status Parser::terms(FilterPattern::Impl& impl) {
  while (true) {
    skip_blanks();
    if (at_end())
      return {};
    auto* list = &impl.required;
    const auto mark = m_pos;
    if (peek() == '-' || peek() == '?') {
      list = peek() == '-' ? &impl.excluded : &impl.optional;
      ++m_pos;
      skip_blanks();
      if (at_end())
        return error_at(mark, fmt::format("'{}' must be followed by a term", m_text[mark]));
    }
    if (peek() == '"') {
      WISP_TRY_ASSIGN(auto phrase, quoted());
      list->push_back(std::move(phrase));
      if (!at_end() && !is_blank(peek()))
        return error("a quoted term must be followed by a space");
      continue;
    }
    const auto start = m_pos;
    while (!at_end() && !is_blank(peek()))
      ++m_pos;
    const auto term = m_text.substr(start, m_pos - start);
    for (std::size_t i = 0; i < term.size(); ++i) {
      if (!is_word(term[i]))
        return error_at(start + i,
                        fmt::format("the term '{}' has characters other than letters, digits and "
                                    "'_': put it in double quotes (\"{}\")",
                                    term, term));
    }
    list->emplace_back(term);
  }
}

// CloudWatch's regex subset: letters, digits, the symbols : _ # = @ / ; , - and space, and
// the operators ^ $ ? [ ] { } | \ * + . — no parentheses, no multibyte characters.
support::Result<std::shared_ptr<const Regex>> Parser::regex_body() {
  const auto start = m_pos;
  ++m_pos; // '%'
  const auto body_start = m_pos;
  while (!at_end() && peek() != '%') {
    const char c = peek();
    if (static_cast<unsigned char>(c) >= 0x80)
      return error("multibyte characters are not supported in a regular expression");
    if (c == '\\') {
      if (m_pos + 1 >= m_text.size() || static_cast<unsigned char>(peek(1)) >= 0x80 ||
          static_cast<unsigned char>(peek(1)) < 0x20)
        return error("'\\' must be followed by the character it escapes");
      m_pos += 2;
      continue;
    }
    if (c == '(' || c == ')')
      return error("parentheses are not supported in CloudWatch regular expressions");
    const std::string_view allowed = ":_#=@/;,- ^$?[]{}|*+.";
    if (!is_alnum(c) && allowed.find(c) == std::string_view::npos)
      return error(
          fmt::format("the character '{}' is not allowed in a CloudWatch regular expression", c));
    ++m_pos;
  }
  if (at_end())
    return error_at(start, "this regular expression is not closed with '%'");
  const auto body = m_text.substr(body_start, m_pos - body_start);
  ++m_pos; // closing '%'
  if (body.empty())
    return error_at(start, "the regular expression is empty");
  if (++m_regexes > k_max_regexes)
    return error_at(start, fmt::format("a filter pattern can use at most {} regular expressions",
                                       k_max_regexes));
  // Unanchored search: any text before and after ('^' and '$' still anchor).
  auto compiled = Regex::compile(fmt::format("[\\s\\S]*(?:{})[\\s\\S]*", body));
  if (!compiled)
    return error_at(start, fmt::format("invalid regular expression: {}", compiled.error()));
  return std::make_shared<const Regex>(std::move(*compiled));
}

support::Result<Op> Parser::comparison_operator() {
  skip_blanks();
  if (accept("!="))
    return Op::ne;
  if (accept("<="))
    return Op::le;
  if (accept(">="))
    return Op::ge;
  if (accept("="))
    return Op::eq;
  if (accept("<"))
    return Op::lt;
  if (accept(">"))
    return Op::gt;
  return error(
      fmt::format("expected a comparison (=, !=, <, <=, >, >=) but found {}", describe_here()));
}

support::Result<Value> Parser::value(Op op) {
  skip_blanks();
  const bool ordering = op == Op::lt || op == Op::le || op == Op::gt || op == Op::ge;
  const auto start = m_pos;
  Value v;
  if (peek() == '"') {
    WISP_TRY_ASSIGN(v.text, quoted());
    v.kind = Value::Kind::string;
    v.wildcard = Wildcard::make(v.text);
  } else if (peek() == '%') {
    WISP_TRY_ASSIGN(v.regex, regex_body());
    v.kind = Value::Kind::regex;
  } else {
    const std::string_view stops = "(){}[],&|=!<>\"%";
    while (!at_end() && !is_blank(peek()) && stops.find(peek()) == std::string_view::npos)
      ++m_pos;
    const auto raw = m_text.substr(start, m_pos - start);
    if (raw.empty())
      return error(
          fmt::format("expected a value after the comparison but found {}", describe_here()));
    for (std::size_t i = 0; i < raw.size(); ++i) {
      const char c = raw[i];
      if (!is_word(c) && c != '-' && c != '.' && c != '*' && c != '+')
        return error_at(start + i, fmt::format("the value '{}' must be in double quotes (it has "
                                               "characters other than letters, digits, '_', "
                                               "'-', '.', '*' and '+')",
                                               raw));
    }
    v.text = std::string(raw);
    if (auto number = parse_number(raw)) {
      v.kind = Value::Kind::number;
      v.number = *number;
    } else {
      v.kind = Value::Kind::string;
      v.wildcard = Wildcard::make(raw);
    }
  }
  if (ordering && v.kind != Value::Kind::number)
    return error_at(start,
                    fmt::format("'{}' compares numbers: expected a number after it", op_name(op)));
  return v;
}

// ---- shared by both grammars ----

// One or more operands joined by `op` ("||" or "&&") into an Expr of `kind`; a single operand
// stands alone.
support::Result<Expr> Parser::joined(Expr::Kind kind, std::string_view op, Operand operand) {
  WISP_TRY_ASSIGN(auto first, (this->*operand)());
  Expr expr;
  expr.kind = kind;
  expr.children.push_back(std::move(first));
  while (true) {
    skip_blanks();
    if (!accept(op))
      break;
    WISP_TRY_ASSIGN(auto next, (this->*operand)());
    expr.children.push_back(std::move(next));
  }
  if (expr.children.size() == 1)
    return std::move(expr.children.front());
  return expr;
}

// `( inner )`, at the '('.
support::Result<Expr> Parser::parenthesised(Operand inner_rule) {
  const auto open = m_pos;
  ++m_pos;
  WISP_TRY_ASSIGN(auto inner, (this->*inner_rule)());
  skip_blanks();
  if (!accept(")"))
    return at_end() ? error_at(open, "this '(' is not closed")
                    : error(fmt::format("expected ')' but found {}", describe_here()));
  return inner;
}

// ---- JSON patterns ----

support::Result<Expr> Parser::json_or() {
  if (++m_depth > k_max_depth)
    return error("the pattern nests too deeply");
  WISP_TRY_ASSIGN(auto any, joined(Expr::Kind::any, "||", &Parser::json_and));
  --m_depth;
  return any;
}

support::Result<Expr> Parser::json_and() {
  return joined(Expr::Kind::all, "&&", &Parser::json_primary);
}

support::Result<Expr> Parser::json_primary() {
  skip_blanks();
  if (peek() == '(')
    return parenthesised(&Parser::json_or);
  return json_comparison();
}

support::Result<Expr> Parser::json_comparison() {
  skip_blanks();
  if (peek() != '$')
    return error(fmt::format("expected a selector starting with '$' (e.g. $.level) but found {}",
                             describe_here()));
  ++m_pos;
  Expr expr;
  auto& comparison = expr.comparison;
  while (peek() == '.' || peek() == '[') {
    PathStep step;
    if (peek() == '.') {
      ++m_pos;
      const auto start = m_pos;
      while (!at_end() && (is_word(peek()) || peek() == '-'))
        ++m_pos;
      if (m_pos == start)
        return error(
            fmt::format("expected a property name after '.' but found {}", describe_here()));
      step.key = std::string(m_text.substr(start, m_pos - start));
    } else {
      const auto open = m_pos;
      ++m_pos;
      const auto start = m_pos;
      while (!at_end() && peek() >= '0' && peek() <= '9')
        ++m_pos;
      if (m_pos == start || peek() != ']')
        return error_at(open, "an array index is a number in brackets, e.g. [0]");
      const auto digits = m_text.substr(start, m_pos - start);
      const auto [end, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), step.index);
      if (ec != std::errc() || end != digits.data() + digits.size())
        return error_at(open, "the array index is too large");
      step.is_index = true;
      ++m_pos; // ']'
    }
    comparison.path.push_back(std::move(step));
  }
  if (comparison.path.empty())
    return error(fmt::format("expected '.' or '[' after '$' (a selector names a property, "
                             "e.g. $.level) but found {}",
                             describe_here()));
  skip_blanks();
  // Keywords: IS NULL, IS TRUE, IS FALSE, NOT EXISTS (any case).
  const auto keyword = [&](std::string_view word) {
    if (m_pos + word.size() > m_text.size())
      return false;
    for (std::size_t i = 0; i < word.size(); ++i) {
      const char c = m_text[m_pos + i];
      if (std::toupper(static_cast<unsigned char>(c)) != word[i])
        return false;
    }
    if (m_pos + word.size() < m_text.size() && is_word(m_text[m_pos + word.size()]))
      return false;
    m_pos += word.size();
    return true;
  };
  const auto at = m_pos;
  if (keyword("IS")) {
    skip_blanks();
    if (keyword("NULL"))
      comparison.op = Op::is_null;
    else if (keyword("TRUE"))
      comparison.op = Op::is_true;
    else if (keyword("FALSE"))
      comparison.op = Op::is_false;
    else
      return error(
          fmt::format("expected NULL, TRUE or FALSE after IS but found {}", describe_here()));
    return expr;
  }
  if (keyword("NOT")) {
    skip_blanks();
    if (!keyword("EXISTS"))
      return error(fmt::format("expected EXISTS after NOT but found {}", describe_here()));
    comparison.op = Op::not_exists;
    return expr;
  }
  m_pos = at;
  WISP_TRY_ASSIGN(comparison.op, comparison_operator());
  WISP_TRY_ASSIGN(comparison.value, value(comparison.op));
  return expr;
}

// ---- space-delimited patterns ----

support::Result<std::string> Parser::field_name() {
  skip_blanks();
  const auto start = m_pos;
  while (!at_end() && is_word(peek()))
    ++m_pos;
  if (m_pos == start)
    return error(fmt::format("expected a field name (letters, digits and '_') but found {}",
                             describe_here()));
  return std::string(m_text.substr(start, m_pos - start));
}

support::Result<Expr> Parser::field_or() {
  if (++m_depth > k_max_depth)
    return error("the pattern nests too deeply");
  WISP_TRY_ASSIGN(auto any, joined(Expr::Kind::any, "||", &Parser::field_and));
  --m_depth;
  return any;
}

support::Result<Expr> Parser::field_and() {
  return joined(Expr::Kind::all, "&&", &Parser::field_primary);
}

support::Result<Expr> Parser::field_primary() {
  skip_blanks();
  if (peek() == '(')
    return parenthesised(&Parser::field_or);
  Expr expr;
  WISP_TRY_ASSIGN(expr.comparison.field, field_name());
  skip_blanks();
  WISP_TRY_ASSIGN(expr.comparison.op, comparison_operator());
  WISP_TRY_ASSIGN(expr.comparison.value, value(expr.comparison.op));
  return expr;
}

// Fields are separated by commas; "..." stands for any number of fields; an empty field
// (",,", or a trailing ",") is an unnamed one, as in the documented "[..., request=*.html*,
// status_code=4*,]" whose last field is the bytes.
support::Status Parser::space_delimited(FilterPattern::Impl& impl) {
  ++m_pos; // '['
  std::set<std::string> names;
  while (true) {
    skip_blanks();
    if (at_end())
      return error("expected ']' to close the space-delimited pattern");
    Field field;
    if (peek() == ']' || peek() == ',') {
      if (impl.fields.empty() && peek() == ']')
        return error("expected at least one field name in '[ ]'");
      // an unnamed field
    } else if (accept("...")) {
      field.ellipsis = true;
    } else {
      const auto start = m_pos;
      WISP_TRY_ASSIGN(field.name, field_name());
      if (!names.insert(field.name).second)
        return error_at(start, fmt::format("the field '{}' is named twice", field.name));
      skip_blanks();
      if (!at_end() && peek() != ',' && peek() != ']') {
        // A condition: re-read from the field's name as a boolean expression.
        m_pos = start;
        WISP_TRY_ASSIGN(auto condition, field_or());
        impl.conditions.push_back(std::move(condition));
      }
    }
    impl.fields.push_back(std::move(field));
    skip_blanks();
    if (accept(","))
      continue;
    if (accept("]"))
      break;
    return error(fmt::format("expected ',' or ']' after a field but found {}", describe_here()));
  }
  skip_blanks();
  if (!at_end())
    return error("unexpected text after the closing ']'");
  return {};
}

support::Result<std::shared_ptr<FilterPattern::Impl>> Parser::parse() {
  auto impl = std::make_shared<FilterPattern::Impl>();
  impl->text = std::string(m_text);
  skip_blanks();
  if (at_end()) {
    impl->kind = PatternKind::all;
    return impl;
  }
  const char first = peek();
  if (first == '{') {
    impl->kind = PatternKind::json;
    const auto open = m_pos;
    ++m_pos;
    WISP_TRY_ASSIGN(impl->json, json_or());
    skip_blanks();
    if (!accept("}"))
      return at_end()
                 ? error_at(open, "this '{' is not closed")
                 : error(fmt::format("expected '&&', '||' or '}}' but found {}", describe_here()));
    skip_blanks();
    if (!at_end())
      return error("unexpected text after the closing '}'");
    return impl;
  }
  if (first == '[') {
    impl->kind = PatternKind::space_delimited;
    WISP_TRY(space_delimited(*impl));
    return impl;
  }
  if (first == '%') {
    impl->kind = PatternKind::regex;
    WISP_TRY_ASSIGN(impl->regex, regex_body());
    skip_blanks();
    if (!at_end())
      return error("unexpected text after the regular expression's closing '%'");
    return impl;
  }
  impl->kind = PatternKind::terms;
  WISP_TRY(terms(*impl));
  if (impl->required.empty() && impl->excluded.empty() && impl->optional.empty())
    impl->kind = PatternKind::all;
  return impl;
}

bool contains(std::string_view message, const std::string& term) {
  return message.find(term) != std::string_view::npos;
}

// Tries every way of giving the message's fields to the pattern's fields ('...' takes any
// number of them, zero included) and checks the conditions for each.
class FieldMatcher {
public:
  FieldMatcher(const FilterPattern::Impl& impl, const std::vector<std::string_view>& tokens)
      : m_impl(impl), m_tokens(tokens), m_bound(impl.fields.size()) {}

  bool run() { return assign(0, 0); }

private:
  bool assign(std::size_t field, std::size_t token) {
    if (++m_steps > k_max_assignments)
      return false;
    if (field == m_impl.fields.size())
      return token == m_tokens.size() && conditions_hold();
    const auto& f = m_impl.fields[field];
    if (f.ellipsis) {
      // The fields after this one need at least this many tokens.
      std::size_t needed = 0;
      for (std::size_t i = field + 1; i < m_impl.fields.size(); ++i)
        if (!m_impl.fields[i].ellipsis)
          ++needed;
      if (token + needed > m_tokens.size())
        return false;
      for (std::size_t take = 0; token + take + needed <= m_tokens.size(); ++take)
        if (assign(field + 1, token + take))
          return true;
      return false;
    }
    if (token >= m_tokens.size())
      return false;
    m_bound[field] = m_tokens[token];
    return assign(field + 1, token + 1);
  }

  [[nodiscard]] bool conditions_hold() const {
    const auto leaf = [&](const Comparison& comparison) {
      Operand operand;
      for (std::size_t i = 0; i < m_impl.fields.size(); ++i) {
        if (!m_impl.fields[i].ellipsis && m_impl.fields[i].name == comparison.field) {
          operand.kind = Operand::Kind::text;
          operand.text = m_bound[i];
          operand.numeric_text = true;
          break;
        }
      }
      return compare(operand, comparison.op, comparison.value);
    };
    for (const auto& condition : m_impl.conditions)
      if (!evaluate(condition, leaf))
        return false;
    return true;
  }

  const FilterPattern::Impl& m_impl;
  const std::vector<std::string_view>& m_tokens;
  std::vector<std::string_view> m_bound;
  std::size_t m_steps = 0;
};

const std::shared_ptr<const FilterPattern::Impl>& empty_impl() {
  static const std::shared_ptr<const FilterPattern::Impl> impl =
      std::make_shared<const FilterPattern::Impl>();
  return impl;
}

} // namespace

FilterPattern::FilterPattern() : m_impl(empty_impl()) {}

support::Result<FilterPattern> FilterPattern::parse(std::string_view text) {
  Parser parser(text);
  WISP_TRY_ASSIGN(auto impl, parser.parse());
  FilterPattern pattern;
  pattern.m_impl = std::move(impl);
  return pattern;
}

PatternKind FilterPattern::kind() const {
  return m_impl->kind;
}

const std::string& FilterPattern::text() const {
  return m_impl->text;
}

const std::vector<std::string>& FilterPattern::required_terms() const {
  static const std::vector<std::string> none;
  return m_impl->kind == PatternKind::terms ? m_impl->required : none;
}

bool FilterPattern::matches(std::string_view message) const {
  const auto& impl = *m_impl;
  switch (impl.kind) {
  case PatternKind::all:
    return true;
  case PatternKind::terms: {
    for (const auto& term : impl.required)
      if (!contains(message, term))
        return false;
    for (const auto& term : impl.excluded)
      if (contains(message, term))
        return false;
    if (impl.optional.empty())
      return true;
    for (const auto& term : impl.optional)
      if (contains(message, term))
        return true;
    return false;
  }
  case PatternKind::regex:
    return impl.regex->full_match(message);
  case PatternKind::json: {
    boost::system::error_code ec;
    const auto root = boost::json::parse(message, ec);
    if (ec)
      return false;
    return evaluate(impl.json,
                    [&](const Comparison& comparison) { return evaluate_json(comparison, root); });
  }
  case PatternKind::space_delimited: {
    const auto tokens = split_fields(message);
    FieldMatcher matcher(impl, tokens);
    return matcher.run();
  }
  }
  return false;
}

} // namespace wisp::logs
