#include <wisp/aws/names.hpp>

#include <wisp/support/hash.hpp>

#include <algorithm>

namespace wisp::aws {

std::string shorten_name(std::string_view name, std::size_t max) {
  if (name.size() <= max)
    return std::string(name);
  std::string out(name.substr(0, max - 9));
  out += '-';
  out += support::sha256_hex(name).substr(0, 8);
  return out;
}

std::string function_name(std::string_view stack, std::string_view logical_id,
                          std::string_view explicit_name) {
  if (!explicit_name.empty())
    return std::string(explicit_name);
  std::string name(stack);
  name += '-';
  name += logical_id;
  // A nested stack's function `Child/Fn`: `<stack>-Child-Fn`.
  std::replace(name.begin(), name.end(), '/', '-');
  return shorten_name(name, k_function_name_max);
}

} // namespace wisp::aws
