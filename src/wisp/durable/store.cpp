#include <wisp/durable/store.hpp>

#include <wisp/support/fs.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace wisp::durable {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// Journal records between compactions.
constexpr std::uint64_t k_compact_after = 4096;

int open_locked(const fs::path& path, bool create, bool& busy) {
  busy = false;
  const int flags = O_RDWR | O_APPEND | O_CLOEXEC | (create ? O_CREAT : 0);
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0)
    return -1;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    busy = errno == EWOULDBLOCK;
    ::close(fd);
    return -1;
  }
  return fd;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::optional<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  if (ec || !value.is_object())
    return std::nullopt;
  return std::move(value.as_object());
}

// Snapshot, then every journal record after it; a torn or unreadable record ends the journal.
std::optional<Execution> read_execution(const fs::path& base) {
  auto snapshot_text = support::read_file(fs::path(base).concat(".json"));
  if (!snapshot_text)
    return std::nullopt;
  auto snapshot = parse_object(*snapshot_text);
  if (!snapshot)
    return std::nullopt;
  auto execution = Execution::from_snapshot(*snapshot);
  if (!execution)
    return std::nullopt;
  auto journal = support::read_file(fs::path(base).concat(".log"));
  if (!journal)
    return execution;
  std::string_view rest = *journal;
  while (!rest.empty()) {
    const auto newline = rest.find('\n');
    if (newline == std::string_view::npos)
      break; // being written, or torn by a crash: not committed
    const auto line = rest.substr(0, newline);
    rest.remove_prefix(newline + 1);
    auto record = parse_object(line);
    if (!record || !execution->apply_changes(*record))
      break;
  }
  return execution;
}

} // namespace

struct Store::Journal {
  int fd = -1;
  fs::path base;
  std::uint64_t records = 0; // since the last snapshot
  ~Journal() {
    if (fd >= 0)
      ::close(fd);
  }
};

Store::Store(fs::path root) : m_root(std::move(root)) {
  m_syncer = std::thread([this] { sync_loop(); });
}

Store::~Store() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_all();
  m_syncer.join();
  sync();
}

fs::path Store::base(std::string_view function_name, std::string_view name) const {
  return m_root / std::string(function_name) / std::string(name);
}

support::Status Store::write_snapshot(Execution& execution, Journal& journal) {
  // Fold the pending changes into the snapshot so the journal can start over.
  if (execution.dirty())
    (void)execution.take_changes();
  WISP_TRY(support::write_file_atomic(fs::path(journal.base).concat(".json"),
                                      json::serialize(execution.snapshot())));
  if (::ftruncate(journal.fd, 0) != 0)
    return support::failf("cannot truncate {}.log: {}", journal.base.string(),
                          std::strerror(errno));
  journal.records = 0;
  return {};
}

support::Status Store::create(Execution& execution) {
  const auto& id = execution.identity();
  const auto path = base(id.function_name, id.name);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec)
    return support::failf("cannot create {}: {}", path.parent_path().string(), ec.message());
  if (fs::exists(fs::path(path).concat(".json"), ec))
    return support::failf("execution {} exists already", id.name);
  bool busy = false;
  const int fd = open_locked(fs::path(path).concat(".log"), true, busy);
  if (fd < 0)
    return support::failf("cannot open {}.log: {}", path.string(),
                          busy ? "held by another wisp" : std::strerror(errno));
  auto journal = std::make_unique<Journal>();
  journal->fd = fd;
  journal->base = path;
  WISP_TRY(write_snapshot(execution, *journal));
  std::lock_guard lock(m_mutex);
  m_journals[id.arn] = std::move(journal);
  return {};
}

support::Result<bool> Store::acquire(const Execution& execution) {
  const auto& id = execution.identity();
  {
    std::lock_guard lock(m_mutex);
    if (m_journals.contains(id.arn))
      return true;
  }
  const auto path = base(id.function_name, id.name);
  bool busy = false;
  const int fd = open_locked(fs::path(path).concat(".log"), true, busy);
  if (fd < 0) {
    if (busy)
      return false;
    return support::failf("cannot open {}.log: {}", path.string(), std::strerror(errno));
  }
  auto journal = std::make_unique<Journal>();
  journal->fd = fd;
  journal->base = path;
  std::lock_guard lock(m_mutex);
  m_journals[id.arn] = std::move(journal);
  return true;
}

