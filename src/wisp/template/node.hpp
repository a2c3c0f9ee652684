#pragma once
// Internal to the template area: a template document as a tree of nodes, each with the
// position it was written at. The reader (reader.hpp) produces it from YAML or JSON with
// short-form tags already in long form ({"Ref": x}, {"Fn::Sub": ...}); the resolver maps
// it to a resolved tree that keeps the positions, so every later check can point at the
// line and column a value came from.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace wisp::sam::detail {

// A bump allocator for the node trees of one load: allocation is a pointer increment,
// freeing is a no-op, and everything goes at once when the arena does. Node containers
// allocate from the arena that is current on this thread (ArenaScope) when they are
// created, and from the heap when none is.
class Arena {
public:
  Arena() = default;
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  void* allocate(std::size_t bytes, std::size_t alignment);

private:
  struct Block;
  Block* m_head = nullptr;
  char* m_next = nullptr;
  char* m_end = nullptr;
  std::size_t m_block_size = 64 * 1024;
};

Arena* current_arena() noexcept;

// Makes `arena` current on this thread for its lifetime (restoring the previous one).
class ArenaScope {
public:
  explicit ArenaScope(Arena& arena) noexcept;
  ~ArenaScope();
  ArenaScope(const ArenaScope&) = delete;
  ArenaScope& operator=(const ArenaScope&) = delete;

private:
  Arena* m_previous;
};

void* heap_allocate(std::size_t bytes);
void heap_free(void* pointer) noexcept;

template <class T> class NodeAllocator {
public:
  using value_type = T;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;
  using is_always_equal = std::false_type;

  NodeAllocator() noexcept : m_arena(current_arena()) {}
  template <class U>
  NodeAllocator(const NodeAllocator<U>& other) noexcept : m_arena(other.arena()) {} // NOLINT

  T* allocate(std::size_t n) {
    if (m_arena != nullptr)
      return static_cast<T*>(m_arena->allocate(n * sizeof(T), alignof(T)));
    return static_cast<T*>(heap_allocate(n * sizeof(T)));
  }
  void deallocate(T* pointer, std::size_t /*n*/) noexcept {
    if (m_arena == nullptr)
      heap_free(pointer);
  }
  // A copied container allocates where new nodes currently go.
  NodeAllocator select_on_container_copy_construction() const noexcept { return {}; }
  [[nodiscard]] Arena* arena() const noexcept { return m_arena; }

  template <class U> bool operator==(const NodeAllocator<U>& other) const noexcept {
    return m_arena == other.arena();
  }

private:
  Arena* m_arena;
};

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
  std::vector<Node, NodeAllocator<Node>> items;     // sequence
  std::vector<Entry, NodeAllocator<Entry>> entries; // mapping, in document order (unique keys)

  // Defined below, where Entry is complete (clang needs it for the vector members).
  Node();
  Node(NodeKind k, Mark m);
  Node(NodeKind k, Mark m, std::string t);

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

inline Node::Node() = default;
inline Node::Node(NodeKind k, Mark m) : kind(k), mark(m) {}
inline Node::Node(NodeKind k, Mark m, std::string t) : kind(k), mark(m), text(std::move(t)) {}

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
