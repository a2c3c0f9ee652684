#pragma once
// Project names for `wisp init`. A name becomes the project's directory and, in the scaffold,
// the stack name; it must be something both a Lambda function name and a directory name
// allow: 1 to 64 of the letters A-Z and a-z, the digits, '-' and '_', not starting with '-'
// (which tools would read as an option).

#include <wisp/support/error.hpp>

#include <string>
#include <string_view>

namespace wisp::scaffold {

inline constexpr std::size_t k_max_name_length = 64;

// Ok, or an error (exit code `usage`) whose message says exactly what is wrong, e.g.
// "invalid name 'my app': ' ' is not allowed (use letters, digits, '-' and '_')".
support::Status validate_name(std::string_view name);

// A CloudFormation stack name for a valid project name: stack names allow letters, digits
// and '-' and start with a letter, so '_' becomes '-' and a leading digit or '_' gets "app-".
std::string stack_name_for(std::string_view name);

} // namespace wisp::scaffold
