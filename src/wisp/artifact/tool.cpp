#include <wisp/artifact/tool.hpp>

#include <wisp/support/strings.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ; // NOLINT(readability-redundant-declaration)

namespace wisp::artifact::detail {

std::string command_line(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& arg : argv) {
    if (!text.empty())
      text += ' ';
    const bool quote = arg.empty() || arg.find_first_of(" \t\"'$") != std::string::npos;
    text += quote ? "'" + arg + "'" : arg;
  }
  return text;
}

support::Result<ToolResult> run_tool(const std::vector<std::string>& argv,
                                     const std::filesystem::path& cwd,
                                     const std::map<std::string, std::string>& env) {
  if (argv.empty())
    return support::fail("no command to run");
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string_view::npos && env.contains(std::string(entry.substr(0, eq))))
      continue;
    env_strings.emplace_back(entry);
  }
  for (const auto& [key, value] : env)
    env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& s : env_strings)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& s : args)
    argp.push_back(s.data());
  argp.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return support::failf("cannot create a pipe: {}", std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, argp[0], &actions, nullptr, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    if (rc == ENOENT)
      return support::failf("{} not found on PATH", argv[0]);
    return support::failf("cannot run {}: {}", argv[0], std::strerror(rc));
  }
  ToolResult result;
  char buffer[65536];
  while (true) {
    const auto n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (n == 0)
      break;
    result.output.append(buffer, static_cast<std::size_t>(n));
    if (result.output.size() > 2 * k_max_tool_output)
      result.output.erase(0, result.output.size() - k_max_tool_output);
  }
  ::close(fds[0]);
  if (result.output.size() > k_max_tool_output)
    result.output.erase(0, result.output.size() - k_max_tool_output);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      return support::failf("cannot wait for {}: {}", argv[0], std::strerror(errno));
  }
  if (WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.exit_code = 128 + WTERMSIG(status);
  return result;
}

} // namespace wisp::artifact::detail
