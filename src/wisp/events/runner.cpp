#include "feeds.hpp"

#include <wisp/aws/xml.hpp>
#include <wisp/runtime/lambda_text.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <ctime>
#include <random>
#include <set>

namespace wisp::events {

namespace json = boost::json;

namespace detail {

// ------------------------------------------------------------------ invocations

std::string Invocation::describe() const {
  switch (outcome) {
  case runtime::Outcome::success:
    return "ok";
  case runtime::Outcome::function_error:
    return error_type.empty() ? std::string("Unhandled")
                              : fmt::format("Unhandled ({})", error_type);
  case runtime::Outcome::timeout:
    return "timeout";
  case runtime::Outcome::throttled:
    return "throttled";
  case runtime::Outcome::init_error:
    return fmt::format("init error ({})", error_type);
  case runtime::Outcome::exit_error:
    return fmt::format("crashed ({})", error_type);
  case runtime::Outcome::response_too_large:
    return "response too large";
  case runtime::Outcome::request_too_large:
    return "event too large";
  case runtime::Outcome::engine_error:
    return "not run (wisp is stopping)";
  case runtime::Outcome::recursive_loop:
    return "stopped: recursive loop (RecursiveInvocationException)";
  }
  return "?";
}

namespace {

class Waiter final : public runtime::InvokeSink {
public:
  Waiter(Invocation& out, std::mutex& mutex, std::condition_variable& cv, std::size_t& remaining)
      : m_out(out), m_mutex(mutex), m_cv(cv), m_remaining(remaining) {}
  void on_complete(const runtime::InvokeResult& result) override {
    Invocation copy;
    copy.outcome = result.outcome;
    copy.body = std::string(result.body);
    copy.error_type = std::string(result.error_type);
    copy.request_id = std::string(result.request_id);
    copy.duration_ms = result.duration_ms;
    copy.cold = result.cold;
    std::lock_guard lock(m_mutex);
    m_out = std::move(copy);
    --m_remaining;
    m_cv.notify_all();
  }

private:
  Invocation& m_out;
  std::mutex& m_mutex;
  std::condition_variable& m_cv;
  std::size_t& m_remaining;
};

std::string random_hex(std::size_t n) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i)
    out += k_hex[rng() % 16];
  return out;
}

} // namespace

std::string clock_text() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const auto seconds = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  ::localtime_r(&seconds, &tm);
  return fmt::format("{:02}:{:02}:{:02}.{:03}", tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ms.count() % 1000);
}

Context::Context(runtime::Engine& engine, const sam::Model& model, Binding binding,
                 std::shared_ptr<Backend> backend, RunnerOptions options)
    : m_engine(engine), m_model(model), m_binding(std::move(binding)),
      m_backend(std::move(backend)), m_options(std::move(options)) {}

Context::~Context() = default;

std::vector<Invocation> Context::invoke(const std::string& function_id,
                                        const std::vector<std::string>& payloads,
                                        std::string_view trace) {
  std::vector<Invocation> results(payloads.size());
  const auto handle = m_engine.find(function_id);
  if (!handle) {
    for (auto& result : results)
      result.error_type = "function not registered";
    return results;
  }
  std::mutex mutex;
  std::condition_variable cv;
  std::size_t remaining = payloads.size();
  std::vector<std::unique_ptr<Waiter>> sinks;
  sinks.reserve(payloads.size());
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    sinks.push_back(std::make_unique<Waiter>(results[i], mutex, cv, remaining));
    runtime::InvokeRequest request;
    request.payload = payloads[i];
    request.trace_id = trace;
    m_engine.invoke(*handle, request, *sinks.back());
  }
  std::unique_lock lock(mutex);
  // Every invocation completes exactly once (the engine's contract), also at shutdown.
  cv.wait(lock, [&] { return remaining == 0; });
  return results;
}

Invocation Context::invoke(const std::string& function_id, const std::string& payload,
                           std::string_view trace) {
  return std::move(invoke(function_id, std::vector<std::string>{payload}, trace).front());
}

