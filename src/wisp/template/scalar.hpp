#pragma once
// Internal to the template area: YAML 1.1 plain-scalar typing (as PyYAML/libyaml and
// CloudFormation's tooling read templates) and number conversion.

#include <cstdint>
#include <optional>
#include <string_view>

namespace wisp::sam::detail {

bool is_yaml11_null(std::string_view text);
// true/false for yes/no/on/off/true/false in their three casings; nullopt otherwise.
std::optional<bool> yaml11_bool(std::string_view text);
// 0b101, 017 (octal), 42, 0x1F, 1_000, 1:30 (base 60).
bool is_yaml11_int(std::string_view text);
// Needs a '.': 1.5, .5, 1.5e+3, .inf, .nan; `1e5` is not a float in YAML 1.1.
bool is_yaml11_float(std::string_view text);

// The value of a number literal (YAML 1.1 or JSON syntax).
std::optional<std::int64_t> number_as_int(std::string_view text);
std::optional<double> number_as_double(std::string_view text);

} // namespace wisp::sam::detail
