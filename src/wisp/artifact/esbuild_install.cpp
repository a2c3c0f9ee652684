#include <wisp/artifact/esbuild.hpp>
#include <wisp/artifact/tool.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/strings.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace wisp::artifact::detail {

namespace fs = std::filesystem;

namespace {

bool executable(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

// The last `count` non-empty lines of a tool's output.
std::string last_lines(std::string_view output, std::size_t count) {
  std::vector<std::string> lines;
  for (const auto& line : support::split(output, '\n'))
    if (auto trimmed = std::string(support::trim(line)); !trimmed.empty())
      lines.push_back(std::move(trimmed));
  if (lines.size() > count)
    lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(count));
  return support::join(lines, "\n");
}

} // namespace

support::Result<fs::path> cached_esbuild(const fs::path& cache_dir,
                                         const std::function<void(const std::string&)>& announce) {
  const auto tools = cache_dir / "tools";
  const auto root = tools / fmt::format("esbuild-{}", k_esbuild_version);
  const auto binary = root / "node_modules" / ".bin" / "esbuild";
  if (executable(binary))
    return binary;
  std::error_code ec;
  fs::create_directories(tools, ec);
  if (ec)
    return support::failf("cannot create {}: {}", tools.string(), ec.message());
  // One install at a time across wisp processes (the lock is released when the fd closes).
  const int lock = ::open((tools / ".esbuild.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  struct Unlock {
    int fd;
    ~Unlock() {
      if (fd >= 0)
        ::close(fd);
    }
  } unlock{lock};
  if (lock >= 0)
    while (::flock(lock, LOCK_EX) != 0 && errno == EINTR) {
    }
  if (executable(binary)) // another wisp installed it meanwhile
    return binary;
  announce(fmt::format("esbuild is not on PATH nor among the dependencies: installing "
                       "esbuild@{} with npm into {} (once)",
                       k_esbuild_version, root.string()));
  const auto staging = tools / fmt::format("tmp-esbuild-{}", support::random_suffix());
  support::RemoveOnExit cleanup{staging};
  fs::create_directories(staging, ec);
  if (ec)
    return support::failf("cannot create {}: {}", staging.string(), ec.message());
  WISP_TRY(support::write_file_atomic(
      staging / "package.json",
      R"({"name":"wisp-esbuild","private":true,"description":"esbuild for BuildMethod esbuild"})"
      "\n"));
  const std::vector<std::string> argv{"npm",
                                      "install",
                                      "--no-audit",
                                      "--no-fund",
                                      "--prefer-offline",
                                      "--loglevel=error",
                                      fmt::format("esbuild@{}", k_esbuild_version)};
  auto run = run_tool(argv, staging, {{"npm_config_update_notifier", "false"}});
  if (!run)
    return support::failf("wisp could not install esbuild@{}: {}", k_esbuild_version,
                          run.error().message);
  if (run->exit_code != 0)
    return support::failf("wisp could not install esbuild@{} ({} failed with exit code {}):\n{}",
                          k_esbuild_version, command_line(argv), run->exit_code,
                          last_lines(run->output, 8));
  if (!executable(staging / "node_modules" / ".bin" / "esbuild"))
    return support::failf("wisp could not install esbuild@{}: npm installed no "
                          "node_modules/.bin/esbuild (a platform npm has no binary for?)",
                          k_esbuild_version);
  fs::remove_all(root, ec); // a broken earlier install (no binary)
  WISP_TRY(support::rename_no_replace(staging, root));
  cleanup.release();
  return binary;
}

} // namespace wisp::artifact::detail
