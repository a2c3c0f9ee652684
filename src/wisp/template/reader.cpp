#include <wisp/template/reader.hpp>

#include <wisp/support/strings.hpp>
#include <wisp/template/scalar.hpp>

#include <fmt/format.h>
#include <yaml.h>

#include <algorithm>
#include <array>
#include <numeric>
#include <unordered_map>
#include <utility>

namespace wisp::sam::detail {

namespace {

// ---------------------------------------------------------------------------------------
// Shared pieces

struct Abort {}; // thrown inside the readers to stop at a fatal problem (already reported)

// Short-form tag → long-form key: "!Ref" → "Ref", "!Sub" → "Fn::Sub". Empty when unknown.
std::string_view intrinsic_for_tag(std::string_view tag) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 22> k_tags{{
      {"!Ref", "Ref"},
      {"!Condition", "Condition"},
      {"!GetAtt", "Fn::GetAtt"},
      {"!Sub", "Fn::Sub"},
      {"!Join", "Fn::Join"},
      {"!If", "Fn::If"},
      {"!Select", "Fn::Select"},
      {"!Split", "Fn::Split"},
      {"!FindInMap", "Fn::FindInMap"},
      {"!Base64", "Fn::Base64"},
      {"!Equals", "Fn::Equals"},
      {"!And", "Fn::And"},
      {"!Or", "Fn::Or"},
      {"!Not", "Fn::Not"},
      {"!ImportValue", "Fn::ImportValue"},
      {"!GetAZs", "Fn::GetAZs"},
      {"!Cidr", "Fn::Cidr"},
      {"!Transform", "Fn::Transform"},
      {"!ToJsonString", "Fn::ToJsonString"},
      {"!Length", "Fn::Length"},
      {"!ForEach", "Fn::ForEach"},
      {"!ValueOf", "Fn::ValueOf"},
  }};
  for (const auto& [short_form, long_form] : k_tags)
    if (short_form == tag)
      return long_form;
  return {};
}

constexpr std::string_view k_yaml_tag_prefix = "tag:yaml.org,2002:";

// Wraps `value` as {key: value}, the long form of a short-form tag.
Node wrap_intrinsic(std::string_view key, Node value, Mark mark) {
  if (key == "Fn::GetAtt" && value.is_string()) {
    // !GetAtt Resource.Attribute (the attribute may contain dots: Outputs.Name).
    const auto dot = value.text.find('.');
    Node list(NodeKind::sequence, value.mark);
    if (dot == std::string::npos) {
      list.items.push_back(std::move(value));
    } else {
      list.items.emplace_back(NodeKind::string, value.mark, value.text.substr(0, dot));
      Mark attribute_mark = value.mark;
      attribute_mark.column += static_cast<int>(dot) + 1;
      list.items.emplace_back(NodeKind::string, attribute_mark, value.text.substr(dot + 1));
    }
    value = std::move(list);
  }
  Node wrapper(NodeKind::mapping, mark);
  wrapper.entries.push_back(Entry{std::string(key), mark, std::move(value)});
  return wrapper;
}

// Sorts out duplicate keys of a finished mapping: warns at each repeat and keeps the last
// value in the place of the first key, as CloudFormation, the SAM CLI and the AWS CLI read
// such a template (PyYAML and JSON parsers: a dict, the last assignment wins). cfn-lint
// refuses it (E0000); CloudFormation deploys it.
void check_duplicate_keys(Node& mapping, const std::string& file, support::Diagnostics& diags) {
  auto& entries = mapping.entries;
  if (entries.size() < 2)
    return;
  if (entries.size() <= 16) {
    // Small mappings (nearly all of them): a quadratic scan without allocating.
    bool any = false;
    for (std::size_t i = 1; i < entries.size() && !any; ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (entries[i].key == entries[j].key) {
          any = true;
          break;
        }
    if (!any)
      return;
  }
  std::vector<std::size_t> order(entries.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return entries[a].key < entries[b].key; });
  std::vector<bool> drop(entries.size(), false);
  bool any = false;
  std::size_t group_start = 0;
  for (std::size_t i = 1; i <= order.size(); ++i) {
    if (i < order.size() && entries[order[i]].key == entries[order[i - 1]].key)
      continue;
    // order[group_start, i) is one key in document order (the sort is stable).
    if (i - group_start > 1) {
      const std::size_t first = order[group_start];
      const std::size_t last = order[i - 1];
      for (std::size_t k = group_start + 1; k < i; ++k) {
        const auto& repeat = entries[order[k]];
        diags.warning(file, repeat.key_mark.line, repeat.key_mark.column, "duplicate-key",
                      fmt::format("duplicate key '{}' (first defined at line {}): the last one "
                                  "wins, as CloudFormation and SAM read it",
                                  repeat.key, entries[first].key_mark.line));
        drop[order[k]] = true;
      }
      entries[first].key_mark = entries[last].key_mark;
      entries[first].value = std::move(entries[last].value);
      any = true;
    }
    group_start = i;
  }
  if (!any)
    return;
  std::vector<Entry, NodeAllocator<Entry>> kept;
  kept.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i)
    if (!drop[i])
      kept.push_back(std::move(entries[i]));
  entries = std::move(kept);
}

