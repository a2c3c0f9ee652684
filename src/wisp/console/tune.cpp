// `wisp local tune`: a function at several memory sizes, its CPU share emulated by cgroups
// (tune.hpp).

#include <wisp/console/tune.hpp>

#include <wisp/console/advice.hpp>
#include <wisp/console/cost.hpp>
#include <wisp/support/fs.hpp>

// GCC 12 reports -Wnull-dereference inside Asio's own reactor code once it is inlined here
// (a false positive in system headers); silenced for those headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#pragma GCC diagnostic pop
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace wisp::console {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// ------------------------------------------------------------------ cgroups

class CpuLimits {
public:
  // Finds a cpu controller wisp may create groups in; `why` says what is missing otherwise.
  static CpuLimits detect(const fs::path& root) {
    CpuLimits limits;
    std::error_code ec;
    const auto v1 = root / "cpu";
    if (fs::exists(v1 / "cpu.cfs_quota_us", ec)) {
      limits.m_base = v1;
      limits.m_v2 = false;
    } else if (const auto controllers = support::read_file(root / "cgroup.controllers");
               controllers && controllers->find("cpu") != std::string::npos) {
      limits.m_base = root;
      limits.m_v2 = true;
      const auto subtree = support::read_file(root / "cgroup.subtree_control");
      if (!subtree || subtree->find("cpu") == std::string::npos) {
        std::ofstream enable(root / "cgroup.subtree_control");
        enable << "+cpu";
        enable.close();
        const auto again = support::read_file(root / "cgroup.subtree_control");
        if (!again || again->find("cpu") == std::string::npos) {
          limits.m_why = fmt::format("the cgroup v2 cpu controller is not enabled for children of "
                                     "{} (and cannot be here)",
                                     root.string());
          limits.m_base.clear();
          return limits;
        }
      }
    } else {
      limits.m_why = fmt::format("no cgroup cpu controller under {} (cgroup v1 {}/cpu, or v2 with "
                                 "\"cpu\" in cgroup.controllers)",
                                 root.string(), root.string());
      return limits;
    }
    // Can we create a group there?
    const auto probe = limits.m_base / fmt::format("wisp-tune-{}-probe", ::getpid());
    if (!fs::create_directory(probe, ec) || ec) {
      limits.m_why = fmt::format("cannot create a cgroup under {}: {} (run as root, or delegate a "
                                 "cgroup to your user)",
                                 limits.m_base.string(), ec ? ec.message() : "exists");
      limits.m_base.clear();
      return limits;
    }
    ::rmdir(probe.c_str());
    limits.m_why.clear();
    return limits;
  }

  [[nodiscard]] bool available() const { return !m_base.empty(); }
  [[nodiscard]] const std::string& why() const { return m_why; }
  [[nodiscard]] std::string describe() const {
    return m_v2 ? fmt::format("cgroup v2 cpu.max ({})", m_base.string())
                : fmt::format("cgroup v1 cpu.cfs_quota_us ({})", m_base.string());
  }

  // A group limited to `cpus` CPUs; its directory.
  support::Result<fs::path> create(int memory_mb, double cpus) const {
    const auto dir = m_base / fmt::format("wisp-tune-{}-{}", ::getpid(), memory_mb);
    std::error_code ec;
    fs::create_directory(dir, ec);
    if (ec)
      return support::failf("cannot create cgroup {}: {}", dir.string(), ec.message());
    constexpr long k_period = 100000;
    const auto quota = std::max(1000L, std::lround(static_cast<double>(k_period) * cpus));
    if (m_v2) {
      WISP_TRY(write(dir / "cpu.max", fmt::format("{} {}", quota, k_period)));
    } else {
      WISP_TRY(write(dir / "cpu.cfs_period_us", std::to_string(k_period)));
      WISP_TRY(write(dir / "cpu.cfs_quota_us", std::to_string(quota)));
    }
    return dir;
  }

  static support::Status add(const fs::path& group, int pid) {
    return write(group / "cgroup.procs", std::to_string(pid));
  }

  // Removes a group once its processes are gone (waits up to 3 s for them).
  static void remove(const fs::path& group) {
    for (int i = 0; i < 300; ++i) {
      if (::rmdir(group.c_str()) == 0 || errno == ENOENT)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

private:
  static support::Status write(const fs::path& file, const std::string& value) {
    std::ofstream out(file);
    out << value;
    out.close();
    if (!out)
      return support::failf("cannot write {} to {}: {}", value, file.string(),
                            std::strerror(errno));
    return {};
  }

  fs::path m_base;
  bool m_v2 = false;
  std::string m_why;
};

// ------------------------------------------------------------------ engine observation

// Worker pids and each invocation's CPU time, by function id and request id.
class Watch final : public runtime::EngineObserver {
public:
  void on_worker_start(const runtime::WorkerStart& start) override {
    std::lock_guard lock(m_mutex);
    m_pids[std::string(start.function_id)] = start.pid;
    ++m_alive;
  }
  void on_worker_end(const runtime::WorkerEnd&) override {
    {
      std::lock_guard lock(m_mutex);
      --m_alive;
    }
    m_cv.notify_all();
  }
  void on_invoke_end(const runtime::InvocationRecord& record) override {
    std::lock_guard lock(m_mutex);
    if (record.cpu_ms)
      m_cpu[std::string(record.request_id)] = *record.cpu_ms;
  }
  [[nodiscard]] bool wants_cpu_time() const override { return true; }

  int pid(const std::string& function_id) {
    std::lock_guard lock(m_mutex);
    const auto it = m_pids.find(function_id);
    return it == m_pids.end() ? 0 : it->second;
  }
  std::optional<double> cpu(const std::string& request_id) {
    std::lock_guard lock(m_mutex);
    const auto it = m_cpu.find(request_id);
    if (it == m_cpu.end())
      return std::nullopt;
    return it->second;
  }
  // Waits until no worker is alive (at most `limit`).
  void wait_idle(std::chrono::milliseconds limit) {
    std::unique_lock lock(m_mutex);
    m_cv.wait_for(lock, limit, [&] { return m_alive <= 0; });
  }

private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::map<std::string, int> m_pids;
  std::map<std::string, double> m_cpu;
  int m_alive = 0;
};

struct Run {
  runtime::Outcome outcome{};
  std::string error_type;
  std::string request_id;
  bool cold = false;
  double duration_ms = 0;
  double init_ms = 0;
  double billed_ms = 0;
  int max_memory_mb = 0;
};

Run invoke_once(runtime::Engine& engine, runtime::FunctionHandle handle, const std::string& event,
                std::chrono::milliseconds limit) {
  runtime::CollectingSink sink;
  std::mutex mutex;
  std::condition_variable cv;
  sink.on_done = [&] {
    std::lock_guard lock(mutex);
    cv.notify_all();
  };
  runtime::InvokeRequest request;
  request.payload = event;
  engine.invoke(handle, request, sink);
  {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, limit, [&] { return sink.done(); });
  }
  while (!sink.done()) // the engine completes every invocation (its timeout at the latest)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto& r = sink.result();
  Run run;
  run.outcome = r.outcome;
  run.error_type = std::string(r.error_type);
  run.request_id = std::string(r.request_id);
  run.cold = r.cold;
  run.duration_ms = r.duration_ms;
  run.init_ms = r.init_duration_ms;
  run.billed_ms = static_cast<double>(r.billed_duration_ms);
  run.max_memory_mb = r.max_memory_used_mb;
  return run;
}

double trimmed_mean(std::vector<double> values) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  const auto drop = values.size() / 10;
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t i = drop; i + drop < values.size(); ++i, ++n)
    sum += values[i];
  return n ? sum / static_cast<double>(n) : 0;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(
      std::max(1.0, std::ceil(p / 100.0 * static_cast<double>(values.size()))));
  return values[std::min(rank, values.size()) - 1];
}

} // namespace

