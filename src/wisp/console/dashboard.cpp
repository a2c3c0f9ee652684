// The live console's figures (dashboard.hpp).

#include <wisp/console/dashboard.hpp>

#include <wisp/console/advice.hpp>
#include <wisp/console/cost.hpp>
#include <wisp/console/traps.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <bit>
#include <functional>

namespace wisp::console {

namespace json = boost::json;

namespace dashboard_detail {

// At most `capacity` items, oldest first. A slot taken again keeps its strings' buffers: once
// the ring is full, adding an item allocates nothing (the console's share of an invocation).
template <class T> class Ring {
public:
  explicit Ring(std::size_t capacity) : m_capacity(std::max<std::size_t>(1, capacity)) {}

  [[nodiscard]] std::size_t size() const { return m_size; }
  [[nodiscard]] bool empty() const { return m_size == 0; }
  [[nodiscard]] bool full() const { return m_size == m_capacity; }
  T& operator[](std::size_t i) { return m_slots[(m_head + i) % m_capacity]; }
  const T& operator[](std::size_t i) const { return m_slots[(m_head + i) % m_capacity]; }
  T& front() { return m_slots[m_head]; }

  // The slot of a new newest item, to be overwritten: the oldest one's when full.
  T& push() {
    if (full()) {
      auto& slot = m_slots[m_head];
      m_head = (m_head + 1) % m_capacity;
      return slot;
    }
    const auto index = (m_head + m_size) % m_capacity;
    if (index == m_slots.size()) // filled in order until the first wrap
      m_slots.emplace_back();
    ++m_size;
    return m_slots[index];
  }
  void pop_front() {
    m_head = (m_head + 1) % m_capacity;
    --m_size;
  }

private:
  std::size_t m_capacity;
  std::vector<T> m_slots;
  std::size_t m_head = 0;
  std::size_t m_size = 0;
};

} // namespace dashboard_detail

using dashboard_detail::Ring;

struct Dashboard::Function {
  Function(FunctionInfo i, const DashboardOptions& options)
      : info(std::move(i)), recent(options.recent_invocations), logs(options.log_lines),
        timeline(static_cast<std::size_t>(std::max(1, options.timeline_seconds))) {}

  struct Recent {
    std::uint64_t seq = 0;
    Invocation invocation;
  };
  struct LogLine {
    std::string request_id;
    std::string text;
    std::int64_t time_ms = 0;
  };
  struct Second {
    std::int64_t second = -1; // epoch seconds; -1: empty
    int max_in_flight = 0;
    int throttles = 0;
  };

  FunctionInfo info;
  FunctionStats stats;
  std::uint64_t changed = 0; // seq of the last change
  std::uint64_t function_errors = 0;
  std::uint64_t refused = 0;
  int in_flight = 0;
  int peak = 0;
  std::size_t max_request_bytes = 0;
  std::size_t max_response_bytes = 0;
  std::size_t async_over_256k = 0;
  int recursion_depth = 0;                         // the most times this function ran in one trace
  std::optional<std::uint64_t> max_tmp_used_bytes; // the most /tmp in use after an invocation
  std::uint64_t recursion_stops = 0; // invocations stopped as the 17th of a recursive loop
  Ring<Recent> recent;
  Ring<LogLine> logs;
  std::size_t log_bytes = 0;
  std::vector<Second> timeline;
  std::int64_t last_second = -1;
  // The second of the last `changes` event with this function (-1: none yet): the next sends
  // its timeline from the second before on.
  mutable std::int64_t sent_second = -1;

