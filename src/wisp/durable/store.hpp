#pragma once
// Where executions live: <app>/.wisp/durable/<FunctionName>/<ExecutionName>.{json,log}.
//
// Contract
// - `<name>.json` is a snapshot, always replaced whole (temp file, fsync, rename).
//   `<name>.log` is a journal of JSON lines appended after it (Execution::take_changes()), each
//   with a record number; loading applies the records newer than the snapshot's. A torn last
//   line (a crash mid-write) is ignored.
// - A journal record reaches the kernel (write(2)) before the service answers the request that
//   caused it, so killing wisp loses nothing; fdatasync runs off the request path every 100 ms
//   (a power loss loses at most that window; docs/durable.md says what that means).
//   Snapshots (new executions, closed ones, compactions) are fsynced before they count.
// - The process that runs an execution holds an exclusive flock on its journal for as long
//   as it runs it: a second wisp never runs it too, and the lock dies with its owner (kill -9),
//   which is how a restarted wisp knows it may resume it.
// - Closed executions are deleted RetentionPeriodInDays after they closed (purge_expired).

#include <wisp/durable/execution.hpp>
#include <wisp/support/error.hpp>

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace wisp::durable {

// What `list` shows of an execution without loading its history.
struct ExecutionSummary {
  std::string arn;
  std::string name;
  std::string function_name;
  std::string function_arn;
  ExecutionStatus status = ExecutionStatus::running;
  std::int64_t start_ms = 0;
  std::optional<std::int64_t> end_ms;
};

class Store {
public:
  explicit Store(std::filesystem::path root);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  [[nodiscard]] const std::filesystem::path& root() const { return m_root; }

  // Writes a new execution (snapshot + empty journal) and takes its lock. Fails when one by
  // that name exists already.
  support::Status create(Execution& execution);
  // Takes the lock of an existing execution for running it. False when another live process
  // holds it.
  support::Result<bool> acquire(const Execution& execution);
  // Appends the execution's changes to its journal (no-op when nothing changed). Requires the
  // lock (create/acquire). Compacts into a new snapshot when the journal is long or the
  // execution closed.
  support::Status append(Execution& execution);
  // Releases the lock (the execution stays on disk).
  void release(const Execution& execution);

  // Loads an execution by function name and execution name; nullopt when there is none.
  support::Result<std::optional<Execution>> load(std::string_view function_name,
                                                 std::string_view name) const;
  // True when another live process holds the execution's lock.
  [[nodiscard]] bool held_elsewhere(std::string_view function_name, std::string_view name) const;
  // Every stored execution of a function (empty: of all functions), oldest first.
  [[nodiscard]] std::vector<ExecutionSummary> list(std::string_view function_name = {}) const;
  // Names of RUNNING executions of a function that no live process holds.
  [[nodiscard]] std::vector<std::string> orphaned(std::string_view function_name) const;
  // Deletes closed executions past their retention. Returns how many.
  std::size_t purge_expired(std::int64_t now_ms);

  // Flushes pending journal writes to disk now (tests, shutdown).
  void sync();

  static std::filesystem::path default_root(const std::filesystem::path& app_dir) {
    return app_dir / ".wisp" / "durable";
  }

private:
  struct Journal;
  [[nodiscard]] std::filesystem::path base(std::string_view function_name,
                                           std::string_view name) const;
  support::Status write_snapshot(Execution& execution, Journal& journal);
  void sync_loop();

  std::filesystem::path m_root;
  mutable std::mutex m_mutex;
  std::map<std::string, std::unique_ptr<Journal>> m_journals; // by ARN
  std::vector<int> m_unsynced;
  std::condition_variable m_cv;
  bool m_stop = false;
  std::thread m_syncer;
};

} // namespace wisp::durable
