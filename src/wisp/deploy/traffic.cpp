// Bounded parallelism, progress logging, and traffic shifting with alarms and hooks.

#include <wisp/deploy/engine.hpp>

#include <wisp/support/strings.hpp>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <random>
#include <thread>

namespace wisp::deploy {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

support::Status parallel_for(std::size_t count, unsigned parallel,
                             const std::function<support::Status(std::size_t)>& work,
                             const std::atomic<bool>* cancel) {
  if (count == 0)
    return {};
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::optional<support::Error> first_error;
  auto worker = [&] {
    while (!failed.load() && (cancel == nullptr || !cancel->load())) {
      const auto index = next.fetch_add(1);
      if (index >= count)
        return;
      auto result = work(index);
      if (!result) {
        std::lock_guard lock(mutex);
        if (!first_error)
          first_error = std::move(result).error();
        failed = true;
      }
    }
  };
  const auto threads = std::max(1u, std::min<unsigned>(parallel, static_cast<unsigned>(count)));
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (unsigned i = 0; i < threads; ++i)
      pool.emplace_back(worker);
    for (auto& thread : pool)
      thread.join();
  }
  if (first_error)
    return tl::unexpected(std::move(*first_error));
  if (cancel != nullptr && cancel->load() && next.load() < count)
    return support::fail("cancelled");
  return {};
}

void Log::step(const std::string& line) {
  std::lock_guard lock(m_mutex);
  m_reporter.step(line);
}

void Log::status(const std::string& line) {
  std::lock_guard lock(m_mutex);
  m_reporter.status(line);
}

void Log::warning(const std::string& line) {
  std::lock_guard lock(m_mutex);
  m_warnings.push_back(line);
  m_reporter.warning(line);
}

std::vector<std::string> Log::warnings() const {
  std::lock_guard lock(m_mutex);
  return m_warnings;
}

namespace {

bool same_weights(const std::map<std::string, double>& a, const std::map<std::string, double>& b) {
  // An empty routing config and a missing one are the same; so are weights of 0.
  std::map<std::string, double> x;
  std::map<std::string, double> y;
  for (const auto& [k, v] : a)
    if (v != 0.0)
      x[k] = v;
  for (const auto& [k, v] : b)
    if (v != 0.0)
      y[k] = v;
  if (x.size() != y.size())
    return false;
  for (const auto& [k, v] : x) {
    auto it = y.find(k);
    if (it == y.end() || std::fabs(it->second - v) > 1e-9)
      return false;
  }
  return true;
}

std::string percent(double weight) {
  return fmt::format("{}%", std::lround(weight * 100.0));
}

} // namespace

support::Status set_alias(const Backend& backend, const std::string& function,
                          const std::string& alias, const std::string& version,
                          const std::map<std::string, double>& weights, bool create) {
  for (const auto& [v, w] : weights)
    if (!(w >= 0.0 && w <= 1.0) || v == version)
      return support::failf("internal: invalid routing for {}:{} ({} at {})", function, alias, v,
                            w);
  if (create) {
    auto created = backend.create_alias(function, alias, version, weights);
    if (!created) {
      // Lambda answers ResourceConflictException; moto_server ConflictException.
      if (!created.error().is("ResourceConflictException") &&
          !created.error().is("ConflictException"))
        return tl::unexpected<support::Error>(created.error());
      // It exists already (a retried call that had succeeded): update it instead.
      WISP_TRY(backend.update_alias(function, alias, version, weights));
    }
  } else {
    WISP_TRY(backend.update_alias(function, alias, version, weights));
  }
  auto actual = backend.get_alias(function, alias);
  if (!actual)
    return tl::unexpected<support::Error>(actual.error());
  if (!*actual)
    return support::failf("read-back: alias {}:{} does not exist after writing it", function,
                          alias);
  if ((*actual)->version != version || !same_weights((*actual)->weights, weights))
    return support::failf("read-back: alias {}:{} serves version {} with {} extra routes after "
                          "wisp set version {} with {}",
                          function, alias, (*actual)->version, (*actual)->weights.size(), version,
                          weights.size());
  return {};
}

