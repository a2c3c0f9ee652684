#include <wisp/gateway/watcher.hpp>

// GCC 12 reports -Wnull-dereference inside Asio's reactor once inlined (a false positive in
// system headers); silenced for those headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#pragma GCC diagnostic pop
#include <fmt/format.h>

#include <array>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <sys/inotify.h>
#include <unistd.h>

namespace wisp::gateway {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t k_max_watches = 8192;
constexpr std::uint32_t k_mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                 IN_CREATE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;

bool ignored_dir(std::string_view name) {
  return name == "__pycache__" || name == ".git" || name == ".wisp" || name == ".aws-sam" ||
         name == ".hg" || name == ".svn";
}

} // namespace

struct CodeWatcher::Impl : std::enable_shared_from_this<CodeWatcher::Impl> {
  using Executor = asio::io_context::executor_type;
  Impl(asio::io_context& io_, std::function<void(std::size_t, const std::string&)> on_change_,
       std::chrono::milliseconds quiet_)
      : io(io_), descriptor(io_.get_executor()), timer(io_.get_executor()),
        on_change(std::move(on_change_)), quiet(quiet_) {}

  asio::io_context& io;
  asio::posix::basic_stream_descriptor<Executor> descriptor;
  asio::basic_waitable_timer<std::chrono::steady_clock,
                             asio::wait_traits<std::chrono::steady_clock>, Executor>
      timer;
  std::function<void(std::size_t, const std::string&)> on_change;
  std::chrono::milliseconds quiet;
  std::mutex mutex;
  int fd = -1;
  struct Watch {
    fs::path dir;
    std::set<std::size_t> targets;
    // On a root's parent: the roots by name, so a root replaced by a rename (a new build
    // swapped in) is watched again.
    std::map<std::string, std::set<std::size_t>> roots;
  };
  std::map<int, Watch> watches;
  std::map<std::size_t, std::string> pending; // target → a changed path
  std::set<fs::path> skipped;                 // neither watched nor reported
  std::array<char, 64 * 1024> buffer{};
  bool stopped = false;

  support::Status add_dir(std::size_t target, const fs::path& dir) {
    if (watches.size() >= k_max_watches)
      return support::failf("more than {} directories to watch; hot reload skips {}", k_max_watches,
                            dir.string());
    const int wd = ::inotify_add_watch(fd, dir.c_str(), k_mask);
    if (wd < 0)
      return support::failf("cannot watch {}: {}", dir.string(), std::strerror(errno));
    auto& watch = watches[wd];
    watch.dir = dir;
    watch.targets.insert(target);
    return {};
  }

  support::Status add_tree(std::size_t target, const fs::path& root) {
    WISP_TRY(add_dir(target, root));
    std::error_code ec;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_directory(ec) || it->is_symlink(ec))
        continue;
      if (ignored_dir(it->path().filename().string()) || skipped.contains(it->path())) {
        it.disable_recursion_pending();
        continue;
      }
      WISP_TRY(add_dir(target, it->path()));
    }
    return {};
  }

  // Watches `root` and, best effort, its parent for `root` being replaced.
  support::Status add_root(std::size_t target, const fs::path& root) {
    WISP_TRY(add_tree(target, root));
    const auto parent = root.parent_path();
    if (parent.empty() || parent == root || watches.size() >= k_max_watches)
      return {};
    const int wd = ::inotify_add_watch(fd, parent.c_str(), k_mask);
    if (wd < 0)
      return {};
    auto& watch = watches[wd];
    if (watch.dir.empty())
      watch.dir = parent;
    watch.roots[root.filename().string()].insert(target);
    return {};
  }

  void read() {
    descriptor.async_read_some(
        asio::buffer(buffer),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          if (ec)
            return;
          self->on_events(n);
          self->read();
        });
  }

  void on_events(std::size_t n) {
    std::lock_guard lock(mutex);
    if (stopped)
      return;
    std::size_t offset = 0;
    bool any = false;
    while (offset + sizeof(inotify_event) <= n) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer.data() + offset);
      offset += sizeof(inotify_event) + event->len;
      const std::string name = event->len > 0 ? std::string(event->name) : std::string();
      const auto it = watches.find(event->wd);
      if (it == watches.end())
        continue;
      if ((event->mask & IN_ISDIR) != 0 && ignored_dir(name))
        continue;
      if ((event->mask & IN_ISDIR) == 0 && ignored_name(name))
        continue;
      const auto path = name.empty() ? it->second.dir : it->second.dir / name;
      if (!skipped.empty() && skipped.contains(path))
        continue;
      if ((event->mask & IN_ISDIR) != 0 && (event->mask & (IN_CREATE | IN_MOVED_TO)) != 0) {
        if (const auto root = it->second.roots.find(name); root != it->second.roots.end()) {
          const auto targets = root->second;
          for (const auto target : targets) {
            (void)add_tree(target, path);
            pending[target] = path.string();
          }
          any = true;
        }
      }
      if ((event->mask & IN_ISDIR) != 0 && (event->mask & (IN_CREATE | IN_MOVED_TO)) != 0) {
        const auto targets = it->second.targets;
        for (const auto target : targets)
          (void)add_tree(target, path);
      }
      for (const auto target : it->second.targets)
        pending[target] = path.string();
      any = true;
      if ((event->mask & IN_IGNORED) != 0)
        watches.erase(it);
    }
    if (!any)
      return;
    timer.expires_after(quiet);
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec)
        self->fire();
    });
  }

  void fire() {
    std::map<std::size_t, std::string> changed;
    {
      std::lock_guard lock(mutex);
      if (stopped)
        return;
      changed.swap(pending);
    }
    for (const auto& [target, path] : changed)
      on_change(target, path);
  }
};

CodeWatcher::CodeWatcher(asio::io_context& io,
                         std::function<void(std::size_t, const std::string&)> on_change,
                         std::chrono::milliseconds quiet)
    : m_impl(std::make_shared<Impl>(io, std::move(on_change), quiet)) {
  m_impl->fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (m_impl->fd >= 0)
    m_impl->descriptor.assign(m_impl->fd);
}

CodeWatcher::~CodeWatcher() {
  stop();
}

support::Status CodeWatcher::add(std::size_t target, const std::filesystem::path& root,
                                 const std::vector<std::filesystem::path>& skip) {
  std::lock_guard lock(m_impl->mutex);
  for (const auto& path : skip)
    m_impl->skipped.insert(path.lexically_normal());
  if (m_impl->fd < 0)
    return support::failf("inotify is not available: {}", std::strerror(errno));
  return m_impl->add_root(target, root);
}

void CodeWatcher::start() {
  if (m_impl->fd >= 0)
    m_impl->read();
}

void CodeWatcher::stop() {
  std::lock_guard lock(m_impl->mutex);
  if (m_impl->stopped)
    return;
  m_impl->stopped = true;
  boost::system::error_code ignored;
  m_impl->timer.cancel();
  m_impl->descriptor.close(ignored); // closes the inotify fd
}

bool CodeWatcher::ignored_name(std::string_view name) {
  return name.ends_with(".pyc") || name.ends_with(".pyo") || name.ends_with(".swp") ||
         name.ends_with(".swx") || name.ends_with("~") || name.starts_with(".#") ||
         name == "4913" || name.empty();
}

} // namespace wisp::gateway
