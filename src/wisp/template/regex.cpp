#include <wisp/template/regex.hpp>

#include <fmt/format.h>

#include <memory>

namespace wisp::sam::detail {

namespace {

constexpr std::size_t k_max_program = 20000;

using Range = Regex::Range;
using Instruction = Regex::Instruction;
using Op = Instruction::Op;

// AST
struct Ast {
  enum class Kind { empty, set, concat, alternate, repeat, begin, end } kind = Kind::empty;
  std::vector<Range> ranges; // set
  bool negated = false;      // set
  std::vector<std::unique_ptr<Ast>> children;
  int min = 0;
  int max = -1; // -1: unbounded
};

std::vector<char32_t> decode(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = 1;
    char32_t cp = c;
    if (c >= 0xF0) {
      length = 4;
      cp = c & 0x07u;
    } else if (c >= 0xE0) {
      length = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xC0) {
      length = 2;
      cp = c & 0x1Fu;
    }
    if (i + length > text.size()) {
      out.push_back(c);
      ++i;
      continue;
    }
    for (std::size_t k = 1; k < length; ++k)
      cp = (cp << 6u) | (static_cast<unsigned char>(text[i + k]) & 0x3Fu);
    out.push_back(cp);
    i += length;
  }
  return out;
}

class Parser {
public:
  explicit Parser(std::vector<char32_t> pattern) : m_p(std::move(pattern)) {}

  tl::expected<std::unique_ptr<Ast>, std::string> parse() {
    auto ast = alternation(0);
    if (!ast)
      return ast;
    if (m_pos < m_p.size())
      return tl::unexpected(std::string("unbalanced ')'"));
    return ast;
  }

private:
  bool more() const { return m_pos < m_p.size(); }
  char32_t peek() const { return m_p[m_pos]; }

  tl::expected<std::unique_ptr<Ast>, std::string> alternation(int depth) {
    if (depth > 100)
      return tl::unexpected(std::string("groups nest too deeply"));
    auto first = concatenation(depth);
    if (!first)
      return first;
    if (!more() || peek() != U'|')
      return first;
    auto node = std::make_unique<Ast>();
    node->kind = Ast::Kind::alternate;
    node->children.push_back(std::move(*first));
    while (more() && peek() == U'|') {
      ++m_pos;
      auto next = concatenation(depth);
      if (!next)
        return next;
      node->children.push_back(std::move(*next));
    }
    return node;
  }

  tl::expected<std::unique_ptr<Ast>, std::string> concatenation(int depth) {
    auto node = std::make_unique<Ast>();
    node->kind = Ast::Kind::concat;
    while (more() && peek() != U'|' && peek() != U')') {
      auto atom_result = atom(depth);
      if (!atom_result)
        return atom_result;
      auto quantified = quantifier(std::move(*atom_result));
      if (!quantified)
        return quantified;
      node->children.push_back(std::move(*quantified));
    }
    return node;
  }

  tl::expected<int, std::string> number() {
    if (!more() || peek() < U'0' || peek() > U'9')
      return tl::unexpected(std::string("expected a number in {}"));
    int value = 0;
    while (more() && peek() >= U'0' && peek() <= U'9') {
      value = value * 10 + static_cast<int>(peek() - U'0');
      if (value > 1000)
        return tl::unexpected(std::string("a repetition count above 1000"));
      ++m_pos;
    }
    return value;
  }

  tl::expected<std::unique_ptr<Ast>, std::string> quantifier(std::unique_ptr<Ast> atom_node) {
    while (more()) {
      int min = 0;
      int max = -1;
      const char32_t c = peek();
      if (c == U'*') {
        ++m_pos;
      } else if (c == U'+') {
        min = 1;
        ++m_pos;
      } else if (c == U'?') {
        max = 1;
        ++m_pos;
      } else if (c == U'{') {
        const auto save = m_pos;
        ++m_pos;
        auto low = number();
        if (!low) {
          m_pos = save; // a literal '{'
          return atom_node;
        }
        min = *low;
        max = min;
        if (more() && peek() == U',') {
          ++m_pos;
          if (more() && peek() == U'}') {
            max = -1;
          } else {
            auto high = number();
            if (!high)
              return tl::unexpected(high.error());
            max = *high;
          }
        }
        if (!more() || peek() != U'}')
          return tl::unexpected(std::string("unterminated {}"));
        ++m_pos;
        if (max >= 0 && max < min)
          return tl::unexpected(std::string("{n,m} with m < n"));
      } else {
        return atom_node;
      }
      if (more() && (peek() == U'?' || peek() == U'+'))
        ++m_pos; // lazy or possessive: the same language
      auto node = std::make_unique<Ast>();
      node->kind = Ast::Kind::repeat;
      node->min = min;
      node->max = max;
      node->children.push_back(std::move(atom_node));
      atom_node = std::move(node);
    }
    return atom_node;
  }

