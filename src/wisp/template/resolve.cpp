#include <wisp/support/hash.hpp>
#include <wisp/template/convert.hpp>
#include <wisp/template/resolve.hpp>
#include <wisp/template/scalar.hpp>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace wisp::sam::detail {

namespace {

Node string_node(Mark mark, std::string text) {
  return Node(NodeKind::string, mark, std::move(text));
}

Node symbolic(std::string_view key, Node arg, Mark mark) {
  Node node(NodeKind::mapping, mark);
  node.entries.push_back(Entry{std::string(key), mark, std::move(arg)});
  return node;
}

// A copy of `node` whose own mark (and its list items', for parameter lists) is `mark`.
Node at(Node node, Mark mark) {
  node.mark = mark;
  for (auto& item : node.items)
    item.mark = mark;
  return node;
}

std::vector<std::string> availability_zones(std::string_view region) {
  std::string letters = "abc";
  if (region == "us-east-1")
    letters = "abcdef";
  else if (region == "us-west-2" || region == "ap-northeast-1" || region == "ap-northeast-2")
    letters = "abcd";
  std::vector<std::string> zones;
  for (const char letter : letters)
    zones.push_back(std::string(region) + letter);
  return zones;
}

// "${" in text that is meant literally, escaped for a Fn::Sub string that stays symbolic.
std::string escape_sub(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      out += "{!";
      ++i;
    }
  }
  return out;
}

} // namespace

std::string partition_of(std::string_view region) {
  if (region.starts_with("cn-"))
    return "aws-cn";
  if (region.starts_with("us-gov-"))
    return "aws-us-gov";
  if (region.starts_with("us-iso-"))
    return "aws-iso";
  if (region.starts_with("us-isob-"))
    return "aws-iso-b";
  return "aws";
}

bool is_pseudo_parameter(std::string_view name) {
  return name == "AWS::Region" || name == "AWS::AccountId" || name == "AWS::StackName" ||
         name == "AWS::StackId" || name == "AWS::Partition" || name == "AWS::URLSuffix" ||
         name == "AWS::NotificationARNs" || name == "AWS::NoValue";
}

std::optional<Node> pseudo_value(const Scope& scope, std::string_view name, Mark mark) {
  if (name == "AWS::Region")
    return string_node(mark, scope.region);
  if (name == "AWS::AccountId")
    return string_node(mark, scope.account_id);
  if (name == "AWS::StackName")
    return string_node(mark, scope.stack_name);
  if (name == "AWS::StackId")
    return string_node(mark, fmt::format("arn:{}:cloudformation:{}:{}:stack/{}/"
                                         "00000000-0000-0000-0000-000000000000",
                                         partition_of(scope.region), scope.region, scope.account_id,
                                         scope.stack_name));
  if (name == "AWS::Partition")
    return string_node(mark, partition_of(scope.region));
  if (name == "AWS::URLSuffix")
    return string_node(mark,
                       scope.region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com");
  if (name == "AWS::NotificationARNs")
    return Node(NodeKind::sequence, mark);
  if (name == "AWS::NoValue")
    return Node(NodeKind::no_value, mark);
  return std::nullopt;
}

bool is_resolved(const Node& node) {
  if (!node.intrinsic(false).empty())
    return false;
  for (const auto& item : node.items)
    if (!is_resolved(item))
      return false;
  for (const auto& entry : node.entries)
    if (!is_resolved(entry.value))
      return false;
  return true;
}

std::optional<std::vector<SubPart>> parse_sub(std::string_view text, std::string* error) {
  std::vector<SubPart> parts;
  std::string literal;
  std::size_t literal_offset = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      if (i + 2 < text.size() && text[i + 2] == '!') {
        literal += "${";
        i += 3;
        continue;
      }
      const auto close = text.find('}', i + 2);
      if (close == std::string_view::npos) {
        if (error != nullptr)
          *error = fmt::format("unterminated '${{' at offset {} of the Fn::Sub string", i);
        return std::nullopt;
      }
      if (!literal.empty())
        parts.push_back(SubPart{false, std::move(literal), literal_offset});
      literal.clear();
      std::string name(text.substr(i + 2, close - i - 2));
      if (name.empty()) {
        if (error != nullptr)
          *error = "empty variable '${}' in the Fn::Sub string";
        return std::nullopt;
      }
      parts.push_back(SubPart{true, std::move(name), i});
      i = close + 1;
      literal_offset = i;
      continue;
    }
    literal += text[i++];
  }
  if (!literal.empty())
    parts.push_back(SubPart{false, std::move(literal), literal_offset});
  return parts;
}