void Context::delivered(const std::string& function_id, std::string_view kind,
                        std::string_view source, std::size_t items, std::string_view unit,
                        const Invocation& result, std::string_view outcome) {
  if (m_options.log)
    m_options.log(fmt::format("{} {} {} {} $LATEST {} {} {}{} {} {:.2f} ms", clock_text(), kind,
                              source, function_id, result.cold ? "cold" : "warm", items, unit,
                              items == 1 ? "" : "s", outcome, result.duration_ms));
  note(function_id, kind, source,
       fmt::format("{} {}{}: {}", items, unit, items == 1 ? "" : "s", outcome), result.request_id);
}

void Context::note(const std::string& function_id, std::string_view kind, std::string_view source,
                   std::string_view text, std::string_view request_id) {
  if (m_options.log_store_dir.empty())
    return;
  std::lock_guard lock(m_store_mutex);
  auto& store = m_stores[function_id];
  if (!store) {
    const auto* fn = m_model.find_function(function_id);
    const std::string name =
        fn != nullptr && !fn->function_name.empty() ? fn->function_name : function_id;
    const std::string group =
        fn != nullptr && !fn->log_group.empty() ? fn->log_group : "/aws/lambda/" + name;
    const auto now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    const auto stream = fmt::format("{:04}/{:02}/{:02}/[events]{}", tm.tm_year + 1900,
                                    tm.tm_mon + 1, tm.tm_mday, random_hex(32));
    store = std::make_unique<runtime::LogStoreWriter>(
        runtime::log_store_function_dir(m_options.log_store_dir, function_id), group, stream);
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  store->append(ms, request_id, fmt::format("EVENT {} {}: {}", kind, source, text));
  store->flush();
}

void Context::warn(std::string_view text) {
  if (m_options.warn)
    m_options.warn(text);
}

bool Context::sleep_for(std::chrono::milliseconds duration) {
  std::unique_lock lock(m_sleep_mutex);
  m_sleep_cv.wait_for(lock, duration, [&] { return m_stopping.load(); });
  return !m_stopping.load();
}

void Context::stop() {
  {
    std::lock_guard lock(m_sleep_mutex);
    m_stopping = true;
  }
  m_sleep_cv.notify_all();
}

TimePoint Context::now() const {
  return m_options.now ? m_options.now() : std::chrono::system_clock::now();
}

SourceInfo Context::source_info(std::string arn) const {
  return SourceInfo{std::move(arn), m_binding.region(), m_binding.account()};
}

int Context::function_timeout(const std::string& function_id) const {
  const auto* fn = m_model.find_function(function_id);
  return fn != nullptr ? fn->timeout : 3;
}

std::string Context::function_arn(const std::string& function_id) const {
  const auto* bound = m_binding.find(function_id);
  if (bound != nullptr)
    if (const auto it = bound->attributes.find("Arn"); it != bound->attributes.end())
      return it->second;
  return fmt::format("arn:aws:lambda:{}:{}:function:{}", m_binding.region(), m_binding.account(),
                     function_id);
}

std::string Context::role_arn(const std::string& function_id) const {
  const auto* fn = m_model.find_function(function_id);
  if (fn != nullptr && fn->role.literal.starts_with("arn:"))
    return fn->role.literal;
  if (fn != nullptr && !fn->role.logical_id.empty())
    return fmt::format("arn:aws:iam::{}:role/{}", m_binding.account(), fn->role.logical_id);
  return fmt::format("arn:aws:iam::{}:role/{}Role", m_binding.account(), function_id);
}

int Context::async_retries(const std::string& function_id) const {
  const auto* resource = m_model.find_resource(function_id);
  if (resource == nullptr)
    return 2;
  const auto* config = resource->properties.if_contains("EventInvokeConfig");
  if (config == nullptr || !config->is_object())
    return 2;
  const auto* retries = config->as_object().if_contains("MaximumRetryAttempts");
  if (retries != nullptr && retries->is_int64())
    return static_cast<int>(std::clamp<std::int64_t>(retries->as_int64(), 0, 2));
  return 2;
}

namespace {

std::filesystem::path checkpoint_file(const sam::Model& model) {
  return model.base_dir / ".wisp" / "events" / "checkpoints.json";
}

} // namespace

std::optional<std::string> Context::checkpoint(const std::string& key) {
  std::lock_guard lock(m_checkpoint_mutex);
  if (!m_checkpoints) {
    m_checkpoints.emplace();
    if (auto text = support::read_file(checkpoint_file(m_model))) {
      boost::system::error_code ec;
      auto parsed = json::parse(*text, ec);
      if (!ec && parsed.is_object())
        m_checkpoints = parsed.as_object();
    }
  }
  const auto backend_key =
      fmt::format("{} {}", m_backend->client().endpoint(aws::Service::sqs), m_backend->region());
  const auto* backend = m_checkpoints->if_contains(backend_key);
  if (backend == nullptr || !backend->is_object())
    return std::nullopt;
  const auto* sequence = backend->as_object().if_contains(key);
  if (sequence == nullptr || !sequence->is_string())
    return std::nullopt;
  return std::string(sequence->as_string());
}

void Context::save_checkpoint(const std::string& key, const std::string& sequence) {
  (void)checkpoint(key); // loaded
  std::lock_guard lock(m_checkpoint_mutex);
  const auto backend_key =
      fmt::format("{} {}", m_backend->client().endpoint(aws::Service::sqs), m_backend->region());
  auto& backend = (*m_checkpoints)[backend_key];
  if (!backend.is_object())
    backend = json::object();
  backend.as_object()[key] = sequence;
  const auto path = checkpoint_file(m_model);
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (auto written = support::write_file_atomic(path, json::serialize(*m_checkpoints) + "\n");
      !written)
    warn(fmt::format("cannot keep stream checkpoints: {}", written.error().message));
}

} // namespace detail

