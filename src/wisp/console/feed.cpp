// The dashboard as an engine observer (feed.hpp).

#include <wisp/console/feed.hpp>

#include <wisp/runtime/engine.hpp>

#include <chrono>
#include <utility>

namespace wisp::console {

namespace {

// How long the thread lets events gather before it applies them (one wake-up per batch).
constexpr auto k_apply_every = std::chrono::milliseconds(20);

// A long log line's buffer is not kept in its slot for the next event.
constexpr std::size_t k_keep_text = 1024;

} // namespace

DashboardFeed::DashboardFeed(Dashboard& dashboard)
    : m_dashboard(dashboard), m_thread([this] { run(); }) {}

DashboardFeed::~DashboardFeed() {
  detach();
}

void DashboardFeed::run() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_wake.wait(lock, [this] { return m_stop || m_used > 0; });
    if (m_stop)
      return;
    if (m_wake.wait_for(lock, k_apply_every, [this] { return m_stop; }))
      return;
    lock.unlock();
    flush();
    lock.lock();
  }
}

void DashboardFeed::detach() {
  {
    std::lock_guard lock(m_mutex);
    m_detached = true;
    m_stop = true;
  }
  m_wake.notify_one();
  {
    std::lock_guard join_lock(m_join_mutex);
    if (m_thread.joinable())
      m_thread.join();
  }
  // A flush that took its batch before the detach applies it still: wait for it to end.
  std::lock_guard apply_lock(m_apply_mutex);
}

DashboardFeed::Event* DashboardFeed::append_locked() {
  if (m_detached)
    return nullptr;
  if (m_used == m_pending.size())
    m_pending.emplace_back();
  return &m_pending[m_used++];
}

void DashboardFeed::appended(std::unique_lock<std::mutex>& lock) {
  const bool first = m_used == 1;
  const bool full = m_used >= k_max_pending;
  lock.unlock();
  if (first)
    m_wake.notify_one(); // the thread waits for a first event, then ~20 ms more
  if (full)
    flush();
}

void DashboardFeed::on_invoke_start(const runtime::InvocationStart& start) {
  std::unique_lock lock(m_mutex);
  auto* e = append_locked();
  if (e == nullptr)
    return;
  e->kind = Kind::start;
  e->invocation.function_id.assign(start.function_id);
  e->time_ms = start.time_ms;
  appended(lock);
}

void DashboardFeed::on_invoke_end(const runtime::InvocationRecord& record) {
  std::unique_lock lock(m_mutex);
  auto* e = append_locked();
  if (e == nullptr)
    return;
  e->kind = Kind::end;
  // Copied into the slot's own strings: no allocation once they have grown.
  auto& i = e->invocation;
  i.function_id.assign(record.function_id);
  i.request_id.assign(record.request_id);
  i.trace_id.assign(record.trace_id);
  i.start_ms = record.start_ms;
  i.end_ms = record.end_ms;
  i.outcome.assign(runtime::to_string(record.outcome));
  i.error_type.assign(record.error_type);
  i.cold = record.cold;
  i.duration_ms = record.duration_ms;
  i.init_duration_ms = record.init_duration_ms;
  i.billed_duration_ms = record.billed_duration_ms;
  i.memory_size_mb = record.memory_size_mb;
  i.max_memory_used_mb = record.max_memory_used_mb;
  i.cpu_ms = record.cpu_ms;
  i.tmp_used_bytes = record.tmp_used_bytes;
  i.request_bytes = record.request_bytes;
  i.response_bytes = record.response_bytes;
  i.asynchronous = false;
  i.started = record.started;
  appended(lock);
}

void DashboardFeed::on_log(const runtime::LogLine& line) {
  std::unique_lock lock(m_mutex);
  auto* e = append_locked();
  if (e == nullptr)
    return;
  e->kind = Kind::log;
  e->invocation.function_id.assign(line.function_id);
  e->invocation.request_id.assign(line.request_id);
  e->text.assign(line.text);
  e->time_ms = line.time_ms;
  appended(lock);
}

void DashboardFeed::apply(Event& e) {
  switch (e.kind) {
  case Kind::start:
    m_dashboard.started(e.invocation.function_id, e.time_ms);
    break;
  case Kind::end:
    m_dashboard.finished(e.invocation);
    break;
  case Kind::log:
    m_dashboard.log(e.invocation.function_id, e.invocation.request_id, e.text, e.time_ms);
    if (e.text.capacity() > k_keep_text)
      std::string().swap(e.text);
    break;
  }
}

void DashboardFeed::flush() {
  std::lock_guard apply_lock(m_apply_mutex);
  std::size_t count = 0;
  {
    std::lock_guard lock(m_mutex);
    if (m_detached || m_used == 0)
      return;
    // The filled buffer becomes this flush's; the producers go on in the other one.
    std::swap(m_pending, m_applying);
    count = m_used;
    m_used = 0;
  }
  for (std::size_t i = 0; i < count; ++i)
    apply(m_applying[i]);
}

} // namespace wisp::console