  Second& slot(std::int64_t second) {
    return timeline[static_cast<std::size_t>(second) % timeline.size()];
  }
  // Moves the timeline to `now_s`: seconds without events hold the concurrency then current.
  void advance(std::int64_t now_s) {
    if (last_second >= 0 && now_s > last_second) {
      const auto from =
          std::max(last_second + 1, now_s - static_cast<std::int64_t>(timeline.size()) + 1);
      for (auto s = from; s <= now_s; ++s)
        slot(s) = Second{s, in_flight, 0};
    } else if (last_second < 0) {
      slot(now_s) = Second{now_s, in_flight, 0};
    }
    last_second = std::max(last_second, now_s);
  }
  void note_concurrency(std::int64_t now_ms) {
    const auto s = now_ms / 1000;
    advance(s);
    if (s == last_second) {
      auto& sec = slot(s);
      sec.max_in_flight = std::max(sec.max_in_flight, in_flight);
    }
    peak = std::max(peak, in_flight);
  }
};

namespace {

json::object distribution_json(const Distribution& d) {
  return {{"p50", d.p50}, {"p95", d.p95}, {"p99", d.p99}, {"max", d.max}, {"mean", d.mean}};
}

json::array bins_json(const Histogram& h) {
  json::array out;
  for (const auto& bin : h.bins(40))
    out.push_back(json::array{bin.lower_ms, bin.upper_ms, bin.count});
  return out;
}

json::object cost_json(const Cost& cost) {
  return {{"requests", cost.requests},
          {"duration", cost.duration},
          {"ephemeralStorage", cost.ephemeral},
          {"total", cost.total()}};
}

json::object invocation_json(std::uint64_t seq, const Invocation& i) {
  json::object o{{"seq", seq},
                 {"function", i.function_id},
                 {"requestId", i.request_id},
                 {"start", i.start_ms},
                 {"end", i.end_ms},
                 {"outcome", i.outcome},
                 {"cold", i.cold},
                 {"durationMs", i.duration_ms},
                 {"billedDurationMs", i.billed_duration_ms},
                 {"memorySizeMB", i.memory_size_mb},
                 {"maxMemoryUsedMB", i.max_memory_used_mb},
                 {"requestBytes", i.request_bytes},
                 {"responseBytes", i.response_bytes}};
  if (i.cold)
    o["initDurationMs"] = i.init_duration_ms;
  if (!i.error_type.empty())
    o["errorType"] = i.error_type;
  if (i.cpu_ms)
    o["cpuMs"] = *i.cpu_ms;
  if (i.tmp_used_bytes)
    o["tmpUsedBytes"] = *i.tmp_used_bytes;
  return o;
}

std::string_view trace_root(std::string_view trace) {
  // "Root=1-…;Parent=…;Sampled=…" → "1-…"; a bare id stays as it is.
  const auto pos = trace.find("Root=");
  if (pos == std::string_view::npos)
    return trace.substr(0, trace.find(';'));
  auto rest = trace.substr(pos + 5);
  return rest.substr(0, rest.find(';'));
}

// A line's text kept in a ring slot; a slot that held a long line gives its buffer back
// when the line leaves (the ring's memory stays bounded by its byte limit).
void release_long(std::string& text) {
  if (text.capacity() > 1024)
    std::string().swap(text);
}

Workload workload_of(const Dashboard::Function& f) {
  Workload w;
  const auto& s = f.stats;
  w.memory_mb = s.memory_size_mb ? s.memory_size_mb : f.info.memory_size_mb;
  w.duration_ms = s.invocations ? s.duration_sum_ms / static_cast<double>(s.invocations) : 0;
  if (s.cpu_samples)
    w.cpu_ms = s.cpu_sum_ms / static_cast<double>(s.cpu_samples);
  w.measured_unthrottled = true;
  w.cold_share = s.cold_share();
  w.init_ms = s.cold_starts ? s.init_sum_ms / static_cast<double>(s.cold_starts) : 0;
  w.max_memory_used_mb = s.max_memory_used_mb;
  return w;
}

TrapInputs trap_inputs(const Dashboard::Function& f) {
  TrapInputs t;
  t.memory_size_mb = f.info.memory_size_mb;
  t.timeout_s = f.info.timeout_s;
  t.invocations = f.stats.invocations;
  t.timeouts = f.stats.timeouts;
  t.duration = f.stats.duration_distribution();
  t.max_memory_used_mb = f.stats.max_memory_used_mb;
  if (f.stats.cpu_samples)
    t.cpu_share = f.stats.cpu_sum_ms / std::max(1e-9, f.stats.cpu_duration_sum_ms);
  t.max_request_bytes = f.max_request_bytes;
  t.max_response_bytes = f.max_response_bytes;
  t.async_over_256k = f.async_over_256k;
  t.recursion_depth = f.recursion_depth;
  t.recursion_stops = f.recursion_stops;
  t.ephemeral_storage_mb = f.info.ephemeral_storage_mb;
  t.max_tmp_used_bytes = f.max_tmp_used_bytes;
  return t;
}

} // namespace

Dashboard::Dashboard(DashboardOptions options) : m_options(std::move(options)) {
  // Sets of 4 slots, a power of two of them, at least trace_roots slots in all.
  const auto sets = std::bit_ceil(std::max<std::size_t>(1, (m_options.trace_roots + 3) / 4));
  m_traces.resize(sets * 4);
}
Dashboard::~Dashboard() = default;

void Dashboard::add_function(FunctionInfo info) {
  std::lock_guard lock(m_mutex);
  auto id = info.id;
  auto function = std::make_unique<Function>(std::move(info), m_options);
  function->changed = ++m_seq;
  m_functions[id] = std::move(function);
}

void Dashboard::started(std::string_view function_id, std::int64_t now_ms) {
  std::lock_guard lock(m_mutex);
  const auto it = m_functions.find(function_id);
  if (it == m_functions.end())
    return;
  if (m_started_ms == 0)
    m_started_ms = now_ms;
  auto& f = *it->second;
  ++f.in_flight;
  f.note_concurrency(now_ms);
  f.changed = ++m_seq;
}

int Dashboard::runs_in_trace(std::string_view trace_id, std::string_view function_id) {
  const std::hash<std::string_view> hash;
  auto key = hash(trace_root(trace_id)) ^ (hash(function_id) * 0x9e3779b97f4a7c15ULL);
  key = key == 0 ? 1 : key;
  const auto sets = m_traces.size() / 4;
  auto* set = &m_traces[(((key * 0x9e3779b97f4a7c15ULL) >> 17) & (sets - 1)) * 4];
  auto* slot = set;
  for (auto* s = set; s != set + 4; ++s) {
    if (s->key == key) {
      slot = s;
      break;
    }
    if (s->added < slot->added)
      slot = s; // the least recently added (or an empty one)
  }
  if (slot->key != key)
    *slot = TraceRuns{key, 0, 0};
  slot->added = ++m_trace_clock;
  return ++slot->runs;
}

void Dashboard::finished(const Invocation& invocation) {
  std::lock_guard lock(m_mutex);
  const auto it = m_functions.find(invocation.function_id);
  if (it == m_functions.end())
    return;
  if (m_started_ms == 0)
    m_started_ms = invocation.start_ms ? invocation.start_ms : invocation.end_ms;
  auto& f = *it->second;
  const bool throttled = invocation.outcome == "throttled";
  if (!throttled && !invocation.started) {
    // Refused before any worker (a payload too large, the engine stopping): no REPORT.
    ++f.refused;
  } else if (throttled) {
    f.stats.add_throttle(invocation.end_ms);
    f.note_concurrency(invocation.end_ms);
    ++f.slot(f.last_second).throttles;
  } else {
    // The second it ends in saw it running: move the timeline there before it leaves.
    f.note_concurrency(invocation.end_ms);
    if (invocation.started && f.in_flight > 0)
      --f.in_flight;
    Report report;
    report.request_id = invocation.request_id;
    report.duration_ms = invocation.duration_ms;
    report.billed_duration_ms = invocation.billed_duration_ms;
    report.memory_size_mb = invocation.memory_size_mb;
    report.max_memory_used_mb = invocation.max_memory_used_mb;
    if (invocation.cold)
      report.init_duration_ms = invocation.init_duration_ms;
    if (invocation.outcome == "timeout")
      report.status = "timeout";
    else if (invocation.outcome != "success")
      report.status = "error";
    if (invocation.outcome == "function_error")
      ++f.function_errors;
    f.stats.add(report, invocation.end_ms, f.info.ephemeral_storage_mb, invocation.cpu_ms);
  }
  f.max_request_bytes = std::max(f.max_request_bytes, invocation.request_bytes);
  f.max_response_bytes = std::max(f.max_response_bytes, invocation.response_bytes);
  if (invocation.asynchronous && invocation.request_bytes > 256 * 1024)
    ++f.async_over_256k;
  if (invocation.tmp_used_bytes)
    f.max_tmp_used_bytes = std::max(f.max_tmp_used_bytes.value_or(0), *invocation.tmp_used_bytes);
  if (invocation.outcome == "recursive_loop")
    ++f.recursion_stops; // not run: not a round of the loop either
  else if (!invocation.trace_id.empty())
    f.recursion_depth =
        std::max(f.recursion_depth, runs_in_trace(invocation.trace_id, invocation.function_id));
  f.changed = ++m_seq;
  auto& slot = f.recent.push();
  slot.seq = m_seq;
  slot.invocation = invocation; // copied into the slot's own strings: no allocation once full
}

void Dashboard::log(std::string_view function_id, std::string_view request_id,
                    std::string_view text, std::int64_t time_ms) {
  std::lock_guard lock(m_mutex);
  const auto it = m_functions.find(function_id);
  if (it == m_functions.end())
    return;
  auto& f = *it->second;
  const auto evict = [&f] {
    auto& oldest = f.logs.front();
    f.log_bytes -= oldest.text.size() + oldest.request_id.size();
    release_long(oldest.text);
    f.logs.pop_front();
  };
  if (f.logs.full())
    evict();
  auto& line = f.logs.push();
  line.request_id.assign(request_id);
  line.text.assign(text);
  line.time_ms = time_ms;
  f.log_bytes += text.size() + request_id.size();
  while (!f.logs.empty() && f.log_bytes > m_options.log_bytes)
    evict();
}

std::uint64_t Dashboard::version() const {
  std::lock_guard lock(m_mutex);
  return m_seq;
}

namespace {

struct Render {
  const DashboardOptions& options;
  std::int64_t now_ms;
  std::int64_t started_ms;

