#pragma once
// Filesystem helpers. Writes are atomic (temp file in the same directory, fsync, rename)
// so an interrupted wisp never leaves a half-written file behind.

#include <wisp/support/error.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::support {

namespace fs = std::filesystem;

inline constexpr std::uintmax_t k_default_max_read = 512ull * 1024 * 1024;

// Reads a whole regular file. Errors name the path and the reason: missing, a directory,
// unreadable, larger than `max_size`.
Result<std::string> read_file(const fs::path& path, std::uintmax_t max_size = k_default_max_read);

// Writes `content` to `path` atomically; creates parent directories. `mode` is applied to
// the new file (e.g. 0755 for scripts).
Status write_file_atomic(const fs::path& path, std::string_view content, unsigned mode = 0644);

// Renames `from` to `to` unless `to` exists (a file, or a directory even when empty): atomic
// where the filesystem supports renameat2(RENAME_NOREPLACE). The error says "<to> already
// exists" when it does.
Status rename_no_replace(const fs::path& from, const fs::path& to);

// True when `path` (after resolving `..` and symlinks of its existing prefix) lies inside
// `root` (also resolved). Neither needs to exist entirely.
bool is_within(const fs::path& path, const fs::path& root);

// Twelve random hex digits for a temp name beside its destination (unique per call).
std::string random_suffix();

// Removes the trees it was given when destroyed (errors ignored), unless release() was
// called: the staging directories of an install or a build that is renamed into place on
// success and must not be left behind on any failure.
class RemoveOnExit {
public:
  explicit RemoveOnExit(fs::path path = {}) {
    if (!path.empty())
      m_paths.push_back(std::move(path));
  }
  ~RemoveOnExit();
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;

  void add(fs::path path) { m_paths.push_back(std::move(path)); }
  void release() { m_paths.clear(); }

private:
  std::vector<fs::path> m_paths;
};

// A directory under the system temp dir, removed on destruction unless keep() was called.
class TempDir {
public:
  explicit TempDir(std::string_view prefix = "wisp");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&&) = delete;

  [[nodiscard]] const fs::path& path() const { return m_path; }
  void keep() { m_keep = true; }

private:
  fs::path m_path;
  bool m_keep = false;
};

// A file written in pieces that appears at `path` only when commit() succeeds: the bytes go
// to a temp file in the same directory, which commit() fsyncs and renames into place.
// Destroyed without a successful commit(), it removes the temp file and leaves `path` as
// it was. For large outputs (zips, image layers) that write_file_atomic cannot hold.
class AtomicFile {
public:
  static Result<AtomicFile> create(const fs::path& path, unsigned mode = 0644);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;

  // Appends at the end.
  Status write(std::string_view data);
  // Overwrites bytes already written (e.g. a header patched after the data).
  Status write_at(std::uint64_t offset, std::string_view data);
  [[nodiscard]] std::uint64_t size() const { return m_size; }
  [[nodiscard]] const fs::path& path() const { return m_path; }
  Status commit();

private:
  AtomicFile() = default;
  fs::path m_path;
  fs::path m_temp;
  int m_fd = -1;
  unsigned m_mode = 0644;
  std::uint64_t m_size = 0;
};

// The directory holding the running executable (via /proc/self/exe).
fs::path executable_dir();

} // namespace wisp::support
