#include <wisp/template/node.hpp>

namespace wisp::sam::detail {

std::string_view kind_name(NodeKind kind) {
  switch (kind) {
  case NodeKind::null:
    return "null";
  case NodeKind::string:
    return "string";
  case NodeKind::number:
    return "number";
  case NodeKind::boolean:
    return "boolean";
  case NodeKind::sequence:
    return "list";
  case NodeKind::mapping:
    return "mapping";
  case NodeKind::no_value:
    return "AWS::NoValue";
  }
  return "value";
}

std::string scalar_text(const Node& node) {
  return node.is_scalar() ? node.text : std::string();
}

bool is_intrinsic_name(std::string_view key) {
  return key == "Ref" || key.starts_with("Fn::");
}

std::string_view Node::intrinsic(bool allow_condition) const {
  if (kind != NodeKind::mapping || entries.size() != 1)
    return {};
  const auto& key = entries.front().key;
  if (is_intrinsic_name(key) || (allow_condition && key == "Condition"))
    return key;
  return {};
}

std::size_t Node::count() const {
  std::size_t n = 1;
  for (const auto& item : items)
    n += item.count();
  for (const auto& entry : entries)
    n += entry.value.count();
  return n;
}

} // namespace wisp::sam::detail
