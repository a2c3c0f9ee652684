#pragma once
// The files of a directory as an artifact sees them: walked recursively, filtered by
// IgnoreRules, sorted by name. Symlinks are followed the way Lambda stores them: a link
// becomes its target's content (a link to a directory, that directory's files), and a
// link whose target lies outside the root, a dangling link, a link cycle, or a special
// file (FIFO, socket, device) is an error naming it.

#include <wisp/artifact/ignore.hpp>
#include <wisp/support/error.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace wisp::artifact {

struct TreeFile {
  std::string name;             // relative, '/'-separated: the name inside the artifact
  std::filesystem::path source; // where the bytes are (a link's target when a link)
  std::uint64_t size = 0;
  bool executable = false; // owner-executable: stored as 0755, else 0644
  // Identity for change detection (stat cache).
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
};

struct TreeOptions {
  // Top-level entries to leave out in addition to the rules (e.g. node_modules when npm
  // installs dependencies afresh).
  std::vector<std::string> skip_top_level;
};

support::Result<std::vector<TreeFile>> collect_tree(const std::filesystem::path& root,
                                                    const IgnoreRules& rules,
                                                    const TreeOptions& options = {});

// Total size of the files.
std::uint64_t total_size(const std::vector<TreeFile>& files);

// The largest directories (and top-level files) by total size, at most `count`, largest
// first: "node_modules/aws-sdk (61.2 MB)". Used to explain a crossed size limit.
std::vector<std::pair<std::string, std::uint64_t>>
largest_contributors(const std::vector<TreeFile>& files, std::size_t count = 5);

// "61.2 MB" (decimal megabytes, as Lambda's documentation counts them).
std::string format_size(std::uint64_t bytes);

} // namespace wisp::artifact
