// Worker output and log lines: the output pipe read as it fills (bounded per readiness,
// lines capped at k_max_line), each line tagged with its invocation's request id, Lambda's
// START/END/REPORT lines, the per-invocation log tail, and the log store's batched flushes.

#include <wisp/runtime/engine_impl.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unistd.h>

namespace wisp::runtime {

using namespace engine_detail;

namespace {

constexpr std::size_t k_max_line = 256u * 1024;
constexpr std::chrono::milliseconds k_store_delay{20};

} // namespace

void Engine::Impl::emit_line(Worker& worker, std::string_view request_id, std::string_view text,
                             std::int64_t time_ms) {
  if (options.on_log)
    options.on_log(LogLine{worker.function->config.id, request_id, text, time_ms});
  if (worker.store)
    worker.store->append(time_ms, request_id, text);
}

void Engine::Impl::emit_start_locked_log(Worker& worker, Invocation& inv, std::int64_t time_ms) {
  if (inv.start_logged)
    return;
  inv.start_logged = true;
  auto& line = worker.scratch;
  write_start_line(line, inv.request_id, worker.function->config.version);
  emit_line(worker, inv.request_id, line, time_ms);
  inv.append_tail(line);
}

// Reads what the worker has written, at most `budget` bytes (so a flooding worker cannot
// starve the io thread: the rest is read on the next readiness).
void Engine::Impl::drain_output_locked_log(Worker& worker, std::size_t budget) {
  if (worker.output_closed || !worker.output.is_open())
    return;
  thread_local std::array<char, 65536> buffer;
  const int fd = worker.output.native_handle();
  const auto time_ms = epoch_ms(WallClock::now());
  bool eof = false;
  std::size_t taken = 0;
  while (taken < budget) {
    const auto n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      eof = n == 0;
      break;
    }
    taken += static_cast<std::size_t>(n);
    std::string_view data(buffer.data(), static_cast<std::size_t>(n));
    while (!data.empty()) {
      const auto nl = data.find('\n');
      if (nl == std::string_view::npos) {
        const auto room = k_max_line - std::min(k_max_line, worker.partial.size());
        worker.partial.append(data.substr(0, room));
        if (worker.partial.size() >= k_max_line) {
          // A line longer than the cap is cut into several.
          auto* target = worker.log_target;
          if (target != nullptr)
            emit_start_locked_log(worker, *target, time_ms);
          emit_line(worker, worker.active_request_id, worker.partial, time_ms);
          if (target != nullptr)
            target->append_tail(worker.partial);
          worker.partial.clear();
          data.remove_prefix(std::min(room, data.size()));
          continue;
        }
        break;
      }
      std::string_view line = data.substr(0, nl);
      data.remove_prefix(nl + 1);
      if (!worker.partial.empty()) {
        worker.partial.append(
            line.substr(0, k_max_line - std::min(k_max_line, worker.partial.size())));
        line = worker.partial;
      }
      auto* target = worker.log_target;
      if (target != nullptr)
        emit_start_locked_log(worker, *target, time_ms);
      emit_line(worker, worker.active_request_id, line, time_ms);
      if (target != nullptr)
        target->append_tail(line);
      worker.partial.clear();
    }
  }
  flush_store_soon_locked_log(worker);
  if (eof) {
    if (!worker.partial.empty()) {
      emit_line(worker, worker.active_request_id, worker.partial, time_ms);
      worker.partial.clear();
    }
    worker.output_closed = true;
  }
}

// The log store is written at most every k_store_delay per worker (or once 64 KB wait): one
// write per invocation was a syscall on the hot path. `wisp logs --local` sees a line within
// that delay; the writer's destructor writes what is left. Worker's log mutex held.
void Engine::Impl::flush_store_soon_locked_log(Worker& worker) {
  if (!worker.store || worker.store->buffered() == 0)
    return;
  if (worker.store->buffered() >= 64u * 1024) {
    worker.store->flush();
    return;
  }
  if (worker.store_flush_armed)
    return;
  worker.store_flush_armed = true;
  worker.store_timer.expires_after(k_store_delay);
  worker.store_timer.async_wait([weak = worker.weak_from_this()](beast::error_code) {
    const auto alive = weak.lock();
    if (!alive)
      return;
    std::lock_guard log_lock(alive->log_mutex);
    alive->store_flush_armed = false;
    if (alive->store)
      alive->store->flush();
  });
}

void Engine::Impl::on_output(const std::shared_ptr<Worker>& worker) {
  {
    std::lock_guard log_lock(worker->log_mutex);
    drain_output_locked_log(*worker);
  }
  // Lock order: engine mutex, then a worker's log mutex (never the other way round).
  std::lock_guard lock(mutex);
  if (worker->output_closed || worker->state == Worker::State::dead)
    return;
  worker->output.async_wait(Descriptor::wait_read, [this, worker](beast::error_code ec) {
    if (!ec)
      on_output(worker);
  });
}

// The closing lines of an invocation that had a worker: what the worker wrote until now,
// START (if its output has not logged it yet), output without a final newline, the caller's
// extra lines, then END and REPORT (when `write_report`).
void Engine::Impl::log_completion(Worker& worker, Invocation& inv, InvokeResult& result,
                                  ReportStatus status, std::string_view extra_log,
                                  bool write_report, Clock::time_point now) {
  std::lock_guard log_lock(worker.log_mutex);
  result.max_memory_used_mb = worker.max_memory_mb_for(
      result.duration_ms, now, result.outcome != Outcome::success || inv.cold);
  drain_output_locked_log(worker, k_final_drain);
  const auto time_ms = epoch_ms(WallClock::now());
  emit_start_locked_log(worker, inv, time_ms);
  if (!worker.partial.empty()) {
    // Output without a final newline still belongs to this invocation.
    emit_line(worker, inv.request_id, worker.partial, time_ms);
    inv.append_tail(worker.partial);
    worker.partial.clear();
  }
  for (auto rest = extra_log; !rest.empty();) {
    const auto nl = rest.find('\n');
    const auto line = rest.substr(0, nl);
    emit_line(worker, inv.request_id, line, time_ms);
    inv.append_tail(line);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  if (write_report) {
    auto& line = worker.scratch;
    write_end_line(line, inv.request_id);
    emit_line(worker, inv.request_id, line, time_ms);
    inv.append_tail(line);
    ReportFields fields;
    fields.duration_ms = result.duration_ms;
    fields.billed_duration_ms = result.billed_duration_ms;
    fields.memory_size_mb = result.memory_size_mb;
    fields.max_memory_used_mb = result.max_memory_used_mb;
    if (inv.cold)
      fields.init_duration_ms = inv.init_ms;
    fields.status = status;
    fields.error_type = inv.error_type;
    write_report_line(line, inv.request_id, fields);
    emit_line(worker, inv.request_id, line, time_ms);
    inv.append_tail(line);
  }
  if (worker.log_target == &inv) {
    worker.log_target = nullptr;
    worker.active_request_id.clear();
  }
  flush_store_soon_locked_log(worker);
}

} // namespace wisp::runtime