support::Status run_hook(const Backend& backend, const std::string& qualified_name,
                         const std::string& lifecycle, Log& log) {
  std::random_device random;
  const auto deployment = fmt::format("wisp-{:08x}", random());
  const auto execution =
      fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:08x}{:04x}", random(), random() & 0xffffu,
                  random() & 0xffffu, random() & 0xffffu, random(), random() & 0xffffu);
  const auto payload = fmt::format(
      R"({{"DeploymentId":"{}","LifecycleEventHookExecutionId":"{}"}})", deployment, execution);
  const auto colon = qualified_name.rfind(':');
  const auto name = qualified_name.substr(0, colon);
  const auto qualifier =
      colon == std::string::npos ? std::string() : qualified_name.substr(colon + 1);
  log.step(fmt::format("{} hook: invoking {}", lifecycle, qualified_name));
  auto result = backend.invoke(name, qualifier, payload);
  if (!result)
    return support::failf("{} hook {} could not be invoked: {}", lifecycle, qualified_name,
                          result.error().describe());
  if (!result->function_error.empty())
    return support::failf("{} hook {} failed ({}): {}", lifecycle, qualified_name,
                          result->function_error, result->payload.substr(0, 500));
  boost::system::error_code ec;
  const auto response = json::parse(result->payload, ec);
  if (!ec) {
    const json::value* status = nullptr;
    if (response.is_object())
      status = response.as_object().if_contains("status");
    if (response.is_string())
      status = &response;
    if (status != nullptr && status->is_string() && support::iequals(status->as_string(), "Failed"))
      return support::failf("{} hook {} reported status Failed", lifecycle, qualified_name);
  }
  log.step(fmt::format("{} hook: {} succeeded", lifecycle, qualified_name));
  return {};
}

