#pragma once
// Small string utilities shared across areas.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::support {

std::vector<std::string> split(std::string_view text, char separator);
std::string_view trim(std::string_view text);
std::string join(std::span<const std::string> parts, std::string_view separator);
std::string to_lower(std::string_view text);
bool iequals(std::string_view a, std::string_view b);

// Levenshtein distance, case-sensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a plausible typo
// (distance ≤ max(1, len/3), or a case-insensitive match); nullopt otherwise.
std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string> candidates);

} // namespace wisp::support
