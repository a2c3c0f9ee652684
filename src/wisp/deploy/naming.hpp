#pragma once
// Physical names of what wisp deploys, and the rules for the names users choose.
//
// A function is `<stack>-<LogicalId>` unless it sets FunctionName; a wisp-made role is
// `<stack>-<LogicalId>-role`. Names past a service's limit keep a readable prefix and end
// in '-' + 8 hex digits of the full name's SHA-256, so they stay unique and stable.

#include <wisp/aws/names.hpp>
#include <wisp/support/error.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace wisp::deploy {

// The function-name rule is aws::function_name (shared with `logs`); these are the same.
using aws::function_name;
using aws::k_function_name_max;
inline constexpr std::size_t k_role_name_max = 64;
std::string role_name(std::string_view stack, std::string_view logical_id);
std::string resource_name(std::string_view stack, std::string_view logical_id,
                          std::size_t max = 255);

// CloudFormation's stack name rule: a letter, then letters, digits and '-', ≤ 128.
support::Status validate_stack_name(std::string_view name);
// Lambda alias and API Gateway stage rule: letters, digits, '-', '_', ≤ 128, not only
// digits.
support::Status validate_stage_name(std::string_view name);

// "aws", "aws-cn" or "aws-us-gov" for a region.
std::string_view partition(std::string_view region);

} // namespace wisp::deploy
