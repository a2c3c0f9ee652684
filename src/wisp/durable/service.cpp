#include <wisp/durable/service.hpp>

#include <wisp/durable/control.hpp>
#include <wisp/durable/detail.hpp>
#include <wisp/durable/remote.hpp>
#include <wisp/runtime/lambda_text.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/http.hpp>

// GCC 12 reports -Wnull-dereference inside Asio's own reactor code once it is inlined (a false
// positive in system headers); silenced for those headers only, as the gateway does.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#pragma GCC diagnostic pop
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <mutex>
#include <random>

namespace wisp::durable {

namespace asio = boost::asio;
namespace json = boost::json;
using detail::member;
using detail::wall_ms;
namespace fs = std::filesystem;

namespace {

// Operations in the invocation event, by size (Lambda's event limit is 6 MB); the rest is
// paged through GetDurableExecutionState.
constexpr std::size_t k_event_page_bytes = 5u * 1024 * 1024;

std::mt19937_64& rng() {
  thread_local std::mt19937_64 generator(std::random_device{}());
  return generator;
}

std::string clock_text() {
  const auto now = wall_ms();
  const auto seconds = static_cast<std::time_t>(now / 1000);
  std::tm tm{};
  ::localtime_r(&seconds, &tm);
  return fmt::format("{:02}:{:02}:{:02}.{:03}", tm.tm_hour, tm.tm_min, tm.tm_sec, now % 1000);
}

// The error a failed invocation leaves: the runtime's error JSON (errorType, errorMessage,
// stackTrace/trace), or the engine's platform error.
ErrorObject invocation_error(const runtime::InvokeResult& result) {
  ErrorObject error;
  boost::system::error_code ec;
  const auto body = json::parse(result.body, ec);
  if (!ec && body.is_object()) {
    const auto& o = body.as_object();
    if (const auto* t = member(o, "errorType"); t != nullptr && t->is_string())
      error.type = std::string(t->as_string());
    if (const auto* m = member(o, "errorMessage"); m != nullptr && m->is_string())
      error.message = std::string(m->as_string());
    for (const auto* key : {"stackTrace", "trace"}) {
      if (const auto* s = member(o, key); s != nullptr && s->is_array()) {
        std::vector<std::string> lines;
        for (const auto& line : s->as_array())
          if (line.is_string())
            lines.emplace_back(line.as_string());
        error.stack_trace = std::move(lines);
        break;
      }
    }
  }
  if (!error.type && !result.error_type.empty())
    error.type = std::string(result.error_type);
  if (!error.message)
    error.message = std::string(result.body);
  return error;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty())
      continue;
    const auto eq = part.find('=');
    out.emplace_back(support::http::url_decode(part.substr(0, eq)),
                     eq == std::string_view::npos ? std::string()
                                                  : support::http::url_decode(part.substr(eq + 1)));
  }
  return out;
}

std::optional<std::string> query_value(const std::vector<std::pair<std::string, std::string>>& q,
                                       std::string_view key) {
  for (const auto& [k, v] : q)
    if (k == key)
      return v;
  return std::nullopt;
}

std::int64_t query_int(const std::vector<std::pair<std::string, std::string>>& q,
                       std::string_view key, std::int64_t fallback) {
  const auto v = query_value(q, key);
  if (!v || v->empty())
    return fallback;
  try {
    return std::stoll(*v);
  } catch (const std::exception&) {
    return fallback;
  }
}

bool query_bool(const std::vector<std::pair<std::string, std::string>>& q, std::string_view key,
                bool fallback) {
  const auto v = query_value(q, key);
  if (!v)
    return fallback;
  return *v == "true" || *v == "True" || *v == "1";
}

// ISO 8601 (what SDKs send for timestamps in query strings) or epoch seconds → epoch ms.
std::optional<std::int64_t> parse_time(std::string_view text) {
  if (text.empty())
    return std::nullopt;
  if (text.find('T') == std::string_view::npos) {
    try {
      return static_cast<std::int64_t>(std::stod(std::string(text)) * 1000);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  std::tm tm{};
  int ms = 0;
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec) != 6)
    return std::nullopt;
  if (const auto dot = s.find('.'); dot != std::string::npos)
    ms = std::atoi(s.substr(dot + 1, 3).c_str());
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(::timegm(&tm)) * 1000 + ms;
}

// /a/b%2Fc/d → {"a", "b/c", "d"} (split first, then decode each segment).
std::vector<std::string> path_segments(std::string_view raw_path) {
  std::vector<std::string> out;
  while (!raw_path.empty()) {
    if (raw_path.front() == '/') {
      raw_path.remove_prefix(1);
      continue;
    }
    const auto slash = raw_path.find('/');
    out.push_back(support::http::url_decode(raw_path.substr(0, slash)));
    raw_path = slash == std::string_view::npos ? std::string_view{} : raw_path.substr(slash);
  }
  return out;
}

// The function name of a FunctionName (name, name:qualifier, partial or full ARN).
std::string function_name_of(std::string_view text) {
  if (const auto pos = text.find("function:"); pos != std::string_view::npos)
    text = text.substr(pos + 9);
  if (const auto colon = text.find(':'); colon != std::string_view::npos)
    text = text.substr(0, colon);
  return std::string(text);
}

ApiError not_found(std::string_view arn) {
  return resource_not_found(fmt::format("Durable execution not found: {}", arn));
}

ExecutionOutcome outcome_of(const Execution& e) {
  return {e.identity().arn, e.status(), e.result(), e.error()};
}

} // namespace

HttpResponse ok(json::object body) {
  HttpResponse response;
  response.body = json::serialize(body);
  return response;
}

HttpResponse error_response(const ApiError& error) {
  HttpResponse response;
  response.status = error.status;
  response.error_type = error.type;
  response.body = error.body();
  return response;
}