  double session_seconds() const {
    return started_ms > 0 ? std::max(1.0, static_cast<double>(now_ms - started_ms) / 1000.0) : 0;
  }

  // The whole timeline, or (`from_second` ≥ 0) its seconds from then on: what a `changes`
  // event carries.
  json::object function(const Dashboard::Function& f, bool with_series,
                        std::int64_t from_second = -1) const {
    const auto& s = f.stats;
    const auto& info = f.info;
    json::object o;
    o["id"] = info.id;
    o["name"] = info.name;
    o["runtime"] = info.runtime;
    o["handler"] = info.handler;
    o["architecture"] = info.architecture;
    o["memorySizeMB"] = info.memory_size_mb;
    o["timeout"] = info.timeout_s;
    o["ephemeralStorageMB"] = info.ephemeral_storage_mb;
    o["reservedConcurrency"] =
        info.reserved_concurrency ? json::value(*info.reserved_concurrency) : json::value(nullptr);
    json::array env;
    for (const auto& name : info.environment_names)
      env.push_back(json::object{{"name", name}, {"value", "••••••"}});
    o["environment"] = std::move(env);
    o["invocations"] = s.invocations;
    o["errors"] = s.errors;
    o["functionErrors"] = f.function_errors;
    o["refused"] = f.refused;
    o["timeouts"] = s.timeouts;
    o["throttles"] = s.throttles;
    o["coldStarts"] = s.cold_starts;
    o["inFlight"] = f.in_flight;
    o["peakConcurrency"] = f.peak;
    o["duration"] = distribution_json(s.duration_distribution());
    o["init"] = distribution_json(s.init_distribution());
    o["maxMemoryUsedMB"] = s.max_memory_used_mb;
    o["recursionDepth"] = f.recursion_depth;
    o["recursionStops"] = f.recursion_stops;
    // null: not measured (no invocation yet, or the worker runs with host paths: no private /tmp)
    o["maxTmpUsedBytes"] =
        f.max_tmp_used_bytes ? json::value(*f.max_tmp_used_bytes) : json::value(nullptr);
    o["billedDurationMs"] = s.billed_ms;
    o["gbSeconds"] = s.gb_seconds;
    o["rate"] = session_seconds() > 0 ? static_cast<double>(s.invocations) / session_seconds() : 0;
    if (with_series) {
      o["durationBins"] = bins_json(s.duration);
      o["initBins"] = bins_json(s.init);
      json::array seconds;
      json::array maxima;
      json::array throttles;
      const auto now_s = now_ms / 1000;
      const auto n = static_cast<std::int64_t>(f.timeline.size());
      for (auto sec = std::max(now_s - n + 1, from_second); sec <= now_s; ++sec) {
        const auto& slot = f.timeline[static_cast<std::size_t>(sec) % f.timeline.size()];
        seconds.push_back(sec);
        if (slot.second == sec) {
          maxima.push_back(slot.max_in_flight);
          throttles.push_back(slot.throttles);
        } else if (f.last_second >= 0 && sec > f.last_second) {
          maxima.push_back(f.in_flight); // no event since: the current concurrency
          throttles.push_back(0);
        } else {
          maxima.push_back(0);
          throttles.push_back(0);
        }
      }
      o["concurrency"] = json::object{{"seconds", std::move(seconds)},
                                      {"max", std::move(maxima)},
                                      {"throttles", std::move(throttles)}};
      if (s.invocations > 0) {
        const auto advice = advise_memory(options.prices, options.region,
                                          architecture_from(info.architecture), workload_of(f));
        json::array sizes;
        for (const auto& e : advice.sizes)
          sizes.push_back(json::object{{"memoryMB", e.memory_mb},
                                       {"durationMs", e.duration_ms},
                                       {"costPerInvocation", e.cost_per_invocation},
                                       {"fits", e.fits}});
        o["advice"] = json::object{{"currentMB", advice.current_mb},
                                   {"cheapestMB", advice.cost_minimising_mb},
                                   {"fastestMB", advice.duration_minimising_mb},
                                   {"basis", advice.basis},
                                   {"sizes", std::move(sizes)}};
      }
      json::array traps;
      for (const auto& trap : find_traps(trap_inputs(f)))
        traps.push_back(json::object{{"kind", trap.kind}, {"message", trap.message}});
      o["traps"] = std::move(traps);
    }
    return o;
  }

