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

} // namespace wisp::aws
