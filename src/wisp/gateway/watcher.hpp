#pragma once
// Hot reload: watches functions' code directories (recursively, with inotify) on an
// io_context and reports, debounced, which targets changed. Bytecode caches, editor swap
// files and VCS/build folders (__pycache__, .git, .wisp, .aws-sam) are ignored, so a running
// Python worker writing its own .pyc files never triggers a reload.

#include <wisp/support/error.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace wisp::gateway {

class CodeWatcher {
public:
  // `on_change(target, path)`: once per changed target after `quiet` without further events;
  // `path` is one of the changed files. Runs on an io_context thread.
  CodeWatcher(boost::asio::io_context& io,
              std::function<void(std::size_t target, const std::string& path)> on_change,
              std::chrono::milliseconds quiet = std::chrono::milliseconds(100));
  ~CodeWatcher();
  CodeWatcher(const CodeWatcher&) = delete;
  CodeWatcher& operator=(const CodeWatcher&) = delete;

  // Watches `root` and its subdirectories for `target` (at most 8192 directories in all). A
  // root replaced by another directory of its name (a rename, as `wisp build` swaps a build
  // in) is watched again and reported as changed.
  // `skip`: directories below roots neither watched nor reported (node_modules of sources,
  // a build dir inside them).
  support::Status add(std::size_t target, const std::filesystem::path& root,
                      const std::vector<std::filesystem::path>& skip = {});
  void start();
  void stop();

  // Whether a changed file name is noise (bytecode, swap files).
  static bool ignored_name(std::string_view name);

  struct Impl;

private:
  std::shared_ptr<Impl> m_impl;
};

} // namespace wisp::gateway