  // Costs of all functions: the session so far (no free tier) and a month at the observed
  // rates (free tier applied across the functions).
  void costs(const std::map<std::string, std::unique_ptr<Dashboard::Function>, std::less<>>& fs,
             json::object& root, json::array& functions) const {
    std::vector<FunctionUsage> usage;
    for (const auto& [id, f] : fs) {
      FunctionUsage u;
      u.id = id;
      u.region = options.region;
      u.architecture = architecture_from(f->info.architecture);
      u.requests = static_cast<double>(f->stats.invocations);
      u.gb_seconds = f->stats.gb_seconds;
      u.ephemeral_gb_seconds = f->stats.ephemeral_gb_seconds;
      usage.push_back(std::move(u));
    }
    const auto session = price(options.prices, usage, false);
    const auto month =
        price(options.prices, project_month(options.prices, usage, session_seconds()), true);
    std::size_t i = 0;
    for (auto& value : functions) {
      auto& o = value.as_object();
      // `functions` holds the changed functions only: match by id.
      while (i < usage.size() && usage[i].id != o["id"].as_string())
        ++i;
      if (i == usage.size())
        break;
      o["cost"] = cost_json(session.functions[i]);
      o["monthlyCost"] = cost_json(month.functions[i]);
    }
    root["totals"] = json::object{{"cost", cost_json(session.total)},
                                  {"monthlyCost", cost_json(month.total)},
                                  {"monthlyFreeTierCredit", cost_json(month.free_tier_credit)},
                                  {"sessionSeconds", session_seconds()}};
  }
};

} // namespace

std::string Dashboard::state_json(std::int64_t now_ms) const {
  std::lock_guard lock(m_mutex);
  Render render{m_options, now_ms, m_started_ms};
  json::object root;
  root["type"] = "state";
  root["seq"] = m_seq;
  root["now"] = now_ms;
  root["app"] = m_options.app;
  root["region"] = m_options.region;
  root["prices"] = json::object{{"origin", m_options.prices.origin},
                                {"asOf", m_options.prices.as_of},
                                {"currency", m_options.prices.currency},
                                {"monthHours", m_options.prices.month_hours},
                                {"initBillingSince", m_options.prices.init_billing_since}};
  json::array functions;
  json::array invocations;
  for (const auto& [id, f] : m_functions) {
    functions.push_back(render.function(*f, true));
    for (std::size_t i = 0; i < f->recent.size(); ++i)
      invocations.push_back(invocation_json(f->recent[i].seq, f->recent[i].invocation));
  }
  render.costs(m_functions, root, functions);
  root["functions"] = std::move(functions);
  root["invocations"] = std::move(invocations);
  return json::serialize(root);
}

std::string Dashboard::changes_json(std::uint64_t& cursor, std::int64_t now_ms) const {
  std::lock_guard lock(m_mutex);
  if (m_seq == cursor)
    return {};
  Render render{m_options, now_ms, m_started_ms};
  json::object root;
  root["type"] = "changes";
  root["seq"] = m_seq;
  root["now"] = now_ms;
  json::array functions;
  // The newest new invocations of all functions, newest first: each function's ring is in
  // order, so the newest `limit` of them are among each one's newest `limit`.
  const auto limit = m_options.changes_invocations;
  std::vector<const Function::Recent*> fresh;
  const auto now_s = now_ms / 1000;
  for (const auto& [id, f] : m_functions) {
    if (f->changed <= cursor)
      continue;
    const auto from = f->sent_second < 0 ? -1 : f->sent_second - 1;
    f->sent_second = now_s;
    functions.push_back(render.function(*f, true, from));
    std::size_t taken = 0;
    for (auto i = f->recent.size(); i-- > 0 && f->recent[i].seq > cursor && taken < limit; ++taken)
      fresh.push_back(&f->recent[i]);
  }
  const auto newest = std::min(limit, fresh.size());
  std::partial_sort(fresh.begin(), fresh.begin() + static_cast<std::ptrdiff_t>(newest), fresh.end(),
                    [](const auto* a, const auto* b) { return a->seq > b->seq; });
  json::array invocations;
  invocations.reserve(newest);
  for (std::size_t i = 0; i < newest; ++i)
    invocations.push_back(invocation_json(fresh[i]->seq, fresh[i]->invocation));
  render.costs(m_functions, root, functions);
  root["functions"] = std::move(functions);
  root["invocations"] = std::move(invocations);
  cursor = m_seq;
  return json::serialize(root);
}

std::string Dashboard::logs_json(std::string_view function_id, std::string_view request_id) const {
  std::lock_guard lock(m_mutex);
  json::object root;
  root["function"] = function_id;
  root["requestId"] = request_id;
  json::array lines;
  const auto it = m_functions.find(function_id);
  if (it != m_functions.end())
    for (std::size_t i = 0; i < it->second->logs.size(); ++i)
      if (const auto& line = it->second->logs[i]; line.request_id == request_id)
        lines.push_back(json::object{{"time", line.time_ms}, {"message", line.text}});
  root["complete"] = !lines.empty();
  root["lines"] = std::move(lines);
  return json::serialize(root);
}

std::string Dashboard::projection_json(std::string_view function_id,
                                       double requests_per_second) const {
  std::lock_guard lock(m_mutex);
  json::object root;
  root["function"] = function_id;
  root["requestsPerSecond"] = requests_per_second;
  const auto it = m_functions.find(function_id);
  if (it == m_functions.end() || it->second->stats.invocations == 0 || requests_per_second < 0) {
    root["error"] = it == m_functions.end() ? "unknown function" : "no invocations yet";
    return json::serialize(root);
  }
  const auto& f = *it->second;
  const double per_request = 1.0 / static_cast<double>(f.stats.invocations);
  FunctionUsage u;
  u.id = f.info.id;
  u.region = m_options.region;
  u.architecture = architecture_from(f.info.architecture);
  u.requests = requests_per_second * m_options.prices.month_seconds();
  u.gb_seconds = f.stats.gb_seconds * per_request * u.requests;
  u.ephemeral_gb_seconds = f.stats.ephemeral_gb_seconds * per_request * u.requests;
  const std::vector<FunctionUsage> usage{u};
  const auto without = price(m_options.prices, usage, false);
  const auto with = price(m_options.prices, usage, true);
  root["monthlyRequests"] = u.requests;
  root["monthlyGbSeconds"] = u.gb_seconds;
  root["monthlyCost"] = cost_json(with.total);
  root["monthlyCostWithoutFreeTier"] = cost_json(without.total);
  return json::serialize(root);
}

std::size_t Dashboard::memory_bytes() const {
  std::lock_guard lock(m_mutex);
  std::size_t bytes = sizeof(*this);
  for (const auto& [id, f] : m_functions) {
    bytes += sizeof(*f) + f->timeline.size() * sizeof(Function::Second) + f->log_bytes +
             f->logs.size() * sizeof(Function::LogLine);
    for (std::size_t i = 0; i < f->recent.size(); ++i) {
      const auto& recent = f->recent[i];
      bytes += sizeof(recent) + recent.invocation.request_id.size() +
               recent.invocation.trace_id.size() + recent.invocation.error_type.size() +
               recent.invocation.outcome.size() + recent.invocation.function_id.size();
    }
  }
  bytes += m_traces.size() * sizeof(TraceRuns);
  return bytes;
}

} // namespace wisp::console