std::string ExecutionOutcome::error_payload() const {
  json::object out;
  if (error) {
    if (error->message)
      out["errorMessage"] = *error->message;
    if (error->type)
      out["errorType"] = *error->type;
    if (error->data)
      out["errorData"] = *error->data;
    if (error->stack_trace) {
      json::array trace;
      for (const auto& line : *error->stack_trace)
        trace.emplace_back(line);
      out["stackTrace"] = std::move(trace);
    }
  }
  if (!out.contains("errorMessage"))
    out["errorMessage"] = fmt::format("Durable execution {}", to_string(status));
  return json::serialize(out);
}

std::optional<DurableConfig> durable_config(const sam::Model& model, const sam::Function& function,
                                            std::vector<std::string>* problems) {
  const auto* resource = model.find_resource(function.logical_id);
  if (resource == nullptr)
    return std::nullopt;
  const auto it = resource->properties.find("DurableConfig");
  if (it == resource->properties.end() || !it->value().is_object())
    return std::nullopt;
  const auto& o = it->value().as_object();
  DurableConfig config;
  const auto number = [&](std::string_view key, std::int64_t& into, std::int64_t lo,
                          std::int64_t hi) {
    const auto* v = member(o, key);
    if (v == nullptr)
      return;
    std::optional<std::int64_t> n;
    if (v->is_int64())
      n = v->as_int64();
    else if (v->is_uint64())
      n = static_cast<std::int64_t>(v->as_uint64());
    else if (v->is_string()) {
      try {
        n = std::stoll(std::string(v->as_string()));
      } catch (const std::exception&) {
      }
    }
    if (!n) {
      if (problems != nullptr)
        problems->push_back(
            fmt::format("{}: DurableConfig.{} is not a number", function.logical_id, key));
      return;
    }
    if (*n < lo || *n > hi) {
      if (problems != nullptr)
        problems->push_back(fmt::format("{}: DurableConfig.{} {} is outside {}–{} (Lambda would "
                                        "refuse it)",
                                        function.logical_id, key, *n, lo, hi));
      n = std::clamp(*n, lo, hi);
    }
    into = *n;
  };
  number("ExecutionTimeout", config.execution_timeout_s, 1, k_max_duration_s);
  number("RetentionPeriodInDays", config.retention_days, 1, 90);
  return config;
}

std::vector<std::pair<std::string, std::string>>
function_environment(std::string_view endpoint_url) {
  return {{"AWS_ENDPOINT_URL_LAMBDA", std::string(endpoint_url)}};
}

// ------------------------------------------------------------------ the service

struct Entry {
  explicit Entry(Execution e) : exec(std::move(e)) {}
  Execution exec;
  const DurableFunction* fn = nullptr;
  std::unique_ptr<asio::steady_timer> timer;
  std::int64_t armed_due = 0;
  std::uint64_t generation = 0;
  std::optional<std::int64_t> retry_at; // model ms: the next attempt of a failed invocation
  std::vector<std::function<void(const ExecutionOutcome&)>> waiters;
};

// Work that must run after the service's lock is released.
struct After {
  std::vector<std::function<void()>> work;
  void operator()(std::function<void()> f) { work.push_back(std::move(f)); }
  ~After() {
    for (auto& f : work)
      f();
  }
  After() = default;
  After(const After&) = delete;
  After& operator=(const After&) = delete;
};

struct Service::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_context, runtime::Engine& engine_ref, ServiceOptions opts)
      : io(io_context), engine(engine_ref), options(std::move(opts)), store(options.store_dir) {
    if (!(options.time_scale > 0))
      options.time_scale = 1.0;
  }

  asio::io_context& io;
  runtime::Engine& engine;
  ServiceOptions options;
  Store store;
  mutable std::mutex mutex;
  std::vector<std::unique_ptr<DurableFunction>> functions;
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries; // by ARN
  std::function<void(std::string_view)> change_callback;
  bool stopped = false;
  ServerRecord server;

  [[nodiscard]] const DurableFunction* function(std::string_view id_or_name) const {
    for (const auto& f : functions)
      if (f->id == id_or_name || f->name == id_or_name)
        return f.get();
    return nullptr;
  }

  static std::int64_t model_now(const Entry& e) { return wall_ms() + e.exec.skew_ms; }

  void warn(std::string_view text) const {
    if (options.warning)
      options.warning(text);
  }

  void persist(Entry& e) {
    if (auto written = store.append(e.exec); !written)
      warn(
          fmt::format("durable execution {}: {}", e.exec.identity().name, written.error().message));
  }

  void changed(Entry& e, After& after) {
    if (change_callback)
      after([cb = change_callback, arn = e.exec.identity().arn] { cb(arn); });
  }

  // The execution closed: tell the waiters, stop its timer and, once no invocation is in
  // flight, release it and forget it (reads come from the store then). `e` may be gone after:
  // callers return right away.
  void closed(Entry& e, After& after) {
    if (e.timer)
      e.timer->cancel();
    auto outcome = outcome_of(e.exec);
    for (auto& waiter : e.waiters)
      after([waiter = std::move(waiter), outcome] { waiter(outcome); });
    e.waiters.clear();
    if (!e.exec.invoking()) {
      store.release(e.exec);
      const auto arn = e.exec.identity().arn;
      entries.erase(arn);
    }
  }

  void invoke(Entry& e, After& after);
  void finished(const std::string& arn, const std::string& request_id, std::int64_t start_model,
                bool replay, const runtime::InvokeResult& result);
  void arm(Entry& e);
  void on_timer(const std::string& arn, std::uint64_t generation);
  void skip(Entry& e);
  void start_chained(Entry& e, const std::string& op_id, After& after);
  Entry* adopt(Execution execution, const DurableFunction* fn);
  tl::expected<Started, ApiError> start(const StartRequest& request,
                                        std::function<void(const ExecutionOutcome&)> done);

  HttpResponse checkpoint(const std::string& arn, std::string_view body);
  HttpResponse state(const std::string& arn, std::string_view query);
  HttpResponse get(const std::string& arn);
  HttpResponse history(const std::string& arn, std::string_view query);
  HttpResponse stop(const std::string& arn, std::string_view body);
  HttpResponse list(const std::string& function_ref, std::string_view query);
  HttpResponse callback(const std::string& id, std::string_view action, std::string_view body);
  std::optional<Execution> read(std::string_view arn) const;
};

