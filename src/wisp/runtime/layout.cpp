// Lambda's file layout for a worker: planning (parent) and the child between clone and exec.
// See layout.hpp.

#include <wisp/runtime/layout.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <optional>
#include <sched.h>
#include <set>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wisp::runtime::detail {

namespace fs = std::filesystem;

namespace {

constexpr int k_max_slots = 64;
constexpr std::size_t k_max_ops = 4096;

enum class OpKind : std::uint8_t { open_path, tmpfs, mkdir, mkfile, symlink, bind, remount_ro };

struct Op {
  OpKind kind = OpKind::mkdir;
  int slot = -1;      // open_path: the slot filled; bind: the source's slot
  std::string source; // open_path: host path; bind: below the slot ("" = the slot itself);
                      // symlink: the link's target
  std::string target; // the path created or mounted on (inside the layout)
  std::string data;   // tmpfs: its options
  bool recursive = true;
  const char* step = ""; // for messages
};

} // namespace

struct LayoutPlan {
  std::vector<Op> ops;
  int slots = 0;
  bool has_opt = false;
  std::string uid_map;
  std::string gid_map;
};

namespace {

class Planner {
public:
  explicit Planner(LayoutPlan& plan) : m_plan(plan) {}

  int open(const fs::path& host_path) {
    if (auto it = m_slots.find(host_path.string()); it != m_slots.end())
      return it->second;
    const int slot = m_plan.slots++;
    Op op;
    op.kind = OpKind::open_path;
    op.slot = slot;
    op.source = host_path.string();
    op.step = "open";
    m_plan.ops.push_back(std::move(op));
    m_slots[host_path.string()] = slot;
    return slot;
  }
  void tmpfs(const std::string& target, std::string data) {
    Op op;
    op.kind = OpKind::tmpfs;
    op.target = target;
    op.data = std::move(data);
    op.step = "mount a tmpfs on";
    m_plan.ops.push_back(std::move(op));
  }
  void mkdir(const std::string& target) { simple(OpKind::mkdir, target, "create directory"); }
  void mkfile(const std::string& target) { simple(OpKind::mkfile, target, "create file"); }
  void symlink(const std::string& link_target, const std::string& at) {
    Op op;
    op.kind = OpKind::symlink;
    op.source = link_target;
    op.target = at;
    op.step = "create symbolic link";
    m_plan.ops.push_back(std::move(op));
  }
  void bind(int slot, const std::string& below, const std::string& target, bool recursive = true) {
    Op op;
    op.kind = OpKind::bind;
    op.slot = slot;
    op.source = below;
    op.target = target;
    op.recursive = recursive;
    op.step = "bind-mount onto";
    m_plan.ops.push_back(std::move(op));
  }
  void read_only(const std::string& target) { simple(OpKind::remount_ro, target, "remount"); }

