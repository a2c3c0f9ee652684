#include <wisp/logs/local.hpp>

#include <wisp/logs/tail.hpp>
#include <wisp/logs/time.hpp>
#include <wisp/runtime/log_store.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace wisp::logs::detail {

namespace fs = std::filesystem;

namespace {

// A descriptor is closed once its file has not grown for this long.
constexpr std::int64_t k_idle_close_ms = 10'000;
constexpr std::int64_t k_local_poll_ms = 250;
constexpr std::size_t k_read_chunk = 1u << 20;

std::int64_t now_ms() {
  return to_epoch_ms(std::chrono::system_clock::now());
}

std::int64_t int64_of(const boost::json::value* value) {
  if (value == nullptr)
    return -1;
  if (value->is_int64())
    return value->get_int64();
  if (value->is_uint64())
    return static_cast<std::int64_t>(value->get_uint64());
  if (value->is_double())
    return static_cast<std::int64_t>(value->get_double());
  return -1;
}

std::string string_of(const boost::json::object& object, std::string_view key) {
  if (const auto* value = object.if_contains(key); value != nullptr && value->is_string())
    return std::string(value->get_string());
  return {};
}

} // namespace

LocalStoreReader::LocalStoreReader(fs::path root, std::vector<Source> sources)
    : m_root(std::move(root)), m_sources(std::move(sources)) {
  for (const auto& source : m_sources) {
    if (source.function.empty()) {
      m_all_dirs = true;
      m_source_dirs.emplace_back();
    } else {
      m_source_dirs.push_back(
          runtime::log_store_function_dir(m_root, source.function).filename().string());
    }
  }
}

LocalStoreReader::~LocalStoreReader() {
  for (auto& [path, file] : m_files)
    if (file.fd >= 0)
      ::close(file.fd);
}

std::size_t LocalStoreReader::open_files() const {
  return static_cast<std::size_t>(std::count_if(
      m_files.begin(), m_files.end(), [](const auto& entry) { return entry.second.fd >= 0; }));
}

void LocalStoreReader::set_filter(std::function<bool(const LogEvent&)> keep,
                                  const std::vector<std::string>& line_must_contain) {
  m_keep = std::move(keep);
  m_line_terms.clear();
  for (const auto& term : line_must_contain) {
    // Letters, digits and a few characters are written as they are by every JSON writer.
    const bool plain = std::all_of(term.begin(), term.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == ' ' || c == '-' || c == '.' || c == ':';
    });
    if (plain && !term.empty())
      m_line_terms.push_back(term);
  }
}

void LocalStoreReader::parse_line(std::string_view line, const File& file,
                                  std::vector<LogEvent>& out) {
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  if (line.empty())
    return;
  for (const auto& term : m_line_terms)
    if (line.find(term) == std::string_view::npos)
      return; // its message cannot contain the term either
  boost::system::error_code ec;
  const auto value = boost::json::parse(line, ec);
  const auto* object = ec ? nullptr : value.if_object();
  if (object == nullptr) {
    ++m_skipped; // a torn write (full disk) or not a record: skip, never fail
    return;
  }
  LogEvent event;
  event.timestamp = int64_of(object->if_contains("timestamp"));
  if (event.timestamp < 0) {
    ++m_skipped;
    return;
  }
  event.log_group = string_of(*object, "logGroup");
  event.log_stream = string_of(*object, "logStream");
  event.request_id = string_of(*object, "requestId");
  event.message = string_of(*object, "message");
  for (std::size_t i = 0; i < m_sources.size(); ++i) {
    const bool dir_ok = m_source_dirs[i].empty() || m_source_dirs[i] == file.directory;
    const bool group_ok =
        m_sources[i].log_group.empty() || m_sources[i].log_group == event.log_group;
    if (dir_ok && group_ok) {
      event.source = i;
      if (!m_keep || m_keep(event))
        out.push_back(std::move(event));
      return;
    }
  }
}

void LocalStoreReader::read_file(const fs::path& path, File& file, std::vector<LogEvent>& out,
                                 std::int64_t now) {
  if (file.fd < 0) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
      return; // gone meanwhile, or unreadable: nothing to read now
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return;
    }
    const auto device = static_cast<std::uint64_t>(st.st_dev);
    const auto inode = static_cast<std::uint64_t>(st.st_ino);
    if (file.inode != 0 && (file.inode != inode || file.device != device))
      file.offset = 0; // another file under the same name: read it from its start
    file.device = device;
    file.inode = inode;
    file.fd = fd;
  }
  std::string data;
  std::array<char, 65536> buffer{};
  while (true) {
    const auto want = std::min(buffer.size(), k_read_chunk);
    const auto n =
        ::pread(file.fd, buffer.data(), want, static_cast<off_t>(file.offset + data.size()));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    data.append(buffer.data(), static_cast<std::size_t>(n));
    // Take the complete lines read so far; keep a partial last line for the next read.
    std::size_t consumed = 0;
    while (true) {
      const auto newline = data.find('\n', consumed);
      if (newline == std::string::npos)
        break;
      parse_line(std::string_view(data).substr(consumed, newline - consumed), file, out);
      consumed = newline + 1;
    }
    if (consumed > 0) {
      file.offset += consumed;
      file.last_growth_ms = now;
      data.erase(0, consumed);
    }
  }
}