void Resolver::error(Mark mark, std::string message) {
  m_diags.error(m_file, mark.line, mark.column, "intrinsic", std::move(message));
}

Node Resolver::resolve(const Node& node) {
  switch (node.kind) {
  case NodeKind::sequence: {
    Node out(NodeKind::sequence, node.mark);
    out.items.reserve(node.items.size());
    for (const auto& item : node.items) {
      Node resolved = resolve(item);
      if (resolved.kind != NodeKind::no_value)
        out.items.push_back(std::move(resolved));
    }
    return out;
  }
  case NodeKind::mapping: {
    if (const auto key = node.intrinsic(false); !key.empty())
      return resolve_intrinsic(key, node.entries.front().value, node);
    Node out(NodeKind::mapping, node.mark);
    out.entries.reserve(node.entries.size());
    for (const auto& entry : node.entries) {
      Node resolved = resolve(entry.value);
      if (resolved.kind != NodeKind::no_value)
        out.entries.push_back(Entry{entry.key, entry.key_mark, std::move(resolved)});
    }
    return out;
  }
  default:
    return node;
  }
}

Node Resolver::resolve_ref(const Node& arg, const Node& whole) {
  if (!arg.is_string())
    return whole; // the reference check reports the shape
  const auto& name = arg.text;
  if (auto pseudo = pseudo_value(m_scope, name, whole.mark))
    return std::move(*pseudo);
  if (const auto it = m_scope.parameters.find(name); it != m_scope.parameters.end()) {
    if (it->second.value)
      return at(*it->second.value, whole.mark);
  }
  return whole;
}

Node Resolver::resolve_sub(const Node& arg, const Node& whole) {
  const Node* text_node = &arg;
  Node variables(NodeKind::mapping, arg.mark);
  if (arg.is_sequence()) {
    if (arg.items.size() != 2 || !arg.items[0].is_string() || !arg.items[1].is_mapping())
      return whole; // reported by the reference check
    text_node = &arg.items[0];
    for (const auto& entry : arg.items[1].entries)
      variables.entries.push_back(Entry{entry.key, entry.key_mark, resolve(entry.value)});
  } else if (!arg.is_string()) {
    return whole;
  }
  const auto parts = parse_sub(text_node->text, nullptr);
  if (!parts)
    return whole;
  std::string full;    // when everything resolves
  std::string partial; // otherwise: a Fn::Sub string with what is known substituted
  Node kept_variables(NodeKind::mapping, arg.mark);
  bool complete = true;
  for (const auto& part : *parts) {
    if (!part.variable) {
      full += part.text;
      partial += escape_sub(part.text);
      continue;
    }
    const auto& name = part.text;
    std::optional<std::string> value;
    if (const Node* variable = variables.find(name)) {
      if (variable->is_scalar()) {
        value = variable->text;
      } else if (!variable->is_sequence() && !variable->is_mapping()) {
        value = std::string();
      } else {
        kept_variables.entries.push_back(Entry{name, variable->mark, *variable});
      }
    } else if (name.find('.') == std::string::npos) {
      if (auto pseudo = pseudo_value(m_scope, name, whole.mark); pseudo && pseudo->is_string()) {
        value = pseudo->text;
      } else if (const auto it = m_scope.parameters.find(name); it != m_scope.parameters.end() &&
                                                                it->second.value &&
                                                                it->second.value->is_scalar()) {
        value = it->second.value->text;
      }
    }
    if (value) {
      full += *value;
      partial += escape_sub(*value);
    } else {
      complete = false;
      partial += "${" + name + "}";
    }
  }
  if (complete)
    return string_node(whole.mark, std::move(full));
  if (kept_variables.entries.empty())
    return symbolic("Fn::Sub", string_node(text_node->mark, std::move(partial)), whole.mark);
  Node list(NodeKind::sequence, arg.mark);
  list.items.push_back(string_node(text_node->mark, std::move(partial)));
  list.items.push_back(std::move(kept_variables));
  return symbolic("Fn::Sub", std::move(list), whole.mark);
}