  // Creates `target` (below an already created tmpfs) and its missing parents.
  void mkdirs(const fs::path& root, const fs::path& relative) {
    fs::path at = root;
    for (const auto& part : relative) {
      at /= part;
      if (m_made.insert(at.string()).second)
        mkdir(at.string());
    }
  }

private:
  void simple(OpKind kind, const std::string& target, const char* step) {
    Op op;
    op.kind = kind;
    op.target = target;
    op.step = step;
    m_plan.ops.push_back(std::move(op));
  }
  LayoutPlan& m_plan;
  std::map<std::string, int> m_slots;
  std::set<std::string> m_made;
};

enum class Kind { missing, dir, file, link, other };

Kind kind_of(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::symlink_status(path, ec);
  if (ec)
    return Kind::missing;
  if (fs::is_symlink(status))
    return Kind::link;
  if (fs::is_directory(status))
    return Kind::dir;
  if (fs::is_regular_file(status))
    return Kind::file;
  return Kind::other;
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    out.push_back(entry.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// A relative symbolic link in a layer that leads out of it.
support::Status check_layer_links(const std::string& function_id, const fs::path& layer) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(layer, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code link_ec;
    if (!it->is_symlink(link_ec))
      continue;
    const auto target = fs::read_symlink(it->path(), link_ec);
    if (link_ec || target.is_absolute())
      continue;
    const auto relative_dir = it->path().parent_path().lexically_relative(layer);
    const auto resolved = (relative_dir / target).lexically_normal();
    if (resolved.empty() || *resolved.begin() == "..")
      return support::failf("function {}: layer {}: {} is a symbolic link to {}, outside the "
                            "layer (Lambda extracts a layer into /opt; this link would lead out "
                            "of it)",
                            function_id, layer.string(),
                            it->path().lexically_relative(layer).string(), target.string());
  }
  return {};
}

// The layers merged under /opt/<relative>: a directory several layers hold is created and
// merged entry by entry (a later layer's entry wins); one only a single layer holds is bound
// whole.
void merge_layers(Planner& plan, const std::vector<fs::path>& layers, const std::vector<int>& slots,
                  const fs::path& relative, const std::vector<std::size_t>& holders) {
  std::set<std::string> names;
  for (const auto index : holders)
    for (auto& name : entries(layers[index] / relative))
      names.insert(std::move(name));
  for (const auto& name : names) {
    const auto below = relative / name;
    // The last layer holding the name wins; directories merge with the ones just before it.
    std::vector<std::size_t> dirs;
    std::optional<std::size_t> winner;
    Kind winner_kind = Kind::missing;
    for (const auto index : holders) {
      const auto kind = kind_of(layers[index] / below);
      if (kind == Kind::missing || kind == Kind::other)
        continue;
      if (kind != Kind::dir)
        dirs.clear();
      else
        dirs.push_back(index);
      winner = index;
      winner_kind = kind;
    }
    if (!winner)
      continue;
    const auto target = (fs::path("/opt") / below).string();
    if (winner_kind == Kind::link) {
      std::error_code ec;
      plan.symlink(fs::read_symlink(layers[*winner] / below, ec).string(), target);
    } else if (winner_kind == Kind::file) {
      plan.mkfile(target);
      plan.bind(slots[*winner], below.string(), target, false);
    } else if (dirs.size() == 1) {
      plan.mkdir(target);
      plan.bind(slots[dirs.front()], below.string(), target);
    } else {
      plan.mkdir(target);
      merge_layers(plan, layers, slots, below, dirs);
    }
  }
}

// The directory that keeps an interpreter at `executable` runnable: its installation (the
// parent of bin/), within `root`.
std::optional<fs::path> kept_root(const fs::path& executable, const fs::path& root) {
  const auto relative = executable.lexically_normal().lexically_relative(root);
  if (relative.empty() || *relative.begin() == ".." || relative == ".")
    return std::nullopt;
  auto dir = executable.lexically_normal().parent_path();
  if (dir.filename() == "bin" && dir.parent_path() != root)
    dir = dir.parent_path();
  if (dir == root)
    dir = executable.lexically_normal(); // a binary directly in /tmp or /opt
  return dir.lexically_relative(root);
}

} // namespace

bool layout_has_opt(const LayoutPlan& plan) {
  return plan.has_opt;
}

support::Result<std::shared_ptr<const LayoutPlan>> plan_layout(const LayoutInputs& in) {
  auto plan = std::make_shared<LayoutPlan>();
  plan->uid_map = fmt::format("{0} {0} 1\n", ::geteuid());
  plan->gid_map = fmt::format("{0} {0} 1\n", ::getegid());
  Planner p(*plan);
  if (kind_of("/var") != Kind::dir)
    return support::fail("this machine has no /var directory");
  for (const auto& layer : in.layer_dirs)
    WISP_TRY(check_layer_links(in.function_id, layer));

  // Every source first, while each is still visible at its host path.
  const int var_slot = p.open("/var");
  const int code_slot = p.open(in.code_dir);
  const int runtime_slot = in.runtime_dir.empty() ? -1 : p.open(in.runtime_dir);
  const int modules_slot = in.node_modules.empty() ? -1 : p.open(in.node_modules);
  const int python_slot = in.python_libs.empty() ? -1 : p.open(in.python_libs);
  std::vector<int> layer_slots;
  for (const auto& layer : in.layer_dirs)
    layer_slots.push_back(p.open(layer));
  const bool has_opt = kind_of("/opt") == Kind::dir;
  const auto opt_keep = has_opt ? kept_root(in.interpreter, "/opt") : std::nullopt;
  const auto tmp_keep = kept_root(in.interpreter, "/tmp");
  const int opt_slot = opt_keep ? p.open("/opt") : -1;
  const int tmp_slot = tmp_keep ? p.open("/tmp") : -1;

  // /var: the host's entries bound back, beside /var/task and /var/runtime.
  p.tmpfs("/var", "mode=755,size=4m");
  static const std::set<std::string> k_owned = {"task", "runtime", "lang", "node_modules"};
  for (const auto& name : entries("/var")) {
    if (k_owned.count(name) != 0)
      continue;
    const auto host = fs::path("/var") / name;
    const auto target = host.string();
    switch (kind_of(host)) {
    case Kind::dir:
      p.mkdir(target);
      p.bind(var_slot, name, target);
      break;
    case Kind::file:
      p.mkfile(target);
      p.bind(var_slot, name, target, false);
      break;
    case Kind::link: {
      std::error_code ec;
      p.symlink(fs::read_symlink(host, ec).string(), target);
      break;
    }
    default:
      break;
    }
  }
  p.mkdir("/var/task");
  p.bind(code_slot, "", "/var/task");
  p.read_only("/var/task");
  p.mkdir("/var/runtime");
  if (runtime_slot >= 0) {
    p.bind(runtime_slot, "", "/var/runtime");
    p.read_only("/var/runtime");
    if (modules_slot >= 0 && kind_of(in.runtime_dir / "node_modules") == Kind::dir) {
      p.bind(modules_slot, "", "/var/runtime/node_modules");
      p.read_only("/var/runtime/node_modules");
    }
  }
  if (python_slot >= 0) {
    const auto site =
        fs::path("lang/lib") / fmt::format("python3.{}", in.python_minor) / "site-packages";
    p.mkdirs("/var", site);
    p.bind(python_slot, "", (fs::path("/var") / site).string());
    p.read_only((fs::path("/var") / site).string());
  }
  if (in.node_major > 0) {
    // /var/node_modules: what NODE_PATH's node_modules directories hold, first one winning.
    struct Source {
      fs::path host;      // where to list
      fs::path in_layout; // what the links point at
    };
    std::vector<Source> sources;
    if (has_opt) {
      const auto versioned =
          fs::path("nodejs") / fmt::format("node{}", in.node_major) / "node_modules";
      for (const auto& layer : in.layer_dirs)
        sources.push_back({layer / versioned, fs::path("/opt") / versioned});
      for (const auto& layer : in.layer_dirs)
        sources.push_back({layer / "nodejs/node_modules", "/opt/nodejs/node_modules"});
    }
    if (!in.node_modules.empty())
      sources.push_back({in.node_modules, "/var/runtime/node_modules"});
    // name → in-layout directory; scopes: name → package → directory.
    std::map<std::string, fs::path> packages;
    std::map<std::string, std::map<std::string, fs::path>> scoped;
    for (const auto& source : sources) {
      for (const auto& name : entries(source.host)) {
        if (name.starts_with("."))
          continue;
        if (name.starts_with("@")) {
          auto& scope = scoped[name];
          for (const auto& package : entries(source.host / name))
            scope.emplace(package, source.in_layout / name / package);
        } else {
          packages.emplace(name, source.in_layout / name);
        }
      }
    }
    if (!packages.empty() || !scoped.empty()) {
      p.mkdir("/var/node_modules");
      for (const auto& [name, target] : packages)
        p.symlink(target.string(), "/var/node_modules/" + name);
      for (const auto& [scope, members] : scoped) {
        const auto dir = "/var/node_modules/" + scope;
        p.mkdir(dir);
        for (const auto& [package, target] : members)
          p.symlink(target.string(), dir + "/" + package);
      }
    }
  }
  p.read_only("/var");

  // /opt: the layers, merged.
  if (has_opt) {
    p.tmpfs("/opt", "mode=755,size=1m");
    std::vector<std::size_t> all(in.layer_dirs.size());
    for (std::size_t i = 0; i < all.size(); ++i)
      all[i] = i;
    std::set<std::string> top;
    for (const auto& layer : in.layer_dirs)
      for (auto& name : entries(layer))
        top.insert(std::move(name));
    merge_layers(p, in.layer_dirs, layer_slots, fs::path(), all);
    if (opt_keep && top.count(opt_keep->begin()->string()) == 0) {
      const auto name = opt_keep->begin()->string();
      const auto host = fs::path("/opt") / name;
      if (kind_of(host) == Kind::dir)
        p.mkdir(host.string());
      else
        p.mkfile(host.string());
      p.bind(opt_slot, name, host.string());
    }
    p.read_only("/opt");
    plan->has_opt = true;
  }

  // /tmp: private to the worker, of EphemeralStorage MB.
  p.tmpfs("/tmp", fmt::format("mode=1777,size={}m", std::max(1, in.tmp_size_mb)));
  if (tmp_keep) {
    const auto host = fs::path("/tmp") / *tmp_keep;
    if (kind_of(host) == Kind::dir) {
      p.mkdirs("/tmp", *tmp_keep);
    } else {
      p.mkdirs("/tmp", tmp_keep->parent_path());
      p.mkfile(host.string());
    }
    p.bind(tmp_slot, tmp_keep->string(), host.string());
  }
  if (plan->ops.size() > k_max_ops || plan->slots > k_max_slots)
    return support::failf("function {}: its layers need {} mounts, more than the {} wisp makes",
                          in.function_id, plan->ops.size(), k_max_ops);
  return std::shared_ptr<const LayoutPlan>(std::move(plan));
}

// ------------------------------------------------------------------ the child

namespace {

struct ChildArgs {
  const LayoutPlan* plan = nullptr;
  const char* executable = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* cwd = nullptr;
  int output_fd = -1;
  std::array<int, k_max_slots> slot_fds{};
  // Written by the child when a step fails (the parent reads them once it resumes).
  int failed_op = -1; // -2: a step before the operations
  const char* failed_step = nullptr;
  int error = 0;
};

// Appends `text` to buffer[at..], keeping room for the NUL; false when it does not fit.
bool append(char* buffer, std::size_t size, std::size_t& at, const char* text) {
  while (*text != '\0') {
    if (at + 1 >= size)
      return false;
    buffer[at++] = *text++;
  }
  buffer[at] = '\0';
  return true;
}

bool append_int(char* buffer, std::size_t size, std::size_t& at, int value) {
  char digits[16];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0 && n < 15);
  char text[16];
  for (int i = 0; i < n; ++i)
    text[i] = digits[n - 1 - i];
  text[n] = '\0';
  return append(buffer, size, at, text);
}

bool write_text(const char* path, const std::string& text) {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// What a read-only remount must keep: flags the mount already has and a user namespace may not
// clear.
unsigned long locked_flags(const char* target) {
  struct statfs st {};
  if (::statfs(target, &st) != 0)
    return 0;
  unsigned long flags = 0;
  const auto f = static_cast<unsigned long>(st.f_flags);
  if ((f & ST_NOSUID) != 0)
    flags |= MS_NOSUID;
  if ((f & ST_NODEV) != 0)
    flags |= MS_NODEV;
  if ((f & ST_NOEXEC) != 0)
    flags |= MS_NOEXEC;
  if ((f & ST_NOATIME) != 0)
    flags |= MS_NOATIME;
  if ((f & ST_NODIRATIME) != 0)
    flags |= MS_NODIRATIME;
  if ((f & ST_RELATIME) != 0)
    flags |= MS_RELATIME;
  return flags;
}

// Between clone and exec: system calls only (no allocation, no locks).
[[noreturn]] void child_fail(ChildArgs& a, int op, const char* step) {
  a.failed_op = op;
  a.failed_step = step;
  a.error = errno;
  ::_exit(127);
}

int child_main(void* arg) {
  auto& a = *static_cast<ChildArgs*>(arg);
  const auto& plan = *a.plan;
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    ::sigaction(sig, &action, nullptr); // fails harmlessly for SIGKILL, SIGSTOP, glibc's own
  }
  if (::setpgid(0, 0) != 0)
    child_fail(a, -2, "start a process group");
  if (!write_text("/proc/self/setgroups", "deny") && errno != ENOENT)
    child_fail(a, -2, "deny setgroups in the new user namespace");
  if (!write_text("/proc/self/uid_map", plan.uid_map))
    child_fail(a, -2, "map the user id in a new user namespace");
  if (!write_text("/proc/self/gid_map", plan.gid_map))
    child_fail(a, -2, "map the group id in a new user namespace");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    child_fail(a, -2, "make the mounts private");
  char path[PATH_MAX + 64];
  for (std::size_t i = 0; i < plan.ops.size(); ++i) {
    const auto& op = plan.ops[i];
    const int index = static_cast<int>(i);
    switch (op.kind) {
    case OpKind::open_path: {
      const int fd = ::open(op.source.c_str(), O_PATH | O_CLOEXEC);
      if (fd < 0)
        child_fail(a, index, op.step);
      a.slot_fds[static_cast<std::size_t>(op.slot)] = fd;
      break;
    }
    case OpKind::tmpfs:
      if (::mount("tmpfs", op.target.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, op.data.c_str()) != 0)
        child_fail(a, index, op.step);
      break;
    case OpKind::mkdir:
      if (::mkdir(op.target.c_str(), 0755) != 0 && errno != EEXIST)
        child_fail(a, index, op.step);
      break;
    case OpKind::mkfile: {
      const int fd = ::open(op.target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0)
        child_fail(a, index, op.step);
      ::close(fd);
      break;
    }
    case OpKind::symlink:
      if (::symlink(op.source.c_str(), op.target.c_str()) != 0 && errno != EEXIST)
        child_fail(a, index, op.step);
      break;
    case OpKind::bind: {
      std::size_t at = 0;
      path[0] = '\0';
      bool ok = append(path, sizeof path, at, "/proc/self/fd/") &&
                append_int(path, sizeof path, at, a.slot_fds[static_cast<std::size_t>(op.slot)]);
      if (ok && !op.source.empty())
        ok = append(path, sizeof path, at, "/") && append(path, sizeof path, at, op.source.c_str());
      if (!ok) {
        errno = ENAMETOOLONG;
        child_fail(a, index, op.step);
      }
      unsigned long flags = MS_BIND;
      if (op.recursive)
        flags |= MS_REC;
      if (::mount(path, op.target.c_str(), nullptr, flags, nullptr) != 0)
        child_fail(a, index, op.step);
      break;
    }
    case OpKind::remount_ro:
      // Best effort: a mount whose flags the namespace may not change stays writable.
      ::mount(nullptr, op.target.c_str(), nullptr,
              MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(op.target.c_str()), nullptr);
      break;
    }
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(a.output_fd, 1) < 0 ||
      ::dup2(a.output_fd, 2) < 0)
    child_fail(a, -2, "set up stdin/stdout");
  ::close_range(3, ~0U, 0);
  if (a.cwd != nullptr && ::chdir(a.cwd) != 0)
    child_fail(a, -2, "change to the working directory");
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(a.executable, a.argv, a.envp);
  child_fail(a, -3, "start");
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings)
    out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

} // namespace

