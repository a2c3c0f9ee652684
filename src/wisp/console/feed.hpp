#pragma once
// The engine's observer that feeds a Dashboard: every invocation's start and end (with its
// CPU time and /tmp usage) and every log line (for one click from an invocation to its lines).

#include <wisp/console/dashboard.hpp>
#include <wisp/runtime/observer.hpp>

namespace wisp::console {

class DashboardFeed final : public runtime::EngineObserver {
public:
  explicit DashboardFeed(Dashboard& dashboard) : m_dashboard(dashboard) {}

  void on_invoke_start(const runtime::InvocationStart& start) override;
  void on_invoke_end(const runtime::InvocationRecord& record) override;
  void on_log(const runtime::LogLine& line) override;
  [[nodiscard]] bool wants_cpu_time() const override { return true; }
  [[nodiscard]] bool wants_tmp_usage() const override { return true; }

private:
  Dashboard& m_dashboard;
};

} // namespace wisp::console