// ------------------------------------------------------------------ setting up the sources

using detail::Context;
using detail::Feed;
using detail::QueueSpec;

struct EventRunner::Impl {
  std::unique_ptr<Context> context;
  std::vector<std::unique_ptr<Feed>> feeds;
  std::vector<std::string> disabled;
  bool started = false;
  bool joined = false;
};

namespace {

std::string last_segment(std::string_view arn, char separator = ':') {
  const auto pos = arn.rfind(separator);
  return std::string(pos == std::string_view::npos ? arn : arn.substr(pos + 1));
}

support::Error at_source(const Source& source, std::string message) {
  support::Error error;
  error.message = message;
  error.diagnostics.push_back(support::Diagnostic{source.where.file, source.where.line,
                                                  source.where.column, support::Severity::error,
                                                  "event-source", std::move(message)});
  return error;
}

class Setup {
public:
  Setup(Context& context, bool create) : m_context(context), m_create(create) {}

  // The queue an SQS event names: its URL, ARN and the attributes that matter.
  support::Status queue_of(const Source& source, const ResourceTarget& target, QueueSpec& spec) {
    const auto& binding = m_context.binding();
    const auto& backend = m_context.backend();
    std::map<std::string, std::string> attributes;
    if (const auto* bound = target.logical_id.empty() ? nullptr : binding.find(target.logical_id)) {
      attributes = bound->attributes;
      spec.url = bound->ref;
    } else {
      auto value = binding.value(target);
      if (!value)
        return tl::unexpected(
            at_source(source, fmt::format("{}: the queue {} is not bound to the backend",
                                          source.id(), target.describe())));
      std::string name =
          value->starts_with("http") ? last_segment(*value, '/') : last_segment(*value);
      auto url = backend.queue_url(name);
      WISP_TRY(url);
      if (!*url)
        return tl::unexpected(at_source(
            source, fmt::format("{}: the queue {} is not in the backend", source.id(), name)));
      spec.url = **url;
      auto attrs = backend.queue_attributes(spec.url);
      WISP_TRY(attrs);
      attributes = *attrs;
    }
    spec.arn = attributes["QueueArn"];
    spec.name = last_segment(spec.arn);
    spec.fifo = attributes["FifoQueue"] == "true" || spec.name.ends_with(".fifo");
    spec.visibility_timeout = std::atoi(attributes["VisibilityTimeout"].c_str());
    if (attributes["VisibilityTimeout"].empty())
      spec.visibility_timeout = 30;
    if (const auto& redrive = attributes["RedrivePolicy"]; !redrive.empty()) {
      boost::system::error_code ec;
      auto policy = json::parse(redrive, ec);
      if (!ec && policy.is_object()) {
        const auto& object = policy.as_object();
        if (const auto* arn = object.if_contains("deadLetterTargetArn"); arn && arn->is_string())
          spec.dead_letter_arn = std::string(arn->as_string());
        if (const auto* count = object.if_contains("maxReceiveCount")) {
          if (count->is_int64())
            spec.max_receive_count = static_cast<int>(count->as_int64());
          else if (count->is_string())
            spec.max_receive_count = std::atoi(std::string(count->as_string()).c_str());
        }
      }
    }
    return {};
  }

