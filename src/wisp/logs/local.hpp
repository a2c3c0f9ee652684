#pragma once
// Internal to the logs area: reading the local log store (docs/log-store.md) — once, or
// following it while wisp processes write to it.
//
// LocalStoreReader::poll() returns every complete record appended since the last call:
// files are listed again each time (new streams and new segments after rotation are
// found), each file is read from where the last call stopped, a final line without '\n'
// is left for later (it is being written), and a line that is not a valid record is
// skipped and counted. A file that disappears (retention) is read to its end through the
// descriptor still open, then forgotten. Descriptors of files that stopped growing are
// closed after a while and reopened if they grow again, so a large store does not exhaust
// them.

#include <wisp/logs/event.hpp>
#include <wisp/logs/logs.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace wisp::logs::detail {

class LocalStoreReader {
public:
  // `sources`: function sources read their function's directory; sources without a function
  // read every directory and keep the records of their log group.
  LocalStoreReader(std::filesystem::path root, std::vector<Source> sources);
  ~LocalStoreReader();
  LocalStoreReader(const LocalStoreReader&) = delete;
  LocalStoreReader& operator=(const LocalStoreReader&) = delete;

  // Only records `keep` accepts are returned. `line_must_contain`: terms a record's message
  // must contain, looked for in the raw line first (only terms no JSON writer escapes are
  // used), so most records that cannot match are never parsed.
  void set_filter(std::function<bool(const LogEvent&)> keep,
                  const std::vector<std::string>& line_must_contain);

  // New records, file by file in name order (a stream's records are in the order written).
  std::vector<LogEvent> poll(std::int64_t now_ms);

  [[nodiscard]] std::uint64_t skipped_lines() const { return m_skipped; }
  [[nodiscard]] std::size_t open_files() const;

private:
  struct File {
    int fd = -1;
    std::uint64_t offset = 0;
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::int64_t last_growth_ms = 0;
    std::string directory; // the function directory's name
  };
  void read_file(const std::filesystem::path& path, File& file, std::vector<LogEvent>& out,
                 std::int64_t now_ms);
  void parse_line(std::string_view line, const File& file, std::vector<LogEvent>& out);

  std::filesystem::path m_root;
  std::vector<Source> m_sources;
  std::vector<std::string> m_source_dirs; // per source: its directory name, or empty (all)
  bool m_all_dirs = false;
  std::map<std::filesystem::path, File> m_files;
  std::function<bool(const LogEvent&)> m_keep;
  std::vector<std::string> m_line_terms;
  std::uint64_t m_skipped = 0;
};

support::Status run_local(const Plan& plan, const Sink& sink);

} // namespace wisp::logs::detail
