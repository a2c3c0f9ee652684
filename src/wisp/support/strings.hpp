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

// Length (2-4) of the valid multi-byte UTF-8 sequence starting at text[i], or 0 when the
// bytes there are not one (an ASCII byte, a stray continuation, a truncated, overlong or
// surrogate sequence, or a value past U+10FFFF).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i);

} // namespace wisp::support
