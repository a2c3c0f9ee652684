#pragma once
// Reading the members of JSON answers (AWS's JSON protocols, the Lambda and CloudFormation
// documents wisp reads back).

#include <boost/json.hpp>

#include <string>
#include <string_view>

namespace wisp::aws {

// The string member `key` of `object`; empty when it is absent or not a string.
inline std::string json_string(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

// The array member `key` of `value` (API Gateway lists its pages under "item" for REST APIs,
// "items" for HTTP APIs); an empty array when `value` is not an object or has none.
inline const boost::json::array& json_items(const boost::json::value& value,
                                            std::string_view key = "item") {
  static const boost::json::array k_empty;
  if (!value.is_object())
    return k_empty;
  const auto* items = value.as_object().if_contains(key);
  return items != nullptr && items->is_array() ? items->as_array() : k_empty;
}

} // namespace wisp::aws