std::vector<LogEvent> LocalStoreReader::poll(std::int64_t now) {
  std::vector<LogEvent> out;
  std::set<fs::path> listed;
  std::error_code ec;
  std::vector<fs::path> dirs;
  if (m_all_dirs) {
    for (const auto& entry : fs::directory_iterator(m_root, ec))
      if (entry.is_directory(ec))
        dirs.push_back(entry.path());
  } else {
    std::set<std::string> names(m_source_dirs.begin(), m_source_dirs.end());
    for (const auto& name : names)
      dirs.push_back(m_root / name);
  }
  for (const auto& dir : dirs) {
    std::error_code dir_ec;
    for (const auto& entry : fs::directory_iterator(dir, dir_ec)) {
      if (entry.path().extension() == ".jsonl" && entry.is_regular_file(dir_ec))
        listed.insert(entry.path());
    }
  }
  // Files gone since the last poll: finish them from the descriptor still open.
  for (auto it = m_files.begin(); it != m_files.end();) {
    if (listed.count(it->first) == 0) {
      if (it->second.fd >= 0) {
        read_file(it->first, it->second, out, now);
        ::close(it->second.fd);
      }
      it = m_files.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& path : listed) {
    auto [it, inserted] = m_files.try_emplace(path);
    auto& file = it->second;
    if (inserted) {
      file.directory = path.parent_path().filename().string();
      file.last_growth_ms = now;
    } else if (file.fd < 0) {
      std::error_code size_ec;
      const auto size = fs::file_size(path, size_ec);
      if (size_ec || size <= file.offset)
        continue; // unchanged: leave it closed
    }
    read_file(path, file, out, now);
    if (file.fd >= 0 && now - file.last_growth_ms > k_idle_close_ms) {
      ::close(file.fd);
      file.fd = -1;
    }
  }
  return out;
}

namespace {

void sleep_for_ms(std::int64_t ms, const Sink& sink) {
  const auto until = now_ms() + ms;
  while (!(sink.stopped && sink.stopped())) {
    const auto left = until - now_ms();
    if (left <= 0)
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<std::int64_t>(left, 50)));
  }
}

} // namespace

support::Status run_local(const Plan& plan, const Sink& sink) {
  std::error_code ec;
  if (!fs::is_directory(plan.store_root, ec)) {
    if (!plan.tail)
      return support::failf("no local logs yet: {} does not exist (functions run by `wisp local "
                            "invoke` or `wisp local start-api` write their logs there)",
                            plan.store_root.string());
    if (sink.notice)
      sink.notice(fmt::format("waiting for local logs in {}", plan.store_root.string()));
  }
  LocalStoreReader reader(plan.store_root, plan.sources);
  reader.set_filter(
      [&](const LogEvent& event) {
        return event.timestamp >= plan.start_ms &&
               (!plan.end_ms || event.timestamp <= *plan.end_ms) &&
               plan.pattern.matches(event.message);
      },
      plan.pattern.required_terms());
  auto initial = reader.poll(now_ms());
  std::stable_sort(initial.begin(), initial.end(),
                   [](const LogEvent& a, const LogEvent& b) { return a.timestamp < b.timestamp; });
  for (const auto& event : initial)
    sink.event(event);
  std::uint64_t reported_skips = 0;
  const auto report_skips = [&] {
    if (reader.skipped_lines() > reported_skips && sink.warning) {
      sink.warning(fmt::format("skipped {} line{} of the local log store that {} not valid "
                               "records",
                               reader.skipped_lines() - reported_skips,
                               reader.skipped_lines() - reported_skips == 1 ? "" : "s",
                               reader.skipped_lines() - reported_skips == 1 ? "is" : "are"));
      reported_skips = reader.skipped_lines();
    }
  };
  report_skips();
  if (!plan.tail)
    return {};

  Reorderer reorderer(plan.tuning);
  while (!(sink.stopped && sink.stopped())) {
    sleep_for_ms(k_local_poll_ms, sink);
    const auto now = now_ms();
    for (auto& event : reader.poll(now)) {
      const auto lateness = now - event.timestamp;
      reorderer.push(std::move(event), now, lateness);
    }
    for (const auto& event : reorderer.release(now_ms()))
      sink.event(event);
    report_skips();
  }
  for (const auto& event : reorderer.drain())
    sink.event(event);
  return {};
}

} // namespace wisp::logs::detail