ShiftOutcome
run_shift(const Backend& backend, std::vector<ShiftItem> items, Log& log,
          const std::atomic<bool>* cancel,
          const std::function<void(const std::map<std::string, double>&)>& on_weights) {
  using Kind = ShiftOutcome::Kind;
  const auto cancelled = [&] { return cancel != nullptr && cancel->load(); };

  // Every alias back to its old version, no routing. Retried hard: this is the safety net.
  const auto roll_back = [&](Kind kind, std::string reason) {
    std::vector<std::string> failures;
    for (const auto& item : items) {
      support::Status done;
      for (int attempt = 0; attempt < 3; ++attempt) {
        done = set_alias(backend, item.function, item.alias, item.from, {});
        if (done)
          break;
      }
      if (done)
        log.step(
            fmt::format("rolled back {}:{} to version {}", item.function, item.alias, item.from));
      else
        failures.push_back(
            fmt::format("{}:{}: {}", item.function, item.alias, done.error().message));
    }
    std::map<std::string, double> zero;
    for (const auto& item : items)
      zero[item.logical_id] = 0.0;
    on_weights(zero);
    if (!failures.empty())
      return ShiftOutcome{Kind::failed,
                          reason + "; rollback failed for " + support::join(failures, "; ")};
    return ShiftOutcome{kind, std::move(reason)};
  };

  std::vector<std::string> alarm_names;
  for (const auto& item : items)
    for (const auto& alarm : item.alarms)
      if (std::find(alarm_names.begin(), alarm_names.end(), alarm) == alarm_names.end())
        alarm_names.push_back(alarm);
  // Any alarm in ALARM: its name. Alarms that do not exist are an error before shifting.
  const auto check_alarms = [&]() -> tl::expected<std::string, std::string> {
    if (alarm_names.empty())
      return std::string();
    auto alarms = backend.describe_alarms(alarm_names);
    if (!alarms)
      return tl::unexpected(alarms.error().describe());
    for (const auto& name : alarm_names) {
      const auto it = std::find_if(alarms->begin(), alarms->end(),
                                   [&](const AlarmInfo& a) { return a.name == name; });
      if (it == alarms->end())
        return tl::unexpected(fmt::format("alarm {} does not exist", name));
      if (it->state == "ALARM")
        return name;
    }
    return std::string();
  };

  // Before any traffic moves.
  if (auto fired = check_alarms(); !fired)
    return roll_back(Kind::failed, fired.error());
  else if (!fired->empty())
    return roll_back(Kind::rolled_back, fmt::format("alarm {} is in ALARM", *fired));
  for (const auto& item : items) {
    if (item.pre_hook.empty())
      continue;
    if (auto hook = run_hook(backend, item.pre_hook, "PreTraffic", log); !hook)
      return roll_back(Kind::rolled_back, hook.error().message);
  }

  struct Progress {
    std::size_t step = 0;
    Clock::time_point step_started;
    bool done = false;
  };
  std::vector<Progress> progress(items.size());
  std::map<std::string, double> weights;

  const auto write_step = [&](std::size_t i) -> support::Status {
    const auto& item = items[i];
    const auto& step = item.plan.steps[progress[i].step];
    if (step.weight >= 1.0) {
      WISP_TRY(set_alias(backend, item.function, item.alias, item.to, {}));
      progress[i].done = true;
      log.step(fmt::format("{}:{} → version {} (100%)", item.function, item.alias, item.to));
    } else {
      WISP_TRY(set_alias(backend, item.function, item.alias, item.from, {{item.to, step.weight}}));
      log.step(fmt::format("{}:{} → {} on version {}, {} on version {} ({}, next step in {})",
                           item.function, item.alias, percent(step.weight), item.to,
                           percent(1.0 - step.weight), item.from, item.plan.type,
                           format_duration(step.hold)));
    }
    weights[item.logical_id] = step.weight;
    progress[i].step_started = Clock::now();
    return {};
  };

  for (std::size_t i = 0; i < items.size(); ++i) {
    if (auto written = write_step(i); !written)
      return roll_back(Kind::failed, written.error().message);
  }
  on_weights(weights);

  // The shortest hold decides how often alarms are polled: at least every 5 s.
  std::chrono::milliseconds poll{5000};
  for (const auto& item : items)
    for (const auto& step : item.plan.steps)
      if (step.hold.count() > 0)
        poll = std::min(poll, std::max(std::chrono::milliseconds(250), step.hold / 4));
  auto next_poll = Clock::now() + poll;
  auto last_status = Clock::now() - std::chrono::seconds(10);

  while (true) {
    if (std::all_of(progress.begin(), progress.end(), [](const Progress& p) { return p.done; }))
      break;
    if (cancelled())
      return roll_back(Kind::interrupted,
                       "the shift was interrupted; the old versions serve all traffic again "
                       "(wisp promote finishes the shift, wisp rollback keeps the old versions)");
    const auto now = Clock::now();
    if (now >= next_poll) {
      auto fired = check_alarms();
      if (!fired)
        log.warning(fmt::format("cannot read alarms ({}); retrying", fired.error()));
      else if (!fired->empty())
        return roll_back(Kind::rolled_back, fmt::format("alarm {} is in ALARM", *fired));
      next_poll = now + poll;
    }
    bool changed = false;
    Clock::time_point next_change = Clock::time_point::max();
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (progress[i].done)
        continue;
      const auto due = progress[i].step_started + items[i].plan.steps[progress[i].step].hold;
      if (now >= due) {
        // Alarms are checked right before traffic grows.
        auto fired = check_alarms();
        if (fired && !fired->empty())
          return roll_back(Kind::rolled_back, fmt::format("alarm {} is in ALARM", *fired));
        ++progress[i].step;
        if (auto written = write_step(i); !written)
          return roll_back(Kind::failed, written.error().message);
        changed = true;
      }
      if (!progress[i].done)
        next_change = std::min(next_change, progress[i].step_started +
                                                items[i].plan.steps[progress[i].step].hold);
    }
    if (changed)
      on_weights(weights);
    if (next_change != Clock::time_point::max() && now - last_status >= std::chrono::seconds(1)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_change - now);
      std::vector<std::string> parts;
      for (std::size_t i = 0; i < items.size(); ++i)
        if (!progress[i].done)
          parts.push_back(fmt::format("{} {}", items[i].logical_id,
                                      percent(items[i].plan.steps[progress[i].step].weight)));
      log.status(fmt::format("shifting: {} · next step in {}", support::join(parts, ", "),
                             format_duration(std::max(left, std::chrono::milliseconds(0)))));
      last_status = now;
    }
    auto wake = std::min(next_change, next_poll);
    wake = std::min(wake, Clock::now() + std::chrono::milliseconds(100));
    std::this_thread::sleep_until(wake);
  }

  if (auto fired = check_alarms(); fired && !fired->empty())
    return roll_back(Kind::rolled_back, fmt::format("alarm {} is in ALARM", *fired));
  for (const auto& item : items) {
    if (item.post_hook.empty())
      continue;
    if (auto hook = run_hook(backend, item.post_hook, "PostTraffic", log); !hook)
      return roll_back(Kind::rolled_back, hook.error().message);
  }
  return {};
}

} // namespace wisp::deploy
