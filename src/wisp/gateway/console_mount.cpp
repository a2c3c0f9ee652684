// The console on a local server: the mount, its event streams and its own door
// (console_mount.hpp).

#include <wisp/gateway/console_mount.hpp>

#include <wisp/console/coldstart.hpp>
#include <wisp/console/feed.hpp>
#include <wisp/console/prices.hpp>
#include <wisp/durable/service.hpp>
#include <wisp/gateway/router.hpp>

#include <fmt/format.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace wisp::gateway {

namespace asio = boost::asio;

namespace {

constexpr std::size_t k_max_behind = 4u * 1024 * 1024;
constexpr auto k_tick = std::chrono::milliseconds(250);

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(WallClock::now().time_since_epoch())
      .count();
}

// One browser's event stream: the socket a session handed over, written in order from a
// queue on its strand; a pending read notices the browser leaving.
class EventConnection final : public console::EventSink,
                              public std::enable_shared_from_this<EventConnection> {
public:
  EventConnection(TcpSocket socket, std::atomic<int>& connections)
      : m_socket(std::move(socket)), m_connections(connections) {
    ++m_connections;
  }
  ~EventConnection() override { --m_connections; }
  EventConnection(const EventConnection&) = delete;
  EventConnection& operator=(const EventConnection&) = delete;

  void start() {
    asio::dispatch(m_socket.get_executor(), [self = shared_from_this()] { self->read(); });
  }

  bool send(std::shared_ptr<const std::string> bytes) override {
    if (m_closed)
      return false;
    if (m_behind.fetch_add(bytes->size()) + bytes->size() > k_max_behind)
      return false; // too slow: dropped (Site closes it)
    asio::post(m_socket.get_executor(), [self = shared_from_this(), bytes = std::move(bytes)] {
      self->m_queue.push_back(bytes);
      if (!self->m_writing)
        self->write_next();
    });
    return true;
  }

  [[nodiscard]] bool closed() const override { return m_closed; }

  void close() override {
    m_closed = true;
    asio::post(m_socket.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->m_socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      self->m_socket.close(ignored);
      self->m_queue.clear();
    });
  }

private:
  void read() {
    m_socket.async_read_some(asio::buffer(m_read), [self = shared_from_this()](
                                                       boost::system::error_code ec, std::size_t) {
      if (ec) {
        // The browser went away (or the server is closing).
        self->m_closed = true;
        boost::system::error_code ignored;
        self->m_socket.close(ignored);
        self->m_queue.clear();
        return;
      }
      self->read();
    });
  }

  void write_next() {
    if (m_queue.empty() || !m_socket.is_open()) {
      m_writing = false;
      return;
    }
    m_writing = true;
    const auto& front = m_queue.front();
    asio::async_write(m_socket, asio::buffer(*front),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                        self->m_behind -= n;
                        if (!self->m_queue.empty())
                          self->m_queue.pop_front();
                        if (ec) {
                          self->m_closed = true;
                          self->m_writing = false;
                          self->m_queue.clear();
                          return;
                        }
                        self->write_next();
                      });
  }

  TcpSocket m_socket;
  std::atomic<int>& m_connections;
  std::atomic<bool> m_closed{false};
  std::atomic<std::size_t> m_behind{0};
  std::deque<std::shared_ptr<const std::string>> m_queue; // on the strand
  bool m_writing = false;                                 // on the strand
  std::array<char, 256> m_read{};
};

// Runs jobs in order on one thread of its own (cold-start profiles take seconds).
class JobThread {
public:
  JobThread() : m_thread([this] { run(); }) {}
  ~JobThread() {
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_cv.notify_one();
    m_thread.join();
  }
  JobThread(const JobThread&) = delete;
  JobThread& operator=(const JobThread&) = delete;

  void post(std::function<void()> job) {
    {
      std::lock_guard lock(m_mutex);
      m_jobs.push_back(std::move(job));
    }
    m_cv.notify_one();
  }

private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [&] { return m_stop || !m_jobs.empty(); });
        if (m_stop)
          return;
        job = std::move(m_jobs.front());
        m_jobs.pop_front();
      }
      job();
    }
  }

  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<std::function<void()>> m_jobs;
  bool m_stop = false;
  std::thread m_thread;
};

} // namespace

