// The worker pool: spawning workers (each with its Runtime API listener, exit watch and
// output pipe), scaling on demand past the eager workers, the sweep (idle retirement,
// --enforce-memory), retirement, deadlines (Sandbox.Timedout) and exits (Runtime.ExitError,
// init failures, replacements for queued work).

#include <wisp/runtime/engine_impl.hpp>
#include <wisp/runtime/layout.hpp>
#include <wisp/runtime/process.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <memory>
#include <string>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/wait.h>

namespace wisp::runtime {

using namespace engine_detail;

namespace engine_detail {

// The last reference is gone: nothing can write to the worker's stream any more.
Worker::~Worker() {
  if (owner && !log_stream.empty()) {
    const WorkerEnd end{function->config.id, log_stream};
    for (const auto& observer : owner->observers)
      observer->on_worker_end(end);
  }
  if (status_fd >= 0)
    ::close(status_fd);
  if (schedstat_fd >= 0)
    ::close(schedstat_fd);
  if (tmp_fd >= 0)
    ::close(tmp_fd);
}

std::optional<std::uint64_t> Worker::tmp_used_bytes() {
  if (!in_layout || pid <= 0)
    return std::nullopt;
  if (tmp_fd < 0)
    tmp_fd =
        ::open(fmt::format("/proc/{}/root/tmp", pid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct statfs fs {};
  if (tmp_fd < 0 || ::fstatfs(tmp_fd, &fs) != 0 || fs.f_blocks < fs.f_bfree)
    return std::nullopt;
  const auto block = fs.f_frsize != 0 ? fs.f_frsize : fs.f_bsize;
  return static_cast<std::uint64_t>(fs.f_blocks - fs.f_bfree) * static_cast<std::uint64_t>(block);
}

} // namespace engine_detail

support::Status Engine::Impl::spawn(Function& fn, Invocation* bound, std::shared_ptr<Worker>& out) {
  auto worker = std::make_shared<Worker>(io, shared_from_this(), &fn);
  worker->generation = fn.generation;
  beast::error_code ec;
  const tcp::endpoint endpoint(asio::ip::address_v4::loopback(), 0);
  worker->acceptor.open(endpoint.protocol(), ec);
  if (!ec)
    worker->acceptor.bind(endpoint, ec);
  if (!ec)
    worker->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return support::failf("cannot listen on 127.0.0.1 for a worker: {}", ec.message());
  worker->port = worker->acceptor.local_endpoint().port();
  const auto wall = WallClock::now();
  worker->log_stream = make_log_stream_name(rng, fn.config.version, wall);

  // In Lambda's file layout while the OS allows it (worker_setup.hpp), else with host paths.
  auto spec_for = [&](const detail::WorkerVariant& variant) {
    detail::SpawnSpec spec;
    spec.executable = variant.executable;
    spec.args = variant.args;
    spec.cwd = variant.cwd;
    spec.env = variant.env;
    // The per-worker plumbing (--env-vars cannot move it; it overrides everything else).
    spec.env.push_back(fmt::format("AWS_LAMBDA_RUNTIME_API=127.0.0.1:{}", worker->port));
    spec.env.push_back("AWS_LAMBDA_LOG_STREAM_NAME=" + worker->log_stream);
    return spec;
  };
  support::Result<detail::Spawned> spawned = support::fail("not started");
  if (fn.lambda && !layout_refused) {
    spawned = detail::spawn_in_layout(spec_for(*fn.lambda), *fn.lambda->layout);
    if (!spawned) {
      // The OS refuses user or mount namespaces: host paths for every function from now on;
      // anything else (a path that went away): for this function.
      const auto& reason = spawned.error().message;
      const bool os_wide = reason.starts_with("cannot create a user namespace") ||
                           reason.starts_with("cannot map") || reason.starts_with("cannot deny") ||
                           reason.starts_with("cannot make the mounts private") ||
                           reason.starts_with("cannot mount a tmpfs on /var");
      if (os_wide)
        layout_refused = true;
      warn(fmt::format("{}: Lambda's file layout (/var/task, /opt, a private /tmp) is not "
                       "available ({}); {} with host paths (docs/local-execution.md)",
                       os_wide ? "this machine" : "function " + fn.config.id, reason,
                       os_wide ? "functions run" : "it runs"));
      fn.lambda.reset();
    }
  }
  if (!fn.lambda || layout_refused)
    spawned = detail::spawn_worker(spec_for(fn.host));
  if (!spawned)
    return tl::unexpected(spawned.error());
  worker->pid = spawned->pid;
  worker->in_layout = fn.lambda.has_value() && !layout_refused;
  worker->spawned = Clock::now();
  worker->last_used = worker->spawned;
  worker->exit_watch.assign(spawned->pidfd);
  worker->output.assign(spawned->output_fd);
  worker->status_fd =
      ::open(fmt::format("/proc/{}/status", spawned->pid).c_str(), O_RDONLY | O_CLOEXEC);
  if (fn.eager > 0 || wants_cpu)
    worker->schedstat_fd =
        ::open(fmt::format("/proc/{}/schedstat", spawned->pid).c_str(), O_RDONLY | O_CLOEXEC);
  if (fn.json_logs && fn.platform_logs) {
    std::lock_guard log_lock(worker->log_mutex);
    emit_line(*worker, {},
              platform_init_start(wall, fn.config.name, fn.config.version, worker->log_stream,
                                  fn.config.memory_size),
              epoch_ms(wall));
  }
  worker->bound = bound;
  if (bound != nullptr) {
    bound->state = Invocation::State::bound;
    bound->worker = worker;
  }
  fn.workers.push_back(worker);
  ++stats.cold_starts;
  if (!observers.empty()) {
    const WorkerStart started{fn.config.id, worker->log_stream, worker->pid};
    for (const auto& observer : observers)
      observer->on_worker_start(started);
  }
  if (options.enforce_memory)
    schedule_sweep();
  accept(worker);
  worker->exit_watch.async_wait(Descriptor::wait_read,
                                [this, worker](beast::error_code) { on_exit(worker); });
  worker->output.async_wait(Descriptor::wait_read, [this, worker](beast::error_code error) {
    if (!error)
      on_output(worker);
  });
  out = std::move(worker);
  return {};
}

// Scale on demand (Function::eager): while invocations wait, every k_scale_period the
// function's running workers are looked at; if k_scale_looks looks in a row find that
// together they used a CPU (or waited for one) less than k_scale_busy of the time, they are
// waiting on something else (I/O, a sleep) and one more worker starts for the oldest
// waiting invocation. Busy CPU-bound workers get no company: more workers there only cost
// context switches and memory. (On 2 cores, hello-world handlers under load use 45-60%,
// the rest waiting for the gateway's next event; a single 10 ms look dips below 25% now and
// then, three in a row did not.)
constexpr std::chrono::milliseconds k_scale_period{10};
constexpr double k_scale_busy = 0.25;
constexpr int k_scale_looks = 3;

// Starts a look k_scale_period from now. `mark`: first read every worker's CPU demand as the
// start of that look's window (a look re-arming has just read them itself).
void Engine::Impl::arm_scale_locked(Function& fn, bool mark) {
  if (fn.scale_armed || stopped || !fn.scale_timer)
    return;
  fn.scale_armed = true;
  if (mark) {
    const auto now = Clock::now();
    for (const auto& worker : fn.workers)
      mark_cpu_demand(*worker, worker->cpu_demand_ns(), now);
  }
  fn.scale_timer->expires_after(k_scale_period);
  fn.scale_timer->async_wait([self = shared_from_this(), target = &fn](beast::error_code ec) {
    if (!ec)
      self->on_scale(*target);
  });
}

void Engine::Impl::on_scale(Function& fn) {
  std::lock_guard lock(mutex);
  fn.scale_armed = false;
  if (stopped || fn.queue.empty()) {
    fn.quiet_looks = 0;
    return;
  }
  if (static_cast<int>(fn.workers.size()) >= fn.limit)
    return;
  const auto now = Clock::now();
  double used = 0;
  double span = 0;
  bool known = false;
  // One reading per worker: it ends this look's window and starts the next one's.
  for (const auto& worker : fn.workers) {
    const auto ns = worker->cpu_demand_ns();
    const bool running = !worker->killed && worker->state != Worker::State::dead &&
                         worker->state != Worker::State::idle;
    if (running && ns && worker->sched_at != Clock::time_point{}) {
      known = true;
      used += static_cast<double>(*ns - std::min(*ns, worker->sched_ns)) / 1e6;
      span += ms_between(worker->sched_at, now);
    }
    mark_cpu_demand(*worker, ns, now);
  }
  // Without schedstat (or no running worker to look at) the queue itself is the signal.
  fn.quiet_looks = (!known || used < k_scale_busy * span) ? fn.quiet_looks + 1 : 0;
  if (fn.quiet_looks >= k_scale_looks) {
    fn.quiet_looks = 0;
    auto* inv = fn.queue.front();
    fn.queue.pop_front();
    std::shared_ptr<Worker> worker;
    if (auto spawned = spawn(fn, inv, worker); !spawned) {
      fn.queue.push_front(inv); // retried at the next look; a worker may free up first
      warn(spawned.error().message);
    } else {
      mark_cpu_demand(*worker, worker->cpu_demand_ns(), Clock::now());
    }
  }
  if (!fn.queue.empty() && static_cast<int>(fn.workers.size()) < fn.limit)
    arm_scale_locked(fn, false);
}

void Engine::Impl::schedule_sweep() {
  if (sweeping || stopped)
    return;
  if (options.idle_timeout.count() <= 0 && !options.enforce_memory)
    return;
  sweeping = true;
  auto period = options.enforce_memory ? std::chrono::milliseconds(20)
                                       : std::chrono::milliseconds(std::clamp<std::int64_t>(
                                             options.idle_timeout.count() / 4, 10, 1000));
  sweep.expires_after(period);
  sweep.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec)
      self->on_sweep();
  });
}

