#include <wisp/runtime/process.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ; // NOLINT(readability-identifier-naming)

namespace wisp::runtime::detail {

namespace {

class SpawnGuard {
public:
  SpawnGuard() {
    posix_spawn_file_actions_init(&m_actions);
    posix_spawnattr_init(&m_attr);
  }
  ~SpawnGuard() {
    posix_spawn_file_actions_destroy(&m_actions);
    posix_spawnattr_destroy(&m_attr);
  }
  SpawnGuard(const SpawnGuard&) = delete;
  SpawnGuard& operator=(const SpawnGuard&) = delete;
  posix_spawn_file_actions_t* actions() { return &m_actions; }
  posix_spawnattr_t* attr() { return &m_attr; }

private:
  posix_spawn_file_actions_t m_actions{};
  posix_spawnattr_t m_attr{};
};

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings)
    out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void reset_signals(posix_spawnattr_t* attr, short extra_flags) {
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigmask(attr, &empty);
  posix_spawnattr_setsigdefault(attr, &all);
  posix_spawnattr_setflags(
      attr, static_cast<short>(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | extra_flags));
}

} // namespace

support::Result<Spawned> spawn_worker(const SpawnSpec& spec) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return support::failf("cannot create a pipe: {}", std::strerror(errno));
  SpawnGuard guard;
  posix_spawn_file_actions_addopen(guard.actions(), 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(guard.actions(), fds[1], 1);
  posix_spawn_file_actions_adddup2(guard.actions(), fds[1], 2);
  if (!spec.cwd.empty())
    posix_spawn_file_actions_addchdir_np(guard.actions(), spec.cwd.c_str());
  posix_spawn_file_actions_addclosefrom_np(guard.actions(), 3);
  reset_signals(guard.attr(), POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(guard.attr(), 0);

  std::vector<std::string> argv_storage;
  argv_storage.reserve(spec.args.size() + 1);
  argv_storage.push_back(spec.executable.string());
  for (const auto& arg : spec.args)
    argv_storage.push_back(arg);
  auto env_storage = spec.env;
  auto argv = c_strings(argv_storage);
  auto envp = c_strings(env_storage);

  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, spec.executable.c_str(), guard.actions(), guard.attr(),
                               argv.data(), envp.data());
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return support::failf("cannot start {}: {}", spec.executable.string(), std::strerror(rc));
  }
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  const auto pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    const int err = errno;
    kill_group(pid);
    ::waitpid(pid, nullptr, 0);
    ::close(fds[0]);
    return support::failf("cannot watch process {}: {}", pid, std::strerror(err));
  }
  return Spawned{pid, fds[0], pidfd};
}

void kill_group(pid_t pgid) {
  if (pgid > 0)
    ::kill(-pgid, SIGKILL);
}

namespace {

std::vector<std::string>
environment_with(const std::vector<std::pair<std::string, std::string>>& extra_env) {
  std::vector<std::string> env_storage;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    bool overridden = false;
    for (const auto& [key, value] : extra_env)
      if (entry.size() > key.size() && entry.starts_with(key) && entry[key.size()] == '=')
        overridden = true;
    if (!overridden)
      env_storage.emplace_back(entry);
  }
  for (const auto& [key, value] : extra_env)
    env_storage.push_back(key + "=" + value);
  return env_storage;
}

support::Result<Captured>
run_and_capture(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                const std::vector<std::pair<std::string, std::string>>& extra_env,
                std::chrono::milliseconds timeout, bool merge_stderr, std::size_t keep) {
  if (argv.empty())
    return support::fail("run_capture: empty command");
  auto env_storage = environment_with(extra_env);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return support::failf("cannot create a pipe: {}", std::strerror(errno));
  SpawnGuard guard;
  posix_spawn_file_actions_addopen(guard.actions(), 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(guard.actions(), fds[1], 1);
  if (merge_stderr)
    posix_spawn_file_actions_adddup2(guard.actions(), fds[1], 2);
  else
    posix_spawn_file_actions_addopen(guard.actions(), 2, "/dev/null", O_WRONLY, 0);
  if (!cwd.empty())
    posix_spawn_file_actions_addchdir_np(guard.actions(), cwd.c_str());
  posix_spawn_file_actions_addclosefrom_np(guard.actions(), 3);
  reset_signals(guard.attr(), POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(guard.attr(), 0);
  auto argv_storage = argv;
  auto c_argv = c_strings(argv_storage);
  auto envp = c_strings(env_storage);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv_storage[0].c_str(), guard.actions(), guard.attr(),
                                c_argv.data(), envp.data());
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return support::failf("cannot run {}: {}", argv[0], std::strerror(rc));
  }
  Captured captured;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  char buffer[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0) {
      timed_out = ready == 0;
      break;
    }
    const auto n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    captured.output.append(buffer, static_cast<std::size_t>(n));
    if (captured.output.size() > 2 * keep)
      captured.output.erase(0, captured.output.size() - keep);
  }
  if (captured.output.size() > keep)
    captured.output.erase(0, captured.output.size() - keep);
  ::close(fds[0]);
  if (timed_out)
    kill_group(pid);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out)
    return support::failf("{} did not finish within {} s", argv[0],
                          std::chrono::duration_cast<std::chrono::seconds>(timeout).count());
  captured.wait_status = status;
  return captured;
}

} // namespace

support::Result<Captured>
run_capture(const std::vector<std::string>& argv,
            const std::vector<std::pair<std::string, std::string>>& extra_env,
            std::chrono::milliseconds timeout) {
  return run_and_capture(argv, {}, extra_env, timeout, false, 1024 * 1024);
}

support::Result<Captured>
run_tool(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
         const std::vector<std::pair<std::string, std::string>>& extra_env,
         std::chrono::milliseconds timeout) {
  return run_and_capture(argv, cwd, extra_env, timeout, true, 64 * 1024);
}

} // namespace wisp::runtime::detail
