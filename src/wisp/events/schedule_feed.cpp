// Schedules: EventBridge rules (Schedule) and EventBridge Scheduler (ScheduleV2) fired by
// wisp on its clock (moto never fires them), each fire invoked asynchronously with Lambda's
// retries (one minute, then two).

#include "feeds.hpp"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <list>
#include <random>
#include <thread>

namespace wisp::events::detail {

namespace json = boost::json;

std::string schedule_payload(const ScheduleSpec& spec, TimePoint scheduled, const SourceInfo& info,
                             std::string_view execution_id, int attempt) {
  const auto& s = spec.source.schedule;
  if (spec.source.kind == SourceKind::schedule) {
    if (s.input)
      return *s.input; // a target's Input replaces the whole event
    return json::serialize(scheduled_event(spec.arn, scheduled, info));
  }
  if (s.input)
    return scheduler_input(*s.input, spec.arn, scheduled, execution_id, attempt);
  return json::serialize(scheduler_event(spec.arn, execution_id, scheduled, info));
}

namespace {

class ScheduleFeed final : public Feed {
public:
  ScheduleFeed(Context& context, std::vector<ScheduleSpec> specs)
      : m_context(context), m_specs(std::move(specs)) {
    const auto start = m_context.now();
    for (const auto& spec : m_specs) {
      Entry entry;
      const auto& s = spec.source.schedule;
      // Rates count from when the schedule starts: a rule's first fire is one period after
      // it was created; Scheduler's is at StartDate, or at once without one.
      if (spec.source.kind == SourceKind::schedule)
        entry.anchor = start + s.expression->rate();
      else
        entry.anchor = s.start ? *s.start : start;
      entry.next = first_fire(spec, entry, start - std::chrono::milliseconds(1));
      m_entries.push_back(entry);
    }
  }
  ~ScheduleFeed() override { join(); }

  void start() override {
    m_thread = std::thread([this] { run(); });
  }

  void join() override {
    if (m_thread.joinable())
      m_thread.join();
    for (auto& job : m_jobs)
      if (job.thread.joinable())
        job.thread.join();
    m_jobs.clear();
  }

  [[nodiscard]] std::string describe() const override {
    std::string out;
    for (std::size_t i = 0; i < m_specs.size(); ++i) {
      const auto& spec = m_specs[i];
      const auto& s = spec.source.schedule;
      std::string zone = spec.source.kind == SourceKind::schedule_v2 && s.zone.name() != "UTC"
                             ? " " + s.zone.name()
                             : std::string();
      const auto next = m_entries[i].next;
      if (!out.empty())
        out += "\n";
      out += fmt::format("  {:<15} {}{} → {} (next {})", to_string(spec.source.kind),
                         s.expression->text(), zone, spec.source.function_id,
                         next ? format_event_time(*next) : std::string("never"));
    }
    return out;
  }

private:
  struct Entry {
    TimePoint anchor;
    std::optional<TimePoint> next;
  };
  struct Job {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  struct Retry {
    TimePoint due;
    std::size_t spec = 0;
    TimePoint scheduled;
    std::string execution_id;
    int attempt = 1; // Lambda's invocation attempt (1 = the first)
  };

  std::optional<TimePoint> first_fire(const ScheduleSpec& spec, const Entry& entry,
                                      TimePoint after) const {
    const auto& s = spec.source.schedule;
    if (s.start && after < *s.start && s.expression->kind() != ScheduleExpression::Kind::rate)
      after = *s.start - std::chrono::seconds(1);
    return bounded(spec, s.expression->next(after, s.zone, entry.anchor));
  }

  static std::optional<TimePoint> bounded(const ScheduleSpec& spec, std::optional<TimePoint> next) {
    const auto& end = spec.source.schedule.end;
    if (next && end && *next > *end)
      return std::nullopt;
    return next;
  }

