#include <wisp/support/fs.hpp>
#include <wisp/support/read_input.hpp>

#include <fmt/format.h>
#include <fmt/std.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace wisp::support {

namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

class Fd {
public:
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() {
    if (m_fd >= 0)
      ::close(m_fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return m_fd; }
  int release() {
    const int fd = m_fd;
    m_fd = -1;
    return fd;
  }

private:
  int m_fd;
};

} // namespace

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:012x}", rng() & 0xFFFFFFFFFFFFull);
}

RemoveOnExit::~RemoveOnExit() {
  for (const auto& path : m_paths) {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
}

Result<std::string> read_file(const fs::path& path, std::uintmax_t max_size) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0)
    return failf("cannot read {}: {}", path.string(), errno_text(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return failf("cannot read {}: {}", path.string(), errno_text(errno));
  if (S_ISDIR(st.st_mode))
    return failf("cannot read {}: is a directory", path.string());
  if (!S_ISREG(st.st_mode))
    return failf("cannot read {}: not a regular file", path.string());
  if (static_cast<std::uintmax_t>(st.st_size) > max_size)
    return failf("cannot read {}: {} bytes is larger than the limit of {} bytes", path.string(),
                 st.st_size, max_size);
  std::string content;
  content.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < content.size()) {
    const auto n = ::read(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return failf("cannot read {}: {}", path.string(), errno_text(errno));
    }
    if (n == 0)
      break;
    done += static_cast<std::size_t>(n);
  }
  content.resize(done);
  return content;
}

Result<std::string> read_file_or_pipe(const fs::path& path, std::uintmax_t max_size) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
    return read_file(path, max_size); // its errors name the reason
  if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
    return failf("cannot read {}: not a regular file or a pipe", path.string());
  // A pipe: waits for its writer (the command of a process substitution is already running).
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0)
    return failf("cannot read {}: {}", path.string(), errno_text(errno));
  std::string content;
  char buffer[65536];
  while (true) {
    const auto n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return failf("cannot read {}: {}", path.string(), errno_text(errno));
    }
    if (n == 0)
      break;
    if (content.size() + static_cast<std::size_t>(n) > max_size)
      return failf("cannot read {}: more than the limit of {} bytes", path.string(), max_size);
    content.append(buffer, static_cast<std::size_t>(n));
  }
  return content;
}

Status write_file_atomic(const fs::path& path, std::string_view content, unsigned mode) {
  std::error_code ec;
  const auto parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec)
    return failf("cannot create directory {}: {}", parent.string(), ec.message());
  const auto temp = parent / fmt::format(".{}.tmp-{}", path.filename().string(), random_suffix());
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0)
    return failf("cannot write {}: {}", path.string(), errno_text(errno));
  std::size_t done = 0;
  while (done < content.size()) {
    const auto n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      const int err = errno;
      ::unlink(temp.c_str());
      return failf("cannot write {}: {}", path.string(), errno_text(err));
    }
    done += static_cast<std::size_t>(n);
  }
  // The umask may have narrowed the mode; callers asked for this exact one.
  ::fchmod(fd.get(), static_cast<mode_t>(mode));
  if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return failf("cannot write {}: {}", path.string(), errno_text(err));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return failf("cannot write {}: {}", path.string(), errno_text(err));
  }
  return {};
}

Status rename_no_replace(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0)
    return {};
  int err = errno;
  if (err == EINVAL || err == ENOSYS) {
    // The filesystem cannot refuse atomically: check, then rename (a narrow race remains).
    struct stat st {};
    if (::lstat(to.c_str(), &st) == 0)
      err = EEXIST;
    else if (::rename(from.c_str(), to.c_str()) == 0)
      return {};
    else
      err = errno;
  }
  if (err == EEXIST)
    return failf("{} already exists", to.string());
  return failf("cannot rename {} to {}: {}", from.string(), to.string(), errno_text(err));
}

bool is_within(const fs::path& path, const fs::path& root) {
  std::error_code ec;
  const auto resolved = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec)
    return false;
  const auto resolved_root = fs::weakly_canonical(fs::absolute(root, ec), ec);
  if (ec)
    return false;
  auto it = resolved.begin();
  for (const auto& part : resolved_root) {
    if (part.empty())
      continue;
    if (it == resolved.end() || *it != part)
      return false;
    ++it;
  }
  return true;
}

TempDir::TempDir(std::string_view prefix) {
  auto base = fs::temp_directory_path();
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = base / fmt::format("{}-{}", prefix, random_suffix());
    std::error_code ec;
    if (fs::create_directory(candidate, ec)) {
      m_path = std::move(candidate);
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory in " + base.string());
}

TempDir::TempDir(TempDir&& other) noexcept : m_path(std::move(other.m_path)), m_keep(other.m_keep) {
  other.m_path.clear();
}

TempDir::~TempDir() {
  if (!m_keep && !m_path.empty()) {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
}

Result<AtomicFile> AtomicFile::create(const fs::path& path, unsigned mode) {
  std::error_code ec;
  const auto parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec)
    return failf("cannot create directory {}: {}", parent.string(), ec.message());
  AtomicFile file;
  file.m_path = path;
  file.m_mode = mode;
  file.m_temp = parent / fmt::format(".{}.tmp-{}", path.filename().string(), random_suffix());
  file.m_fd = ::open(file.m_temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (file.m_fd < 0)
    return failf("cannot write {}: {}", path.string(), errno_text(errno));
  return file;
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : m_path(std::move(other.m_path)), m_temp(std::move(other.m_temp)), m_fd(other.m_fd),
      m_mode(other.m_mode), m_size(other.m_size) {
  other.m_fd = -1;
  other.m_temp.clear();
}

AtomicFile::~AtomicFile() {
  if (m_fd >= 0)
    ::close(m_fd);
  if (!m_temp.empty())
    ::unlink(m_temp.c_str());
}

Status AtomicFile::write(std::string_view data) {
  WISP_TRY(write_at(m_size, data));
  return {};
}

Status AtomicFile::write_at(std::uint64_t offset, std::string_view data) {
  if (m_fd < 0)
    return failf("cannot write {}: already committed", m_path.string());
  std::size_t done = 0;
  while (done < data.size()) {
    const auto n =
        ::pwrite(m_fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return failf("cannot write {}: {}", m_path.string(), errno_text(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  m_size = std::max<std::uint64_t>(m_size, offset + data.size());
  return {};
}

Status AtomicFile::commit() {
  if (m_fd < 0)
    return failf("cannot write {}: already committed", m_path.string());
  ::fchmod(m_fd, static_cast<mode_t>(m_mode));
  const int fd = m_fd;
  m_fd = -1;
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return failf("cannot write {}: {}", m_path.string(), errno_text(err));
  }
  if (::close(fd) != 0)
    return failf("cannot write {}: {}", m_path.string(), errno_text(errno));
  if (::rename(m_temp.c_str(), m_path.c_str()) != 0)
    return failf("cannot write {}: {}", m_path.string(), errno_text(errno));
  m_temp.clear();
  return {};
}

fs::path executable_dir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
    return fs::current_path();
  return exe.parent_path();
}

} // namespace wisp::support
