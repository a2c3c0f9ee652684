// `local start-api` and `local start-lambda`: one Host (host.hpp) and the doors
// that serve the template on it (api_door.hpp, lambda_door.hpp).

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

} // namespace

support::Status serve_api(const sam::Model& model, const StartApiOptions& options,
                          const ServeOutput& output) {
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
  std::vector<const sam::Api*> apis;
  for (const auto& api : model.apis) {
    const bool routed = std::any_of(model.routes.begin(), model.routes.end(), [&](const auto& r) {
      return r.api_logical_id == api.logical_id;
    });
    if (routed)
      apis.push_back(&api);
  }
  std::vector<std::string> url_warnings;
  const bool has_urls = !function_urls(model, url_warnings).empty();
  if (apis.empty() && !has_urls)
    return support::fail("the template has no Api or HttpApi events and no function URLs to "
                         "serve; `wisp local invoke` runs functions without an API");
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
  for (auto& door : api_doors) {
    // Only the first door of each group listens; the others are reached through
    // it.
    const bool listens = std::any_of(groups.begin(), groups.end(), [&](const auto& group) {
      return group.front() == door.get();
    });
    if (listens)
      doors.push_back(std::move(door));
    else
      shared_doors.push_back(std::move(door));
  }
  if (!static_dir.empty() && !doors.empty())
    host.info(fmt::format("Static files from {} on http://{}:{}", static_dir.string(), options.host,
                          doors.front()->port()));
  // Function URLs: each on its own port, after the API ports.
  WISP_TRY(add_function_url_doors(host, model, options, next_port, doors));
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
  auto door = std::make_unique<LambdaDoor>(host, model, options);
  // Durable functions' SDKs reach the durable execution service on this same port, so it
  // listens before the functions (their environment names it) are registered.
  const bool durable = has_durable_functions(model);
  if (durable) {
    WISP_TRY(door->listen(options.host, options.port));
    host.enable_durable(model, local_url(options.host, door->port()));
  }
  if (options.functions.empty()) {
    for (const auto& fn : model.functions)
      WISP_TRY(door->add(fn.logical_id));
  } else {
    for (const auto& id : options.functions)
      WISP_TRY(door->add(id));
  }
  if (door->slots().empty())
    return support::fail("the template has no functions to serve");
  if (!durable)
    WISP_TRY(door->listen(options.host, options.port));
  host.info(fmt::format("Lambda Invoke API: http://{}:{}", options.host, door->port()));
  for (const auto* slot : door->slots())
    host.info(
        fmt::format("  {}{}", slot->id, slot->ok ? "" : " (cannot run: " + slot->problem + ")"));
  std::vector<std::unique_ptr<Door>> doors;
  doors.push_back(std::move(door));
  host.run(doors);
  return {};
}

} // namespace wisp::gateway