  void run() {
    std::mt19937_64 rng{std::random_device{}()};
    while (!m_context.stopping()) {
      const auto now = m_context.now();
      std::optional<TimePoint> wake;
      for (std::size_t i = 0; i < m_specs.size(); ++i) {
        auto& entry = m_entries[i];
        const auto& spec = m_specs[i];
        while (entry.next && *entry.next <= now) {
          const auto scheduled = *entry.next;
          auto delay = std::chrono::milliseconds(0);
          if (const int window = spec.source.schedule.flexible_window_minutes; window > 0)
            delay =
                std::chrono::milliseconds(rng() % (static_cast<std::uint64_t>(window) * 60'000));
          m_retries.push_back(Retry{scheduled + delay, i, scheduled, new_uuid(), 1});
          entry.next = bounded(spec, spec.source.schedule.expression->next(
                                         scheduled, spec.source.schedule.zone, entry.anchor));
        }
        if (entry.next && (!wake || *entry.next < *wake))
          wake = entry.next;
      }
      for (auto it = m_retries.begin(); it != m_retries.end();) {
        if (it->due <= now) {
          fire(*it);
          it = m_retries.erase(it);
          continue;
        }
        if (!wake || it->due < *wake)
          wake = it->due;
        ++it;
      }
      reap();
      auto sleep = std::chrono::milliseconds(1000);
      if (wake)
        sleep = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(*wake - now),
                           std::chrono::milliseconds(1), std::chrono::milliseconds(1000));
      if (!m_context.sleep_for(sleep))
        break;
    }
  }

  void fire(const Retry& retry) {
    auto done = std::make_shared<std::atomic<bool>>(false);
    Job job;
    job.done = done;
    job.thread = std::thread([this, retry, done] {
      const auto& spec = m_specs[retry.spec];
      const auto info = m_context.source_info(spec.arn);
      const auto payload = schedule_payload(spec, retry.scheduled, info, retry.execution_id, 1);
      const auto result = m_context.invoke(spec.source.function_id, payload);
      const auto origin = spec.source.schedule.expression->text();
      const auto kind = to_string(spec.source.kind);
      const int retries = m_context.async_retries(spec.source.function_id);
      if (result.ok()) {
        m_context.delivered(spec.source.function_id, kind, origin, 1, "event", result,
                            fmt::format("ok (scheduled {})", format_event_time(retry.scheduled)));
      } else if (result.outcome == runtime::Outcome::engine_error && m_context.stopping()) {
        m_context.delivered(spec.source.function_id, kind, origin, 1, "event", result,
                            "interrupted");
      } else if (retry.attempt <= retries) {
        const auto delay = std::chrono::seconds(retry.attempt == 1 ? 60 : 120);
        m_context.delivered(spec.source.function_id, kind, origin, 1, "event", result,
                            fmt::format("failed: {}; retry {} of {} in {} s", result.describe(),
                                        retry.attempt, retries, delay.count()));
        std::lock_guard lock(m_mutex);
        m_later.push_back(Retry{m_context.now() + delay, retry.spec, retry.scheduled,
                                retry.execution_id, retry.attempt + 1});
      } else {
        m_context.delivered(spec.source.function_id, kind, origin, 1, "event", result,
                            fmt::format("failed: {}; dropped after {} attempt{}", result.describe(),
                                        retry.attempt, retry.attempt == 1 ? "" : "s"));
      }
      *done = true;
    });
    m_jobs.push_back(std::move(job));
  }

  void reap() {
    for (auto it = m_jobs.begin(); it != m_jobs.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = m_jobs.erase(it);
      } else {
        ++it;
      }
    }
    std::lock_guard lock(m_mutex);
    for (auto& retry : m_later)
      m_retries.push_back(std::move(retry));
    m_later.clear();
  }

  Context& m_context;
  std::vector<ScheduleSpec> m_specs;
  std::vector<Entry> m_entries;
  std::list<Retry> m_retries;
  std::mutex m_mutex;
  std::vector<Retry> m_later; // retries scheduled by invocation threads
  std::list<Job> m_jobs;
  std::thread m_thread;
};

} // namespace

std::unique_ptr<Feed> make_schedule_feed(Context& context, std::vector<ScheduleSpec> schedules) {
  return std::make_unique<ScheduleFeed>(context, std::move(schedules));
}

} // namespace wisp::events::detail