void Service::Impl::invoke(Entry& e, After& after) {
  if (!e.exec.running() || stopped)
    return;
  if (e.exec.invoking()) {
    e.exec.reinvoke = true;
    return;
  }
  e.retry_at.reset();
  const auto now = model_now(e);
  auto envelope = e.exec.begin_invocation(now, k_event_page_bytes);
  persist(e);
  changed(e, after);

  struct Job final : runtime::InvokeSink {
    std::shared_ptr<Impl> impl;
    std::shared_ptr<Job> self;
    std::string arn;
    std::string payload;
    std::string request_id;
    std::int64_t start_model = 0;
    bool replay = false;
    void on_complete(const runtime::InvokeResult& result) override {
      auto keep = std::move(self);
      impl->finished(arn, request_id, start_model, replay, result);
    }
  };
  auto job = std::make_shared<Job>();
  job->impl = shared_from_this();
  job->self = job;
  job->arn = e.exec.identity().arn;
  job->payload = std::move(envelope.payload);
  job->request_id = runtime::make_uuid(rng());
  job->start_model = now;
  job->replay = envelope.replay;
  const auto handle = e.fn->handle;
  after([job, handle] {
    runtime::InvokeRequest request;
    request.payload = job->payload;
    request.request_id = job->request_id;
    job->impl->engine.invoke(handle, request, *job);
  });
}

void Service::Impl::finished(const std::string& arn, const std::string& request_id,
                             std::int64_t start_model, bool replay,
                             const runtime::InvokeResult& result) {
  After after;
  std::lock_guard lock(mutex);
  if (stopped)
    return;
  const auto it = entries.find(arn);
  if (it == entries.end())
    return;
  auto& e = *it->second;
  const auto now = model_now(e);
  InvocationRecord record;
  record.request_id = request_id;
  record.start_ms = start_model;
  record.end_ms = now;
  record.replay = replay;
  record.cold = result.cold;
  record.duration_ms = result.duration_ms;

  std::optional<ErrorObject> failure;
  enum class Decision { none, succeed, fail, pending } decision = Decision::none;
  std::optional<std::string> exec_result;
  ErrorObject exec_error;
  if (result.ok()) {
    boost::system::error_code ec;
    const auto body = json::parse(result.body, ec);
    const json::object* o = !ec && body.is_object() ? &body.as_object() : nullptr;
    const auto* status = o != nullptr ? member(*o, "Status") : nullptr;
    const std::string_view s = status != nullptr && status->is_string()
                                   ? std::string_view(status->as_string())
                                   : std::string_view{};
    if (s == "SUCCEEDED") {
      decision = Decision::succeed;
      if (const auto* r = member(*o, "Result"); r != nullptr && r->is_string())
        exec_result = std::string(r->as_string());
    } else if (s == "FAILED") {
      decision = Decision::fail;
      if (const auto* er = member(*o, "Error"); er != nullptr)
        exec_error = error_from_json(*er).value_or(ErrorObject{});
    } else if (s == "PENDING") {
      decision = Decision::pending;
      if (e.exec.running() && !e.exec.has_unseen_changes() && !e.exec.has_pending_work())
        failure = ErrorObject::of("InvalidParameterValueException",
                                  "Cannot return PENDING status with no pending operations.");
    } else {
      failure = ErrorObject::of(
          "Runtime.InvalidResponse",
          "The durable function's response has no Status SUCCEEDED, FAILED or PENDING: is the "
          "handler wrapped by the durable execution SDK?");
    }
  } else {
    failure = invocation_error(result);
  }
  record.outcome = failure ? failure->type.value_or("Invocation.Error")
                           : std::string(decision == Decision::succeed ? "SUCCEEDED"
                                         : decision == Decision::fail  ? "FAILED"
                                                                       : "PENDING");
  const auto invocation_number = e.exec.invocations().size() + 1;
  const bool was_running = e.exec.running();
  if (was_running) {
    if (failure) {
      ++e.exec.failed_invocations;
      e.exec.end_invocation(record, failure);
      if (e.exec.failed_invocations >= options.invocation_attempts)
        e.exec.fail(*failure, now);
      else
        e.retry_at = now + options.invocation_retry_ms;
    } else {
      e.exec.failed_invocations = 0;
      e.exec.end_invocation(record, std::nullopt);
      if (decision == Decision::succeed)
        e.exec.succeed(exec_result, now);
      else if (decision == Decision::fail)
        e.exec.fail(exec_error, now);
    }
  } else {
    e.exec.end_invocation(record, std::nullopt);
  }
  persist(e);
  changed(e, after);
  if (options.log)
    options.log(fmt::format("{} DURABLE {} {} invocation {} ({}) {} {} {:.2f} ms", clock_text(),
                            e.exec.identity().function_id, e.exec.identity().name,
                            invocation_number, replay ? "replay" : "first", record.outcome,
                            result.cold ? "cold" : "warm", result.duration_ms));
  if (!e.exec.running()) {
    closed(e, after);
    return;
  }
  if (!failure && (e.exec.reinvoke || e.exec.has_unseen_changes())) {
    e.exec.reinvoke = false;
    invoke(e, after);
    return;
  }
  e.exec.reinvoke = false;
  if (!failure && options.skip_waits)
    skip(e);
  arm(e);
}

// --skip-waits: the execution suspended, so model time jumps to what ends its wait first: a
// wait or retry time, or ExecutionTimeout when that comes first (as it would in a real run).
// Not over a callback's timeout: the callback may still be answered.
void Service::Impl::skip(Entry& e) {
  const auto timer = e.exec.next_timer();
  if (!timer)
    return;
  const auto target = std::min(*timer, e.exec.deadline_ms());
  if (const auto callback = e.exec.next_callback_deadline(); callback && *callback < target)
    return;
  const auto now = model_now(e);
  if (target > now) {
    e.exec.skew_ms += target - now;
    persist(e);
  }
}

