#include <wisp/events/events.hpp>

#include <wisp/aws/config.hpp>
#include <wisp/events/resources.hpp>
#include <wisp/events/sources.hpp>

#include <fmt/format.h>

namespace wisp::events {

struct LocalEvents::Impl {
  sam::Model model;
  EventsOptions options;
  std::vector<Source> sources;
  std::shared_ptr<Backend> backend;
  std::optional<Binding> binding;
  std::unique_ptr<EventRunner> runner;
};

LocalEvents::LocalEvents(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

LocalEvents::~LocalEvents() {
  stop();
  join();
}

support::Result<std::unique_ptr<LocalEvents>> LocalEvents::prepare(const sam::Model& model,
                                                                   EventsOptions options) {
  auto impl = std::make_unique<Impl>();
  auto read = read_sources(model);
  if (read.diagnostics.has_errors()) {
    support::Error error;
    error.message = fmt::format("{} event source problem{} in {}", read.diagnostics.error_count(),
                                read.diagnostics.error_count() == 1 ? "" : "s",
                                model.template_path.filename().string());
    error.diagnostics = read.diagnostics.items();
    return tl::unexpected(std::move(error));
  }
  for (const auto& diagnostic : read.diagnostics.items())
    if (options.warn)
      options.warn(support::format_plain(diagnostic));
  impl->sources = std::move(read.sources);
  const bool resources = std::any_of(model.resources.begin(), model.resources.end(),
                                     [](const sam::Resource& r) { return bindable_type(r.type); });
  auto client = aws::make_client(options.client);
  // Without event sources, resources are bound only to a backend the user named (never to an
  // AWS account by default): functions then see the template's own values, as start-api does.
  const bool bind_any = !impl->sources.empty() ||
                        (resources && client && (*client)->custom_endpoint(aws::Service::sqs));
  if (!bind_any) {
    impl->model = model;
    impl->options = std::move(options);
    return std::unique_ptr<LocalEvents>(new LocalEvents(std::move(impl)));
  }
  if (!client)
    return tl::unexpected(client.error());
  impl->backend = std::make_shared<Backend>(*client);
  BindOptions bind;
  bind.create_resources = options.create_resources;
  if ((*client)->custom_endpoint(aws::Service::sqs))
    bind.endpoint_url = (*client)->endpoint(aws::Service::sqs);
  if (options.info) {
    options.info(fmt::format("Backend: {} (region {})", (*client)->endpoint(aws::Service::sqs),
                             (*client)->region()));
    bind.info = options.info;
  }
  auto binding = bind_resources(model, *impl->backend, bind);
  if (!binding)
    return tl::unexpected(binding.error());
  impl->model = bind_model(model, *binding);
  impl->binding = std::move(*binding);
  impl->options = std::move(options);
  return std::unique_ptr<LocalEvents>(new LocalEvents(std::move(impl)));
}

const sam::Model& LocalEvents::model() const {
  return m_impl->model;
}

std::vector<std::string> LocalEvents::functions() const {
  std::vector<std::string> out;
  for (const auto& source : m_impl->sources)
    if (source.enabled && std::find(out.begin(), out.end(), source.function_id) == out.end())
      out.push_back(source.function_id);
  return out;
}

bool LocalEvents::empty() const {
  return m_impl->sources.empty();
}

support::Status LocalEvents::attach(runtime::Engine& engine,
                                    std::function<void(std::string_view)> log) {
  if (log)
    m_impl->options.log = std::move(log);
  if (m_impl->sources.empty() || !m_impl->binding)
    return {};
  RunnerOptions runner;
  runner.log = m_impl->options.log;
  runner.warn = m_impl->options.warn;
  runner.now = m_impl->options.now;
  runner.log_store_dir = m_impl->options.log_store_dir;
  runner.create_resources = m_impl->options.create_resources;
  auto created = EventRunner::create(engine, m_impl->model, m_impl->sources, *m_impl->binding,
                                     m_impl->backend, std::move(runner));
  if (!created)
    return tl::unexpected(created.error());
  m_impl->runner = std::move(*created);
  return {};
}

std::string LocalEvents::region() const {
  return m_impl->binding ? m_impl->binding->region() : std::string("us-east-1");
}

std::string LocalEvents::account() const {
  return m_impl->binding ? m_impl->binding->account() : std::string("123456789012");
}

std::optional<aws::Credentials> LocalEvents::credentials() const {
  if (!m_impl->backend)
    return std::nullopt;
  auto credentials = m_impl->backend->client().credentials();
  if (!credentials)
    return std::nullopt;
  return *credentials;
}

std::vector<std::string> LocalEvents::describe() const {
  return m_impl->runner ? m_impl->runner->describe() : std::vector<std::string>{};
}

void LocalEvents::start() {
  if (m_impl->runner)
    m_impl->runner->start();
}

void LocalEvents::stop() {
  if (m_impl && m_impl->runner)
    m_impl->runner->stop();
}

void LocalEvents::join() {
  if (m_impl && m_impl->runner)
    m_impl->runner->join();
}

support::Result<std::function<TimePoint()>> clock_starting_at(std::string_view iso_time) {
  auto start = aws::parse_iso8601(iso_time);
  if (!start)
    return support::fail(fmt::format("--clock '{}' is not a date and time (e.g. "
                                     "2026-01-01T11:59:58Z)",
                                     iso_time),
                         support::ExitCode::usage);
  const auto offset = *start - std::chrono::system_clock::now();
  return std::function<TimePoint()>([offset] { return std::chrono::system_clock::now() + offset; });
}

} // namespace wisp::events
