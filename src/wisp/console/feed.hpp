#pragma once
// The engine's observer that feeds a Dashboard: every invocation's start and end (with its
// CPU time and /tmp usage) and every log line (for one click from an invocation to its lines).
//
// Contract
// - The observer's calls run on the gateway's I/O thread (one on small machines: the server's
//   narrowest stage, docs/benchmarks.md), so they only copy the event into a buffer whose
//   slots keep their strings (no allocation once warm); a thread of the feed's own applies the
//   buffer to the dashboard, in order, ~20 ms after its first event. flush() applies it at
//   once: call it before reading the dashboard (the page's API and event ticks do), so what it
//   shows is exact. Bounded: past k_max_pending buffered events the caller applies them itself.
// - Thread-safe: the engine may call from several threads at once. One flush at a time (the
//   buffer is swapped under one lock and applied under another, so appending never waits for
//   the dashboard).
// - detach() before the dashboard goes (the engine holds its observers as long as it lives):
//   it stops and joins the thread; later events are dropped and flush() does nothing.

#include <wisp/console/dashboard.hpp>
#include <wisp/runtime/observer.hpp>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace wisp::console {

class DashboardFeed final : public runtime::EngineObserver {
public:
  explicit DashboardFeed(Dashboard& dashboard);
  ~DashboardFeed() override; // detaches
  DashboardFeed(const DashboardFeed&) = delete;
  DashboardFeed& operator=(const DashboardFeed&) = delete;

  void on_invoke_start(const runtime::InvocationStart& start) override;
  void on_invoke_end(const runtime::InvocationRecord& record) override;
  void on_log(const runtime::LogLine& line) override;
  [[nodiscard]] bool wants_cpu_time() const override { return true; }
  [[nodiscard]] bool wants_tmp_usage() const override { return true; }

  // Applies what is buffered to the dashboard (on the caller's thread).
  void flush();
  // Stops the thread; what is still buffered and whatever comes later never reaches the
  // dashboard. Idempotent.
  void detach();

  static constexpr std::size_t k_max_pending = 1u << 14;

private:
  enum class Kind : std::uint8_t { start, end, log };
  struct Event {
    Kind kind = Kind::log;
    Invocation invocation; // start: function_id; log: function_id, request_id
    std::string text;      // log: the line
    std::int64_t time_ms = 0;
  };
  // A slot for a new event, its strings kept from earlier use; nullptr once detached.
  Event* append_locked();
  // After an append: wakes the thread for a first event, applies a full buffer at once.
  void appended(std::unique_lock<std::mutex>& lock);
  void apply(Event& event);
  void run();

  Dashboard& m_dashboard;
  std::mutex m_mutex; // guards m_pending, m_used, m_stop, m_detached
  std::vector<Event> m_pending;
  std::size_t m_used = 0;
  bool m_stop = false;
  bool m_detached = false;
  std::condition_variable m_wake;
  std::mutex m_apply_mutex;      // held by the one flush applying m_applying
  std::vector<Event> m_applying; // under m_apply_mutex
  std::mutex m_join_mutex;       // one detach joins
  std::thread m_thread;          // last: started once the rest is ready
};

} // namespace wisp::console
