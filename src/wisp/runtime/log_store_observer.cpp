// The log store as an engine observer: batched writes per stream (log_store.hpp).

#include <wisp/runtime/log_store.hpp>

// GCC 12 reports -Wnull-dereference inside Asio's own reactor code once it is inlined here
// (a false positive in system headers); silenced for those headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#pragma GCC diagnostic pop

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace wisp::runtime {

namespace {

constexpr std::chrono::milliseconds k_store_delay{20};
constexpr std::size_t k_flush_at = 64u * 1024;

} // namespace

struct LogStoreObserver::Impl : std::enable_shared_from_this<Impl> {
  Impl(boost::asio::io_context& io, std::filesystem::path root_, LogStoreLimits limits_)
      : root(std::move(root_)), limits(limits_), timer(io) {}

  std::filesystem::path root;
  LogStoreLimits limits;
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<LogStoreWriter>, std::less<>> writers; // by stream
  std::vector<LogStoreWriter*> dirty; // with buffered records
  boost::asio::steady_timer timer;
  bool armed = false;
  // The last stream written (consecutive lines mostly share one): no lookup for them.
  std::string last_stream;
  LogStoreWriter* last_writer = nullptr;

  void flush_dirty_locked() {
    for (auto* writer : dirty)
      writer->flush();
    dirty.clear();
  }

  void arm_locked() {
    if (armed)
      return;
    armed = true;
    timer.expires_after(k_store_delay);
    timer.async_wait([weak = weak_from_this()](const boost::system::error_code&) {
      const auto self = weak.lock();
      if (!self)
        return;
      std::lock_guard lock(self->mutex);
      self->armed = false;
      self->flush_dirty_locked();
    });
  }
};

LogStoreObserver::LogStoreObserver(boost::asio::io_context& io, std::filesystem::path root,
                                   LogStoreLimits limits)
    : m_impl(std::make_shared<Impl>(io, std::move(root), limits)) {}

LogStoreObserver::~LogStoreObserver() {
  std::lock_guard lock(m_impl->mutex);
  boost::system::error_code ignored;
  m_impl->timer.cancel();
  m_impl->flush_dirty_locked();
  m_impl->writers.clear(); // each writer writes what is left
}

void LogStoreObserver::on_log(const LogLine& line) {
  if (line.log_stream.empty())
    return;
  auto& impl = *m_impl;
  std::lock_guard lock(impl.mutex);
  LogStoreWriter* writer = impl.last_writer;
  if (writer == nullptr || impl.last_stream != line.log_stream) {
    auto it = impl.writers.find(line.log_stream);
    if (it == impl.writers.end()) {
      auto made = std::make_unique<LogStoreWriter>(
          log_store_function_dir(impl.root, line.function_id), std::string(line.log_group),
          std::string(line.log_stream), impl.limits);
      it = impl.writers.emplace(std::string(line.log_stream), std::move(made)).first;
    }
    writer = it->second.get();
    impl.last_stream.assign(line.log_stream);
    impl.last_writer = writer;
  }
  const bool was_clean = writer->buffered() == 0;
  writer->append(line.time_ms, line.request_id, line.text);
  if (writer->buffered() >= k_flush_at) {
    writer->flush();
    std::erase(impl.dirty, writer);
    return;
  }
  if (was_clean)
    impl.dirty.push_back(writer);
  impl.arm_locked();
}

void LogStoreObserver::on_worker_end(const WorkerEnd& end) {
  auto& impl = *m_impl;
  std::lock_guard lock(impl.mutex);
  const auto it = impl.writers.find(end.log_stream);
  if (it == impl.writers.end())
    return;
  std::erase(impl.dirty, it->second.get());
  if (impl.last_writer == it->second.get()) {
    impl.last_writer = nullptr;
    impl.last_stream.clear();
  }
  impl.writers.erase(it); // flushes and closes
}

void LogStoreObserver::flush_all() {
  std::lock_guard lock(m_impl->mutex);
  m_impl->flush_dirty_locked();
}

} // namespace wisp::runtime
