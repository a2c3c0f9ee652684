#pragma once
// The local log store under .wisp/logs/ (format: docs/log-store.md). One writer per file:
// every worker (one Lambda log stream) appends JSON lines to its own segment files, so
// concurrent wisp processes never interleave within a file. Segments rotate at a size limit
// and the oldest segments of a function are deleted beyond a total size.

#include <wisp/runtime/observer.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
} // namespace boost::asio

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

// The engine's observer that writes the store (the engine adds one for
// EngineOptions::log_store_dir): one writer per log stream (a worker), each written at most
// every 20 ms (at once past 64 KB) with one append — a write per invocation was a syscall on
// the hot path; `wisp logs --local` sees a line within that delay. A worker's writer is
// flushed and closed when the worker ends; whatever is left is written when the observer is
// destroyed. Lines without a stream (no worker) are not stored.
class LogStoreObserver final : public EngineObserver {
public:
  LogStoreObserver(boost::asio::io_context& io, std::filesystem::path root,
                   LogStoreLimits limits = {});
  ~LogStoreObserver() override;
  LogStoreObserver(const LogStoreObserver&) = delete;
  LogStoreObserver& operator=(const LogStoreObserver&) = delete;

  void on_log(const LogLine& line) override;
  void on_worker_end(const WorkerEnd& end) override;
  // Writes every stream's buffered records now.
  void flush_all();

  struct Impl;

private:
  std::shared_ptr<Impl> m_impl;
};

} // namespace wisp::runtime
