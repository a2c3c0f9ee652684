#pragma once
// Internal to the durable area: small helpers its files share.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <string_view>

namespace wisp::durable::detail {

// The wall clock, epoch milliseconds.
inline std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The member `key` of `object`, or null.
inline const boost::json::value* member(const boost::json::object& object, std::string_view key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &it->value();
}

} // namespace wisp::durable::detail