Node Resolver::resolve_find_in_map(const Node& arg, const Node& whole) {
  Node args = resolve(arg);
  if (!args.is_sequence() || args.items.size() < 3 || args.items.size() > 4)
    return symbolic("Fn::FindInMap", std::move(args), whole.mark);
  for (std::size_t i = 0; i < 3; ++i)
    if (!args.items[i].is_scalar())
      return symbolic("Fn::FindInMap", std::move(args), whole.mark);
  const Node* fallback = nullptr;
  if (args.items.size() == 4 && args.items[3].is_mapping())
    fallback = args.items[3].find("DefaultValue");
  const auto& map_name = args.items[0].text;
  const auto& top_key = args.items[1].text;
  const auto& second_key = args.items[2].text;
  const Node* mapping = m_scope.mappings != nullptr ? m_scope.mappings->find(map_name) : nullptr;
  if (mapping == nullptr)
    return symbolic("Fn::FindInMap", std::move(args), whole.mark); // reference check reports
  const Node* top = mapping->find(top_key);
  const Node* value = top != nullptr ? top->find(second_key) : nullptr;
  if (value == nullptr) {
    if (fallback != nullptr)
      return at(*fallback, whole.mark);
    if (top == nullptr)
      error(args.items[1].mark,
            fmt::format("Fn::FindInMap: mapping '{}' has no key '{}'", map_name, top_key));
    else
      error(args.items[2].mark,
            fmt::format("Fn::FindInMap: mapping '{}' has no key '{}' under '{}'", map_name,
                        second_key, top_key));
    return symbolic("Fn::FindInMap", std::move(args), whole.mark);
  }
  return at(resolve(*value), whole.mark);
}

Node Resolver::resolve_intrinsic(std::string_view key, const Node& arg, const Node& whole) {
  const Mark mark = whole.mark;
  if (key == "Ref")
    return resolve_ref(arg, whole);
  if (key == "Fn::Sub")
    return resolve_sub(arg, whole);
  if (key == "Fn::FindInMap")
    return resolve_find_in_map(arg, whole);
  if (key == "Fn::If") {
    if (!arg.is_sequence() || arg.items.size() != 3 || !arg.items[0].is_string())
      return whole;
    const auto value = condition(arg.items[0].text);
    if (!value)
      return whole;
    return resolve(arg.items[*value ? 1 : 2]);
  }
  if (key == "Fn::Equals" || key == "Fn::And" || key == "Fn::Or" || key == "Fn::Not") {
    if (const auto value = evaluate_condition(whole))
      return Node(NodeKind::boolean, mark, *value ? "true" : "false");
    return whole;
  }
  if (key == "Fn::GetAtt") {
    Node args = resolve(arg);
    if (args.is_string()) {
      const auto dot = args.text.find('.');
      Node list(NodeKind::sequence, args.mark);
      list.items.push_back(string_node(args.mark, args.text.substr(0, dot)));
      if (dot != std::string::npos)
        list.items.push_back(string_node(args.mark, args.text.substr(dot + 1)));
      args = std::move(list);
    }
    return symbolic("Fn::GetAtt", std::move(args), mark);
  }
  if (key == "Fn::Join") {
    Node args = resolve(arg);
    if (!args.is_sequence() || args.items.size() != 2 || !args.items[0].is_scalar() ||
        !args.items[1].is_sequence())
      return symbolic("Fn::Join", std::move(args), mark);
    std::string out;
    const auto& delimiter = args.items[0].text;
    bool first = true;
    for (const auto& item : args.items[1].items) {
      if (!item.is_scalar())
        return symbolic("Fn::Join", std::move(args), mark);
      if (!first)
        out += delimiter;
      out += item.text;
      first = false;
    }
    return string_node(mark, std::move(out));
  }
  if (key == "Fn::Select") {
    Node args = resolve(arg);
    if (!args.is_sequence() || args.items.size() != 2 || !args.items[0].is_scalar() ||
        !args.items[1].is_sequence())
      return symbolic("Fn::Select", std::move(args), mark);
    const auto index = number_as_int(args.items[0].text);
    if (!index || *index < 0) {
      error(args.items[0].mark, fmt::format("Fn::Select: index '{}' is not a non-negative integer",
                                            args.items[0].text));
      return symbolic("Fn::Select", std::move(args), mark);
    }
    const auto& list = args.items[1].items;
    if (static_cast<std::size_t>(*index) >= list.size()) {
      error(args.items[0].mark, fmt::format("Fn::Select: index {} is out of range for a list of {}",
                                            *index, list.size()));
      return symbolic("Fn::Select", std::move(args), mark);
    }
    return list[static_cast<std::size_t>(*index)];
  }
  if (key == "Fn::Split") {
    Node args = resolve(arg);
    if (!args.is_sequence() || args.items.size() != 2 || !args.items[0].is_scalar() ||
        !args.items[1].is_scalar())
      return symbolic("Fn::Split", std::move(args), mark);
    const auto& delimiter = args.items[0].text;
    const auto& text = args.items[1].text;
    Node list(NodeKind::sequence, mark);
    if (delimiter.empty()) {
      list.items.push_back(string_node(mark, text));
      return list;
    }
    std::size_t start = 0;
    while (true) {
      const auto pos = text.find(delimiter, start);
      list.items.push_back(string_node(mark, text.substr(start, pos - start)));
      if (pos == std::string::npos)
        break;
      start = pos + delimiter.size();
    }
    return list;
  }
  if (key == "Fn::Base64") {
    Node value = resolve(arg);
    if (!value.is_scalar())
      return symbolic("Fn::Base64", std::move(value), mark);
    return string_node(mark, support::base64_encode(value.text));
  }
  if (key == "Fn::GetAZs") {
    Node value = resolve(arg);
    if (!value.is_scalar() && !value.is_null())
      return symbolic("Fn::GetAZs", std::move(value), mark);
    const std::string region = value.text.empty() ? m_scope.region : value.text;
    Node list(NodeKind::sequence, mark);
    for (auto& zone : availability_zones(region))
      list.items.push_back(string_node(mark, std::move(zone)));
    return list;
  }
  if (key == "Fn::ImportValue") {
    Node value = resolve(arg);
    if (value.is_scalar() && m_scope.import_values != nullptr) {
      if (const auto it = m_scope.import_values->find(value.text);
          it != m_scope.import_values->end())
        return string_node(mark, it->second);
    }
    return symbolic("Fn::ImportValue", std::move(value), mark);
  }
  if (key == "Fn::Length") {
    Node value = resolve(arg);
    if (value.is_sequence() && is_resolved(value))
      return Node(NodeKind::number, mark, std::to_string(value.items.size()));
    return symbolic("Fn::Length", std::move(value), mark);
  }
  if (key == "Fn::ToJsonString") {
    Node value = resolve(arg);
    if ((value.is_mapping() || value.is_sequence()) && is_resolved(value))
      return string_node(mark, boost::json::serialize(to_json(value)));
    return symbolic("Fn::ToJsonString", std::move(value), mark);
  }
  if (key == "Fn::Cidr")
    return symbolic("Fn::Cidr", resolve(arg), mark);
  // Fn::Transform, Fn::ForEach and unknown functions stay as written.
  return whole;
}