support::Status check_memory_sizes(const std::vector<int>& sizes) {
  if (sizes.empty())
    return support::fail("--memory needs at least one size", support::ExitCode::usage);
  for (const int mb : sizes)
    if (mb < k_min_memory_mb || mb > k_max_memory_mb)
      return support::fail(fmt::format("--memory {}: Lambda's MemorySize is {} to {} MB", mb,
                                       k_min_memory_mb, k_max_memory_mb),
                           support::ExitCode::usage);
  return {};
}

support::Result<std::vector<int>> parse_memory_sizes(std::string_view text) {
  std::vector<int> sizes;
  while (!text.empty()) {
    const auto comma = text.find(',');
    auto item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    int value = 0;
    const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size())
      return support::fail(
          fmt::format("--memory: '{}' is not a size in MB (e.g. --memory 128,512,1769)", item),
          support::ExitCode::usage);
    sizes.push_back(value);
    if (comma == std::string_view::npos)
      break;
    text.remove_prefix(comma + 1);
  }
  WISP_TRY(check_memory_sizes(sizes));
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

support::Result<TuneResult> tune(const TuneRequest& request, const PriceTable& prices) {
  WISP_TRY(check_memory_sizes(request.memory_sizes));
  if (request.invocations < 1)
    return support::fail("--invocations must be at least 1", support::ExitCode::usage);
  TuneResult result;
  result.function_id = request.function.id;
  result.region = request.engine.region;
  result.architecture = architecture_from(request.function.architecture);

  const auto limits =
      request.cpu_limit ? CpuLimits::detect(request.cgroup_root.empty() ? fs::path("/sys/fs/cgroup")
                                                                        : request.cgroup_root)
                        : CpuLimits{};
  result.emulated = request.cpu_limit && limits.available();
  result.cpu_limit = !request.cpu_limit   ? std::string("off (--no-cpu-limit)")
                     : limits.available() ? limits.describe()
                                          : limits.why();

  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&io] { io.run(); });
  auto engine_options = request.engine;
  engine_options.log_store_dir.clear(); // tuning runs stay out of `wisp cost --local`
  engine_options.idle_timeout = std::chrono::milliseconds(0);
  auto engine = std::make_unique<runtime::Engine>(io, engine_options);
  auto watch = std::make_shared<Watch>();
  engine->add_observer(watch);
  const auto limit = std::chrono::milliseconds(request.function.timeout * 1000LL + 5000);

  const auto measure = [&](int memory_mb, bool emulate) -> support::Result<TuneSize> {
    auto config = request.function;
    config.memory_size = memory_mb;
    config.id = fmt::format("{}@{}", request.function.id, memory_mb);
    WISP_TRY_ASSIGN(const auto handle, engine->add_function(config));
    TuneSize size;
    size.memory_mb = memory_mb;
    size.emulated = emulate;
    const auto cold = invoke_once(*engine, handle, request.event, limit);
    size.cold_init_ms = cold.init_ms;
    size.max_memory_used_mb = cold.max_memory_mb;
    if (cold.outcome != runtime::Outcome::success) {
      ++size.errors;
      size.first_error = cold.error_type;
    }
    std::optional<fs::path> group;
    if (emulate) {
      const int pid = watch->pid(config.id);
      WISP_TRY_ASSIGN(auto made,
                      limits.create(memory_mb, static_cast<double>(memory_mb) / k_mb_per_vcpu));
      group = made;
      if (pid > 0)
        WISP_TRY(CpuLimits::add(*group, pid));
    }
    std::vector<double> durations;
    std::vector<double> billed;
    std::vector<double> cpu;
    for (int i = 0; i < request.invocations; ++i) {
      const auto run = invoke_once(*engine, handle, request.event, limit);
      ++size.runs;
      if (run.outcome != runtime::Outcome::success) {
        ++size.errors;
        if (size.first_error.empty())
          size.first_error = run.error_type;
        continue;
      }
      durations.push_back(run.duration_ms);
      billed.push_back(run.billed_ms);
      if (const auto c = watch->cpu(run.request_id))
        cpu.push_back(*c);
      size.max_memory_used_mb = std::max(size.max_memory_used_mb, run.max_memory_mb);
    }
    size.duration_ms = trimmed_mean(durations);
    size.p50_ms = percentile(durations, 50);
    size.p95_ms = percentile(durations, 95);
    size.billed_ms = trimmed_mean(billed);
    size.cpu_ms = trimmed_mean(cpu);
    engine->reload(handle); // its idle worker goes
    watch->wait_idle(std::chrono::seconds(5));
    if (group)
      CpuLimits::remove(*group);
    return size;
  };

  support::Status failure;
  if (result.emulated) {
    for (const int mb : request.memory_sizes) {
      auto size = measure(mb, true);
      if (!size) {
        failure = tl::unexpected(size.error());
        break;
      }
      if (request.progress)
        request.progress(fmt::format("{} MB: {:.2f} ms (trimmed mean of {}), INIT {:.0f} ms", mb,
                                     size->duration_ms, size->runs, size->cold_init_ms));
      result.sizes.push_back(std::move(*size));
    }
  } else {
    // One set of runs with a full CPU; each size predicted from its CPU time.
    auto measured = measure(request.function.memory_size, false);
    if (!measured) {
      failure = tl::unexpected(measured.error());
    } else {
      Workload workload;
      workload.memory_mb = request.function.memory_size;
      workload.duration_ms = measured->duration_ms;
      if (measured->cpu_ms > 0)
        workload.cpu_ms = measured->cpu_ms;
      workload.measured_unthrottled = true;
      for (const int mb : request.memory_sizes) {
        TuneSize size = *measured;
        size.memory_mb = mb;
        size.emulated = false;
        size.duration_ms = predicted_duration_ms(workload, mb);
        size.p50_ms = size.p95_ms = 0;
        size.billed_ms = std::max(1.0, std::ceil(size.duration_ms));
        result.sizes.push_back(size);
      }
      if (request.progress)
        request.progress(fmt::format("measured at {} MB with a full CPU; sizes predicted",
                                     request.function.memory_size));
    }
  }
  engine->stop();
  watch->wait_idle(std::chrono::seconds(3));
  engine.reset();
  work.reset();
  io.stop();
  io_thread.join();
  if (!failure)
    return tl::unexpected(failure.error());

  const TuneSize* cheapest = nullptr;
  const TuneSize* fastest = nullptr;
  const auto& region = prices.region(result.region);
  const auto& tiers = region.duration(result.architecture);
  const double per_gb_second = tiers.empty() ? 0 : tiers.front().per_gb_second;
  for (auto& size : result.sizes) {
    // The mean Billed Duration as measured (each invocation's already in whole milliseconds).
    size.cost_per_invocation = region.requests_per_million / 1e6 +
                               gb_seconds(size.billed_ms, size.memory_mb) * per_gb_second;
    size.fits = size.memory_mb >= size.max_memory_used_mb * 1.1;
    if (!size.fits || size.errors == size.runs + 1)
      continue;
    if (cheapest == nullptr || size.cost_per_invocation < cheapest->cost_per_invocation)
      cheapest = &size;
    if (fastest == nullptr || size.duration_ms < fastest->duration_ms * 0.99)
      fastest = &size;
  }
  result.cheapest_mb = cheapest != nullptr ? cheapest->memory_mb : 0;
  result.fastest_mb = fastest != nullptr ? fastest->memory_mb : 0;
  return result;
}

