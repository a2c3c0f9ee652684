#pragma once
// wisp(1): a man page rendered from the live command tree, so it says what `--help` says.

#include "command.hpp"

#include <map>
#include <string>

namespace wisp::cli {

// roff (man macros) for the tree under `root`; `infos` holds each command's metadata, keyed
// by its subcommand.
std::string render_man_page(const CLI::App& root,
                            const std::map<const CLI::App*, CommandInfo>& infos);

} // namespace wisp::cli