// ---------------------------------------------------------------------------------------
// YAML (libyaml events)

class YamlReader {
public:
  YamlReader(std::string_view text, const std::string& file, support::Diagnostics& diags,
             const ReadLimits& limits)
      : m_text(text), m_file(file), m_diags(diags), m_limits(limits) {}

  std::optional<Node> read() {
    yaml_parser_t parser;
    if (yaml_parser_initialize(&parser) == 0)
      throw std::bad_alloc();
    yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(m_text.data()),
                                 m_text.size());
    std::optional<Node> result;
    try {
      run(parser);
      if (m_documents == 0) {
        m_diags.error(m_file, 1, 1, "template-empty", "the template is empty");
      } else {
        result = std::move(m_root);
      }
    } catch (const Abort&) {
      result.reset();
    }
    yaml_parser_delete(&parser);
    return result;
  }

private:
  struct Frame {
    Node node;
    std::string intrinsic; // long-form key of a short-form tag on this collection
    std::string anchor;
    bool have_key = false;
    bool key_is_merge = false;
    bool key_invalid = false;
    std::string key;
    Mark key_mark;
    std::vector<Node> merges;
  };

  static Mark mark_of(const yaml_mark_t& mark) {
    return {static_cast<int>(mark.line) + 1, static_cast<int>(mark.column) + 1};
  }

  [[noreturn]] void fatal(Mark mark, std::string code, std::string message) {
    m_diags.error(m_file, mark.line, mark.column, std::move(code), std::move(message));
    throw Abort{};
  }

  void syntax_error(const yaml_parser_t& parser) {
    std::string message = parser.problem != nullptr ? parser.problem : "invalid YAML";
    Mark mark = mark_of(parser.problem_mark);
    if (parser.context != nullptr) {
      const Mark context = mark_of(parser.context_mark);
      message +=
          fmt::format(" ({} at line {}, column {})", parser.context, context.line, context.column);
    }
    if (parser.error == YAML_READER_ERROR) {
      // Reader errors have an offset, not a line; find its line and column ourselves.
      mark = mark_at_offset(parser.problem_offset);
    }
    fatal(mark, "yaml-syntax", "YAML syntax error: " + message);
  }

  Mark mark_at_offset(std::size_t offset) const {
    Mark mark{1, 1};
    for (std::size_t i = 0; i < offset && i < m_text.size(); ++i) {
      if (m_text[i] == '\n') {
        ++mark.line;
        mark.column = 1;
      } else if ((static_cast<unsigned char>(m_text[i]) & 0xC0u) != 0x80u) {
        ++mark.column;
      }
    }
    return mark;
  }

  void run(yaml_parser_t& parser) {
    while (true) {
      yaml_event_t event;
      if (yaml_parser_parse(&parser, &event) == 0)
        syntax_error(parser);
      struct Guard {
        yaml_event_t* e;
        ~Guard() { yaml_event_delete(e); }
      } guard{&event};
      const Mark mark = mark_of(event.start_mark);
      switch (event.type) {
      case YAML_STREAM_END_EVENT:
        return;
      case YAML_DOCUMENT_START_EVENT:
        if (++m_documents > 1)
          fatal(mark, "yaml-multiple-documents",
                "a template is one YAML document, but a second one starts here");
        break;
      case YAML_SCALAR_EVENT:
        on_scalar(event, mark);
        break;
      case YAML_ALIAS_EVENT:
        on_alias(reinterpret_cast<const char*>(event.data.alias.anchor), mark);
        break;
      case YAML_SEQUENCE_START_EVENT:
        push(NodeKind::sequence, mark, event.data.sequence_start.tag,
             event.data.sequence_start.anchor);
        break;
      case YAML_MAPPING_START_EVENT:
        push(NodeKind::mapping, mark, event.data.mapping_start.tag,
             event.data.mapping_start.anchor);
        break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        pop();
        break;
      default:
        break;
      }
    }
  }

  static std::string to_string(const yaml_char_t* text) {
    return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text));
  }

  // Resolves a collection's or scalar's tag: the short-form intrinsic key it stands for,
  // or empty (standard and non-specific tags). Unknown tags are reported.
  std::string tag_intrinsic(const std::string& tag, Mark mark, bool scalar, NodeKind* forced) {
    if (tag.empty() || tag == "!" || tag == "?")
      return {};
    if (const auto key = intrinsic_for_tag(tag); !key.empty())
      return std::string(key);
    if (tag.starts_with(k_yaml_tag_prefix)) {
      const auto name = std::string_view(tag).substr(k_yaml_tag_prefix.size());
      if (scalar) {
        if (name == "str" || name == "binary" || name == "timestamp") {
          *forced = NodeKind::string;
          return {};
        }
        if (name == "int" || name == "float") {
          *forced = NodeKind::number;
          return {};
        }
        if (name == "bool") {
          *forced = NodeKind::boolean;
          return {};
        }
        if (name == "null") {
          *forced = NodeKind::null;
          return {};
        }
      } else if (name == "seq" || name == "map") {
        return {};
      }
    }
    m_diags.error(m_file, mark.line, mark.column, "yaml-tag", fmt::format("unknown tag '{}'", tag));
    return {};
  }

  void on_scalar(const yaml_event_t& event, Mark mark) {
    const auto& scalar = event.data.scalar;
    if (scalar.length > m_limits.max_scalar)
      fatal(mark, "limit-scalar",
            fmt::format("a scalar of {} bytes is longer than the limit of {} bytes", scalar.length,
                        m_limits.max_scalar));
    std::string value(reinterpret_cast<const char*>(scalar.value), scalar.length);
    const std::string tag = to_string(scalar.tag);
    const bool plain = scalar.style == YAML_PLAIN_SCALAR_STYLE;
    const bool is_key =
        !m_frames.empty() && m_frames.back().node.is_mapping() && !m_frames.back().have_key;
    if (is_key && tag.empty()) {
      deliver_key(std::move(value), mark, plain && value == "<<");
      return;
    }
    NodeKind forced = NodeKind::no_value;
    const auto intrinsic = tag_intrinsic(tag, mark, true, &forced);
    Node node(NodeKind::string, mark, std::move(value));
    if (forced != NodeKind::no_value) {
      node.kind = forced;
      if (forced == NodeKind::boolean)
        node.text = yaml11_bool(node.text).value_or(false) ? "true" : "false";
      else if (forced == NodeKind::null)
        node.text.clear();
    } else if (plain && tag.empty()) {
      classify_plain(node);
    } else if (plain && !intrinsic.empty() && intrinsic != "Ref" && intrinsic != "Condition" &&
               intrinsic != "Fn::GetAtt") {
      classify_plain(node);
    }
    const std::string anchor = to_string(scalar.anchor);
    if (!intrinsic.empty())
      node = wrap_intrinsic(intrinsic, std::move(node), mark);
    if (!anchor.empty())
      remember_anchor(anchor, node);
    deliver(std::move(node));
  }

  void on_alias(const char* anchor, Mark mark) {
    const auto it = m_anchors.find(anchor);
    if (it == m_anchors.end())
      fatal(mark, "yaml-alias",
            fmt::format("alias '*{}' names no anchor defined before it", anchor));
    spend(it->second.count(), mark);
    Node copy = it->second;
    copy.mark = mark;
    const bool is_key =
        !m_frames.empty() && m_frames.back().node.is_mapping() && !m_frames.back().have_key;
    if (is_key && copy.is_scalar()) {
      deliver_key(scalar_text(copy), mark, false);
      return;
    }
    deliver(std::move(copy));
  }

  void spend(std::size_t nodes, Mark mark) {
    m_alias_nodes += nodes;
    if (m_alias_nodes > m_limits.max_alias_nodes)
      fatal(mark, "limit-alias",
            fmt::format("aliases expand to more than {} nodes (an alias bomb?)",
                        m_limits.max_alias_nodes));
  }

  void remember_anchor(const std::string& anchor, const Node& node) {
    spend(node.count(), node.mark);
    m_anchors[anchor] = node;
  }

  void push(NodeKind kind, Mark mark, const yaml_char_t* tag, const yaml_char_t* anchor) {
    if (m_frames.size() >= m_limits.max_depth)
      fatal(mark, "limit-depth",
            fmt::format("the document nests deeper than {} levels", m_limits.max_depth));
    Frame frame;
    frame.node = Node(kind, mark);
    NodeKind forced = NodeKind::no_value;
    frame.intrinsic = tag_intrinsic(to_string(tag), mark, false, &forced);
    frame.anchor = to_string(anchor);
    m_frames.push_back(std::move(frame));
  }

  void pop() {
    Frame frame = std::move(m_frames.back());
    m_frames.pop_back();
    Node node = std::move(frame.node);
    if (node.is_mapping()) {
      check_duplicate_keys(node, m_file, m_diags);
      apply_merges(node, frame.merges);
    }
    if (!frame.intrinsic.empty())
      node = wrap_intrinsic(frame.intrinsic, std::move(node), node.mark);
    if (!frame.anchor.empty())
      remember_anchor(frame.anchor, node);
    deliver(std::move(node));
  }

  // `<<` merge keys: keys of the merged mappings that the mapping lacks are added, the
  // earlier merged mapping winning over later ones (YAML 1.1 merge semantics).
  static void apply_merges(Node& mapping, std::vector<Node>& merges) {
    for (auto& source : merges) {
      for (auto& entry : source.entries) {
        if (mapping.find_entry(entry.key) == nullptr)
          mapping.entries.push_back(std::move(entry));
      }
    }
  }

  void deliver_key(std::string key, Mark mark, bool merge) {
    auto& frame = m_frames.back();
    frame.have_key = true;
    frame.key = std::move(key);
    frame.key_mark = mark;
    frame.key_is_merge = merge;
    frame.key_invalid = false;
  }

  void deliver(Node node) {
    if (m_frames.empty()) {
      m_root = std::move(node);
      return;
    }
    auto& frame = m_frames.back();
    if (frame.node.is_sequence()) {
      frame.node.items.push_back(std::move(node));
      return;
    }
    if (!frame.have_key) {
      // A key that is not a plain string: a mapping, a list, or a tagged scalar.
      frame.have_key = true;
      frame.key_mark = node.mark;
      frame.key_is_merge = false;
      if (node.is_scalar() || node.is_null()) {
        frame.key = scalar_text(node);
        frame.key_invalid = false;
      } else {
        m_diags.error(
            m_file, node.mark.line, node.mark.column, "yaml-key",
            fmt::format("a mapping key must be a string, not a {}", kind_name(node.kind)));
        frame.key_invalid = true;
      }
      return;
    }
    frame.have_key = false;
    if (frame.key_invalid)
      return;
    if (frame.key_is_merge) {
      if (node.is_mapping()) {
        frame.merges.push_back(std::move(node));
      } else if (node.is_sequence() &&
                 std::all_of(node.items.begin(), node.items.end(),
                             [](const Node& item) { return item.is_mapping(); })) {
        for (auto& item : node.items)
          frame.merges.push_back(std::move(item));
      } else {
        m_diags.error(m_file, node.mark.line, node.mark.column, "yaml-merge",
                      "a '<<' merge key needs a mapping or a list of mappings");
      }
      return;
    }
    frame.node.entries.push_back(Entry{std::move(frame.key), frame.key_mark, std::move(node)});
  }

  static void classify_plain(Node& node) {
    if (is_yaml11_null(node.text)) {
      node.kind = NodeKind::null;
      node.text.clear();
    } else if (const auto boolean = yaml11_bool(node.text)) {
      node.kind = NodeKind::boolean;
      node.text = *boolean ? "true" : "false";
    } else if (is_yaml11_int(node.text) || is_yaml11_float(node.text)) {
      node.kind = NodeKind::number;
    }
  }

  std::string_view m_text;
  const std::string& m_file;
  support::Diagnostics& m_diags;
  const ReadLimits& m_limits;
  std::vector<Frame> m_frames;
  std::unordered_map<std::string, Node> m_anchors;
  std::size_t m_alias_nodes = 0;
  int m_documents = 0;
  Node m_root;
};