std::string render_text(const TuneResult& r, bool color) {
  const auto bold = [&](std::string_view t) {
    return color ? fmt::format("\x1b[1m{}\x1b[0m", t) : std::string(t);
  };
  const auto dim = [&](std::string_view t) {
    return color ? fmt::format("\x1b[2m{}\x1b[0m", t) : std::string(t);
  };
  std::string out;
  out += bold(fmt::format("{} at {} sizes", r.function_id, r.sizes.size()));
  out += dim(fmt::format("  (CPU share: {})", r.emulated ? r.cpu_limit
                                                         : "not emulated — " + r.cpu_limit +
                                                               "; durations predicted from the "
                                                               "CPU time measured"));
  out += "\n\n";
  double max_duration = 0;
  double max_cost = 0;
  for (const auto& s : r.sizes) {
    max_duration = std::max(max_duration, s.duration_ms);
    max_cost = std::max(max_cost, s.cost_per_invocation);
  }
  out += bold(fmt::format("{:>7}  {:>11}  {:>9}  {:>9}  {:>9}  {:>9}  {:>13}  {:>9}  {:<20}  {}",
                          "MEMORY", "DURATION ms", "p95 ms", "BILLED ms", "CPU ms", "INIT ms",
                          "$ / 1M INVOKES", "MAX USED", "duration", "cost"));
  out += '\n';
  constexpr int k_bar = 20;
  for (const auto& s : r.sizes) {
    const auto bar = [&](double value, double max) {
      const int n = max > 0 ? static_cast<int>(std::lround(k_bar * value / max)) : 0;
      return std::string(static_cast<std::size_t>(std::max(n, value > 0 ? 1 : 0)), '#');
    };
    std::string mark;
    if (s.memory_mb == r.cheapest_mb)
      mark += " cheapest";
    if (s.memory_mb == r.fastest_mb)
      mark += " fastest";
    if (!s.fits)
      mark += " (too small)";
    if (s.errors > 0)
      mark += fmt::format(" ({} errors: {})", s.errors, s.first_error);
    out += fmt::format(
        "{:>4} MB  {:>11.2f}  {:>9}  {:>9.0f}  {:>9.2f}  {:>9.0f}  {:>13.2f}  {:>6} MB  {:<20}  "
        "{:<20}{}\n",
        s.memory_mb, s.duration_ms, s.p95_ms > 0 ? fmt::format("{:.2f}", s.p95_ms) : "-",
        s.billed_ms, s.cpu_ms, s.cold_init_ms, s.cost_per_invocation * 1e6, s.max_memory_used_mb,
        bar(s.duration_ms, max_duration), bar(s.cost_per_invocation, max_cost), mark);
  }
  out += '\n';
  out += fmt::format("Cheapest: {} MB. Fastest: {} MB.", r.cheapest_mb, r.fastest_mb);
  out += dim(" Costs are per warm invocation (requests + Billed Duration at the first tier).");
  out += '\n';
  return out;
}