  static void add_class(std::vector<Range>& ranges, char32_t letter) {
    switch (letter) {
    case U'd':
      ranges.push_back({U'0', U'9'});
      break;
    case U'w':
      ranges.push_back({U'a', U'z'});
      ranges.push_back({U'A', U'Z'});
      ranges.push_back({U'0', U'9'});
      ranges.push_back({U'_', U'_'});
      break;
    case U's':
      for (const char32_t c : {U' ', U'\t', U'\n', U'\r', U'\f', U'\v'})
        ranges.push_back({c, c});
      break;
    default:
      break;
    }
  }

  static std::vector<Range> complement(const std::vector<Range>& ranges) {
    // Only used for \D \W \S inside classes; computed over the whole code point range.
    std::vector<Range> sorted = ranges;
    std::sort(sorted.begin(), sorted.end(),
              [](const Range& a, const Range& b) { return a.low < b.low; });
    std::vector<Range> out;
    char32_t next = 0;
    for (const auto& r : sorted) {
      if (r.low > next)
        out.push_back({next, r.low - 1});
      if (r.high + 1 > next)
        next = r.high + 1;
    }
    if (next <= 0x10FFFF)
      out.push_back({next, 0x10FFFF});
    return out;
  }

  // An escape after '\': appends its ranges; false for an unsupported escape.
  tl::expected<void, std::string> escape(std::vector<Range>& ranges) {
    if (!more())
      return tl::unexpected(std::string("a trailing backslash"));
    const char32_t c = m_p[m_pos++];
    switch (c) {
    case U'd':
    case U'w':
    case U's':
      add_class(ranges, c);
      return {};
    case U'D':
    case U'W':
    case U'S': {
      std::vector<Range> base;
      add_class(base, c - U'A' + U'a');
      for (const auto& r : complement(base))
        ranges.push_back(r);
      return {};
    }
    case U'n':
      ranges.push_back({U'\n', U'\n'});
      return {};
    case U't':
      ranges.push_back({U'\t', U'\t'});
      return {};
    case U'r':
      ranges.push_back({U'\r', U'\r'});
      return {};
    case U'f':
      ranges.push_back({U'\f', U'\f'});
      return {};
    default:
      if ((c >= U'0' && c <= U'9') || c == U'b' || c == U'B' || c == U'k' || c == U'p' ||
          c == U'P' || c == U'u' || c == U'x')
        return tl::unexpected(fmt::format("the escape '\\{}' is not supported",
                                          static_cast<char>(c < 128 ? c : '?')));
      ranges.push_back({c, c});
      return {};
    }
  }

  tl::expected<std::unique_ptr<Ast>, std::string> atom(int depth) {
    const char32_t c = m_p[m_pos++];
    auto node = std::make_unique<Ast>();
    switch (c) {
    case U'(': {
      if (more() && peek() == U'?') {
        if (m_pos + 1 < m_p.size() && m_p[m_pos + 1] == U':') {
          m_pos += 2;
        } else {
          return tl::unexpected(std::string("look-around and named groups are not supported"));
        }
      }
      auto inner = alternation(depth + 1);
      if (!inner)
        return inner;
      if (!more() || peek() != U')')
        return tl::unexpected(std::string("unbalanced '('"));
      ++m_pos;
      return inner;
    }
    case U'.':
      node->kind = Ast::Kind::set;
      node->negated = true;
      node->ranges.push_back({U'\n', U'\n'});
      return node;
    case U'^':
      node->kind = Ast::Kind::begin;
      return node;
    case U'$':
      node->kind = Ast::Kind::end;
      return node;
    case U'\\': {
      node->kind = Ast::Kind::set;
      auto ok = escape(node->ranges);
      if (!ok)
        return tl::unexpected(ok.error());
      return node;
    }
    case U'[':
      return character_class();
    case U'*':
    case U'+':
    case U'?':
      return tl::unexpected(std::string("a quantifier with nothing to repeat"));
    default:
      node->kind = Ast::Kind::set;
      node->ranges.push_back({c, c});
      return node;
    }
  }

