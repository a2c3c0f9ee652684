// Short-lived children with captured output (child.hpp).

#include <wisp/console/child.hpp>

#include <wisp/support/fs.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace wisp::console::detail {

namespace {

constexpr std::uintmax_t k_max_output = 16u * 1024 * 1024;

std::string tail_of(const std::filesystem::path& file) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec)
    return {};
  auto text = support::read_file(file, std::max<std::uintmax_t>(size, 1));
  if (!text)
    return {};
  if (text->size() > k_max_output)
    return text->substr(text->size() - k_max_output);
  return std::move(*text);
}

} // namespace

support::Result<ChildResult> run_child(const std::vector<std::string>& argv,
                                       const std::filesystem::path& cwd,
                                       const std::vector<std::pair<std::string, std::string>>& env,
                                       std::chrono::milliseconds time_limit) {
  if (argv.empty())
    return support::fail("internal error: nothing to run");
  support::TempDir tmp("wisp-child");
  const auto out_path = tmp.path() / "stdout";
  const auto err_path = tmp.path() / "stderr";

  std::vector<std::string> env_strings;
  env_strings.reserve(env.size());
  for (const auto& [key, value] : env)
    env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& entry : env_strings)
    envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& arg : args)
    argp.push_back(arg.data());
  argp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0].c_str(), &actions, &attr, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    return support::failf("cannot start {}: {}", args[0], std::strerror(rc));

  ChildResult result;
  const auto deadline = std::chrono::steady_clock::now() + time_limit;
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid)
      break;
    if (done < 0 && errno != EINTR)
      return support::failf("waiting for {}: {}", args[0], std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline && !result.timed_out) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(-pid, SIGKILL); // anything the child left running in its group
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = tail_of(out_path);
  result.err = tail_of(err_path);
  return result;
}

} // namespace wisp::console::detail