void Engine::Impl::on_sweep() {
  {
    std::lock_guard lock(mutex);
    sweeping = false;
    if (stopped)
      return;
    const auto now = Clock::now();
    bool any = false;
    for (auto& fn : functions) {
      const auto workers = fn->workers; // retiring removes from fn->workers
      for (const auto& worker : workers) {
        if (worker->state == Worker::State::dead || worker->killed)
          continue;
        any = true;
        if (options.idle_timeout.count() > 0 && worker->state == Worker::State::idle &&
            now - worker->last_used >= options.idle_timeout) {
          retire_locked(*worker);
          continue;
        }
        if (options.enforce_memory &&
            worker->rss_kb() > static_cast<std::int64_t>(fn->config.memory_size) * 1024) {
          worker->oom = true;
          retire_locked(*worker); // the exit handler reports Runtime.OutOfMemory
        }
      }
    }
    if (any)
      schedule_sweep();
  }
}

// Kills a worker; its exit handler reports what it was doing.
void Engine::Impl::retire_locked(Worker& worker) {
  if (worker.killed)
    return;
  worker.killed = true;
  remove_locked(worker);
  detail::kill_group(worker.pid);
}

// Takes the worker out of its function's pool (it may still be exiting).
void Engine::Impl::remove_locked(Worker& worker) {
  auto& fn = *worker.function;
  fn.idle.erase(std::remove(fn.idle.begin(), fn.idle.end(), &worker), fn.idle.end());
  fn.workers.erase(std::remove_if(fn.workers.begin(), fn.workers.end(),
                                  [&](const auto& w) { return w.get() == &worker; }),
                   fn.workers.end());
  worker.parked.reset();
}