std::string render_json(const TuneResult& r) {
  json::object o;
  o["function"] = r.function_id;
  o["region"] = r.region;
  o["architecture"] = to_string(r.architecture);
  o["emulated"] = r.emulated;
  o["cpuLimit"] = r.cpu_limit;
  o["cheapestMB"] = r.cheapest_mb;
  o["fastestMB"] = r.fastest_mb;
  json::array sizes;
  for (const auto& s : r.sizes) {
    json::object e{{"memoryMB", s.memory_mb},
                   {"runs", s.runs},
                   {"errors", s.errors},
                   {"durationMs", s.duration_ms},
                   {"p50Ms", s.p50_ms},
                   {"p95Ms", s.p95_ms},
                   {"billedDurationMs", s.billed_ms},
                   {"cpuMs", s.cpu_ms},
                   {"initDurationMs", s.cold_init_ms},
                   {"maxMemoryUsedMB", s.max_memory_used_mb},
                   {"costPerInvocation", s.cost_per_invocation},
                   {"emulated", s.emulated},
                   {"fits", s.fits}};
    if (!s.first_error.empty())
      e["firstError"] = s.first_error;
    sizes.push_back(std::move(e));
  }
  o["sizes"] = std::move(sizes);
  return json::serialize(o) + "\n";
}

} // namespace wisp::console
