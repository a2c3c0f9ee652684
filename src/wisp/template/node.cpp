#include <wisp/template/node.hpp>

#include <cstdlib>
#include <new>

namespace wisp::sam::detail {

namespace {
thread_local Arena* t_current_arena = nullptr;
} // namespace

struct Arena::Block {
  Block* next;
};

Arena::~Arena() {
  while (m_head != nullptr) {
    Block* next = m_head->next;
    std::free(m_head);
    m_head = next;
  }
}

void* Arena::allocate(std::size_t bytes, std::size_t alignment) {
  auto align_up = [alignment](char* p) {
    const auto value = reinterpret_cast<std::uintptr_t>(p);
    return reinterpret_cast<char*>((value + alignment - 1) & ~(std::uintptr_t{alignment} - 1));
  };
  char* start = m_next != nullptr ? align_up(m_next) : nullptr;
  if (start == nullptr || start + bytes > m_end) {
    const std::size_t needed = bytes + alignment + sizeof(Block);
    while (m_block_size < needed)
      m_block_size *= 2;
    auto* block = static_cast<Block*>(std::malloc(m_block_size));
    if (block == nullptr)
      throw std::bad_alloc();
    block->next = m_head;
    m_head = block;
    m_next = reinterpret_cast<char*>(block) + sizeof(Block);
    m_end = reinterpret_cast<char*>(block) + m_block_size;
    if (m_block_size < 1024u * 1024)
      m_block_size *= 2;
    start = align_up(m_next);
  }
  m_next = start + bytes;
  return start;
}

Arena* current_arena() noexcept {
  return t_current_arena;
}

ArenaScope::ArenaScope(Arena& arena) noexcept : m_previous(t_current_arena) {
  t_current_arena = &arena;
}

ArenaScope::~ArenaScope() {
  t_current_arena = m_previous;
}

void* heap_allocate(std::size_t bytes) {
  return ::operator new(bytes);
}
void heap_free(void* pointer) noexcept {
  ::operator delete(pointer);
}

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