support::Status Store::append(Execution& execution) {
  if (!execution.dirty())
    return {};
  Journal* journal = nullptr;
  {
    std::lock_guard lock(m_mutex);
    const auto it = m_journals.find(execution.identity().arn);
    if (it == m_journals.end())
      return support::failf("execution {} is not held by this process", execution.identity().name);
    journal = it->second.get();
  }
  if (!execution.running() || journal->records >= k_compact_after)
    return write_snapshot(execution, *journal);
  auto line = json::serialize(execution.take_changes());
  line.push_back('\n');
  if (!write_all(journal->fd, line))
    return support::failf("cannot write {}.log: {}", journal->base.string(), std::strerror(errno));
  ++journal->records;
  {
    std::lock_guard lock(m_mutex);
    if (std::find(m_unsynced.begin(), m_unsynced.end(), journal->fd) == m_unsynced.end())
      m_unsynced.push_back(journal->fd);
  }
  return {};
}

void Store::release(const Execution& execution) {
  std::unique_ptr<Journal> journal;
  {
    std::lock_guard lock(m_mutex);
    const auto it = m_journals.find(execution.identity().arn);
    if (it == m_journals.end())
      return;
    journal = std::move(it->second);
    m_journals.erase(it);
    std::erase(m_unsynced, journal->fd);
  }
  ::fdatasync(journal->fd);
}

support::Result<std::optional<Execution>> Store::load(std::string_view function_name,
                                                      std::string_view name) const {
  if (!valid_id(name) || function_name.empty() ||
      function_name.find('/') != std::string_view::npos || function_name == "." ||
      function_name == "..")
    return std::optional<Execution>();
  const auto path = base(function_name, name);
  std::error_code ec;
  if (!fs::exists(fs::path(path).concat(".json"), ec))
    return std::optional<Execution>();
  auto execution = read_execution(path);
  if (!execution)
    return support::failf("{}.json: not a readable execution record", path.string());
  return execution;
}

bool Store::held_elsewhere(std::string_view function_name, std::string_view name) const {
  const auto path = fs::path(base(function_name, name)).concat(".log");
  {
    std::lock_guard lock(m_mutex);
    for (const auto& [arn, journal] : m_journals)
      if (journal->base == base(function_name, name))
        return false; // held here
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  const bool busy = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd); // also drops a lock we just took
  return busy;
}

std::vector<ExecutionSummary> Store::list(std::string_view function_name) const {
  std::vector<ExecutionSummary> out;
  std::error_code ec;
  std::vector<fs::path> dirs;
  if (function_name.find('/') != std::string_view::npos || function_name == "." ||
      function_name == "..")
    return out;
  if (!function_name.empty()) {
    dirs.push_back(m_root / std::string(function_name));
  } else {
    for (const auto& entry : fs::directory_iterator(m_root, ec))
      if (entry.is_directory(ec))
        dirs.push_back(entry.path());
  }
  for (const auto& dir : dirs) {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const auto& p = entry.path();
      if (p.extension() != ".json")
        continue;
      auto execution = read_execution(fs::path(p).replace_extension());
      if (!execution)
        continue;
      const auto& id = execution->identity();
      out.push_back({id.arn, id.name, id.function_name, id.function_arn, execution->status(),
                     execution->start_ms(), execution->end_ms()});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.start_ms != b.start_ms ? a.start_ms < b.start_ms : a.name < b.name;
  });
  return out;
}

std::vector<std::string> Store::orphaned(std::string_view function_name) const {
  std::vector<std::string> out;
  for (const auto& summary : list(function_name))
    if (summary.status == ExecutionStatus::running &&
        !held_elsewhere(summary.function_name, summary.name))
      out.push_back(summary.name);
  return out;
}

std::size_t Store::purge_expired(std::int64_t now_ms) {
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator(m_root, ec)) {
    if (!dir.is_directory(ec))
      continue;
    for (const auto& entry : fs::directory_iterator(dir.path(), ec)) {
      const auto& p = entry.path();
      if (p.extension() != ".json")
        continue;
      const auto stem = fs::path(p).replace_extension();
      auto execution = read_execution(stem);
      if (!execution || execution->running() || !execution->end_ms())
        continue;
      const auto keep_ms = execution->identity().retention_days * 86'400'000LL;
      if (*execution->end_ms() + keep_ms > now_ms)
        continue;
      if (held_elsewhere(execution->identity().function_name, execution->identity().name))
        continue;
      fs::remove(fs::path(stem).concat(".json"), ec);
      fs::remove(fs::path(stem).concat(".log"), ec);
      ++removed;
    }
  }
  return removed;
}

void Store::sync() {
  std::vector<int> fds;
  {
    std::lock_guard lock(m_mutex);
    for (const int fd : m_unsynced) {
      const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
      if (copy >= 0)
        fds.push_back(copy);
    }
    m_unsynced.clear();
  }
  for (const int fd : fds) {
    ::fdatasync(fd);
    ::close(fd);
  }
}

void Store::sync_loop() {
  std::unique_lock lock(m_mutex);
  while (!m_stop) {
    m_cv.wait_for(lock, std::chrono::milliseconds(100));
    if (m_unsynced.empty())
      continue;
    lock.unlock();
    sync();
    lock.lock();
  }
}

} // namespace wisp::durable
