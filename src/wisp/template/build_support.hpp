#pragma once
// Internal to the template area: the readers of resolved nodes that the loader's build
// phase shares (build.cpp, build_functions.cpp, build_apis.cpp, build_raw_apis.cpp).

#include <wisp/support/strings.hpp>
#include <wisp/template/node.hpp>
#include <wisp/template/resolve.hpp>
#include <wisp/template/scalar.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::sam::detail {

inline bool is_symbolic(const Node& node) {
  return !node.intrinsic(true).empty();
}

inline std::optional<std::string> as_string(const Node* node) {
  if (node == nullptr || !node->is_scalar())
    return std::nullopt;
  return node->text;
}

inline std::optional<std::int64_t> as_int(const Node* node) {
  if (node == nullptr || !node->is_scalar())
    return std::nullopt;
  if (node->kind == NodeKind::boolean)
    return std::nullopt;
  return number_as_int(support::trim(node->text));
}

inline std::optional<bool> as_bool(const Node* node) {
  if (node == nullptr)
    return std::nullopt;
  if (node->kind == NodeKind::boolean)
    return node->text == "true";
  if (node->is_string()) {
    if (support::iequals(node->text, "true"))
      return true;
    if (support::iequals(node->text, "false"))
      return false;
  }
  return std::nullopt;
}

inline std::vector<std::string> as_strings(const Node* node) {
  std::vector<std::string> out;
  if (node == nullptr)
    return out;
  if (node->is_scalar()) {
    out.push_back(node->text);
    return out;
  }
  for (const auto& item : node->items)
    if (item.is_scalar())
      out.push_back(item.text);
  return out;
}

inline int clamp_int(std::int64_t value) {
  return static_cast<int>(std::clamp<std::int64_t>(value, -2'000'000'000, 2'000'000'000));
}

inline std::string strip_quotes(std::string text) {
  if (text.size() >= 2 && text.front() == '\'' && text.back() == '\'')
    return text.substr(1, text.size() - 2);
  return text;
}

inline std::vector<std::string> split_trimmed(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& piece : support::split(text, ','))
    if (auto trimmed = std::string(support::trim(piece)); !trimmed.empty())
      out.push_back(std::move(trimmed));
  return out;
}

inline std::string upper(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
  return out;
}

// The logical id a reference names: {Ref: X}, {Fn::GetAtt: [X, ...]}, "${X.Arn}" in a Sub.
inline std::string referenced_id(const Node& node) {
  const auto key = node.intrinsic(false);
  if (key.empty())
    return {};
  const Node& arg = node.entries.front().value;
  if (key == "Ref" && arg.is_string())
    return arg.text.substr(0, arg.text.find('.'));
  if (key == "Fn::GetAtt" && arg.is_sequence() && !arg.items.empty() && arg.items[0].is_string())
    return arg.items[0].text;
  if (key == "Fn::Sub") {
    const Node* text = arg.is_sequence() && !arg.items.empty() ? &arg.items[0] : &arg;
    if (!text->is_string())
      return {};
    const auto parts = parse_sub(text->text, nullptr);
    if (!parts)
      return {};
    for (const auto& part : *parts)
      if (part.variable && !part.text.starts_with("AWS::"))
        return part.text.substr(0, part.text.find('.'));
  }
  return {};
}

// A local path of the template (CodeUri, ContentUri, Code) as an absolute, normal path
// without a trailing separator.
inline std::filesystem::path local_path(const std::filesystem::path& base_dir,
                                        const std::string& text) {
  auto path = (base_dir / text).lexically_normal();
  if (!path.has_filename() && path.has_parent_path() && path != path.root_path())
    path = path.parent_path();
  return path;
}

} // namespace wisp::sam::detail
