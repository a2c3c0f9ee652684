#pragma once
// Reading a command's input file that may be a pipe (`-e <(wisp local generate-event ...)`,
// /dev/stdin). Defined in fs.cpp; a header of its own so that fs.hpp, included nearly
// everywhere, stays as it is.

#include <wisp/support/error.hpp>
#include <wisp/support/fs.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace wisp::support {

// Like read_file, but a pipe or a character device (`-e <(command)`, /dev/stdin) is read to its
// end too (still bounded by `max_size`); a directory or a socket is refused.
Result<std::string> read_file_or_pipe(const std::filesystem::path& path,
                                      std::uintmax_t max_size = k_default_max_read);

} // namespace wisp::support