// ---------------------------------------------------------------------------------------
// JSON

class JsonReader {
public:
  JsonReader(std::string_view text, const std::string& file, support::Diagnostics& diags,
             const ReadLimits& limits)
      : m_text(text), m_file(file), m_diags(diags), m_limits(limits) {}

  // nullopt on a syntax error; the error is kept in `error()` rather than reported, so the
  // caller can fall back to YAML.
  std::optional<Node> read() {
    try {
      skip_ws();
      Node root = value(0);
      skip_ws();
      if (m_pos < m_text.size())
        fail("unexpected text after the JSON document");
      return root;
    } catch (const Abort&) {
      return std::nullopt;
    }
  }

  const support::Diagnostic& error() const { return m_error; }
  support::Diagnostics& semantic() { return m_semantic; }

private:
  [[noreturn]] void fail(std::string message) {
    const auto mark = here();
    m_error = support::Diagnostic{m_file,        mark.line,
                                  mark.column,   support::Severity::error,
                                  "json-syntax", "JSON syntax error: " + std::move(message)};
    throw Abort{};
  }

  Mark here() const {
    int column = 1;
    for (std::size_t i = m_line_start; i < m_pos && i < m_text.size(); ++i)
      if ((static_cast<unsigned char>(m_text[i]) & 0xC0u) != 0x80u)
        ++column;
    return {m_line, column};
  }