void Service::Impl::arm(Entry& e) {
  if (!e.exec.running() || stopped)
    return;
  std::optional<std::int64_t> due = e.exec.deadline_ms();
  const auto consider = [&](std::optional<std::int64_t> t) {
    if (t && *t < *due)
      due = t;
  };
  if (!e.exec.invoking()) {
    consider(e.exec.next_timer());
    consider(e.retry_at);
  }
  consider(e.exec.next_callback_deadline());
  if (!e.timer)
    e.timer = std::make_unique<asio::steady_timer>(io);
  const auto remaining = std::max<std::int64_t>(0, *due - model_now(e));
  const auto real_ms =
      static_cast<std::int64_t>(std::ceil(static_cast<double>(remaining) / options.time_scale));
  e.armed_due = *due;
  const auto generation = ++e.generation;
  e.timer->expires_after(std::chrono::milliseconds(real_ms));
  e.timer->async_wait([weak = weak_from_this(), arn = e.exec.identity().arn,
                       generation](const boost::system::error_code& ec) {
    if (ec)
      return;
    if (auto self = weak.lock())
      self->on_timer(arn, generation);
  });
}

void Service::Impl::on_timer(const std::string& arn, std::uint64_t generation) {
  After after;
  std::lock_guard lock(mutex);
  if (stopped)
    return;
  const auto it = entries.find(arn);
  if (it == entries.end() || it->second->generation != generation)
    return;
  auto& e = *it->second;
  if (!e.exec.running())
    return;
  // Model time reaches the moment the timer was armed for (scaled waits end early in real time).
  if (const auto now = model_now(e); now < e.armed_due)
    e.exec.skew_ms += e.armed_due - now;
  const auto now = model_now(e);
  if (now >= e.exec.deadline_ms()) {
    e.exec.time_out(e.exec.deadline_ms());
    persist(e);
    changed(e, after);
    closed(e, after);
    return;
  }
  bool due = e.exec.fire_callback_deadlines(now);
  if (!e.exec.invoking())
    due = e.exec.fire_timers(now) || due;
  if (e.retry_at && *e.retry_at <= now) {
    e.retry_at.reset();
    due = true;
  }
  persist(e);
  if (due) {
    changed(e, after);
    invoke(e, after);
  }
  arm(e);
}

Entry* Service::Impl::adopt(Execution execution, const DurableFunction* fn) {
  const auto arn = execution.identity().arn;
  auto entry = std::make_unique<Entry>(std::move(execution));
  entry->fn = fn;
  entry->exec.owner = options.endpoint_url;
  auto* raw = entry.get();
  entries[arn] = std::move(entry);
  return raw;
}

void Service::Impl::start_chained(Entry& e, const std::string& op_id, After& after) {
  const auto* op = e.exec.find(op_id);
  if (op == nullptr)
    return;
  const auto target = function_name_of(op->function_name);
  const auto arn = e.exec.identity().arn;
  const auto payload = op->input.value_or("{}");
  auto impl = shared_from_this();
  const auto done = [impl, arn, op_id](OpStatus status, std::optional<std::string> result,
                                       std::optional<ErrorObject> error) {
    After later;
    std::lock_guard lock(impl->mutex);
    const auto it = impl->entries.find(arn);
    if (it == impl->entries.end() || impl->stopped)
      return;
    auto& entry = *it->second;
    entry.exec.chained_invoke_done(op_id, status, std::move(result), std::move(error),
                                   model_now(entry));
    impl->persist(entry);
    impl->changed(entry, later);
    if (!entry.exec.invoking())
      impl->invoke(entry, later);
  };
  if (const auto* durable_target = function(target)) {
    // A durable target runs as an execution of its own; its end completes the operation.
    StartRequest request;
    request.function_id = durable_target->id;
    // Unique per calling execution and operation (an execution id is a UUID).
    request.name = fmt::format("{}-{}", op_id, e.exec.identity().id);
    if (request.name.size() > 64)
      request.name = support::sha256_hex(request.name).substr(0, 64);
    request.payload = payload;
    after([impl, request, done] {
      auto started = impl->start(request, [done](const ExecutionOutcome& outcome) {
        switch (outcome.status) {
        case ExecutionStatus::succeeded:
          done(OpStatus::succeeded, outcome.result, std::nullopt);
          break;
        case ExecutionStatus::timed_out:
          done(OpStatus::timed_out, std::nullopt, outcome.error);
          break;
        case ExecutionStatus::stopped:
          done(OpStatus::stopped, std::nullopt, outcome.error);
          break;
        default:
          done(OpStatus::failed, std::nullopt, outcome.error);
          break;
        }
      });
      if (!started)
        done(OpStatus::failed, std::nullopt,
             ErrorObject::of(started.error().type, started.error().message));
    });
    return;
  }
  const auto handle = engine.find(target);
  if (!handle) {
    done(OpStatus::failed, std::nullopt,
         ErrorObject::of("ResourceNotFoundException",
                         fmt::format("Function not found: arn:aws:lambda:{}:{}:function:{}",
                                     options.region, options.account_id, target)));
    return;
  }
  struct Chained final : runtime::InvokeSink {
    std::shared_ptr<Chained> self;
    std::string payload;
    std::function<void(OpStatus, std::optional<std::string>, std::optional<ErrorObject>)> done;
    void on_complete(const runtime::InvokeResult& result) override {
      auto keep = std::move(self);
      if (result.ok())
        done(OpStatus::succeeded, std::string(result.body), std::nullopt);
      else if (result.outcome == runtime::Outcome::timeout)
        done(OpStatus::timed_out, std::nullopt, invocation_error(result));
      else
        done(OpStatus::failed, std::nullopt, invocation_error(result));
    }
  };
  auto job = std::make_shared<Chained>();
  job->self = job;
  job->payload = payload;
  job->done = done;
  after([this, job, h = *handle] {
    runtime::InvokeRequest request;
    request.payload = job->payload;
    engine.invoke(h, request, *job);
  });
}

} // namespace wisp::durable