struct ConsoleMount::Impl : std::enable_shared_from_this<Impl> {
  Impl(Host& host_, const sam::Model& model_, console::DashboardOptions options)
      : host(host_), model(model_), dashboard(std::move(options)),
        site(dashboard,
             [this](std::string_view id) -> support::Result<std::string> { return profile(id); }),
        timer(host_.io.get_executor()) {}

  support::Result<std::string> profile(std::string_view id) {
    const auto it = host.functions.find(std::string(id));
    if (it == host.functions.end() || !it->second.ok)
      return support::failf("function {} does not run here", id);
    const auto config = host.engine->config(it->second.handle);
    WISP_TRY_ASSIGN(const auto profile,
                    console::profile_cold_start(config, host.options.region, host.options.cache_dir,
                                                std::chrono::seconds(30)));
    return console::render_json(profile);
  }

  void arm() {
    timer.expires_after(k_tick);
    timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      const auto self = weak.lock();
      if (ec || !self || self->host.stopping) {
        if (self)
          self->site.close_all();
        return;
      }
      self->site.tick(wall_ms());
      self->arm();
    });
  }

  Host& host;
  const sam::Model& model;
  console::Dashboard dashboard;
  console::Site site;
  asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Executor> timer;
  JobThread worker; // last: joined first when the mount goes
};

support::Result<std::unique_ptr<ConsoleMount>> ConsoleMount::create(Host& host,
                                                                    const sam::Model& model) {
  console::DashboardOptions options;
  if (host.options.prices_file.empty()) {
    options.prices = console::builtin_prices();
  } else {
    WISP_TRY_ASSIGN(options.prices, console::load_prices(host.options.prices_file));
  }
  options.region = host.options.region;
  options.app = model.description.empty() ? model.template_path.parent_path().filename().string()
                                          : model.description;
  auto impl = std::make_shared<Impl>(host, model, std::move(options));
  host.engine->add_observer(std::make_shared<console::DashboardFeed>(impl->dashboard));
  return std::unique_ptr<ConsoleMount>(new ConsoleMount(std::move(impl)));
}

ConsoleMount::ConsoleMount(std::shared_ptr<Impl> impl) : m_impl(std::move(impl)) {}

ConsoleMount::~ConsoleMount() {
  boost::system::error_code ignored;
  m_impl->timer.cancel();
  m_impl->site.close_all();
}

console::Dashboard& ConsoleMount::dashboard() {
  return m_impl->dashboard;
}

bool ConsoleMount::claims(std::string_view path) const {
  return path == "/_wisp" || path.starts_with("/_wisp/");
}

void ConsoleMount::start() {
  auto& impl = *m_impl;
  for (const auto& [id, slot] : impl.host.functions) {
    const auto* fn = impl.model.find_function(id);
    if (fn == nullptr)
      continue;
    console::FunctionInfo info;
    info.id = id;
    info.name = slot.name;
    info.runtime = fn->runtime;
    info.handler = fn->handler;
    info.architecture = fn->architectures.empty() ? "x86_64" : fn->architectures.front();
    info.log_group = fn->log_group;
    info.code_dir = fn->code_dir;
    info.memory_size_mb = fn->memory_size;
    info.timeout_s = fn->timeout;
    info.ephemeral_storage_mb = fn->ephemeral_storage;
    info.reserved_concurrency = fn->reserved_concurrency;
    for (const auto& [name, value] : fn->environment)
      info.environment_names.push_back(name);
    if (slot.ok)
      for (const auto& [name, value] : impl.host.engine->config(slot.handle).env_overrides)
        info.environment_names.push_back(name + " (--env-vars)");
    impl.dashboard.add_function(std::move(info));
  }
  if (impl.host.durable)
    impl.host.durable->on_change([weak = std::weak_ptr<Impl>(m_impl)](std::string_view) {
      if (const auto self = weak.lock())
        self->site.notify("durable");
    });
  impl.arm();
}

