#pragma once
// Physical names of the functions wisp deploys, shared by `deploy` (which creates them) and
// `logs` (which finds their log groups): `<stack>-<LogicalId>` unless the template sets
// FunctionName; a name past Lambda's 64-character limit keeps a readable prefix and ends in
// '-' + the first 8 hex digits of the full name's SHA-256, so it stays unique and stable.

#include <cstddef>
#include <string>
#include <string_view>

namespace wisp::aws {

inline constexpr std::size_t k_function_name_max = 64;

// `name` itself when it fits in `max`, else its first max-9 characters + "-" + 8 hex digits
// of its SHA-256.
std::string shorten_name(std::string_view name, std::size_t max);

// A nested stack's resource `Child/Fn` in a physical name: `Child-Fn` (names refuse '/').
std::string path_name(std::string_view logical_id);

std::string function_name(std::string_view stack, std::string_view logical_id,
                          std::string_view explicit_name = {});

} // namespace wisp::aws