support::Result<Spawned> spawn_in_layout(const SpawnSpec& spec, const LayoutPlan& plan) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return support::failf("cannot create a pipe: {}", std::strerror(errno));
  std::vector<std::string> argv_storage;
  argv_storage.reserve(spec.args.size() + 1);
  argv_storage.push_back(spec.executable.string());
  for (const auto& arg : spec.args)
    argv_storage.push_back(arg);
  auto env_storage = spec.env;
  auto argv = c_strings(argv_storage);
  auto envp = c_strings(env_storage);
  const auto executable = spec.executable.string();
  const auto cwd = spec.cwd.string();

  ChildArgs args;
  args.plan = &plan;
  args.executable = executable.c_str();
  args.argv = argv.data();
  args.envp = envp.data();
  args.cwd = cwd.empty() ? nullptr : cwd.c_str();
  args.output_fd = fds[1];
  args.slot_fds.fill(-1);

  constexpr std::size_t k_stack = 256 * 1024;
  void* stack = ::mmap(nullptr, k_stack, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    ::close(fds[0]);
    ::close(fds[1]);
    return support::failf("cannot allocate a stack: {}", std::strerror(errno));
  }
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  // CLONE_VM | CLONE_VFORK: like posix_spawn, this thread waits (sharing memory) until the
  // child has called execve or exited; the new user and mount namespaces are the child's own.
  const pid_t pid = ::clone(child_main, static_cast<char*>(stack) + k_stack,
                            CLONE_VM | CLONE_VFORK | CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD, &args);
  const int clone_error = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ::munmap(stack, k_stack);
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    return support::failf("cannot create a user namespace: {}", std::strerror(clone_error));
  }
  if (args.failed_op != -1) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    ::close(fds[0]);
    std::string what = args.failed_step != nullptr ? args.failed_step : "set up";
    if (args.failed_op >= 0) {
      const auto& op = plan.ops[static_cast<std::size_t>(args.failed_op)];
      what += " " + (op.kind == OpKind::open_path ? op.source : op.target);
    } else if (args.failed_op == -3) {
      what += " " + executable;
    }
    return support::failf("cannot {}: {}", what, std::strerror(args.error));
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

} // namespace wisp::runtime::detail
