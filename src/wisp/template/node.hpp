#pragma once
// Internal to the template area: a template document as a tree of nodes, each with the
// position it was written at. The reader (reader.hpp) produces it from YAML or JSON with
// short-form tags already in long form ({"Ref": x}, {"Fn::Sub": ...}); the resolver maps
// it to a resolved tree that keeps the positions, so every later check can point at the
// line and column a value came from.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::sam::detail {

// 1-based; 0 when unknown.
struct Mark {
  int line = 0;
  int column = 0;
};

enum class NodeKind : std::uint8_t {
  null,
  string,
  number,  // `text` is the literal as written (YAML 1.1 or JSON syntax)
  boolean, // `text` is "true" or "false"
  sequence,
  mapping,
  no_value, // AWS::NoValue after resolution: removed from its parent
};

struct Entry;

struct Node {
  NodeKind kind = NodeKind::null;
  Mark mark;
  std::string text;
  std::vector<Node> items;    // sequence
  std::vector<Entry> entries; // mapping, in document order (keys are unique)

  Node() = default;
  Node(NodeKind k, Mark m) : kind(k), mark(m) {}
  Node(NodeKind k, Mark m, std::string t) : kind(k), mark(m), text(std::move(t)) {}

  [[nodiscard]] bool is_null() const { return kind == NodeKind::null; }
  [[nodiscard]] bool is_string() const { return kind == NodeKind::string; }
  [[nodiscard]] bool is_scalar() const {
    return kind == NodeKind::string || kind == NodeKind::number || kind == NodeKind::boolean;
  }
  [[nodiscard]] bool is_sequence() const { return kind == NodeKind::sequence; }
  [[nodiscard]] bool is_mapping() const { return kind == NodeKind::mapping; }

  // Mapping lookup (linear; mappings in templates are small, callers index big ones).
  [[nodiscard]] const Node* find(std::string_view key) const;
  [[nodiscard]] Node* find(std::string_view key);
  [[nodiscard]] const Entry* find_entry(std::string_view key) const;

  // A mapping with exactly one key naming an intrinsic function ("Ref", "Fn::*",
  // "Condition" when `allow_condition`): that key; empty otherwise.
  [[nodiscard]] std::string_view intrinsic(bool allow_condition = false) const;

  // Number of nodes in this subtree.
  [[nodiscard]] std::size_t count() const;
};

struct Entry {
  std::string key;
  Mark key_mark;
  Node value;
};

inline const Entry* Node::find_entry(std::string_view key) const {
  for (const auto& entry : entries)
    if (entry.key == key)
      return &entry;
  return nullptr;
}

inline const Node* Node::find(std::string_view key) const {
  const auto* entry = find_entry(key);
  return entry == nullptr ? nullptr : &entry->value;
}

inline Node* Node::find(std::string_view key) {
  for (auto& entry : entries)
    if (entry.key == key)
      return &entry.value;
  return nullptr;
}

// "mapping", "list", "string", ... as used in messages.
std::string_view kind_name(NodeKind kind);

// The scalar as a string, as CloudFormation stringifies it (numbers as written,
// booleans "true"/"false"); empty for non-scalars.
std::string scalar_text(const Node& node);

bool is_intrinsic_name(std::string_view key);

} // namespace wisp::sam::detail
