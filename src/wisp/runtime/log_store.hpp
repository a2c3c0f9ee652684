#pragma once
// The local log store under .wisp/logs/ (format: docs/log-store.md). One writer per file:
// every worker (one Lambda log stream) appends JSON lines to its own segment files, so
// concurrent wisp processes never interleave within a file. Segments rotate at a size limit
// and the oldest segments of a function are deleted beyond a total size.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace wisp::runtime {

struct LogStoreLimits {
  std::uint64_t segment_bytes = 8u * 1024 * 1024;   // rotate a stream's file beyond this
  std::uint64_t function_bytes = 64u * 1024 * 1024; // keep at most this much per function
};

// Directory of one function's log files: <root>/<function id>.
std::filesystem::path log_store_function_dir(const std::filesystem::path& root,
                                             std::string_view function_id);

class LogStoreWriter {
public:
  // Writes nothing until the first flush; creates directories as needed.
  LogStoreWriter(std::filesystem::path function_dir, std::string log_group, std::string log_stream,
                 LogStoreLimits limits = {});
  ~LogStoreWriter();
  LogStoreWriter(const LogStoreWriter&) = delete;
  LogStoreWriter& operator=(const LogStoreWriter&) = delete;

  // Buffers one record (`text` without its trailing newline).
  void append(std::int64_t time_ms, std::string_view request_id, std::string_view text);
  // Writes the buffered records with one append-mode write. Failures are counted, not thrown:
  // logging must never fail an invocation.
  void flush();

  [[nodiscard]] std::uint64_t write_failures() const { return m_failures; }
  [[nodiscard]] std::size_t buffered() const { return m_buffer.size(); }

private:
  void open_segment();
  void enforce_retention();

  std::filesystem::path m_dir;
  std::string m_group;
  std::string m_stream;
  std::string m_file_stem;
  LogStoreLimits m_limits;
  std::string m_buffer;
  int m_fd = -1;
  int m_segment = 0;
  std::uint64_t m_size = 0;
  std::uint64_t m_failures = 0;
};

} // namespace wisp::runtime