  // Lambda's checks when it creates an SQS mapping.
  support::Status check_sqs_mapping(const Source& source, const QueueSpec& spec) {
    const int timeout = m_context.function_timeout(source.function_id);
    if (spec.visibility_timeout < timeout)
      return tl::unexpected(at_source(
          source, fmt::format("{}: InvalidParameterValueException: Queue visibility timeout: {} "
                              "seconds is less than Function timeout: {} seconds",
                              source.id(), spec.visibility_timeout, timeout)));
    if (spec.fifo && source.mapping.batch_size > 10)
      return tl::unexpected(at_source(
          source, fmt::format("{}: InvalidParameterValueException: Maximum batch size must be "
                              "between 1 and 10 inclusive (a FIFO queue; BatchSize {})",
                              source.id(), source.mapping.batch_size)));
    if (spec.fifo && source.mapping.batching_window > 0)
      return tl::unexpected(at_source(
          source, fmt::format("{}: InvalidParameterValueException: Batching window is not "
                              "supported for FIFO queues",
                              source.id())));
    return {};
  }

  // A queue wisp owns for a push source: found, or created with `--create-resources`.
  support::Result<QueueSpec> plumbing_queue(const Source& source, const std::string& name,
                                            std::map<std::string, std::string> attributes) {
    const auto& backend = m_context.backend();
    auto url = backend.queue_url(name);
    WISP_TRY(url);
    if (!*url) {
      if (!m_create) {
        m_missing.push_back(fmt::format("{}: wisp's delivery queue {}", source.id(), name));
        return QueueSpec{};
      }
      if (name.ends_with(".fifo"))
        attributes["FifoQueue"] = "true";
      auto created = backend.create_queue(name, attributes);
      WISP_TRY(created);
      *url = *created;
      m_created.push_back(name);
    } else if (!attributes.empty()) {
      attributes.erase("FifoQueue");
      WISP_TRY(backend.set_queue_attributes(**url, attributes));
    }
    QueueSpec spec;
    spec.source = source;
    ResourceTarget target;
    target.literal = **url;
    WISP_TRY(queue_of(source, target, spec));
    return spec;
  }

  support::Status allow(const QueueSpec& queue, std::string_view principal,
                        std::string_view source_arn) {
    json::object statement{
        {"Effect", "Allow"},
        {"Principal", json::object{{"Service", principal}}},
        {"Action", "sqs:SendMessage"},
        {"Resource", queue.arn},
        {"Condition", json::object{{"ArnEquals", json::object{{"aws:SourceArn", source_arn}}}}}};
    json::object policy{{"Version", "2012-10-17"}, {"Statement", json::array{statement}}};
    auto set =
        m_context.backend().set_queue_attributes(queue.url, {{"Policy", json::serialize(policy)}});
    if (!set)
      return tl::unexpected<support::Error>(set.error());
    return {};
  }

  support::Status subscribe(const Source& source, const std::string& topic_arn,
                            const QueueSpec& queue, std::string& subscription_arn) {
    const auto& backend = m_context.backend();
    auto subscriptions = backend.subscriptions(topic_arn);
    WISP_TRY(subscriptions);
    for (const auto& sub : *subscriptions)
      if (sub.protocol == "sqs" && sub.endpoint == queue.arn)
        subscription_arn = sub.arn;
    std::map<std::string, std::string> attributes;
    if (source.push.filter_policy)
      attributes["FilterPolicy"] = json::serialize(*source.push.filter_policy);
    if (!source.push.filter_policy_scope.empty())
      attributes["FilterPolicyScope"] = source.push.filter_policy_scope;
    if (subscription_arn.empty()) {
      if (!m_create) {
        m_missing.push_back(
            fmt::format("{}: the subscription of {} to {}", source.id(), queue.name, topic_arn));
        return {};
      }
      auto created = backend.subscribe(topic_arn, "sqs", queue.arn, attributes);
      WISP_TRY(created);
      subscription_arn = *created;
    } else {
      for (const auto& [key, value] : attributes)
        WISP_TRY(backend.set_subscription_attribute(subscription_arn, key, value));
    }
    return {};
  }

