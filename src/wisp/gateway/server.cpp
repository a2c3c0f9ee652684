// `local start-api`, `local start-lambda` and `local start`: one Host (host.hpp) and the doors
// that serve the template on it (api_door.hpp, lambda_door.hpp, url_door.hpp).

#include <wisp/durable/service.hpp>
#include <wisp/gateway/api_door.hpp>
#include <wisp/gateway/lambda_door.hpp>
#include <wisp/gateway/server.hpp>
#include <wisp/gateway/url_door.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <vector>

namespace wisp::gateway {

namespace fs = std::filesystem;

namespace {

std::string route_line(const sam::Route& route) {
  return fmt::format("  {:<7} {:<32} {}", route.method, route.path, route.function_logical_id);
}

bool has_durable_functions(const sam::Model& model) {
  return std::any_of(model.functions.begin(), model.functions.end(),
                     [&](const sam::Function& fn) { return durable::durable_config(model, fn); });
}

// Where a door's listener is reached from this machine (functions' SDKs included).
std::string local_url(const std::string& host, int port) {
  const bool any = host == "0.0.0.0" || host == "::" || host.empty();
  return fmt::format("http://{}:{}", any ? "127.0.0.1" : host, port);
}

std::vector<const sam::Api*> routed_apis(const sam::Model& model) {
  std::vector<const sam::Api*> apis;
  for (const auto& api : model.apis) {
    const bool routed = std::any_of(model.routes.begin(), model.routes.end(), [&](const auto& r) {
      return r.api_logical_id == api.logical_id;
    });
    if (routed)
      apis.push_back(&api);
  }
  return apis;
}

// The template's APIs as API Gateway doors on `host` from `next_port` on (left at the next
// free one), then its function URLs, each on a port of its own: listening doors go to `doors`,
// doors that share a port with another to `shared` (reached through the listening one).
// `reserved_port` (`local start`'s Invoke API) is passed over. Prints what is served where.
support::Status add_api_doors(Host& host, const sam::Model& model, const StartApiOptions& options,
                              std::vector<std::unique_ptr<Door>>& doors,
                              std::vector<std::unique_ptr<Door>>& shared, int reserved_port = -1) {
  const auto apis = routed_apis(model);
  int next_port = options.port;
  bool static_taken = false;
  fs::path static_dir;
  if (!options.static_dir.empty()) {
    std::error_code ec;
    if (fs::is_directory(options.static_dir, ec))
      static_dir = fs::canonical(options.static_dir, ec);
  }
  // APIs whose routes overlap none of another's share its port (as SAM CLI
  // serves every route on one port); the others get the following ports.
  std::vector<std::unique_ptr<ApiDoor>> api_doors;
  for (const auto* api : apis) {
    std::vector<const sam::Route*> routes;
    for (const auto& route : model.routes)
      if (route.api_logical_id == api->logical_id)
        routes.push_back(&route);
    StartApiOptions door_options = options;
    door_options.static_dir = static_taken ? fs::path() : static_dir;
    static_taken = true;
    api_doors.push_back(std::make_unique<ApiDoor>(host, model, *api, door_options, routes));
  }
  std::vector<std::vector<ApiDoor*>> groups;
  for (auto& door : api_doors) {
    bool placed = false;
    for (auto& group : groups) {
      const bool clash = std::any_of(group.begin(), group.end(), [&](const ApiDoor* member) {
        return member->overlaps(*door);
      });
      if (!clash) {
        group.front()->share_port(*door);
        group.push_back(door.get());
        placed = true;
        break;
      }
    }
    if (!placed)
      groups.push_back({door.get()});
  }
  for (auto& group : groups) {
    if (next_port != 0 && next_port == reserved_port)
      ++next_port;
    WISP_TRY(group.front()->listen(options.host, next_port));
    if (next_port != 0)
      ++next_port;
    for (auto* door : group) {
      const auto& info = door->info();
      host.info(fmt::format("{} ({} API, stage {}): http://{}:{}", door->api().logical_id,
                            info.http_api ? "HTTP" : "REST", info.stage, options.host,
                            group.front()->port()));
      for (const auto& slot : door->routes())
        host.info(route_line(slot.route));
    }
  }
  const std::size_t listening = doors.size();
  for (auto& door : api_doors) {
    // Only the first door of each group listens; the others are reached through
    // it.
    const bool listens = std::any_of(groups.begin(), groups.end(), [&](const auto& group) {
      return group.front() == door.get();
    });
    if (listens)
      doors.push_back(std::move(door));
    else
      shared.push_back(std::move(door));
  }
  if (!static_dir.empty() && doors.size() > listening)
    host.info(fmt::format("Static files from {} on http://{}:{}", static_dir.string(), options.host,
                          doors[listening]->port()));
  // Function URLs: each on its own port, after the API ports.
  WISP_TRY(add_function_url_doors(host, model, options, next_port, doors, reserved_port));
  return {};
}

// The Invoke API door. Durable functions' SDKs reach the durable execution service on this
// same port, so with durable functions it listens, and the host serves them, before any
// function is registered (their environment names the port): call before the other doors.
support::Result<std::unique_ptr<LambdaDoor>> open_lambda_door(Host& host, const sam::Model& model,
                                                              const StartLambdaOptions& options) {
  auto door = std::make_unique<LambdaDoor>(host, model, options);
  if (has_durable_functions(model)) {
    WISP_TRY(door->listen(options.host, options.port));
    host.enable_durable(model, local_url(options.host, door->port()));
  }
  return door;
}

// Serves `options.functions` (all when empty) on the Invoke API door, listening on
// options.port, and adds it to `doors`.
support::Status add_lambda_door(Host& host, const sam::Model& model,
                                const StartLambdaOptions& options, std::unique_ptr<LambdaDoor> door,
                                std::vector<std::unique_ptr<Door>>& doors) {
  if (options.functions.empty()) {
    for (const auto& fn : model.functions)
      WISP_TRY(door->add(fn.logical_id));
  } else {
    for (const auto& id : options.functions)
      WISP_TRY(door->add(id));
  }
  if (door->slots().empty())
    return support::fail("the template has no functions to serve");
  if (!host.durable)
    WISP_TRY(door->listen(options.host, options.port));
  host.info(fmt::format("Lambda Invoke API: http://{}:{}", options.host, door->port()));
  for (const auto* slot : door->slots())
    host.info(
        fmt::format("  {}{}", slot->id, slot->ok ? "" : " (cannot run: " + slot->problem + ")"));
  doors.push_back(std::move(door));
  return {};
}

} // namespace

support::Status serve_api(const sam::Model& model, const StartApiOptions& options,
                          const ServeOutput& output) {
  std::vector<std::string> url_warnings;
  if (routed_apis(model).empty() && function_urls(model, url_warnings).empty())
    return support::fail("the template has no Api or HttpApi events and no function URLs to "
                         "serve; `wisp local invoke` runs functions without an API");
  Host host(options, output);
  std::vector<std::unique_ptr<Door>> doors;
  std::vector<std::unique_ptr<Door>> shared_doors; // reached through a listening door
  // Durable functions' SDKs reach the durable execution service on a loopback door of its own.
  StartLambdaOptions durable_options;
  static_cast<ServeOptions&>(durable_options) = options;
  std::unique_ptr<LambdaDoor> durable_door;
  if (has_durable_functions(model)) {
    durable_door = std::make_unique<LambdaDoor>(host, model, durable_options);
    WISP_TRY(durable_door->listen("127.0.0.1", 0));
    host.enable_durable(model, local_url("127.0.0.1", durable_door->port()));
  }
  WISP_TRY(add_api_doors(host, model, options, doors, shared_doors));
  if (durable_door) {
    host.info(
        fmt::format("Durable execution API: {}", local_url("127.0.0.1", durable_door->port())));
    doors.push_back(std::move(durable_door));
  }
  host.run(doors);
  return {};
}

support::Status serve_lambda(const sam::Model& model, const StartLambdaOptions& options,
                             const ServeOutput& output) {
  Host host(options, output);
  std::vector<std::unique_ptr<Door>> doors;
  auto door = open_lambda_door(host, model, options);
  if (!door)
    return tl::unexpected(door.error());
  WISP_TRY(add_lambda_door(host, model, options, std::move(*door), doors));
  host.run(doors);
  return {};
}

support::Status serve_start(const sam::Model& model, const StartOptions& options,
                            const ServeOutput& output, std::vector<Attachment> attachments) {
  if (model.functions.empty())
    return support::fail("the template has no functions to serve");
  Host host(options, output);
  std::vector<std::unique_ptr<Door>> doors;
  std::vector<std::unique_ptr<Door>> shared_doors;
  StartLambdaOptions lambda_options;
  static_cast<ServeOptions&>(lambda_options) = options;
  lambda_options.port = options.lambda_port;
  auto lambda_door = open_lambda_door(host, model, lambda_options);
  if (!lambda_door)
    return tl::unexpected(lambda_door.error());
  WISP_TRY(add_api_doors(host, model, options, doors, shared_doors, lambda_options.port));
  WISP_TRY(add_lambda_door(host, model, lambda_options, std::move(*lambda_door), doors));
  const auto log = [&host](std::string_view line) { host.log.line(line); };
  for (auto& attachment : attachments) {
    for (const auto& id : attachment.functions)
      host.function(model, id);
    if (attachment.attach)
      WISP_TRY(attachment.attach(*host.engine, log));
    if (attachment.describe) {
      const auto lines = attachment.describe();
      if (!lines.empty() && !attachment.title.empty())
        host.info(attachment.title + ":");
      for (const auto& line : lines)
        host.info(line);
    }
  }
  RunHooks hooks;
  hooks.started = [&] {
    for (auto& attachment : attachments)
      if (attachment.start)
        attachment.start();
  };
  hooks.stopping = [&] {
    for (auto& attachment : attachments)
      if (attachment.stop)
        attachment.stop();
  };
  hooks.stopped = [&] {
    for (auto& attachment : attachments)
      if (attachment.join)
        attachment.join();
  };
  host.run(doors, hooks);
  return {};
}

} // namespace wisp::gateway