  void skip_ws() {
    while (m_pos < m_text.size()) {
      const char c = m_text[m_pos];
      if (c == '\n') {
        ++m_line;
        m_line_start = ++m_pos;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++m_pos;
      } else {
        break;
      }
    }
  }

  Node value(std::size_t depth) {
    if (depth >= m_limits.max_depth) {
      const auto mark = here();
      m_semantic.error(m_file, mark.line, mark.column, "limit-depth",
                       fmt::format("the document nests deeper than {} levels", m_limits.max_depth));
      m_fatal_semantic = true;
      fail("nesting too deep");
    }
    if (m_pos >= m_text.size())
      fail("unexpected end of input, expected a value");
    const Mark mark = here();
    const char c = m_text[m_pos];
    if (c == '{')
      return object(mark, depth);
    if (c == '[')
      return array(mark, depth);
    if (c == '"')
      return Node(NodeKind::string, mark, string());
    if (c == '-' || (c >= '0' && c <= '9'))
      return number(mark);
    if (literal("true"))
      return Node(NodeKind::boolean, mark, "true");
    if (literal("false"))
      return Node(NodeKind::boolean, mark, "false");
    if (literal("null"))
      return Node(NodeKind::null, mark);
    fail(fmt::format("unexpected character '{}'", printable(c)));
  }

