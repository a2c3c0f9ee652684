#include <wisp/config/samconfig.hpp>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <yaml-cpp/yaml.h>

#include <sstream>
#include <wisp/support/fs.hpp>

namespace wisp::config {

using support::Diagnostic;
using support::Result;
using support::Severity;

namespace {

tl::unexpected<support::Error> config_error(const std::string& file, int line, int column,
                                            std::string message) {
  return support::fail(
      Diagnostic{file, line, column, Severity::error, "config", std::move(message)});
}

bool is_yaml_name(std::string_view name) {
  return name.ends_with(".yaml") || name.ends_with(".yml");
}

std::string format_float(double value) {
  auto text = fmt::format("{}", value);
  return text;
}

} // namespace

struct SamConfigBuilder {
  SamConfig& config;

  static Result<std::string> toml_scalar(const toml::node& node, const std::string& file,
                                         const std::string& key) {
    const auto& src = node.source();
    if (const auto* s = node.as_string())
      return s->get();
    if (const auto* b = node.as_boolean())
      return std::string(b->get() ? "true" : "false");
    if (const auto* i = node.as_integer())
      return fmt::format("{}", i->get());
    if (const auto* f = node.as_floating_point())
      return format_float(f->get());
    return config_error(file, static_cast<int>(src.begin.line), static_cast<int>(src.begin.column),
                        fmt::format("value of '{}' must be a string, number, boolean or a "
                                    "list of those",
                                    key));
  }

  Result<bool> from_toml(std::string_view text) {
    const auto& file = config.m_file;
    toml::table root;
    try {
      root = toml::parse(text, std::string_view(file));
    } catch (const toml::parse_error& e) {
      return config_error(file, static_cast<int>(e.source().begin.line),
                          static_cast<int>(e.source().begin.column), std::string(e.description()));
    }
    for (auto&& [env_key, env_node] : root) {
      const std::string env(env_key.str());
      const auto& env_src = env_key.source();
      if (env == "version") {
        if (!env_node.is_number())
          return config_error(file, static_cast<int>(env_src.begin.line),
                              static_cast<int>(env_src.begin.column),
                              "'version' must be a number (e.g. version = 0.1)");
        continue;
      }
      const auto* env_table = env_node.as_table();
      if (env_table == nullptr)
        return config_error(file, static_cast<int>(env_src.begin.line),
                            static_cast<int>(env_src.begin.column),
                            fmt::format("'{}' must be a table of commands, e.g. "
                                        "[{}.deploy.parameters]",
                                        env, env));
      auto& commands = config.m_envs[env];
      for (auto&& [cmd_key, cmd_node] : *env_table) {
        const std::string cmd(cmd_key.str());
        const auto& cmd_src = cmd_key.source();
        const auto* cmd_table = cmd_node.as_table();
        if (cmd_table == nullptr)
          return config_error(
              file, static_cast<int>(cmd_src.begin.line), static_cast<int>(cmd_src.begin.column),
              fmt::format("'{}.{}' must be a table holding a 'parameters' table", env, cmd));
        auto& table = commands[cmd];
        for (auto&& [section_key, section_node] : *cmd_table) {
          const auto& sec_src = section_key.source();
          if (section_key.str() != "parameters")
            return config_error(file, static_cast<int>(sec_src.begin.line),
                                static_cast<int>(sec_src.begin.column),
                                fmt::format("unknown section '{}.{}.{}': only '{}.{}.parameters' "
                                            "is read",
                                            env, cmd, section_key.str(), env, cmd));
          const auto* params = section_node.as_table();
          if (params == nullptr)
            return config_error(file, static_cast<int>(sec_src.begin.line),
                                static_cast<int>(sec_src.begin.column),
                                fmt::format("'{}.{}.parameters' must be a table", env, cmd));
          for (auto&& [param_key, value] : *params) {
            const std::string key(param_key.str());
            const auto& key_src = param_key.source();
            Entry entry;
            entry.key = key;
            entry.file = file;
            entry.line = static_cast<int>(key_src.begin.line);
            entry.column = static_cast<int>(key_src.begin.column);
            if (const auto* array = value.as_array()) {
              entry.is_list = true;
              for (const auto& item : *array) {
                auto scalar = toml_scalar(item, file, key);
                if (!scalar)
                  return tl::unexpected(scalar.error());
                entry.values.push_back(std::move(*scalar));
              }
            } else {
              auto scalar = toml_scalar(value, file, key);
              if (!scalar)
                return tl::unexpected(scalar.error());
              entry.values.push_back(std::move(*scalar));
            }
            table[key] = std::move(entry);
          }
        }
      }
    }
    return true;
  }

  static std::pair<int, int> pos(const YAML::Node& node) {
    const auto mark = node.Mark();
    if (mark.is_null())
      return {0, 0};
    return {mark.line + 1, mark.column + 1};
  }

