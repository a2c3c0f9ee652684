#pragma once
// Shell completion scripts generated from the live command tree: every command path, its
// flags, and the enumerated values of flags and positionals (set_choices).

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::cli {

inline const std::vector<std::string>& completion_shells() {
  static const std::vector<std::string> shells = {"bash", "zsh", "fish"};
  return shells;
}

// The script for `shell` (bash, zsh or fish); nullopt for another shell.
std::optional<std::string> completion_script(const CLI::App& root, std::string_view shell);

} // namespace wisp::cli