  std::vector<std::string>& missing() { return m_missing; }
  std::vector<std::string>& created() { return m_created; }

private:
  Context& m_context;
  bool m_create;
  std::vector<std::string> m_missing;
  std::vector<std::string> m_created;
};

std::string notification_xml(const aws::XmlNode& node) {
  std::string out = "<" + node.name + ">";
  if (node.children.empty())
    out += aws::xml_escape(node.text);
  for (const auto& child : node.children)
    out += notification_xml(child);
  out += "</" + node.name + ">";
  return out;
}

} // namespace

EventRunner::EventRunner(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

EventRunner::~EventRunner() {
  stop();
  join();
}

support::Result<std::unique_ptr<EventRunner>>
EventRunner::create(runtime::Engine& engine, const sam::Model& model, std::vector<Source> sources,
                    Binding binding, std::shared_ptr<Backend> backend, RunnerOptions options) {
  auto impl = std::make_unique<Impl>();
  const bool create = options.create_resources;
  impl->context =
      std::make_unique<Context>(engine, model, std::move(binding), std::move(backend), options);
  auto& context = *impl->context;
  const auto& bound = context.binding();
  const auto& backend_ref = context.backend();
  Setup setup(context, create);
  // S3 sources by bucket: one notification configuration per bucket.
  std::map<std::string, std::vector<std::pair<Source, QueueSpec>>> by_bucket;
  std::vector<detail::ScheduleSpec> schedules;

  for (auto& source : sources) {
    if (!source.enabled) {
      impl->disabled.push_back(
          fmt::format("  {:<15} {} (disabled)", to_string(source.kind), source.id()));
      continue;
    }
    switch (source.kind) {
    case SourceKind::sqs: {
      QueueSpec spec;
      spec.source = source;
      WISP_TRY(setup.queue_of(source, source.target, spec));
      WISP_TRY(setup.check_sqs_mapping(source, spec));
      spec.origin = spec.name;
      impl->feeds.push_back(detail::make_queue_feed(context, std::move(spec)));
      break;
    }
    case SourceKind::kinesis:
    case SourceKind::dynamodb: {
      detail::StreamSpec spec;
      spec.source = source;
      auto arn = bound.value(source.target);
      if (source.kind == SourceKind::dynamodb && source.target.attribute.empty() &&
          !source.target.logical_id.empty())
        if (const auto* table = bound.find(source.target.logical_id))
          if (auto it = table->attributes.find("StreamArn"); it != table->attributes.end())
            arn = it->second;
      if (!arn || arn->empty())
        return tl::unexpected(at_source(
            source, fmt::format("{}: the stream {} is not bound to the backend (a DynamoDB table "
                                "needs a StreamSpecification)",
                                source.id(), source.target.describe())));
      spec.stream_arn = *arn;
      spec.incarnation = spec.stream_arn;
      if (source.kind == SourceKind::kinesis) {
        auto described = backend_ref.describe_stream(last_segment(spec.stream_arn, '/'));
        if (described && *described)
          if (const auto* created = (*described)->if_contains("StreamCreationTimestamp"))
            spec.incarnation = json::serialize(*created);
      }
      if (source.kind == SourceKind::dynamodb) {
        const auto table_start = spec.stream_arn.find(":table/");
        spec.origin = table_start == std::string::npos
                          ? spec.stream_arn
                          : spec.stream_arn.substr(table_start + 7,
                                                   spec.stream_arn.find('/', table_start + 7) -
                                                       table_start - 7);
      } else {
        spec.origin = last_segment(spec.stream_arn, '/');
      }
      if (!source.mapping.on_failure.empty()) {
        auto destination = bound.value(source.mapping.on_failure);
        if (!destination)
          return tl::unexpected(
              at_source(source, fmt::format("{}: the OnFailure destination {} is "
                                            "not bound to the backend",
                                            source.id(), source.mapping.on_failure.describe())));
        spec.on_failure_arn = *destination;
      }
      impl->feeds.push_back(detail::make_stream_feed(context, std::move(spec)));
      break;
    }
    case SourceKind::schedule:
    case SourceKind::schedule_v2: {
      detail::ScheduleSpec spec;
      spec.source = source;
      const std::string name = source.schedule.name.empty() ? source.function_id + source.event_id
                                                            : source.schedule.name;
      spec.arn =
          source.kind == SourceKind::schedule
              ? fmt::format("arn:aws:events:{}:{}:rule/{}", bound.region(), bound.account(), name)
              : fmt::format("arn:aws:scheduler:{}:{}:schedule/{}/{}", bound.region(),
                            bound.account(), source.schedule.group, name);
      schedules.push_back(std::move(spec));
      break;
    }
    case SourceKind::sns: {
      auto topic = bound.value(source.target);
      if (!topic)
        return tl::unexpected(
            at_source(source, fmt::format("{}: the topic {} is not bound to the backend",
                                          source.id(), source.target.describe())));
      const bool fifo_topic = topic->ends_with(".fifo");
      QueueSpec spec;
      if (source.push.sqs_subscription && !source.push.subscription_queue.empty()) {
        spec.source = source;
        WISP_TRY(setup.queue_of(source, source.push.subscription_queue, spec));
      } else {
        const auto name = plumbing_name(bound,
                                        {source.function_id, source.event_id,
                                         source.push.sqs_subscription ? "Queue" : "sns"},
                                        fifo_topic ? 75 : 80) +
                          (fifo_topic ? ".fifo" : "");
        std::map<std::string, std::string> attributes;
        if (!source.push.sqs_subscription) // wisp holds a message while the function runs
          attributes["VisibilityTimeout"] =
              std::to_string(context.function_timeout(source.function_id) + 60);
        auto made = setup.plumbing_queue(source, name, attributes);
        WISP_TRY(made);
        if (made->url.empty())
          break; // missing: reported below
        spec = std::move(*made);
        WISP_TRY(setup.allow(spec, "sns.amazonaws.com", *topic));
      }
      WISP_TRY(setup.subscribe(source, *topic, spec, spec.subscription_arn));
      spec.origin = last_segment(*topic);
      if (source.push.sqs_subscription) {
        WISP_TRY(setup.check_sqs_mapping(source, spec));
        spec.mode = QueueSpec::Mode::sqs;
      } else {
        spec.mode = QueueSpec::Mode::sns;
      }
      impl->feeds.push_back(detail::make_queue_feed(context, std::move(spec)));
      break;
    }
    case SourceKind::eventbridge: {
      std::string bus = source.push.bus;
      if (!source.push.bus_target.empty()) {
        const auto* bus_resource = bound.find(source.push.bus_target.logical_id);
        if (bus_resource == nullptr)
          return tl::unexpected(
              at_source(source, fmt::format("{}: the event bus {} is not bound "
                                            "to the backend",
                                            source.id(), source.push.bus_target.describe())));
        bus = bus_resource->name;
      }
      const auto rule = source.push.rule_name.empty()
                            ? plumbing_name(bound, {source.function_id, source.event_id}, 64)
                            : source.push.rule_name;
      auto made = setup.plumbing_queue(
          source, plumbing_name(bound, {source.function_id, source.event_id, "events"}, 80),
          {{"VisibilityTimeout",
            std::to_string(context.function_timeout(source.function_id) + 60)}});
      WISP_TRY(made);
      if (made->url.empty())
        break;
      auto spec = std::move(*made);
      auto existing = backend_ref.rule_arn(rule, bus);
      WISP_TRY(existing);
      if (!*existing && !create) {
        setup.missing().push_back(fmt::format("{}: the rule {} on bus {}", source.id(), rule, bus));
        break;
      }
      auto rule_arn = backend_ref.put_rule(rule, bus, json::serialize(source.push.pattern.json()));
      WISP_TRY(rule_arn);
      WISP_TRY(setup.allow(spec, "events.amazonaws.com", *rule_arn));
      WISP_TRY(backend_ref.put_target(rule, bus, "wisp", spec.arn));
      spec.rule_arn = *rule_arn;
      spec.source.push.target_input.rule_arn = *rule_arn;
      spec.source.push.target_input.rule_name = rule;
      spec.mode = QueueSpec::Mode::eventbridge;
      spec.origin = bus;
      impl->feeds.push_back(detail::make_queue_feed(context, std::move(spec)));
      break;
    }
    case SourceKind::s3: {
      auto bucket = bound.value(source.target);
      if (!bucket)
        return tl::unexpected(
            at_source(source, fmt::format("{}: the bucket {} is not bound to the backend",
                                          source.id(), source.target.describe())));
      auto made = setup.plumbing_queue(
          source, plumbing_name(bound, {source.function_id, source.event_id, "s3"}, 80),
          {{"VisibilityTimeout",
            std::to_string(context.function_timeout(source.function_id) + 60)}});
      WISP_TRY(made);
      if (made->url.empty())
        break;
      auto spec = std::move(*made);
      WISP_TRY(setup.allow(spec, "s3.amazonaws.com", "arn:aws:s3:::" + *bucket));
      spec.mode = QueueSpec::Mode::s3;
      spec.origin = *bucket;
      by_bucket[*bucket].emplace_back(source, std::move(spec));
      break;
    }
    }
  }

  // S3: the bucket's notification configuration keeps what is not wisp's and gets one
  // QueueConfiguration per S3 event of the template.
  for (auto& [bucket, entries] : by_bucket) {
    auto current = backend_ref.bucket_notifications(bucket);
    WISP_TRY(current);
    std::string keep;
    std::set<std::string> present;
    if (auto xml = aws::parse_xml(*current)) {
      for (const auto& child : xml->children) {
        const auto id = child.text_at("Id");
        if (id.starts_with("wisp-")) {
          present.insert(notification_xml(child));
          continue;
        }
        keep += notification_xml(child);
      }
    }
    std::string ours;
    std::set<std::string> wanted;
    for (const auto& [source, spec] : entries) {
      for (const auto& event : source.push.s3_events) {
        std::string entry = "<QueueConfiguration><Id>" +
                            aws::xml_escape(fmt::format("wisp-{}-{}-{}", source.function_id,
                                                        source.event_id, event)) +
                            "</Id><Queue>" + aws::xml_escape(spec.arn) + "</Queue><Event>" +
                            aws::xml_escape(event) + "</Event>";
        if (!source.push.s3_key_rules.empty()) {
          entry += "<Filter><S3Key>";
          for (const auto& [name, value] : source.push.s3_key_rules)
            entry += "<FilterRule><Name>" + aws::xml_escape(name) + "</Name><Value>" +
                     aws::xml_escape(value) + "</Value></FilterRule>";
          entry += "</S3Key></Filter>";
        }
        entry += "</QueueConfiguration>";
        ours += entry;
        wanted.insert(entry);
      }
    }
    const bool missing_entries = std::any_of(wanted.begin(), wanted.end(),
                                             [&](const auto& e) { return present.count(e) == 0; });
    if (missing_entries && !create) {
      setup.missing().push_back(
          fmt::format("the notification configuration of bucket {} for {} S3 event{}", bucket,
                      entries.size(), entries.size() == 1 ? "" : "s"));
      continue;
    }
    if (missing_entries || present.size() != wanted.size())
      WISP_TRY(backend_ref.put_bucket_notifications(
          bucket, "<NotificationConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" +
                      keep + ours + "</NotificationConfiguration>"));
    for (auto& [source, spec] : entries)
      impl->feeds.push_back(detail::make_queue_feed(context, std::move(spec)));
  }

  if (!setup.missing().empty())
    return support::fail(fmt::format(
        "the push sources need wisp's plumbing in the backend, which is missing:\n  {}\nRun "
        "with --create-resources to create it",
        support::join(setup.missing(), "\n  ")));
  if (!schedules.empty())
    impl->feeds.push_back(detail::make_schedule_feed(context, std::move(schedules)));
  for (const auto& name : setup.created())
    if (options.log)
      options.log(fmt::format("{} created wisp's delivery queue {}", detail::clock_text(), name));
  return std::unique_ptr<EventRunner>(new EventRunner(std::move(impl)));
}

std::vector<std::string> EventRunner::describe() const {
  std::vector<std::string> lines;
  for (const auto& feed : m_impl->feeds)
    lines.push_back(feed->describe());
  for (const auto& line : m_impl->disabled)
    lines.push_back(line);
  return lines;
}

void EventRunner::start() {
  if (m_impl->started)
    return;
  m_impl->started = true;
  for (auto& feed : m_impl->feeds)
    feed->start();
}

void EventRunner::stop() {
  if (m_impl && m_impl->context)
    m_impl->context->stop();
}

void EventRunner::join() {
  if (!m_impl || !m_impl->started || m_impl->joined)
    return;
  m_impl->joined = true;
  for (auto& feed : m_impl->feeds)
    feed->join();
}

} // namespace wisp::events
