#pragma once
// Internal to the template area: template text (YAML or JSON) → node tree with positions.
//
// YAML follows YAML 1.1 as CloudFormation tooling reads it (PyYAML/libyaml): plain
// scalars `yes`/`no`/`on`/`off` are booleans, `0x1F`/`017` integers, `1e5` a string.
// CloudFormation short-form tags become the long form (`!Ref x` → {Ref: x}, `!GetAtt a.b`
// → {Fn::GetAtt: [a, b]}, `!Condition c` → {Condition: c}, `!Sub` → {Fn::Sub: ...}).
// Anchors and aliases are expanded within a node budget; `<<` merge keys are honoured.
// Hostile input is a diagnostic, never a crash or a hang: invalid UTF-8, nesting deeper
// than `max_depth`, alias expansion beyond `max_alias_nodes`, scalars longer than
// `max_scalar`, duplicate keys, unknown tags, several documents.

#include <wisp/support/diagnostic.hpp>
#include <wisp/template/node.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace wisp::sam::detail {

struct ReadLimits {
  std::size_t max_depth = 200;
  std::size_t max_alias_nodes = 250'000;
  std::size_t max_scalar = 1u << 20u;
};

// nullopt when the text is not a readable document (diagnostics say why). Duplicate keys
// and unknown tags are reported but still give a tree (the first key wins).
std::optional<Node> read_document(std::string_view text, const std::string& file,
                                  support::Diagnostics& diagnostics, const ReadLimits& limits = {});

// The position of the first byte of `text` that is not valid UTF-8 (1-based line and
// column, and the byte), or nullopt when it is all valid.
struct Utf8Error {
  Mark mark;
  unsigned char byte = 0;
};
std::optional<Utf8Error> find_invalid_utf8(std::string_view text);

} // namespace wisp::sam::detail