namespace wisp::durable {

namespace {

// Resumes an execution adopted from the store: the invocation in flight when its last wisp
// died is lost, so it runs again; otherwise it waits for what it waited for.
void resume_entry(Service::Impl& impl, Entry& e, After& after);

} // namespace

tl::expected<Started, ApiError>
Service::Impl::start(const StartRequest& request,
                     std::function<void(const ExecutionOutcome&)> done) {
  After after;
  std::lock_guard lock(mutex);
  const auto* fn = function(request.function_id);
  if (fn == nullptr)
    return tl::unexpected(
        resource_not_found(fmt::format("Function not found: arn:aws:lambda:{}:{}:function:{}",
                                       options.region, options.account_id, request.function_id)));
  std::string name = request.name.empty() ? runtime::make_uuid(rng()) : request.name;
  if (!valid_id(name))
    return tl::unexpected(validation_error(fmt::format(
        "1 validation error detected: Value '{}' at 'durableExecutionName' failed to satisfy "
        "constraint: {}",
        name,
        name.size() > 64 ? "Member must have length less than or equal to 64"
                         : "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+")));
  const auto conflict = [&] {
    return ApiError{409, "DurableExecutionAlreadyStartedException",
                    fmt::format("Durable execution {} of function {} already exists with a "
                                "different payload",
                                name, fn->name)};
  };
  // Lambda's idempotent start: the same name and payload attach to the existing execution.
  for (auto& [arn, entry] : entries) {
    const auto& id = entry->exec.identity();
    if (id.function_name != fn->name || id.name != name)
      continue;
    if (entry->exec.input() != request.payload)
      return tl::unexpected(conflict());
    if (done) {
      if (entry->exec.running())
        entry->waiters.push_back(std::move(done));
      else
        after([done, outcome = outcome_of(entry->exec)] { done(outcome); });
    }
    return Started{arn, true};
  }
  auto stored = store.load(fn->name, name);
  if (!stored)
    return tl::unexpected(service_error(stored.error().message));
  if (*stored) {
    auto& existing = **stored;
    if (existing.input() != request.payload)
      return tl::unexpected(conflict());
    const auto arn = existing.identity().arn;
    if (!existing.running()) {
      if (done)
        after([done, outcome = outcome_of(existing)] { done(outcome); });
      return Started{arn, true};
    }
    auto acquired = store.acquire(existing);
    if (acquired && *acquired) {
      auto* entry = adopt(std::move(existing), fn);
      if (done)
        entry->waiters.push_back(std::move(done));
      resume_entry(*this, *entry, after);
      return Started{arn, true};
    }
    // Another live wisp runs it: watch the store until it closes.
    if (done) {
      struct Watch : std::enable_shared_from_this<Watch> {
        std::shared_ptr<Impl> impl;
        std::unique_ptr<asio::steady_timer> timer;
        std::string function_name;
        std::string name;
        std::function<void(const ExecutionOutcome&)> done;
        void poll() {
          timer->expires_after(std::chrono::milliseconds(250));
          timer->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->impl->stopped)
              return;
            auto loaded = self->impl->store.load(self->function_name, self->name);
            if (loaded && *loaded && !(*loaded)->running()) {
              self->done(outcome_of(**loaded));
              return;
            }
            self->poll();
          });
        }
      };
      auto watch = std::make_shared<Watch>();
      watch->impl = shared_from_this();
      watch->timer = std::make_unique<asio::steady_timer>(io);
      watch->function_name = fn->name;
      watch->name = name;
      watch->done = std::move(done);
      watch->poll();
    }
    return Started{arn, true};
  }
  ExecutionIdentity identity;
  identity.id = runtime::make_uuid(rng());
  identity.name = name;
  identity.function_id = fn->id;
  identity.function_name = fn->name;
  identity.version = fn->version;
  identity.function_arn =
      fmt::format("arn:aws:lambda:{}:{}:function:{}", options.region, options.account_id, fn->name);
  identity.arn = make_execution_arn(options.region, options.account_id, fn->name, fn->version, name,
                                    identity.id);
  identity.execution_timeout_s = fn->config.execution_timeout_s;
  identity.retention_days = fn->config.retention_days;
  auto execution = Execution::create(identity, request.payload, wall_ms());
  execution.owner = options.endpoint_url;
  if (auto created = store.create(execution); !created)
    return tl::unexpected(service_error(created.error().message));
  auto* entry = adopt(std::move(execution), fn);
  if (done)
    entry->waiters.push_back(std::move(done));
  invoke(*entry, after);
  arm(*entry);
  return Started{identity.arn, false};
}

namespace {

void resume_entry(Service::Impl& impl, Entry& e, After& after) {
  auto& exec = e.exec;
  const auto now = Service::Impl::model_now(e);
  if (now >= exec.deadline_ms()) {
    exec.time_out(exec.deadline_ms());
    impl.persist(e);
    impl.changed(e, after);
    impl.closed(e, after);
    return;
  }
  const bool lost_invocation = exec.was_invoking();
  if (lost_invocation)
    exec.abandon_invocation();
  exec.fire_callback_deadlines(now);
  exec.fire_timers(now);
  impl.persist(e);
  if (lost_invocation || exec.has_unseen_changes() || !exec.has_pending_work())
    impl.invoke(e, after);
  impl.arm(e);
}

} // namespace

std::optional<Execution> Service::Impl::read(std::string_view arn) const {
  {
    std::lock_guard lock(mutex);
    if (const auto it = entries.find(arn); it != entries.end())
      return it->second->exec;
  }
  const auto parts = parse_execution_arn(arn);
  if (!parts)
    return std::nullopt;
  auto loaded = store.load(parts->function_name, parts->name);
  if (!loaded || !*loaded || (*loaded)->identity().arn != arn)
    return std::nullopt;
  return std::move(**loaded);
}