  Result<std::string> yaml_scalar(const YAML::Node& node, const std::string& key) {
    if (!node.IsScalar()) {
      const auto [line, column] = pos(node);
      return config_error(config.m_file, line, column,
                          fmt::format("value of '{}' must be a string, number, boolean or a "
                                      "list of those",
                                      key));
    }
    return node.Scalar();
  }

  Result<bool> from_yaml(std::string_view text) {
    const auto& file = config.m_file;
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      return config_error(file, e.mark.is_null() ? 0 : e.mark.line + 1,
                          e.mark.is_null() ? 0 : e.mark.column + 1, e.msg);
    }
    if (root.IsNull())
      return true;
    if (!root.IsMap()) {
      const auto [line, column] = pos(root);
      return config_error(file, line, column, "a samconfig file must be a mapping of environments");
    }
    for (const auto& env_pair : root) {
      const auto env = env_pair.first.Scalar();
      const auto [env_line, env_col] = pos(env_pair.first);
      if (env == "version")
        continue;
      if (!env_pair.second.IsMap())
        return config_error(file, env_line, env_col,
                            fmt::format("'{}' must be a mapping of commands", env));
      auto& commands = config.m_envs[env];
      for (const auto& cmd_pair : env_pair.second) {
        const auto cmd = cmd_pair.first.Scalar();
        const auto [cmd_line, cmd_col] = pos(cmd_pair.first);
        if (!cmd_pair.second.IsMap())
          return config_error(file, cmd_line, cmd_col,
                              fmt::format("'{}.{}' must hold a 'parameters' mapping", env, cmd));
        auto& table = commands[cmd];
        for (const auto& sec_pair : cmd_pair.second) {
          const auto [sec_line, sec_col] = pos(sec_pair.first);
          if (sec_pair.first.Scalar() != "parameters")
            return config_error(file, sec_line, sec_col,
                                fmt::format("unknown section '{}.{}.{}': only '{}.{}.parameters' "
                                            "is read",
                                            env, cmd, sec_pair.first.Scalar(), env, cmd));
          if (!sec_pair.second.IsMap())
            return config_error(file, sec_line, sec_col,
                                fmt::format("'{}.{}.parameters' must be a mapping", env, cmd));
          for (const auto& kv : sec_pair.second) {
            Entry entry;
            entry.key = kv.first.Scalar();
            entry.file = file;
            std::tie(entry.line, entry.column) = pos(kv.first);
            if (kv.second.IsSequence()) {
              entry.is_list = true;
              for (const auto& item : kv.second) {
                auto scalar = yaml_scalar(item, entry.key);
                if (!scalar)
                  return tl::unexpected(scalar.error());
                entry.values.push_back(std::move(*scalar));
              }
            } else {
              auto scalar = yaml_scalar(kv.second, entry.key);
              if (!scalar)
                return tl::unexpected(scalar.error());
              entry.values.push_back(std::move(*scalar));
            }
            table[entry.key] = std::move(entry);
          }
        }
      }
    }
    return true;
  }
};

Result<SamConfig> SamConfig::parse(std::string_view text, const std::string& display_name) {
  SamConfig config;
  config.m_file = display_name;
  SamConfigBuilder builder{config};
  auto parsed = is_yaml_name(display_name) ? builder.from_yaml(text) : builder.from_toml(text);
  if (!parsed)
    return tl::unexpected(parsed.error());
  return config;
}

Result<SamConfig> SamConfig::load(const std::filesystem::path& path) {
  auto text = support::read_file(path, std::uintmax_t{16} * 1024 * 1024);
  if (!text)
    return tl::unexpected(text.error());
  return parse(*text, path.string());
}

std::vector<Entry> SamConfig::parameters(std::string_view env, std::string_view command_key) const {
  std::map<std::string, Entry, std::less<>> merged;
  const auto env_it = m_envs.find(env);
  if (env_it == m_envs.end())
    return {};
  if (const auto global = env_it->second.find("global"); global != env_it->second.end()) {
    for (const auto& [key, entry] : global->second) {
      auto copy = entry;
      copy.from_global = true;
      merged[key] = std::move(copy);
    }
  }
  if (const auto cmd = env_it->second.find(command_key); cmd != env_it->second.end()) {
    for (const auto& [key, entry] : cmd->second)
      merged[key] = entry;
  }
  std::vector<Entry> out;
  out.reserve(merged.size());
  for (auto& [key, entry] : merged)
    out.push_back(std::move(entry));
  return out;
}

bool SamConfig::has_env(std::string_view env) const {
  return m_envs.contains(env);
}

std::vector<std::string> SamConfig::envs() const {
  std::vector<std::string> out;
  for (const auto& [env, commands] : m_envs)
    out.push_back(env);
  return out;
}

std::string command_key(std::span<const std::string> words) {
  std::string key;
  for (const auto& word : words) {
    if (!key.empty())
      key += '_';
    for (const char c : word)
      key += c == '-' ? '_' : c;
  }
  return key;
}

} // namespace wisp::config