void Engine::Impl::on_deadline(const std::shared_ptr<Worker>& worker, std::uint64_t seq) {
  Invocation* inv = nullptr;
  {
    std::lock_guard lock(mutex);
    auto* cur = worker->current;
    if (cur == nullptr || cur->seq != seq || cur->state != Invocation::State::running)
      return;
    inv = cur;
    worker->current = nullptr;
    inv->state = Invocation::State::completing;
    retire_locked(*worker);
  }
  const double elapsed = ms_between(inv->started, Clock::now()) / 1000.0;
  const auto text = timeout_text(elapsed);
  inv->error_type = "Sandbox.Timedout";
  inv->body =
      error_payload(inv->error_type, fmt::format("RequestId: {} Error: {}", inv->request_id, text));
  inv->content_type_out = "application/json";
  auto line = fmt::format("{} {} {}", iso8601_ms(WallClock::now()), inv->request_id, text);
  if (defer_if_delivering(*inv, worker, Outcome::timeout, ReportStatus::timeout, line))
    return;
  finish(worker.get(), *inv, Outcome::timeout, ReportStatus::timeout, line, true);
}

// A completion decided while the /next response is still being written waits for the write
// (Connection::delivered finishes it). True when deferred.
bool Engine::Impl::defer_if_delivering(Invocation& inv, const std::shared_ptr<Worker>& worker,
                                       Outcome outcome, ReportStatus status,
                                       std::string& extra_log) {
  std::lock_guard lock(mutex);
  if (!inv.delivering)
    return false;
  inv.deferred.pending = true;
  inv.deferred.outcome = outcome;
  inv.deferred.status = status;
  inv.deferred.extra_log = std::move(extra_log);
  inv.deferred.worker = worker;
  return true;
}