  tl::expected<std::unique_ptr<Ast>, std::string> character_class() {
    auto node = std::make_unique<Ast>();
    node->kind = Ast::Kind::set;
    if (more() && peek() == U'^') {
      node->negated = true;
      ++m_pos;
    }
    bool first = true;
    while (true) {
      if (!more())
        return tl::unexpected(std::string("unterminated '['"));
      char32_t c = m_p[m_pos];
      if (c == U']' && !first) {
        ++m_pos;
        break;
      }
      first = false;
      ++m_pos;
      if (c == U'[' && more() && (peek() == U':' || peek() == U'=' || peek() == U'.'))
        return tl::unexpected(std::string("POSIX classes are not supported"));
      if (c == U'\\') {
        std::vector<Range> escaped;
        auto ok = escape(escaped);
        if (!ok)
          return tl::unexpected(ok.error());
        if (escaped.size() != 1 || escaped[0].low != escaped[0].high) {
          node->ranges.insert(node->ranges.end(), escaped.begin(), escaped.end());
          continue;
        }
        c = escaped[0].low;
      }
      char32_t high = c;
      if (m_pos + 1 < m_p.size() && m_p[m_pos] == U'-' && m_p[m_pos + 1] != U']') {
        m_pos += 1;
        high = m_p[m_pos++];
        if (high == U'\\') {
          std::vector<Range> escaped;
          auto ok = escape(escaped);
          if (!ok)
            return tl::unexpected(ok.error());
          if (escaped.size() != 1 || escaped[0].low != escaped[0].high)
            return tl::unexpected(std::string("a class cannot end a range"));
          high = escaped[0].low;
        }
        if (high < c)
          return tl::unexpected(std::string("a range out of order in [...]"));
      }
      node->ranges.push_back({c, high});
    }
    return node;
  }

  std::vector<char32_t> m_p;
  std::size_t m_pos = 0;
};

} // namespace

class RegexCompiler {
public:
  explicit RegexCompiler(Regex& regex) : m_regex(regex) {}

  tl::expected<void, std::string> emit(const Ast& ast) {
    if (m_regex.m_program.size() > k_max_program)
      return tl::unexpected(std::string("the pattern is too large"));
    auto& program = m_regex.m_program;
    switch (ast.kind) {
    case Ast::Kind::empty:
      return {};
    case Ast::Kind::begin:
      program.push_back({Op::begin});
      return {};
    case Ast::Kind::end:
      program.push_back({Op::end});
      return {};
    case Ast::Kind::set: {
      Instruction instruction{Op::set};
      instruction.negated = ast.negated;
      instruction.x = static_cast<std::uint32_t>(m_regex.m_ranges.size());
      instruction.y = static_cast<std::uint32_t>(ast.ranges.size());
      m_regex.m_ranges.insert(m_regex.m_ranges.end(), ast.ranges.begin(), ast.ranges.end());
      program.push_back(instruction);
      return {};
    }
    case Ast::Kind::concat:
      for (const auto& child : ast.children) {
        auto ok = emit(*child);
        if (!ok)
          return ok;
      }
      return {};
    case Ast::Kind::alternate: {
      // split L1, next; L1: a; jump end; next: split L2, ... ; last alternative
      std::vector<std::size_t> jumps;
      for (std::size_t i = 0; i < ast.children.size(); ++i) {
        if (i + 1 < ast.children.size()) {
          const auto split = program.size();
          program.push_back({Op::split});
          program[split].x = static_cast<std::uint32_t>(program.size());
          auto ok = emit(*ast.children[i]);
          if (!ok)
            return ok;
          jumps.push_back(program.size());
          program.push_back({Op::jump});
          program[split].y = static_cast<std::uint32_t>(program.size());
        } else {
          auto ok = emit(*ast.children[i]);
          if (!ok)
            return ok;
        }
      }
      for (const auto jump : jumps)
        program[jump].x = static_cast<std::uint32_t>(program.size());
      return {};
    }
    case Ast::Kind::repeat: {
      const Ast& child = *ast.children.front();
      for (int i = 0; i < ast.min; ++i) {
        auto ok = emit(child);
        if (!ok)
          return ok;
      }
      if (ast.max < 0) {
        // L: split body, end; body; jump L
        const auto loop = program.size();
        program.push_back({Op::split});
        program[loop].x = static_cast<std::uint32_t>(program.size());
        auto ok = emit(child);
        if (!ok)
          return ok;
        program.push_back({Op::jump, false, static_cast<std::uint32_t>(loop)});
        program[loop].y = static_cast<std::uint32_t>(program.size());
        return {};
      }
      std::vector<std::size_t> splits;
      for (int i = ast.min; i < ast.max; ++i) {
        splits.push_back(program.size());
        program.push_back({Op::split});
        program[splits.back()].x = static_cast<std::uint32_t>(program.size());
        auto ok = emit(child);
        if (!ok)
          return ok;
      }
      for (const auto split : splits)
        program[split].y = static_cast<std::uint32_t>(program.size());
      return {};
    }
    }
    return {};
  }

private:
  Regex& m_regex;
};

