// `local start-api` and `local start-lambda`: one Host (host.hpp) and the doors
// that serve the template on it (api_door.hpp, lambda_door.hpp).

#include <wisp/gateway/api_door.hpp>
#include <wisp/gateway/lambda_door.hpp>
#include <wisp/gateway/server.hpp>

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

// The template's APIs as API Gateway doors on `host`: listening doors go to `doors`, doors
// that share a port with another to `shared` (reached through the listening one). Prints what
// is served where.
support::Status add_api_doors(Host& host, const sam::Model& model, const StartApiOptions& options,
                              std::vector<std::unique_ptr<Door>>& doors,
                              std::vector<std::unique_ptr<Door>>& shared) {
  std::vector<const sam::Api*> apis;
  for (const auto& api : model.apis) {
    const bool routed = std::any_of(model.routes.begin(), model.routes.end(), [&](const auto& r) {
      return r.api_logical_id == api.logical_id;
    });
    if (routed)
      apis.push_back(&api);
  }
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
  return {};
}

// The Invoke API door for `options.functions` (all when empty), listening on options.port.
support::Status add_lambda_door(Host& host, const sam::Model& model,
                                const StartLambdaOptions& options,
                                std::vector<std::unique_ptr<Door>>& doors) {
  auto door = std::make_unique<LambdaDoor>(host, model, options);
  if (options.functions.empty()) {
    for (const auto& fn : model.functions)
      WISP_TRY(door->add(fn.logical_id));
  } else {
    for (const auto& id : options.functions)
      WISP_TRY(door->add(id));
  }
  if (door->slots().empty())
    return support::fail("the template has no functions to serve");
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
  if (std::none_of(model.apis.begin(), model.apis.end(), [&](const sam::Api& api) {
        return std::any_of(model.routes.begin(), model.routes.end(),
                           [&](const auto& r) { return r.api_logical_id == api.logical_id; });
      }))
    return support::fail("the template has no Api or HttpApi events to serve; "
                         "`wisp local invoke` "
                         "runs functions without an API");
  Host host(options, output);
  std::vector<std::unique_ptr<Door>> doors;
  std::vector<std::unique_ptr<Door>> shared_doors; // reached through a listening door
  WISP_TRY(add_api_doors(host, model, options, doors, shared_doors));
  host.run(doors);
  return {};
}

support::Status serve_lambda(const sam::Model& model, const StartLambdaOptions& options,
                             const ServeOutput& output) {
  Host host(options, output);
  std::vector<std::unique_ptr<Door>> doors;
  WISP_TRY(add_lambda_door(host, model, options, doors));
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
  WISP_TRY(add_api_doors(host, model, options, doors, shared_doors));
  StartLambdaOptions lambda_options;
  static_cast<ServeOptions&>(lambda_options) = options;
  lambda_options.port = options.lambda_port;
  WISP_TRY(add_lambda_door(host, model, lambda_options, doors));
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
