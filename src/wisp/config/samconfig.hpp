#pragma once
// samconfig with SAM's semantics: `[<env>.<command>.parameters]` tables, the command key
// being the command words joined by `_` (dashes become `_` too: `local start-api` →
// `local_start_api`), and `[<env>.global.parameters]` merged under every command.
// There is no inheritance between environments (as in SAM). TOML and YAML files.

#include <wisp/support/error.hpp>

#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::config {

// One `key = value` of a parameters table, its value(s) already as text.
struct Entry {
  std::string key;
  std::vector<std::string> values; // a scalar gives one value; a list gives each item
  bool is_list = false;
  bool from_global = false; // came from [<env>.global.parameters]
  std::string file;
  int line = 0;
  int column = 0;
};

class SamConfig {
public:
  // Parses a samconfig file (.toml, or .yaml/.yml). A malformed file is an error whose
  // diagnostic carries file:line:col.
  static support::Result<SamConfig> load(const std::filesystem::path& path);
  // Parses text as if it came from `display_name` (format from its extension).
  static support::Result<SamConfig> parse(std::string_view text, const std::string& display_name);

  // The command's parameters in `env`, with the global table merged under them (the
  // command's value wins); ordered by key.
  [[nodiscard]] std::vector<Entry> parameters(std::string_view env,
                                              std::string_view command_key) const;
  [[nodiscard]] bool has_env(std::string_view env) const;
  [[nodiscard]] std::vector<std::string> envs() const;
  [[nodiscard]] const std::string& file() const { return m_file; }

private:
  using Table = std::map<std::string, Entry, std::less<>>;
  std::string m_file;
  // env → command key → parameters
  std::map<std::string, std::map<std::string, Table, std::less<>>, std::less<>> m_envs;

  friend struct SamConfigBuilder;
};

// {"local", "start-api"} → "local_start_api"
std::string command_key(std::span<const std::string> words);

} // namespace wisp::config