  static std::string printable(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F)
      return fmt::format("\\x{:02x}", u);
    return std::string(1, c);
  }

  bool literal(std::string_view word) {
    if (m_text.substr(m_pos, word.size()) != word)
      return false;
    m_pos += word.size();
    return true;
  }

  Node object(Mark mark, std::size_t depth) {
    Node node(NodeKind::mapping, mark);
    ++m_pos;
    skip_ws();
    if (m_pos < m_text.size() && m_text[m_pos] == '}') {
      ++m_pos;
      return node;
    }
    while (true) {
      skip_ws();
      if (m_pos >= m_text.size() || m_text[m_pos] != '"')
        fail("expected a string key");
      const Mark key_mark = here();
      std::string key = string();
      skip_ws();
      if (m_pos >= m_text.size() || m_text[m_pos] != ':')
        fail("expected ':' after the key");
      ++m_pos;
      skip_ws();
      Node child = value(depth + 1);
      node.entries.push_back(Entry{std::move(key), key_mark, std::move(child)});
      skip_ws();
      if (m_pos < m_text.size() && m_text[m_pos] == ',') {
        ++m_pos;
        continue;
      }
      if (m_pos < m_text.size() && m_text[m_pos] == '}') {
        ++m_pos;
        break;
      }
      fail("expected ',' or '}'");
    }
    check_duplicate_keys(node, m_file, m_semantic);
    return node;
  }

  Node array(Mark mark, std::size_t depth) {
    Node node(NodeKind::sequence, mark);
    ++m_pos;
    skip_ws();
    if (m_pos < m_text.size() && m_text[m_pos] == ']') {
      ++m_pos;
      return node;
    }
    while (true) {
      skip_ws();
      node.items.push_back(value(depth + 1));
      skip_ws();
      if (m_pos < m_text.size() && m_text[m_pos] == ',') {
        ++m_pos;
        continue;
      }
      if (m_pos < m_text.size() && m_text[m_pos] == ']') {
        ++m_pos;
        break;
      }
      fail("expected ',' or ']'");
    }
    return node;
  }

  static int hex_digit(char c) {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  }

  unsigned hex4() {
    if (m_pos + 4 > m_text.size())
      fail("truncated \\u escape");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = hex_digit(m_text[m_pos++]);
      if (digit < 0)
        fail("invalid \\u escape");
      value = value * 16 + static_cast<unsigned>(digit);
    }
    return value;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string string() {
    ++m_pos; // opening quote
    std::string out;
    const std::size_t start = m_pos;
    while (true) {
      if (m_pos >= m_text.size())
        fail("unterminated string");
      const char c = m_text[m_pos];
      if (c == '"') {
        ++m_pos;
        break;
      }
      if (static_cast<unsigned char>(c) < 0x20)
        fail(c == '\n' ? "unterminated string (a newline inside a string must be written \\n)"
                       : "a control character inside a string must be escaped");
      if (c != '\\') {
        out += c;
        ++m_pos;
        continue;
      }
      ++m_pos;
      if (m_pos >= m_text.size())
        fail("unterminated string");
      const char e = m_text[m_pos++];
      switch (e) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        unsigned cp = hex4();
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (m_pos + 2 <= m_text.size() && m_text[m_pos] == '\\' && m_text[m_pos + 1] == 'u') {
            m_pos += 2;
            const unsigned low = hex4();
            if (low < 0xDC00 || low > 0xDFFF)
              fail("invalid surrogate pair in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else {
            fail("lone surrogate in \\u escape");
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          fail("lone surrogate in \\u escape");
        }
        append_utf8(out, cp);
        break;
      }
      default:
        --m_pos;
        fail(fmt::format("invalid escape '\\{}'", printable(e)));
      }
      if (m_pos - start > m_limits.max_scalar)
        break;
    }
    if (out.size() > m_limits.max_scalar) {
      const auto mark = here();
      m_semantic.error(m_file, mark.line, mark.column, "limit-scalar",
                       fmt::format("a scalar of {} bytes is longer than the limit of {} bytes",
                                   out.size(), m_limits.max_scalar));
      m_fatal_semantic = true;
      fail("scalar too long");
    }
    return out;
  }

  Node number(Mark mark) {
    const std::size_t start = m_pos;
    if (m_text[m_pos] == '-')
      ++m_pos;
    auto digits = [&] {
      const std::size_t from = m_pos;
      while (m_pos < m_text.size() && m_text[m_pos] >= '0' && m_text[m_pos] <= '9')
        ++m_pos;
      return m_pos - from;
    };
    const std::size_t int_start = m_pos;
    if (digits() == 0)
      fail("invalid number");
    if (m_pos - int_start > 1 && m_text[int_start] == '0')
      fail("invalid number (leading zero)");
    if (m_pos < m_text.size() && m_text[m_pos] == '.') {
      ++m_pos;
      if (digits() == 0)
        fail("invalid number (no digits after '.')");
    }
    if (m_pos < m_text.size() && (m_text[m_pos] == 'e' || m_text[m_pos] == 'E')) {
      ++m_pos;
      if (m_pos < m_text.size() && (m_text[m_pos] == '+' || m_text[m_pos] == '-'))
        ++m_pos;
      if (digits() == 0)
        fail("invalid number (no digits in the exponent)");
    }
    return Node(NodeKind::number, mark, std::string(m_text.substr(start, m_pos - start)));
  }

