#include <wisp/logs/tail.hpp>

#include <algorithm>
#include <limits>

namespace wisp::logs {

namespace {

std::string event_key(const LogEvent& event) {
  std::string key = event.log_group;
  key += '\0';
  if (!event.event_id.empty()) {
    key += event.event_id;
  } else {
    // No eventId (not CloudWatch): the stream, time and text identify the event.
    key += event.log_stream;
    key += '\0';
    key += std::to_string(event.timestamp);
    key += '\0';
    key += event.message;
  }
  return key;
}

} // namespace

TailWindow::TailWindow(std::int64_t start_ms, TailTuning tuning)
    : m_tuning(tuning), m_query_start(start_ms), m_lookback(tuning.min_lookback_ms) {}

bool TailWindow::first_time(const LogEvent& event) {
  if (event.ingestion_time > 0) {
    const auto lateness = event.ingestion_time - event.timestamp;
    m_lookback = std::clamp(std::max(m_lookback, 2 * lateness), m_tuning.min_lookback_ms,
                            m_tuning.max_lookback_ms);
  }
  auto key = event_key(event);
  if (!m_ids.insert(key).second)
    return false;
  m_by_time.emplace(event.timestamp, std::move(key));
  return true;
}

void TailWindow::poll_succeeded(std::int64_t poll_started_ms) {
  m_query_start = std::max(m_query_start, poll_started_ms - m_lookback);
  // Events older than the window can never be returned again.
  auto it = m_by_time.begin();
  while (it != m_by_time.end() && it->first < m_query_start) {
    m_ids.erase(it->second);
    it = m_by_time.erase(it);
  }
}

Reorderer::Reorderer(TailTuning tuning) : m_tuning(tuning) {}

void Reorderer::push(LogEvent event, std::int64_t arrived_ms, std::int64_t lateness_ms) {
  forget_samples(arrived_ms);
  if (lateness_ms >= 0 && lateness_ms <= m_tuning.max_hold_ms)
    m_samples.push_back({arrived_ms, lateness_ms});
  m_pending.push_back({std::move(event), arrived_ms, m_sequence++});
}

void Reorderer::forget_samples(std::int64_t now_ms) {
  while (!m_samples.empty() && m_samples.front().arrived + m_tuning.hold_memory_ms < now_ms)
    m_samples.pop_front();
}

std::int64_t Reorderer::hold(std::int64_t now_ms) const {
  std::int64_t hold = 0;
  for (const auto& sample : m_samples)
    if (sample.arrived + m_tuning.hold_memory_ms >= now_ms)
      hold = std::max(hold, sample.lateness);
  return hold;
}

std::optional<std::int64_t> Reorderer::next_due(std::int64_t now_ms, bool complete) const {
  if (m_pending.empty())
    return std::nullopt;
  const auto h = hold(now_ms);
  auto due = std::numeric_limits<std::int64_t>::max();
  for (const auto& entry : m_pending) {
    due = std::min(due, entry.arrived + m_tuning.max_hold_ms);
    if (complete)
      due = std::min(due, entry.event.timestamp + h);
  }
  return due;
}

std::vector<LogEvent> Reorderer::take(std::int64_t up_to_timestamp, bool everything) {
  std::vector<Entry> out;
  std::vector<Entry> keep;
  for (auto& entry : m_pending) {
    if (everything || entry.event.timestamp <= up_to_timestamp)
      out.push_back(std::move(entry));
    else
      keep.push_back(std::move(entry));
  }
  m_pending = std::move(keep);
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return a.event.timestamp != b.event.timestamp ? a.event.timestamp < b.event.timestamp
                                                  : a.sequence < b.sequence;
  });
  std::vector<LogEvent> events;
  events.reserve(out.size());
  for (auto& entry : out)
    events.push_back(std::move(entry.event));
  return events;
}

std::vector<LogEvent> Reorderer::release(std::int64_t now_ms, bool complete) {
  forget_samples(now_ms);
  const auto h = hold(now_ms);
  // The newest timestamp that is due; everything up to it goes (in order), so an event due
  // because it waited max_hold does not overtake older ones still held.
  std::optional<std::int64_t> newest;
  for (const auto& entry : m_pending) {
    const bool due = (complete && entry.event.timestamp + h <= now_ms) ||
                     entry.arrived + m_tuning.max_hold_ms <= now_ms;
    if (due && (!newest || entry.event.timestamp > *newest))
      newest = entry.event.timestamp;
  }
  if (!newest)
    return {};
  return take(*newest, false);
}

std::vector<LogEvent> Reorderer::drain() {
  return take(0, true);
}

} // namespace wisp::logs
