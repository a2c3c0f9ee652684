#include <wisp/aws/xml.hpp>

#include <wisp/support/strings.hpp>

namespace wisp::aws {

const XmlNode* XmlNode::child(std::string_view child_name) const {
  for (const auto& node : children)
    if (node.name == child_name)
      return &node;
  return nullptr;
}

std::vector<const XmlNode*> XmlNode::all(std::string_view child_name) const {
  std::vector<const XmlNode*> out;
  for (const auto& node : children)
    if (node.name == child_name)
      out.push_back(&node);
  return out;
}

std::string XmlNode::text_at(std::string_view path) const {
  const XmlNode* node = this;
  for (const auto& part : support::split(path, '/')) {
    node = node->child(part);
    if (node == nullptr)
      return {};
  }
  return node->text;
}

const XmlNode* XmlNode::find(std::string_view descendant) const {
  for (const auto& node : children) {
    if (node.name == descendant)
      return &node;
    if (const auto* found = node.find(descendant))
      return found;
  }
  return nullptr;
}

namespace {

constexpr int k_max_depth = 256;

class Parser {
public:
  explicit Parser(std::string_view text) : m_text(text) {}

  std::optional<XmlNode> document() {
    skip_misc();
    if (!peek('<'))
      return std::nullopt;
    XmlNode root;
    if (!element(root, 0))
      return std::nullopt;
    skip_misc();
    if (m_pos != m_text.size())
      return std::nullopt;
    return root;
  }

private:
  bool peek(char c) const { return m_pos < m_text.size() && m_text[m_pos] == c; }
  bool starts(std::string_view s) const { return m_text.substr(m_pos).starts_with(s); }

  void skip_space() {
    while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\t' ||
                                     m_text[m_pos] == '\n' || m_text[m_pos] == '\r'))
      ++m_pos;
  }

  // Skips whitespace, <?...?>, <!--...-->, <!DOCTYPE ...>.
  bool skip_misc() {
    while (true) {
      skip_space();
      if (starts("<?")) {
        if (!skip_past("?>"))
          return false;
      } else if (starts("<!--")) {
        if (!skip_past("-->"))
          return false;
      } else if (starts("<!DOCTYPE") || starts("<!doctype")) {
        if (!skip_past(">"))
          return false;
      } else {
        return true;
      }
    }
  }

  bool skip_past(std::string_view end) {
    const auto found = m_text.find(end, m_pos);
    if (found == std::string_view::npos) {
      m_pos = m_text.size();
      return false;
    }
    m_pos = found + end.size();
    return true;
  }

  static bool name_char(char c) {
    return c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '>' && c != '/' && c != '=' &&
           c != '<';
  }

  std::string name() {
    const auto start = m_pos;
    while (m_pos < m_text.size() && name_char(m_text[m_pos]))
      ++m_pos;
    auto full = m_text.substr(start, m_pos - start);
    if (const auto colon = full.find(':'); colon != std::string_view::npos)
      full = full.substr(colon + 1);
    return std::string(full);
  }

  bool decode_text(std::string_view raw, std::string& out) {
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '&') {
        out += raw[i];
        continue;
      }
      const auto semi = raw.find(';', i);
      if (semi == std::string_view::npos)
        return false;
      const auto entity = raw.substr(i + 1, semi - i - 1);
      if (entity == "amp")
        out += '&';
      else if (entity == "lt")
        out += '<';
      else if (entity == "gt")
        out += '>';
      else if (entity == "quot")
        out += '"';
      else if (entity == "apos")
        out += '\'';
      else if (entity.size() > 1 && entity[0] == '#') {
        unsigned long code = 0;
        const bool hex = entity[1] == 'x' || entity[1] == 'X';
        const auto digits = entity.substr(hex ? 2 : 1);
        if (digits.empty() || digits.size() > 8)
          return false;
        for (const char c : digits) {
          int v = -1;
          if (c >= '0' && c <= '9')
            v = c - '0';
          else if (hex && c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
          else if (hex && c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
          if (v < 0)
            return false;
          code = code * (hex ? 16u : 10u) + static_cast<unsigned long>(v);
        }
        append_utf8(out, code);
      } else {
        return false;
      }
      i = semi;
    }
    return true;
  }

  static void append_utf8(std::string& out, unsigned long code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code <= 0x10FFFF) {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  // At '<' of a start tag.
  bool element(XmlNode& node, int depth) {
    if (depth > k_max_depth)
      return false;
    ++m_pos; // '<'
    node.name = name();
    if (node.name.empty())
      return false;
    // Attributes: skipped (quoted values may contain '>').
    while (true) {
      skip_space();
      if (m_pos >= m_text.size())
        return false;
      const char c = m_text[m_pos];
      if (c == '/') {
        if (!starts("/>"))
          return false;
        m_pos += 2;
        return true;
      }
      if (c == '>') {
        ++m_pos;
        break;
      }
      if (c == '"' || c == '\'') {
        const auto close = m_text.find(c, m_pos + 1);
        if (close == std::string_view::npos)
          return false;
        m_pos = close + 1;
      } else {
        ++m_pos;
      }
    }
    // Content.
    while (true) {
      if (m_pos >= m_text.size())
        return false;
      if (starts("</")) {
        m_pos += 2;
        const auto closing = name();
        skip_space();
        if (closing != node.name || !peek('>'))
          return false;
        ++m_pos;
        return true;
      }
      if (starts("<!--")) {
        if (!skip_past("-->"))
          return false;
        continue;
      }
      if (starts("<![CDATA[")) {
        const auto start = m_pos + 9;
        const auto end = m_text.find("]]>", start);
        if (end == std::string_view::npos)
          return false;
        node.text.append(m_text.substr(start, end - start));
        m_pos = end + 3;
        continue;
      }
      if (starts("<?")) {
        if (!skip_past("?>"))
          return false;
        continue;
      }
      if (peek('<')) {
        XmlNode child;
        if (!element(child, depth + 1))
          return false;
        node.children.push_back(std::move(child));
        continue;
      }
      const auto next = m_text.find('<', m_pos);
      if (next == std::string_view::npos)
        return false;
      if (!decode_text(m_text.substr(m_pos, next - m_pos), node.text))
        return false;
      m_pos = next;
    }
  }

  std::string_view m_text;
  std::size_t m_pos = 0;
};

} // namespace

std::optional<XmlNode> parse_xml(std::string_view text) {
  Parser parser(text);
  auto node = parser.document();
  if (node) {
    // Whitespace-only text of elements with children is formatting, not data.
    auto strip = [](auto& self, XmlNode& n) -> void {
      if (!n.children.empty() && support::trim(n.text).empty())
        n.text.clear();
      for (auto& c : n.children)
        self(self, c);
    };
    strip(strip, *node);
  }
  return node;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&apos;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

} // namespace wisp::aws
