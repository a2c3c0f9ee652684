#include <wisp/deploy/naming.hpp>

namespace wisp::deploy {

std::string role_name(std::string_view stack, std::string_view logical_id) {
  std::string name(stack);
  name += '-';
  name += aws::path_name(logical_id);
  name += "-role";
  return aws::shorten_name(name, k_role_name_max);
}

std::string resource_name(std::string_view stack, std::string_view logical_id, std::size_t max) {
  std::string name(stack);
  name += '-';
  name += aws::path_name(logical_id);
  return aws::shorten_name(name, max);
}

namespace {
bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
} // namespace

support::Status validate_stack_name(std::string_view name) {
  const bool ok =
      !name.empty() && name.size() <= 128 &&
      ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z')) &&
      std::all_of(name.begin(), name.end(), [](char c) { return alnum(c) || c == '-'; });
  if (!ok)
    return support::failf("invalid stack name '{}': use a letter, then letters, digits and '-' "
                          "(at most 128 characters)",
                          name);
  return {};
}

support::Status validate_stage_name(std::string_view name) {
  const bool chars_ok = !name.empty() && name.size() <= 128 &&
                        std::all_of(name.begin(), name.end(),
                                    [](char c) { return alnum(c) || c == '-' || c == '_'; });
  const bool all_digits =
      std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!chars_ok || all_digits)
    return support::failf("invalid stage name '{}': use letters, digits, '-' and '_' (at most 128 "
                          "characters, not only digits)",
                          name);
  return {};
}

std::string_view partition(std::string_view region) {
  if (region.starts_with("cn-"))
    return "aws-cn";
  if (region.starts_with("us-gov-"))
    return "aws-us-gov";
  return "aws";
}

} // namespace wisp::deploy
