#pragma once
// Helpers shared by the artifact unit tests: writing files, reading bytes, crafting zips
// byte by byte (to feed the reader names wisp's writer would refuse).

#include <wisp/support/fs.hpp>

#include <cstdint>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <string_view>
#include <sys/stat.h>

namespace wisp::test {

inline void write(const std::filesystem::path& path, std::string_view content,
                  unsigned mode = 0644) {
  std::filesystem::create_directories(path.parent_path());
  auto status = support::write_file_atomic(path, content, mode);
  if (!status)
    throw std::runtime_error(status.error().message);
}

inline std::string bytes_of(const std::filesystem::path& path) {
  return support::read_file(path).value();
}

inline void set_mtime(const std::filesystem::path& path, std::int64_t seconds) {
  struct timespec times[2];
  times[0].tv_sec = static_cast<time_t>(seconds);
  times[0].tv_nsec = 0;
  times[1] = times[0];
  ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

inline std::uint32_t crc32(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const char c : data) {
    crc ^= static_cast<unsigned char>(c);
    for (int k = 0; k < 8; ++k)
      crc = (crc >> 1u) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

inline void le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out += static_cast<char>((value >> (8 * i)) & 0xFFu);
}

// A zip with one stored entry named `name` (any bytes), optionally a Unix symlink.
inline std::string raw_zip(std::string_view name, std::string_view content, bool symlink = false) {
  std::string out;
  const auto crc = crc32(content);
  le(out, 0x04034b50, 4);
  le(out, 10, 2);
  le(out, 0, 2);
  le(out, 0, 2);
  le(out, 0, 2);
  le(out, 0x21, 2);
  le(out, crc, 4);
  le(out, content.size(), 4);
  le(out, content.size(), 4);
  le(out, name.size(), 2);
  le(out, 0, 2);
  out += name;
  out += content;
  const auto central = out.size();
  le(out, 0x02014b50, 4);
  le(out, 0x031E, 2);
  le(out, 10, 2);
  le(out, 0, 2);
  le(out, 0, 2);
  le(out, 0, 2);
  le(out, 0x21, 2);
  le(out, crc, 4);
  le(out, content.size(), 4);
  le(out, content.size(), 4);
  le(out, name.size(), 2);
  le(out, 0, 2);
  le(out, 0, 2);
  le(out, 0, 2);
  le(out, 0, 2);
  le(out, static_cast<std::uint64_t>(symlink ? 0120777u : 0100644u) << 16u, 4);
  le(out, 0, 4);
  out += name;
  const auto central_size = out.size() - central;
  le(out, 0x06054b50, 4);
  le(out, 0, 2);
  le(out, 0, 2);
  le(out, 1, 2);
  le(out, 1, 2);
  le(out, central_size, 4);
  le(out, central, 4);
  le(out, 0, 2);
  return out;
}

} // namespace wisp::test
