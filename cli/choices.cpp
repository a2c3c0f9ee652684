#include "command.hpp"

#include <map>

namespace wisp::cli {

namespace {
std::map<const CLI::Option*, std::vector<std::string>>& registry() {
  static std::map<const CLI::Option*, std::vector<std::string>> map;
  return map;
}
} // namespace

CLI::Option* set_choices(CLI::Option* option, std::vector<std::string> values) {
  option->check(CLI::IsMember(values));
  registry()[option] = std::move(values);
  return option;
}

CLI::Option* set_choices(CLI::Option* option, std::vector<std::string> values,
                         std::function<std::string(const std::string&)> check) {
  std::string description = "{";
  for (std::size_t i = 0; i < values.size(); ++i)
    description += (i == 0 ? "" : ",") + values[i];
  description += "}";
  option->check(CLI::Validator(
      [check = std::move(check)](std::string& value) { return check(value); }, description));
  registry()[option] = std::move(values);
  return option;
}

const std::vector<std::string>* choices_of(const CLI::Option* option) {
  const auto it = registry().find(option);
  return it == registry().end() ? nullptr : &it->second;
}

const std::vector<std::string>& known_runtimes() {
  static const std::vector<std::string> runtimes = {
      "python3.9",  "python3.10",   "python3.11",     "python3.12", "python3.13",
      "python3.14", "nodejs18.x",   "nodejs20.x",     "nodejs22.x", "nodejs24.x",
      "provided",   "provided.al2", "provided.al2023"};
  return runtimes;
}

} // namespace wisp::cli
