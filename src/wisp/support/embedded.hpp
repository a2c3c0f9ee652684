#pragma once
// Files embedded into the binary at build time (cmake/embed.cmake).

#include <optional>
#include <span>
#include <string_view>

namespace wisp::support {

struct EmbeddedFile {
  std::string_view path; // relative to the directory that embedded it
  std::string_view data;
};

inline std::optional<std::string_view> find_embedded(std::span<const EmbeddedFile> files,
                                                     std::string_view path) {
  for (const auto& file : files)
    if (file.path == path)
      return file.data;
  return std::nullopt;
}

} // namespace wisp::support
