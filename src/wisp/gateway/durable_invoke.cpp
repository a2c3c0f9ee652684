// `wisp local invoke` of a durable function (server.hpp: invoke_durable): a Host with the
// durable execution service and an Invoke API door on a loopback port, one execution run to
// its end, and on a terminal a prompt for the callbacks it waits on.

#include <wisp/durable/control.hpp>
#include <wisp/gateway/lambda_door.hpp>
#include <wisp/gateway/server.hpp>
#include <wisp/support/http.hpp>

#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include <poll.h>
#include <unistd.h>

namespace wisp::gateway {

namespace {

// Asks on the terminal what to do with a callback the execution waits on, the way SAM CLI's
// local invoke does: succeed, fail, heartbeat, stop the execution, or keep waiting (an answer
// may come from `wisp local callback` or the AWS CLI).
class CallbackPrompt {
public:
  CallbackPrompt(durable::Service& service, std::function<void(std::string_view)> say)
      : m_service(service), m_say(std::move(say)) {
    m_thread = std::thread([this] { run(); });
  }
  ~CallbackPrompt() {
    {
      std::lock_guard lock(m_mutex);
      m_done = true;
    }
    m_cv.notify_all();
    m_thread.join();
  }
  CallbackPrompt(const CallbackPrompt&) = delete;
  CallbackPrompt& operator=(const CallbackPrompt&) = delete;

  // The execution changed: prompt for callbacks it now waits on (once each).
  void changed(std::string_view arn) {
    const auto callbacks = m_service.awaited_callbacks(arn);
    if (callbacks.empty())
      return;
    std::lock_guard lock(m_mutex);
    m_arn = std::string(arn);
    for (const auto& id : callbacks)
      if (m_asked.insert(id).second)
        m_queue.push_back(id);
    m_cv.notify_all();
  }

private:
  // A line from stdin; nullopt when the prompt is over (or stdin closed).
  std::optional<std::string> read_line() {
    std::string line;
    while (true) {
      {
        std::lock_guard lock(m_mutex);
        if (m_done)
          return std::nullopt;
      }
      pollfd fd{STDIN_FILENO, POLLIN, 0};
      const int ready = ::poll(&fd, 1, 100);
      if (ready <= 0)
        continue;
      char c = 0;
      if (::read(STDIN_FILENO, &c, 1) != 1)
        return std::nullopt;
      if (c == '\n')
        return line;
      line.push_back(c);
    }
  }

  std::string ask(std::string_view question) {
    m_say(question);
    return read_line().value_or("");
  }

  void call(std::string method, std::string path, std::string body) {
    durable::HttpRequest request;
    request.method = method;
    request.raw_path = path;
    request.body = body;
    const auto answer = m_service.handle(request);
    if (answer.status >= 300)
      m_say(fmt::format("{}: {}\n", answer.error_type, answer.body));
  }

  void run() {
    while (true) {
      std::string id;
      std::string arn;
      {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [&] { return m_done || !m_queue.empty(); });
        if (m_done)
          return;
        id = m_queue.front();
        m_queue.pop_front();
        arn = m_arn;
      }
      const auto choice = ask(fmt::format(
          "\nThe execution waits for callback {}\n"
          "  [s] succeed  [f] fail  [h] heartbeat  [x] stop the execution  [Enter] keep waiting "
          "(answer with `wisp local callback` or the AWS CLI)\n> ",
          id));
      const auto callback_path =
          "/2025-12-01/durable-execution-callbacks/" + support::http::url_encode(id) + "/";
      if (choice == "s") {
        call("POST", callback_path + "succeed", ask("Result (sent as is): "));
      } else if (choice == "f") {
        durable::ErrorObject error;
        if (auto type = ask("Error type: "); !type.empty())
          error.type = type;
        if (auto message = ask("Error message: "); !message.empty())
          error.message = message;
        call("POST", callback_path + "fail", boost::json::serialize(durable::to_json(error)));
      } else if (choice == "h") {
        call("POST", callback_path + "heartbeat", {});
        std::lock_guard lock(m_mutex);
        m_queue.push_back(id); // still waiting: ask again
      } else if (choice == "x") {
        durable::ErrorObject error;
        error.message = "Execution stopped by user request";
        call("POST", "/2025-12-01/durable-executions/" + support::http::url_encode(arn) + "/stop",
             boost::json::serialize(durable::to_json(error)));
      }
    }
  }

  durable::Service& m_service;
  std::function<void(std::string_view)> m_say;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<std::string> m_queue;
  std::set<std::string> m_asked;
  std::string m_arn;
  bool m_done = false;
  std::thread m_thread;
};

} // namespace

support::Result<DurableInvokeResult> invoke_durable(const sam::Model& model,
                                                    const DurableInvokeOptions& options,
                                                    const ServeOutput& output) {
  const auto* fn = model.find_function(options.function);
  if (fn == nullptr)
    return support::failf("function '{}' is not in the template", options.function);
  if (!durable::durable_config(model, *fn))
    return support::failf("function '{}' has no DurableConfig: it is not a durable function",
                          fn->logical_id);
  ServeOutput quiet = output;
  quiet.ready = nullptr;
  Host host(options, quiet);
  StartLambdaOptions door_options;
  static_cast<ServeOptions&>(door_options) = options;
  auto door = std::make_unique<LambdaDoor>(host, model, door_options);
  WISP_TRY(door->listen("127.0.0.1", 0));
  host.enable_durable(model, fmt::format("http://127.0.0.1:{}", door->port()));
  // Every function, so the function may invoke the others through the Invoke API too.
  for (const auto& function : model.functions)
    WISP_TRY(door->add(function.logical_id));
  const auto& slot = host.function(model, fn->logical_id);
  if (!slot.ok)
    return support::failf("function {} cannot run locally: {}", fn->logical_id, slot.problem);

  std::unique_ptr<CallbackPrompt> prompt;
  if (options.prompt_callbacks) {
    prompt = std::make_unique<CallbackPrompt>(*host.durable, [](std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stderr);
      std::fflush(stderr);
    });
    host.durable->on_change([&prompt](std::string_view arn) { prompt->changed(arn); });
  }
  DurableInvokeResult result;
  std::mutex mutex;
  durable::StartRequest start;
  start.function_id = fn->logical_id;
  start.name = options.name;
  start.payload = options.event;
  auto started = host.durable->start(start, [&](const durable::ExecutionOutcome& outcome) {
    {
      std::lock_guard lock(mutex);
      result.finished = true;
      result.status = std::string(durable::to_string(outcome.status));
      result.body = outcome.status == durable::ExecutionStatus::succeeded
                        ? outcome.result.value_or("null")
                        : outcome.error_payload();
    }
    host.stop();
  });
  if (!started) {
    const auto& error = started.error();
    return support::failf("{}: {}", error.type, error.message);
  }
  result.arn = started->arn;
  result.attached = started->attached;
  bool closed_already = false;
  {
    std::lock_guard lock(mutex);
    closed_already = result.finished; // attached to a closed execution: nothing to run
  }
  std::vector<std::unique_ptr<Door>> doors;
  doors.push_back(std::move(door));
  if (!closed_already)
    host.run(doors);
  if (prompt) {
    host.durable->on_change({});
    prompt.reset();
  }
  std::lock_guard lock(mutex);
  if (!result.finished)
    result.signal = host.stop_signal.load();
  return result;
}

} // namespace wisp::gateway
