#pragma once
// Builds wisp's command tree, parses the command line, applies samconfig, and runs the
// chosen command. Returns the process exit code.

#include <string>

namespace wisp::cli {

int run(int argc, char** argv);

// The man page (roff, section 1) of the whole command tree; packaging/ installs it.
std::string man_page();

} // namespace wisp::cli
