#pragma once
// A small XML reader for AWS responses (S3, and the query protocol of IAM, STS and
// CloudWatch): elements, text and entities. Namespace prefixes are dropped from names;
// attributes, comments, processing instructions and DOCTYPEs are skipped. Never throws:
// malformed input gives nullopt.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::aws {

struct XmlNode {
  std::string name; // local name
  std::string text; // concatenated character data directly inside this element
  std::vector<XmlNode> children;

  // The first child named `name`, or nullptr.
  [[nodiscard]] const XmlNode* child(std::string_view child_name) const;
  // All children named `name`.
  [[nodiscard]] std::vector<const XmlNode*> all(std::string_view child_name) const;
  // Text at a '/'-separated path of child names ("Error/Code"); empty when absent.
  [[nodiscard]] std::string text_at(std::string_view path) const;
  // The first element named `name` anywhere below (depth first), or nullptr.
  [[nodiscard]] const XmlNode* find(std::string_view descendant) const;
};

std::optional<XmlNode> parse_xml(std::string_view text);

// Escapes text for an XML element body or attribute.
std::string xml_escape(std::string_view text);

} // namespace wisp::aws