HttpResponse Service::Impl::checkpoint(const std::string& arn, std::string_view body) {
  ParsedCheckpoint parsed;
  if (auto problem = parse_checkpoint(body, parsed))
    return error_response(*problem);
  After after;
  std::lock_guard lock(mutex);
  const auto it = entries.find(arn);
  if (it == entries.end()) {
    const auto parts = parse_execution_arn(arn);
    if (!parts || !store.load(parts->function_name, parts->name).value_or(std::nullopt))
      return error_response(not_found(arn));
    return error_response(
        invalid_parameter("Invalid Checkpoint Token: the execution is not running in this wisp"));
  }
  auto& e = *it->second;
  if (auto cached = e.exec.replayed_checkpoint(parsed.checkpoint_token, parsed.client_token)) {
    HttpResponse response;
    response.body = std::move(*cached);
    return response;
  }
  auto result = e.exec.checkpoint(parsed, model_now(e));
  if (!result)
    return error_response(result.error());
  persist(e);
  json::object state;
  state["Operations"] = std::move(result->operations);
  json::object out;
  out["CheckpointToken"] = result->token;
  out["NewExecutionState"] = std::move(state);
  HttpResponse response;
  response.body = json::serialize(out);
  if (!parsed.client_token.empty())
    e.exec.remember_checkpoint(parsed.checkpoint_token, parsed.client_token, response.body);
  for (const auto& op : result->chained_invokes)
    start_chained(e, op, after);
  if (!result->new_callbacks.empty())
    arm(e);
  changed(e, after);
  if (!e.exec.running())
    closed(e, after);
  return response;
}

HttpResponse Service::Impl::state(const std::string& arn, std::string_view query) {
  const auto q = parse_query(query);
  std::lock_guard lock(mutex);
  const auto it = entries.find(arn);
  if (it == entries.end())
    return error_response(
        invalid_parameter("Invalid Checkpoint Token: the execution is not running in this wisp"));
  auto page =
      it->second->exec.state(query_value(q, "CheckpointToken").value_or(""),
                             query_value(q, "Marker").value_or(""), query_int(q, "MaxItems", 0));
  if (!page)
    return error_response(page.error());
  json::object out;
  out["Operations"] = std::move(page->operations);
  if (!page->next_marker.empty())
    out["NextMarker"] = page->next_marker;
  return ok(std::move(out));
}

HttpResponse Service::Impl::get(const std::string& arn) {
  const auto execution = read(arn);
  if (!execution)
    return error_response(not_found(arn));
  return ok(execution_json(*execution));
}

HttpResponse Service::Impl::history(const std::string& arn, std::string_view query) {
  const auto q = parse_query(query);
  const auto execution = read(arn);
  if (!execution)
    return error_response(not_found(arn));
  const bool include = query_bool(q, "IncludeExecutionData", true);
  const bool reverse = query_bool(q, "ReverseOrder", false);
  auto max_items = query_int(q, "MaxItems", 0);
  if (max_items < 0 || max_items > 1000)
    return error_response(validation_error(fmt::format(
        "1 validation error detected: Value '{}' at 'maxItems' failed to satisfy constraint: "
        "Member must have value {} {}",
        max_items, max_items < 0 ? "greater than or equal to" : "less than or equal to",
        max_items < 0 ? 0 : 1000)));
  if (max_items == 0)
    max_items = 100;
  const auto& events = execution->history();
  std::size_t start = 0;
  if (const auto marker = query_value(q, "Marker"); marker && !marker->empty()) {
    try {
      start = std::stoul(*marker);
    } catch (const std::exception&) {
      return error_response(invalid_parameter("Invalid marker"));
    }
    if (start > events.size())
      return error_response(invalid_parameter("Invalid marker"));
  }
  json::array list;
  std::size_t i = start;
  for (; i < events.size() && list.size() < static_cast<std::size_t>(max_items); ++i) {
    const auto& event = reverse ? events[events.size() - 1 - i] : events[i];
    list.push_back(to_json(event, include));
  }
  json::object out;
  out["Events"] = std::move(list);
  if (i < events.size())
    out["NextMarker"] = std::to_string(i);
  return ok(std::move(out));
}

HttpResponse Service::Impl::stop(const std::string& arn, std::string_view body) {
  ErrorObject error;
  if (!body.empty()) {
    boost::system::error_code ec;
    const auto value = json::parse(body, ec);
    auto parsed = ec ? std::nullopt : error_from_json(value);
    if (!parsed)
      return error_response(ApiError{400, "InvalidRequestContentException",
                                     "Could not parse request body into json: the body is not "
                                     "an ErrorObject"});
    error = std::move(*parsed);
  }
  if (error.empty())
    error.message = "Execution stopped by user request";
  const auto answer = [](std::int64_t ms) {
    json::object out;
    out["StopTimestamp"] = api_time(ms);
    return ok(std::move(out));
  };
  After after;
  std::unique_lock lock(mutex);
  if (const auto it = entries.find(arn); it != entries.end()) {
    auto& e = *it->second;
    if (!e.exec.running())
      return answer(e.exec.end_ms().value_or(model_now(e)));
    const auto now = model_now(e);
    e.exec.stop(std::move(error), now);
    persist(e);
    changed(e, after);
    closed(e, after);
    return answer(now);
  }
  lock.unlock();
  return stop_in_store(store, arn, error);
}

