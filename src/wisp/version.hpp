#pragma once
// wisp's version, from the CMake project version.

#include <string_view>

namespace wisp {

std::string_view version();

} // namespace wisp
