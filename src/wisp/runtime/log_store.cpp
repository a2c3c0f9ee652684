#include <wisp/runtime/lambda_text.hpp>
#include <wisp/runtime/log_store.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace wisp::runtime {

namespace fs = std::filesystem;

fs::path log_store_function_dir(const fs::path& root, std::string_view function_id) {
  // Logical ids are alphanumeric; anything else is replaced so the id cannot escape `root`.
  std::string safe;
  for (const char c : function_id)
    safe += (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_') ? c : '_';
  if (safe.empty())
    safe = "_";
  return root / safe;
}

LogStoreWriter::LogStoreWriter(fs::path function_dir, std::string log_group, std::string log_stream,
                               LogStoreLimits limits)
    : m_dir(std::move(function_dir)), m_group(std::move(log_group)),
      m_stream(std::move(log_stream)), m_limits(limits) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  auto id = m_stream.substr(m_stream.find(']') == std::string::npos ? 0 : m_stream.find(']') + 1);
  std::string safe_id;
  for (const char c : id)
    if (std::isxdigit(static_cast<unsigned char>(c)) != 0)
      safe_id += c;
  m_file_stem = fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z-{}", tm.tm_year + 1900, tm.tm_mon + 1,
                            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, safe_id);
}

LogStoreWriter::~LogStoreWriter() {
  flush();
  if (m_fd >= 0)
    ::close(m_fd);
}

void LogStoreWriter::append(std::int64_t time_ms, std::string_view request_id,
                            std::string_view text) {
  m_buffer += fmt::format("{{\"timestamp\":{},\"logGroup\":\"", time_ms);
  append_json_escaped(m_buffer, m_group);
  m_buffer += "\",\"logStream\":\"";
  append_json_escaped(m_buffer, m_stream);
  m_buffer += "\",\"requestId\":\"";
  append_json_escaped(m_buffer, request_id);
  m_buffer += "\",\"message\":\"";
  append_json_escaped(m_buffer, text);
  m_buffer += "\"}\n";
}

void LogStoreWriter::open_segment() {
  std::error_code ec;
  fs::create_directories(m_dir, ec);
  const auto path = m_dir / fmt::format("{}.{:04}.jsonl", m_file_stem, m_segment);
  m_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  m_size = 0;
  if (m_fd >= 0)
    enforce_retention();
}

void LogStoreWriter::enforce_retention() {
  std::error_code ec;
  struct Entry {
    fs::path path;
    std::uint64_t size;
  };
  std::vector<Entry> files;
  std::uint64_t total = 0;
  for (const auto& entry : fs::directory_iterator(m_dir, ec)) {
    if (entry.path().extension() != ".jsonl")
      continue;
    const auto size = entry.file_size(ec);
    if (ec)
      continue;
    files.push_back({entry.path(), size});
    total += size;
  }
  if (total <= m_limits.function_bytes)
    return;
  // Names start with the stream's creation time: oldest first.
  std::sort(files.begin(), files.end(),
            [](const Entry& a, const Entry& b) { return a.path.filename() < b.path.filename(); });
  for (const auto& file : files) {
    if (total <= m_limits.function_bytes)
      break;
    if (file.path.filename().string().starts_with(m_file_stem))
      continue; // never our own current stream
    fs::remove(file.path, ec);
    total -= file.size;
  }
}

void LogStoreWriter::flush() {
  if (m_buffer.empty())
    return;
  if (m_fd < 0 || m_size >= m_limits.segment_bytes) {
    if (m_fd >= 0) {
      ::close(m_fd);
      m_fd = -1;
      ++m_segment;
    }
    open_segment();
  }
  if (m_fd < 0) {
    ++m_failures;
    m_buffer.clear();
    return;
  }
  std::size_t done = 0;
  while (done < m_buffer.size()) {
    const auto n = ::write(m_fd, m_buffer.data() + done, m_buffer.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      ++m_failures;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  m_size += done;
  m_buffer.clear();
}

} // namespace wisp::runtime
