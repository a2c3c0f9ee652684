// wisp_durable_probe serves the durable execution service (src/wisp/durable) and a minimal
// Lambda Invoke API for a template's durable functions on 127.0.0.1, so tests and benchmarks
// can drive the real SDKs against the service itself:
//
//   wisp_durable_probe -t template.yaml [--port P] [--time-scale N] [--skip-waits]
//
// Prints "READY <port>" once it listens; SIGTERM/SIGINT stop it. POST
// /2015-03-31/functions/<fn>/invocations starts an execution (X-Amz-Durable-Execution-Name,
// X-Amz-Invocation-Type: Event → 202), waiting for its end otherwise.

#include <wisp/durable/service.hpp>
#include <wisp/runtime/engine.hpp>
#include <wisp/runtime/function.hpp>
#include <wisp/template/load.hpp>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace wisp;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Session : std::enable_shared_from_this<Session> {
  Session(tcp::socket socket, durable::Service& owner)
      : stream(std::move(socket)), service(owner) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::optional<http::request_parser<http::string_body>> parser;
  http::request<http::string_body> request;
  durable::Service& service;

  void read() {
    parser.emplace();
    parser->body_limit(16u * 1024 * 1024);
    http::async_read(stream, buffer, *parser,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec)
                         return;
                       self->request = self->parser->release();
                       self->handle();
                     });
  }

  void reply(int status, std::string body, std::string_view error_type,
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto response = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(status), request.version());
    response->set(http::field::content_type, "application/json");
    if (!error_type.empty())
      response->set("x-amzn-ErrorType", error_type);
    for (const auto& [k, v] : headers)
      response->set(k, v);
    response->keep_alive(request.keep_alive());
    response->body() = std::move(body);
    response->prepare_payload();
    http::async_write(stream, *response,
                      [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
                        if (!ec && response->keep_alive())
                          self->read();
                      });
  }

  void handle() {
    const std::string target(request.target());
    const auto q = target.find('?');
    const std::string path = target.substr(0, q);
    const std::string query = q == std::string::npos ? std::string() : target.substr(q + 1);
    if (durable::Service::owns_path(path)) {
      durable::HttpRequest r;
      r.method = std::string_view(request.method_string().data(), request.method_string().size());
      r.raw_path = path;
      r.raw_query = query;
      r.body = request.body();
      auto response = service.handle(r);
      reply(response.status, std::move(response.body), response.error_type);
      return;
    }
    const std::string prefix = "/2015-03-31/functions/";
    if (path.starts_with(prefix) && path.ends_with("/invocations")) {
      const auto fn = path.substr(prefix.size(), path.size() - prefix.size() - 12);
      durable::StartRequest start;
      start.function_id = fn;
      start.name = std::string(request["X-Amz-Durable-Execution-Name"]);
      start.payload = request.body().empty() ? "{}" : request.body();
      const bool event = request["X-Amz-Invocation-Type"] == "Event";
      auto self = shared_from_this();
      auto started = service.start(
          start, event ? std::function<void(const durable::ExecutionOutcome&)>()
                       : [self](const durable::ExecutionOutcome& outcome) {
                           asio::post(self->stream.get_executor(), [self, outcome] {
                             std::vector<std::pair<std::string, std::string>> headers{
                                 {"X-Amz-Durable-Execution-Arn", outcome.arn},
                                 {"X-Amz-Executed-Version", "$LATEST"}};
                             if (outcome.status == durable::ExecutionStatus::succeeded) {
                               self->reply(200, outcome.result.value_or("null"), {}, headers);
                             } else {
                               headers.emplace_back("X-Amz-Function-Error", "Unhandled");
                               self->reply(200, outcome.error_payload(), {}, headers);
                             }
                           });
                         });
      if (!started) {
        reply(started.error().status, started.error().body(), started.error().type);
        return;
      }
      if (event)
        reply(202, "", {}, {{"X-Amz-Durable-Execution-Arn", started->arn}});
      return;
    }
    reply(404, R"({"Type":"User","Message":"Unknown operation"})", "UnknownOperationException");
  }
};

void accept(tcp::acceptor& acceptor, durable::Service& service) {
  acceptor.async_accept(asio::make_strand(acceptor.get_executor()),
                        [&acceptor, &service](beast::error_code ec, tcp::socket socket) {
                          if (ec)
                            return;
                          socket.set_option(tcp::no_delay(true));
                          std::make_shared<Session>(std::move(socket), service)->read();
                          accept(acceptor, service);
                        });
}

} // namespace

int main(int argc, char** argv) {
  std::string template_path = "template.yaml";
  int port = 0;
  durable::ServiceOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--skip-waits") {
      options.skip_waits = true;
      continue;
    }
    if (i + 1 >= argc)
      break;
    const std::string value = argv[++i];
    if (flag == "-t")
      template_path = value;
    else if (flag == "--port")
      port = std::stoi(value);
    else if (flag == "--time-scale")
      options.time_scale = std::stod(value);
    else if (flag == "--retry-ms")
      options.invocation_retry_ms = std::stoll(value);
  }
  sam::LoadOptions load;
  load.template_path = template_path;
  auto model = sam::load_model(load);
  if (!model) {
    std::fprintf(stderr, "%s\n", model.error().message.c_str());
    return 1;
  }
  asio::io_context io(2);
  tcp::acceptor acceptor(
      io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  const auto bound = acceptor.local_endpoint().port();
  const auto url = "http://127.0.0.1:" + std::to_string(bound);
  runtime::EngineOptions engine_options;
  engine_options.on_log = [](const runtime::LogLine& line) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.text.size()), line.text.data());
  };
  engine_options.log_store_dir = model->base_dir / ".wisp" / "logs";
  runtime::Engine engine(io, engine_options);
  options.store_dir = durable::Store::default_root(model->base_dir);
  options.endpoint_url = url;
  options.log = [](std::string_view line) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  };
  options.warning = options.log;
  durable::Service service(io, engine, options);
  for (const auto& fn : model->functions) {
    const auto config = durable::durable_config(*model, fn);
    if (!config)
      continue;
    std::vector<std::string> warnings;
    auto fc = runtime::make_function_config(*model, fn, nullptr, warnings);
    if (!fc) {
      std::fprintf(stderr, "%s\n", fc.error().message.c_str());
      return 1;
    }
    for (auto& kv : durable::function_environment(url))
      fc->env_overrides.push_back(kv);
    const auto name = fc->name;
    auto handle = engine.add_function(std::move(*fc));
    if (!handle) {
      std::fprintf(stderr, "%s\n", handle.error().message.c_str());
      return 1;
    }
    service.add_function({fn.logical_id, name, *handle, "$LATEST", *config});
  }
  const auto resumed = service.resume();
  accept(acceptor, service);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) {
    service.shutdown();
    engine.stop();
    acceptor.close();
    io.stop();
  });
  std::printf("READY %u %zu\n", bound, resumed);
  std::fflush(stdout);
  std::thread second([&] { io.run(); });
  io.run();
  second.join();
  return 0;
}
