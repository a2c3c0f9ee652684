#pragma once
// Builds wisp's command tree, parses the command line, applies samconfig, and runs the
// chosen command. Returns the process exit code.

namespace wisp::cli {

int run(int argc, char** argv);

} // namespace wisp::cli
