#include <wisp/template/convert.hpp>
#include <wisp/template/scalar.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cmath>

namespace wisp::sam::detail {

boost::json::value to_json(const Node& node) {
  switch (node.kind) {
  case NodeKind::null:
  case NodeKind::no_value:
    return nullptr;
  case NodeKind::string:
    return boost::json::value(node.text);
  case NodeKind::boolean:
    return node.text == "true";
  case NodeKind::number: {
    if (const auto integer = number_as_int(node.text))
      return *integer;
    if (const auto real = number_as_double(node.text); real && std::isfinite(*real))
      return *real;
    return boost::json::value(node.text);
  }
  case NodeKind::sequence: {
    boost::json::array array;
    array.reserve(node.items.size());
    for (const auto& item : node.items)
      array.push_back(to_json(item));
    return array;
  }
  case NodeKind::mapping: {
    boost::json::object object;
    object.reserve(node.entries.size());
    for (const auto& entry : node.entries)
      object[entry.key] = to_json(entry.value);
    return object;
  }
  }
  return nullptr;
}

boost::json::object to_json_object(const Node& node) {
  if (!node.is_mapping())
    return {};
  return to_json(node).as_object();
}

} // namespace wisp::sam::detail