HttpResponse Service::Impl::list(const std::string& function_ref, std::string_view query) {
  const auto q = parse_query(query);
  const auto name = function_name_of(function_ref);
  const bool valid_name = !name.empty() && name.size() <= 140 && name != "." && name != ".." &&
                          name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                                                 "VWXYZ0123456789-_.") == std::string::npos;
  if (!valid_name)
    return error_response(validation_error(fmt::format(
        "1 validation error detected: Value '{}' at 'functionName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]"
        "{{2}}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_"
        "\\.]+)(:(\\$LATEST(\\.PUBLISHED)?|[a-zA-Z0-9-_]+))?",
        function_ref)));
  std::error_code ec;
  if (function(name) == nullptr && !fs::is_directory(store.root() / name, ec))
    return error_response(
        resource_not_found(fmt::format("Function not found: arn:aws:lambda:{}:{}:function:{}",
                                       options.region, options.account_id, name)));
  const auto* fn = function(name);
  auto all = store.list(fn != nullptr ? fn->name : name);
  std::vector<std::string> statuses;
  for (const auto& [k, v] : q)
    if (k == "Statuses" || k.starts_with("Statuses."))
      statuses.push_back(v);
  const auto wanted_name = query_value(q, "DurableExecutionName");
  const auto after_ms = parse_time(query_value(q, "StartedAfter").value_or(""));
  const auto before_ms = parse_time(query_value(q, "StartedBefore").value_or(""));
  std::vector<ExecutionSummary> selected;
  for (auto& s : all) {
    if (wanted_name && s.name != *wanted_name)
      continue;
    if (!statuses.empty() && std::find(statuses.begin(), statuses.end(),
                                       std::string(to_string(s.status))) == statuses.end())
      continue;
    if (after_ms && s.start_ms < *after_ms)
      continue;
    if (before_ms && s.start_ms > *before_ms)
      continue;
    selected.push_back(std::move(s));
  }
  if (query_bool(q, "ReverseOrder", false))
    std::reverse(selected.begin(), selected.end());
  auto max_items = query_int(q, "MaxItems", 0);
  if (max_items <= 0)
    max_items = 100;
  std::size_t start = 0;
  if (const auto marker = query_value(q, "Marker"); marker && !marker->empty()) {
    try {
      start = std::stoul(*marker);
    } catch (const std::exception&) {
      return error_response(invalid_parameter("Invalid marker"));
    }
  }
  json::array items;
  std::size_t i = start;
  for (; i < selected.size() && items.size() < static_cast<std::size_t>(max_items); ++i)
    items.push_back(summary_json(selected[i]));
  json::object out;
  out["DurableExecutions"] = std::move(items);
  if (i < selected.size())
    out["NextMarker"] = std::to_string(i);
  return ok(std::move(out));
}

HttpResponse Service::Impl::callback(const std::string& id, std::string_view action,
                                     std::string_view body) {
  if (id.size() > 1024)
    return error_response(validation_error(
        "1 validation error detected: Value at 'callbackId' failed to satisfy constraint: Member "
        "must have length less than or equal to 1024"));
  if (action == "succeed" && body.size() > k_max_callback_result)
    return error_response(validation_error(fmt::format(
        "1 validation error detected: Value at 'result' failed to satisfy constraint: Member "
        "must have length less than or equal to {}",
        k_max_callback_result)));
  ErrorObject error;
  if (action == "fail" && !body.empty()) {
    boost::system::error_code ec;
    const auto value = json::parse(body, ec);
    auto parsed = ec ? std::nullopt : error_from_json(value);
    if (!parsed)
      return error_response(ApiError{400, "InvalidRequestContentException",
                                     "Could not parse request body into json: the body is not "
                                     "an ErrorObject"});
    error = std::move(*parsed);
  }
  const auto arn = callback_execution(id);
  const auto missing = invalid_parameter(fmt::format("Callback {} does not exist", id));
  if (!arn)
    return error_response(missing);
  const auto apply = [&](Execution& exec, std::int64_t now) -> tl::expected<void, ApiError> {
    if (action == "succeed")
      return exec.callback_succeed(id, std::string(body), now);
    if (action == "fail")
      return exec.callback_fail(id, error, now);
    return exec.callback_heartbeat(id, now);
  };
  After after;
  std::unique_lock lock(mutex);
  auto it = entries.find(*arn);
  if (it == entries.end()) {
    // Nobody here runs it. A wisp serving its function resumes it; otherwise the change goes
    // to the store for whoever resumes it next.
    const auto parts = parse_execution_arn(*arn);
    auto loaded = parts ? store.load(parts->function_name, parts->name)
                        : support::Result<std::optional<Execution>>(std::nullopt);
    if (!loaded || !*loaded || (*loaded)->identity().arn != *arn)
      return error_response(missing);
    auto& execution = **loaded;
    if (execution.find_callback(id) == nullptr)
      return error_response(missing);
    const auto* fn = function(execution.identity().function_name);
    if (fn == nullptr || !execution.running()) {
      lock.unlock();
      return callback_in_store(store, id, action, body);
    }
    auto acquired = store.acquire(execution);
    if (!acquired || !*acquired)
      return error_response(service_error(
          fmt::format("Durable execution {} is run by another wisp that could not be reached",
                      execution.identity().name)));
    auto* entry = adopt(std::move(execution), fn);
    auto applied = apply(entry->exec, model_now(*entry));
    resume_entry(*this, *entry, after);
    if (!applied)
      return error_response(applied.error());
    return ok({});
  }
  auto& e = *it->second;
  if (e.exec.find_callback(id) == nullptr)
    return error_response(missing);
  if (auto applied = apply(e.exec, model_now(e)); !applied)
    return error_response(applied.error());
  persist(e);
  if (action != "heartbeat") {
    changed(e, after);
    invoke(e, after);
  }
  arm(e);
  return ok({});
}

// ------------------------------------------------------------------ facade

Service::Service(asio::io_context& io, runtime::Engine& engine, ServiceOptions options)
    : m_impl(std::make_shared<Impl>(io, engine, std::move(options))) {
  if (!m_impl->options.endpoint_url.empty())
    m_impl->server.publish(m_impl->store.root(), m_impl->options.endpoint_url);
  m_impl->store.purge_expired(wall_ms());
}

Service::~Service() {
  shutdown();
}

void Service::add_function(DurableFunction function) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->functions.push_back(std::make_unique<DurableFunction>(std::move(function)));
}

bool Service::is_durable(std::string_view function_id) const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->function(function_id) != nullptr;
}

tl::expected<Started, ApiError> Service::start(const StartRequest& request,
                                               std::function<void(const ExecutionOutcome&)> done) {
  return m_impl->start(request, std::move(done));
}

bool Service::owns_path(std::string_view raw_path) {
  return raw_path.starts_with("/2025-12-01/");
}

