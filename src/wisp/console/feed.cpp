// The dashboard as an engine observer (feed.hpp).

#include <wisp/console/feed.hpp>

#include <wisp/runtime/engine.hpp>

namespace wisp::console {

void DashboardFeed::on_invoke_start(const runtime::InvocationStart& start) {
  m_dashboard.started(start.function_id, start.time_ms);
}

void DashboardFeed::on_invoke_end(const runtime::InvocationRecord& record) {
  // One Invocation per thread, its strings reused: the record is copied without allocating
  // (the dashboard copies it into its ring the same way).
  thread_local Invocation i;
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
  m_dashboard.finished(i);
}

void DashboardFeed::on_log(const runtime::LogLine& line) {
  m_dashboard.log(line.function_id, line.request_id, line.text, line.time_ms);
}

} // namespace wisp::console