std::optional<bool> Resolver::condition(std::string_view name) {
  if (const auto it = m_conditions.find(name); it != m_conditions.end())
    return it->second;
  if (m_scope.conditions == nullptr || !m_scope.conditions->is_mapping())
    return std::nullopt;
  const Node* definition = m_scope.conditions->find(name);
  if (definition == nullptr)
    return std::nullopt;
  if (m_evaluating.count(name) != 0)
    return std::nullopt; // a cycle: the reference check reports it
  m_evaluating.insert(std::string(name));
  const auto value = evaluate_condition(*definition);
  m_evaluating.erase(m_evaluating.find(name));
  m_conditions.emplace(std::string(name), value);
  return value;
}

std::optional<bool> Resolver::evaluate_condition(const Node& node) {
  if (node.kind == NodeKind::boolean)
    return node.text == "true";
  const auto key = node.intrinsic(true);
  if (key.empty())
    return std::nullopt;
  const Node& arg = node.entries.front().value;
  if (key == "Condition")
    return arg.is_string() ? condition(arg.text) : std::nullopt;
  if (key == "Fn::Equals") {
    if (!arg.is_sequence() || arg.items.size() != 2)
      return std::nullopt;
    const Node a = resolve(arg.items[0]);
    const Node b = resolve(arg.items[1]);
    if (!is_resolved(a) || !is_resolved(b))
      return std::nullopt;
    if (a.is_scalar() && b.is_scalar())
      return a.text == b.text;
    if (a.is_sequence() && b.is_sequence()) {
      if (a.items.size() != b.items.size())
        return false;
      for (std::size_t i = 0; i < a.items.size(); ++i)
        if (scalar_text(a.items[i]) != scalar_text(b.items[i]))
          return false;
      return true;
    }
    return a.kind == b.kind && a.is_null();
  }
  if (key == "Fn::Not") {
    if (!arg.is_sequence() || arg.items.size() != 1)
      return std::nullopt;
    const auto value = evaluate_condition(arg.items[0]);
    if (!value)
      return std::nullopt;
    return !*value;
  }
  if (key == "Fn::And" || key == "Fn::Or") {
    if (!arg.is_sequence() || arg.items.empty())
      return std::nullopt;
    const bool is_and = key == "Fn::And";
    bool unknown = false;
    for (const auto& item : arg.items) {
      const auto value = evaluate_condition(item);
      if (!value)
        unknown = true;
      else if (*value != is_and)
        return !is_and; // And: a false decides; Or: a true decides
    }
    if (unknown)
      return std::nullopt;
    return is_and;
  }
  return std::nullopt;
}

} // namespace wisp::sam::detail