void Engine::Impl::on_exit(const std::shared_ptr<Worker>& worker) {
  Invocation* inv = nullptr;
  bool during_init = false;
  std::shared_ptr<Worker> replacement;
  Invocation* replacement_for = nullptr;
  support::Status replacement_status;
  {
    std::lock_guard lock(mutex);
    if (worker->state == Worker::State::dead)
      return;
    during_init = worker->state == Worker::State::starting;
    worker->state = Worker::State::dead;
    remove_locked(*worker);
    worker->deadline.cancel();
    beast::error_code ignored;
    worker->acceptor.close(ignored);
    if (worker->current != nullptr && worker->current->state == Invocation::State::running) {
      inv = worker->current;
      inv->state = Invocation::State::completing;
    } else if (worker->bound != nullptr && during_init) {
      inv = worker->bound;
      inv->state = Invocation::State::completing;
      inv->worker = worker;
      inv->started = Clock::now();
      inv->cold = true;
      inv->init_ms = ms_between(worker->spawned, inv->started);
    } else if (worker->bound != nullptr) {
      // Promised to a worker that exited after answering: not its failure, back in line.
      auto* requeued = worker->bound;
      requeued->state = Invocation::State::queued;
      requeued->worker.reset();
      worker->function->queue.push_front(requeued);
    }
    worker->current = nullptr;
    worker->bound = nullptr;
    auto& fn = *worker->function;
    // Queued work that was waiting for capacity gets a fresh worker.
    if (!stopped && !fn.queue.empty() && static_cast<int>(fn.workers.size()) < fn.limit) {
      replacement_for = fn.queue.front();
      fn.queue.pop_front();
      replacement_status = spawn(fn, replacement_for, replacement);
    }
  }
  int status = 0;
  rusage usage{};
  while (::wait4(worker->pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  detail::kill_group(worker->pid); // leftovers of the group
  {
    std::lock_guard log_lock(worker->log_mutex);
    worker->final_max_memory_mb = static_cast<int>((usage.ru_maxrss + 1023) / 1024);
    drain_output_locked_log(*worker, k_final_drain);
  }
  {
    std::lock_guard lock(mutex);
    std::lock_guard log_lock(worker->log_mutex);
    beast::error_code ignored;
    worker->output.close(ignored);
    worker->output_closed = true;
    worker->exit_watch.close(ignored);
  }

  if (!replacement_status && replacement_for != nullptr) {
    replacement_for->body = error_payload("ServiceException", replacement_status.error().message);
    replacement_for->error_type = "ServiceException";
    complete_simple(*replacement_for, Outcome::engine_error);
  }
  if (inv == nullptr)
    return;
  // Stopped by the engine (stop()/reload) with an invocation: already completed there.
  const bool oom = worker->oom;
  const auto error_type =
      oom ? std::string("Runtime.OutOfMemory") : std::string("Runtime.ExitError");
  const auto message = exit_error_message(inv->request_id, status);
  inv->error_type = error_type;
  inv->body = error_payload(error_type, message);
  inv->content_type_out = "application/json";
  if (during_init) {
    std::lock_guard log_lock(worker->log_mutex);
    if (auto line = init_report_for(*worker->function, inv->init_ms, error_type); !line.empty())
      emit_line(*worker, {}, line, epoch_ms(WallClock::now()));
  }
  std::string extra = message + "\n" + error_type;
  const auto outcome = during_init ? Outcome::init_error : Outcome::exit_error;
  if (defer_if_delivering(*inv, worker, outcome, ReportStatus::error, extra))
    return;
  finish(worker.get(), *inv, outcome, ReportStatus::error, extra, true);
}

} // namespace wisp::runtime