public:
  bool fatal_semantic() const { return m_fatal_semantic; }

private:
  std::string_view m_text;
  const std::string& m_file;
  support::Diagnostics& m_diags;
  const ReadLimits& m_limits;
  std::size_t m_pos = 0;
  int m_line = 1;
  std::size_t m_line_start = 0;
  support::Diagnostic m_error;
  support::Diagnostics m_semantic;
  bool m_fatal_semantic = false;
};

} // namespace

std::optional<Utf8Error> find_invalid_utf8(std::string_view text) {
  int line = 1;
  int column = 1;
  std::size_t i = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  while (i < n) {
    const unsigned char c = bytes[i];
    if (c < 0x80) {
      if (c == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
      ++i;
      continue;
    }
    const std::size_t length = support::utf8_sequence_length(text, i);
    if (length == 0)
      return Utf8Error{{line, column}, c};
    i += length;
    ++column;
  }
  return std::nullopt;
}

std::optional<Node> read_document(std::string_view text, const std::string& file,
                                  support::Diagnostics& diagnostics, const ReadLimits& limits) {
  if (const auto bad = find_invalid_utf8(text)) {
    diagnostics.error(
        file, bad->mark.line, bad->mark.column, "utf8",
        fmt::format("invalid UTF-8 (byte 0x{:02X}); a template must be UTF-8 text", bad->byte));
    return std::nullopt;
  }
  std::string_view body = text;
  if (body.starts_with("\xEF\xBB\xBF"))
    body.remove_prefix(3);
  const auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    diagnostics.error(file, 1, 1, "template-empty", "the template is empty");
    return std::nullopt;
  }
  if (body[first] == '{' || body[first] == '[') {
    JsonReader json(body, file, diagnostics, limits);
    if (auto node = json.read()) {
      diagnostics.append(json.semantic());
      return node;
    }
    if (json.fatal_semantic()) {
      diagnostics.append(json.semantic());
      return std::nullopt;
    }
    // Not JSON: unless the file says it is JSON, it may still be YAML in flow style (as
    // SAM CLI and CloudFormation read it). Report the JSON error unless it is.
    if (file.ends_with(".json")) {
      diagnostics.add(json.error());
      return std::nullopt;
    }
    support::Diagnostics yaml_diags;
    YamlReader yaml(text, file, yaml_diags, limits);
    if (auto node = yaml.read()) {
      diagnostics.append(yaml_diags);
      return node;
    }
    diagnostics.add(json.error());
    return std::nullopt;
  }
  YamlReader yaml(text, file, diagnostics, limits);
  return yaml.read();
}

} // namespace wisp::sam::detail