HttpResponse Service::handle(const HttpRequest& request) {
  const auto segments = path_segments(request.raw_path);
  const auto unknown = [] {
    return error_response(ApiError{404, "UnknownOperationException", "Unknown operation"});
  };
  if (segments.size() < 3 || segments[0] != "2025-12-01")
    return unknown();
  const auto join = [&](std::size_t from, std::size_t to) {
    std::string out;
    for (auto i = from; i < to; ++i) {
      if (i > from)
        out += '/';
      out += segments[i];
    }
    return out;
  };
  const auto& method = request.method;
  if (segments[1] == "durable-executions") {
    const auto& last = segments.back();
    const bool suffixed = segments.size() >= 4 && (last == "checkpoint" || last == "state" ||
                                                   last == "history" || last == "stop");
    const auto arn = join(2, suffixed ? segments.size() - 1 : segments.size());
    const std::string_view action = suffixed ? std::string_view(last) : std::string_view();
    if (!parse_execution_arn(arn))
      return error_response(validation_error(fmt::format(
          "1 validation error detected: Value '{}' at 'durableExecutionArn' failed to satisfy "
          "constraint: Member must satisfy regular expression pattern: "
          "arn:([a-zA-Z0-9-]+):lambda:([a-zA-Z0-9-]+):(\\d{{12}}):function:([a-zA-Z0-9_-]+):"
          "(\\$LATEST(?:\\.PUBLISHED)?|[0-9]+)/durable-execution/([a-zA-Z0-9_-]+)/"
          "([a-zA-Z0-9_-]+)",
          arn)));
    if (action == "checkpoint" && method == "POST")
      return m_impl->checkpoint(arn, request.body);
    if (action == "state" && method == "GET")
      return m_impl->state(arn, request.raw_query);
    if (action == "history" && method == "GET")
      return m_impl->history(arn, request.raw_query);
    if (action.empty() && method == "GET")
      return m_impl->get(arn);
    if (action == "stop" && method == "POST") {
      if (!is_forwarded(request.raw_query)) {
        std::optional<std::string> owner;
        {
          std::lock_guard lock(m_impl->mutex);
          if (!m_impl->entries.contains(arn)) {
            const auto parts = parse_execution_arn(arn);
            if (parts && m_impl->store.held_elsewhere(parts->function_name, parts->name))
              if (auto loaded = m_impl->store.load(parts->function_name, parts->name);
                  loaded && *loaded && (*loaded)->owner != m_impl->options.endpoint_url)
                owner = (*loaded)->owner;
          }
        }
        if (owner && !owner->empty())
          if (auto forwarded = forward(*owner, request))
            return std::move(*forwarded);
      }
      return m_impl->stop(arn, request.body);
    }
    return unknown();
  }
  if (segments[1] == "durable-execution-callbacks" && segments.size() >= 4 && method == "POST") {
    const auto& action = segments.back();
    if (action != "succeed" && action != "fail" && action != "heartbeat")
      return unknown();
    const auto id = join(2, segments.size() - 1);
    if (!is_forwarded(request.raw_query)) {
      std::optional<std::string> owner;
      if (const auto arn = callback_execution(id)) {
        std::lock_guard lock(m_impl->mutex);
        if (!m_impl->entries.contains(*arn)) {
          const auto parts = parse_execution_arn(*arn);
          if (parts && m_impl->store.held_elsewhere(parts->function_name, parts->name))
            if (auto loaded = m_impl->store.load(parts->function_name, parts->name);
                loaded && *loaded && (*loaded)->owner != m_impl->options.endpoint_url)
              owner = (*loaded)->owner;
        }
      }
      if (owner && !owner->empty())
        if (auto forwarded = forward(*owner, request))
          return std::move(*forwarded);
    }
    return m_impl->callback(id, action, request.body);
  }
  if (segments[1] == "functions" && segments.size() == 4 && segments[3] == "durable-executions" &&
      method == "GET")
    return m_impl->list(segments[2], request.raw_query);
  return unknown();
}

std::size_t Service::resume() {
  After after;
  std::lock_guard lock(m_impl->mutex);
  std::size_t resumed = 0;
  for (const auto& fn : m_impl->functions) {
    for (const auto& name : m_impl->store.orphaned(fn->name)) {
      auto loaded = m_impl->store.load(fn->name, name);
      if (!loaded || !*loaded || !(*loaded)->running() ||
          m_impl->entries.contains((*loaded)->identity().arn))
        continue;
      auto acquired = m_impl->store.acquire(**loaded);
      if (!acquired || !*acquired)
        continue;
      auto* entry = m_impl->adopt(std::move(**loaded), fn.get());
      resume_entry(*m_impl, *entry, after);
      ++resumed;
    }
  }
  return resumed;
}

void Service::shutdown() {
  std::lock_guard lock(m_impl->mutex);
  if (m_impl->stopped)
    return;
  m_impl->stopped = true;
  for (auto& [arn, entry] : m_impl->entries) {
    if (entry->timer)
      entry->timer->cancel();
    m_impl->persist(*entry);
    m_impl->store.release(entry->exec);
  }
  m_impl->store.sync();
}

std::vector<ExecutionSummary> Service::list(std::string_view function_name) const {
  return m_impl->store.list(function_name);
}

std::optional<Execution> Service::find(std::string_view arn) const {
  return m_impl->read(arn);
}

void Service::on_change(std::function<void(std::string_view arn)> callback) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->change_callback = std::move(callback);
}

std::vector<std::string> Service::awaited_callbacks(std::string_view arn) const {
  std::vector<std::string> out;
  std::lock_guard lock(m_impl->mutex);
  const auto it = m_impl->entries.find(arn);
  if (it == m_impl->entries.end() || !it->second->exec.running() || it->second->exec.invoking())
    return out;
  for (const auto& op : it->second->exec.operations())
    if (op.type == OpType::callback && op.status == OpStatus::started)
      out.push_back(op.callback_id);
  return out;
}

const Store& Service::store() const {
  return m_impl->store;
}

} // namespace wisp::durable
