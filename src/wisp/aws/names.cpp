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

std::string path_name(std::string_view logical_id) {
  std::string out(logical_id);
  std::replace(out.begin(), out.end(), '/', '-');
  return out;
}

std::string function_name(std::string_view stack, std::string_view logical_id,
                          std::string_view explicit_name) {
  if (!explicit_name.empty())
    return std::string(explicit_name);
  std::string name(stack);
  name += '-';
  name += path_name(logical_id); // a nested stack's `Child/Fn`: `<stack>-Child-Fn`
  return shorten_name(name, k_function_name_max);
}

} // namespace wisp::aws