tl::expected<Regex, std::string> Regex::compile(std::string_view pattern) {
  Parser parser(decode(pattern));
  auto ast = parser.parse();
  if (!ast)
    return tl::unexpected(ast.error());
  Regex regex;
  RegexCompiler compiler(regex);
  auto ok = compiler.emit(**ast);
  if (!ok)
    return tl::unexpected(ok.error());
  if (regex.m_program.size() > k_max_program)
    return tl::unexpected(std::string("the pattern is too large"));
  regex.m_program.push_back({Op::match});
  return regex;
}

bool Regex::full_match(std::string_view text) const {
  const auto input = decode(text);
  const std::size_t n = m_program.size();
  std::vector<std::uint32_t> current;
  std::vector<std::uint32_t> next;
  std::vector<std::size_t> seen(n, static_cast<std::size_t>(-1));
  std::vector<std::uint32_t> stack;
  // Adds `pc` and what it reaches without consuming input, at position `pos`.
  const auto add = [&](std::vector<std::uint32_t>& list, std::uint32_t start, std::size_t pos,
                       std::size_t generation) {
    stack.push_back(start);
    while (!stack.empty()) {
      const auto pc = stack.back();
      stack.pop_back();
      if (seen[pc] == generation)
        continue;
      seen[pc] = generation;
      const auto& instruction = m_program[pc];
      switch (instruction.op) {
      case Op::jump:
        stack.push_back(instruction.x);
        break;
      case Op::split:
        stack.push_back(instruction.y);
        stack.push_back(instruction.x);
        break;
      case Op::begin:
        if (pos == 0)
          stack.push_back(pc + 1);
        break;
      case Op::end:
        if (pos == input.size())
          stack.push_back(pc + 1);
        break;
      default:
        list.push_back(pc);
        break;
      }
    }
  };
  add(current, 0, 0, 0);
  for (std::size_t pos = 0; pos < input.size(); ++pos) {
    next.clear();
    const char32_t c = input[pos];
    for (const auto pc : current) {
      const auto& instruction = m_program[pc];
      if (instruction.op != Op::set)
        continue;
      bool in = false;
      for (std::uint32_t r = 0; r < instruction.y; ++r) {
        const auto& range = m_ranges[instruction.x + r];
        if (c >= range.low && c <= range.high) {
          in = true;
          break;
        }
      }
      if (in != instruction.negated)
        add(next, pc + 1, pos + 1, pos + 1);
    }
    current.swap(next);
    if (current.empty())
      return false;
  }
  for (const auto pc : current)
    if (m_program[pc].op == Op::match)
      return true;
  return false;
}

} // namespace wisp::sam::detail
