#include <wisp/artifact/tree.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <map>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace wisp::artifact {

namespace fs = std::filesystem;

namespace {

std::int64_t to_ns(const struct timespec& ts) {
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

class Walker {
public:
  Walker(fs::path root, const IgnoreRules& rules, const TreeOptions& options)
      : m_root(std::move(root)), m_rules(rules), m_options(options) {}

  support::Status walk(const fs::path& dir, const std::string& prefix) {
    struct stat dir_st {};
    if (::stat(dir.c_str(), &dir_st) != 0)
      return support::failf("cannot read {}: {}", dir.string(), std::strerror(errno));
    const auto id = std::make_pair(static_cast<std::uint64_t>(dir_st.st_dev),
                                   static_cast<std::uint64_t>(dir_st.st_ino));
    if (!m_active.insert(id).second)
      return support::failf("symlink cycle at {}: a link leads back to a directory it is in",
                            prefix.empty() ? m_root.string() : prefix);
    DIR* handle = ::opendir(dir.c_str());
    if (handle == nullptr)
      return support::failf("cannot read directory {}: {}", dir.string(), std::strerror(errno));
    std::vector<std::string> names;
    while (const auto* entry = ::readdir(handle)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..")
        names.push_back(name);
    }
    ::closedir(handle);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      const auto path = dir / name;
      const std::string relative = prefix.empty() ? name : prefix + "/" + name;
      if (prefix.empty() &&
          std::find(m_options.skip_top_level.begin(), m_options.skip_top_level.end(), name) !=
              m_options.skip_top_level.end())
        continue;
      struct stat lst {};
      if (::lstat(path.c_str(), &lst) != 0)
        return support::failf("cannot read {}: {}", path.string(), std::strerror(errno));
      struct stat st = lst;
      fs::path source = path;
      if (S_ISLNK(lst.st_mode)) {
        std::error_code ec;
        auto target = fs::canonical(path, ec);
        if (ec)
          return support::failf("symlink {} is dangling (its target {} does not exist)", relative,
                                fs::read_symlink(path, ec).string());
        if (!inside_root(target))
          return support::failf(
              "symlink {} points outside {} (to {}): Lambda stores a link as its target's "
              "content, and this target is not part of the artifact",
              relative, m_root.string(), target.string());
        if (::stat(target.c_str(), &st) != 0)
          return support::failf("cannot read {}: {}", target.string(), std::strerror(errno));
        source = std::move(target);
      }
      const bool is_dir = S_ISDIR(st.st_mode);
      if (m_rules.excluded(relative, is_dir))
        continue;
      if (is_dir) {
        WISP_TRY(walk(source, relative));
        continue;
      }
      if (!S_ISREG(st.st_mode))
        return support::failf("{} is not a regular file, directory or symlink (a FIFO, socket "
                              "or device cannot go into an artifact)",
                              relative);
      TreeFile file;
      file.name = relative;
      file.source = std::move(source);
      file.size = static_cast<std::uint64_t>(st.st_size);
      file.executable = (st.st_mode & S_IXUSR) != 0;
      file.device = static_cast<std::uint64_t>(st.st_dev);
      file.inode = static_cast<std::uint64_t>(st.st_ino);
      file.mtime_ns = to_ns(st.st_mtim);
      file.ctime_ns = to_ns(st.st_ctim);
      m_files.push_back(std::move(file));
    }
    m_active.erase(id);
    return {};
  }

  std::vector<TreeFile> take() { return std::move(m_files); }

private:
  [[nodiscard]] bool inside_root(const fs::path& target) const {
    auto it = target.begin();
    for (const auto& part : m_root) {
      if (it == target.end() || *it != part)
        return false;
      ++it;
    }
    return true;
  }

  fs::path m_root;
  const IgnoreRules& m_rules;
  const TreeOptions& m_options;
  std::set<std::pair<std::uint64_t, std::uint64_t>> m_active; // directories being walked
  std::vector<TreeFile> m_files;
};

} // namespace

support::Result<std::vector<TreeFile>> collect_tree(const fs::path& root, const IgnoreRules& rules,
                                                    const TreeOptions& options) {
  std::error_code ec;
  auto canonical_root = fs::canonical(root, ec);
  if (ec)
    return support::failf("cannot read directory {}: {}", root.string(), ec.message());
  if (!fs::is_directory(canonical_root, ec))
    return support::failf("{} is not a directory", root.string());
  Walker walker(canonical_root, rules, options);
  WISP_TRY(walker.walk(canonical_root, ""));
  auto files = walker.take();
  // Names are unique and already in order per directory; a full sort makes the order
  // bytewise over whole names ("a/b" vs "a-b"), independent of how directories nest.
  std::sort(files.begin(), files.end(),
            [](const TreeFile& a, const TreeFile& b) { return a.name < b.name; });
  return files;
}

std::uint64_t total_size(const std::vector<TreeFile>& files) {
  std::uint64_t total = 0;
  for (const auto& file : files)
    total += file.size;
  return total;
}

std::vector<std::pair<std::string, std::uint64_t>>
largest_contributors(const std::vector<TreeFile>& files, std::size_t count) {
  // Sizes of top-level files, of top-level directories, and of the directories one level
  // below (node_modules/aws-sdk/), so a big directory is named with what makes it big.
  std::map<std::string, std::uint64_t> sizes;
  for (const auto& file : files) {
    const auto first = file.name.find('/');
    if (first == std::string::npos) {
      sizes[file.name] += file.size;
      continue;
    }
    sizes[file.name.substr(0, first + 1)] += file.size;
    const auto second = file.name.find('/', first + 1);
    if (second != std::string::npos)
      sizes[file.name.substr(0, second + 1)] += file.size;
  }
  std::vector<std::pair<std::string, std::uint64_t>> sorted(sizes.begin(), sizes.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (sorted.size() > count)
    sorted.resize(count);
  return sorted;
}

std::string format_size(std::uint64_t bytes) {
  if (bytes < 1000)
    return fmt::format("{} B", bytes);
  if (bytes < 1000 * 1000)
    return fmt::format("{:.1f} kB", static_cast<double>(bytes) / 1e3);
  if (bytes < 1000ull * 1000 * 1000)
    return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
  return fmt::format("{:.2f} GB", static_cast<double>(bytes) / 1e9);
}

} // namespace wisp::artifact