void ConsoleMount::handle(Door& door, Exchange& ex) {
  auto& impl = *m_impl;
  ex.quiet = true;
  std::string target(ex.request.raw_path);
  if (!ex.request.raw_query.empty()) {
    target += '?';
    target += ex.request.raw_query;
  }
  auto durable = durable_api(impl.host.durable.get(), ex.request.method, ex.request.raw_path,
                             ex.request.raw_query, ex.request.body,
                             ex.request.header("X-Wisp-Console") == "1");
  auto response = durable ? std::move(*durable) : impl.site.handle(ex.request.method, target);
  const auto answer = [&door](Exchange& exchange, console::SiteResponse& r) {
    exchange.mapped.clear();
    exchange.mapped.status = r.status;
    if (!r.content_type.empty())
      exchange.mapped.headers.emplace_back("Content-Type", std::move(r.content_type));
    for (auto& header : r.headers)
      exchange.mapped.headers.push_back(std::move(header));
    exchange.mapped.body = std::move(r.body);
    door.finish(exchange);
  };
  if (response.deferred) {
    // Off the I/O threads; the exchange stays alive until answered.
    ex.self = ex.shared_from_this();
    impl.worker.post([&ex, answer, job = std::move(response.deferred)] {
      auto result = job();
      auto keep = std::move(ex.self);
      if (ex.claim())
        answer(ex, result);
    });
    return;
  }
  if (!ex.claim())
    return;
  if (!response.event_stream) {
    answer(ex, response);
    return;
  }
  // Headers now; the connection then belongs to the event stream (no length: it ends when
  // either side closes it).
  ex.status = 200;
  ex.out = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n";
  for (const auto& [name, value] : response.headers)
    ex.out += fmt::format("{}: {}\r\n", name, value);
  ex.out += "Connection: close\r\n\r\n";
  ex.takeover = [weak = std::weak_ptr<Impl>(m_impl)](TcpSocket&& socket) {
    const auto self = weak.lock();
    if (!self)
      return;
    auto connection = std::make_shared<EventConnection>(std::move(socket), self->host.connections);
    connection->start();
    self->site.subscribe(connection, wall_ms());
  };
  if (auto session = ex.session)
    session->send(ex.shared_from_this());
}

// ------------------------------------------------------------------ its own door

ConsoleDoor::ConsoleDoor(Host& host, ConsoleMount& mount) : Door(host), m_console(mount) {
  set_mount(&mount);
}

void ConsoleDoor::payload_too_large(Exchange& ex) {
  answer(ex, 413, R"({"message":"Request Entity Too Large"})");
}

void ConsoleDoor::headers_too_large(Exchange& ex) {
  answer(ex, 431, k_header_too_large);
}

void ConsoleDoor::handle(Exchange& ex) {
  // Not under /_wisp: the console's page is there.
  if (!ex.claim())
    return;
  ex.mapped.clear();
  ex.mapped.status = 307;
  ex.mapped.headers.emplace_back("Location", "/_wisp/");
  finish(ex);
}

void ConsoleDoor::on_complete(Exchange& ex, const runtime::InvokeResult& result) {
  (void)ex, (void)result; // the console invokes nothing
}

support::Result<std::unique_ptr<ConsoleMount>>
open_console(Host& host, const sam::Model& model, Door* first, std::string_view why_not, int port,
             std::vector<std::unique_ptr<Door>>& doors) {
  WISP_TRY_ASSIGN(auto console, ConsoleMount::create(host, model));
  if (first != nullptr) {
    first->set_mount(console.get());
    host.info(fmt::format("Console: http://{}:{}/_wisp/{}", host.options.host, first->port(),
                          why_not.empty() ? std::string() : fmt::format(" ({})", why_not)));
  } else {
    auto door = std::make_unique<ConsoleDoor>(host, *console);
    WISP_TRY(door->listen(host.options.host, port));
    host.info(
        fmt::format("Console: http://{}:{}/_wisp/ ({})", host.options.host, door->port(), why_not));
    doors.push_back(std::move(door));
  }
  console->start();
  return console;
}

bool routes_claim_console(const std::vector<const sam::Route*>& routes) {
  for (const auto* route : routes) {
    const RouteSpec spec{route->method, route->path};
    if (Router::overlap(spec, RouteSpec{"ANY", "/_wisp/{proxy+}"}) ||
        Router::overlap(spec, RouteSpec{"ANY", "/_wisp"}))
      return true;
  }
  return false;
}

} // namespace wisp::gateway
