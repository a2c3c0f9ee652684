// deploy status, promote, rollback and delete: they work from the state recorded in the
// bucket and the live backend, never from the template.

#include <wisp/deploy/deploy.hpp>

#include <wisp/aws/s3.hpp>
#include <wisp/deploy/engine.hpp>
#include <wisp/deploy/naming.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace wisp::deploy {

namespace json = boost::json;

support::Result<Location> resolve_location(const Target& target, const std::string& account,
                                           const std::string& region) {
  Location location;
  location.bucket = target.bucket;
  if (location.bucket.empty()) {
    if (!target.resolve_s3)
      return support::fail("no bucket for artifacts and state: pass --s3-bucket BUCKET or "
                           "--resolve-s3",
                           support::ExitCode::usage);
    location.bucket = managed_bucket_name(account, region);
  }
  if (!aws::s3::valid_bucket_name(location.bucket))
    return support::failf("invalid bucket name '{}'", location.bucket);
  location.prefix = target.prefix.empty() ? target.stack : target.prefix;
  while (!location.prefix.empty() && location.prefix.back() == '/')
    location.prefix.pop_back();
  return location;
}

namespace {

struct Loaded {
  Location location;
  std::string account;
  Versioned<AppState> app;
  std::string stage; // resolved
  std::optional<Versioned<StageState>> stage_state;
};

support::Result<Loaded> load(const Backend& backend, const Target& target, bool need_stage) {
  WISP_TRY(validate_stack_name(target.stack));
  Loaded loaded;
  WISP_TRY_ASSIGN(loaded.account, backend.account_id());
  WISP_TRY_ASSIGN(loaded.location,
                  resolve_location(target, loaded.account, backend.client().region()));
  WISP_TRY_ASSIGN(auto app, load_app_state(backend.client(), loaded.location));
  if (!app)
    return support::failf("nothing is deployed for {} in s3://{}/{}", target.stack,
                          loaded.location.bucket, loaded.location.prefix);
  loaded.app = std::move(*app);
  loaded.stage = target.stage;
  if (loaded.stage.empty() && need_stage) {
    const auto& stages = loaded.app.value.stages;
    if (stages.size() != 1)
      return support::fail(fmt::format("pass --stage: {} has {} stages ({})", target.stack,
                                       stages.size(), support::join(stages, ", ")),
                           support::ExitCode::usage);
    loaded.stage = stages.front();
  }
  if (!loaded.stage.empty()) {
    WISP_TRY(validate_stage_name(loaded.stage));
    WISP_TRY_ASSIGN(loaded.stage_state,
                    load_stage_state(backend.client(), loaded.location, loaded.stage));
    if (!loaded.stage_state && need_stage)
      return support::failf("stage {} of {} is not deployed (stages: {})", loaded.stage,
                            target.stack, support::join(loaded.app.value.stages, ", "));
  }
  return loaded;
}

support::Result<std::unique_ptr<Lock>> lock_stage(const Backend& backend, const Loaded& loaded,
                                                  const Target& target,
                                                  const std::string& command) {
  Lock::Options options;
  options.command = command;
  options.break_lock = target.break_lock;
  return Lock::acquire(backend.shared_client(), loaded.location.bucket,
                       loaded.location.stage_lock_key(loaded.stage),
                       fmt::format("stage {} of {}", loaded.stage, target.stack), options);
}

DeployResult result_of(const StageState& stage, std::string status, std::string message) {
  DeployResult result;
  result.status = std::move(status);
  result.message = std::move(message);
  for (const auto& [id, record] : stage.functions)
    result.versions[id] = record.version;
  for (const auto& [id, api] : stage.apis)
    result.endpoints.push_back({id, api.kind, api.stage, api.url});
  return result;
}

void add_history(StageState& stage, const std::string& status, const std::string& message) {
  HistoryEntry entry;
  entry.id = stage.history.empty() ? 1 : stage.history.back().id + 1;
  entry.time = now_iso8601();
  entry.status = status;
  entry.message = message;
  for (const auto& [id, record] : stage.functions)
    entry.versions[id] = record.version;
  stage.history.push_back(std::move(entry));
  stage.updated = entry.time;
}

} // namespace

support::Result<StageStatus> stage_status(std::shared_ptr<const aws::Client> client,
                                          const Target& target) {
  Backend backend(client);
  WISP_TRY_ASSIGN(auto loaded, load(backend, target, true));
  const auto& stage = loaded.stage_state->value;
  StageStatus status;
  status.stack = target.stack;
  status.stage = loaded.stage;
  status.status = stage.status;
  status.updated = stage.updated;
  status.git_commit = stage.git_commit;
  status.stages = loaded.app.value.stages;
  for (const auto& [id, record] : stage.functions) {
    FunctionStatus f;
    f.logical_id = id;
    f.name = record.name;
    f.alias = record.alias;
    f.recorded_version = record.version;
    f.previous_version = record.previous_version;
    auto alias = backend.get_alias(record.name, record.alias);
    if (!alias)
      return tl::unexpected<support::Error>(alias.error());
    if (*alias) {
      f.version = (*alias)->version;
      f.weights = (*alias)->weights;
    }
    status.functions.push_back(std::move(f));
  }
  for (const auto& [id, api] : stage.apis)
    status.endpoints.push_back({id, api.kind, api.stage, api.url});
  for (const auto& entry : stage.history) {
    json::object versions;
    for (const auto& [k, v] : entry.versions)
      versions[k] = v;
    status.history.push_back(json::object{{"id", entry.id},
                                          {"time", entry.time},
                                          {"status", entry.status},
                                          {"git_commit", entry.git_commit},
                                          {"message", entry.message},
                                          {"versions", std::move(versions)}});
  }
  auto lock = aws::s3::get_object(*client, loaded.location.bucket,
                                  loaded.location.stage_lock_key(loaded.stage));
  if (lock && *lock) {
    boost::system::error_code ec;
    const auto value = json::parse((*lock)->body, ec);
    if (!ec && value.is_object()) {
      status.locked = true;
      const auto* owner = value.as_object().if_contains("owner");
      const auto* command = value.as_object().if_contains("command");
      status.lock_owner = fmt::format(
          "{} ({})", owner != nullptr && owner->is_string() ? owner->as_string().c_str() : "?",
          command != nullptr && command->is_string() ? command->as_string().c_str() : "?");
    }
  }
  return status;
}

json::object status_to_json(const StageStatus& status) {
  json::array functions;
  for (const auto& f : status.functions) {
    json::object weights;
    for (const auto& [v, w] : f.weights)
      weights[v] = w;
    functions.push_back(json::object{{"logical_id", f.logical_id},
                                     {"name", f.name},
                                     {"alias", f.alias},
                                     {"version", f.version},
                                     {"weights", std::move(weights)},
                                     {"recorded_version", f.recorded_version},
                                     {"previous_version", f.previous_version}});
  }
  json::array endpoints;
  for (const auto& e : status.endpoints)
    endpoints.push_back(
        json::object{{"api", e.api}, {"kind", e.kind}, {"stage", e.stage}, {"url", e.url}});
  json::array stages;
  for (const auto& s : status.stages)
    stages.emplace_back(s);
  return {{"stack", status.stack},
          {"stage", status.stage},
          {"status", status.status},
          {"updated", status.updated},
          {"git_commit", status.git_commit},
          {"locked", status.locked},
          {"lock_owner", status.lock_owner},
          {"functions", std::move(functions)},
          {"endpoints", std::move(endpoints)},
          {"stages", std::move(stages)},
          {"history", status.history}};
}

support::Result<DeployResult> promote(std::shared_ptr<const aws::Client> client,
                                      const StageOptions& options, Reporter& reporter) {
  Backend backend(client);
  Log log(reporter);
  WISP_TRY_ASSIGN(auto loaded, load(backend, options.target, true));
  WISP_TRY_ASSIGN(auto lock, lock_stage(backend, loaded, options.target, "promote"));
  // Read again under the lock.
  WISP_TRY_ASSIGN(auto fresh, load_stage_state(*client, loaded.location, loaded.stage));
  if (!fresh)
    return support::failf("stage {} vanished", loaded.stage);
  auto stage = fresh->value;
  std::vector<std::string> promoted;
  for (auto& [id, record] : stage.functions) {
    auto alias = backend.get_alias(record.name, record.alias);
    if (!alias)
      return tl::unexpected<support::Error>(alias.error());
    std::string to;
    std::string from = *alias ? (*alias)->version : std::string();
    if (auto it = stage.shift.find(id); it != stage.shift.end()) {
      to = it->second.to;
      from = it->second.from;
    } else if (*alias && !(*alias)->weights.empty()) {
      to = (*alias)->weights.begin()->first;
    }
    if (to.empty() || (*alias && (*alias)->version == to && (*alias)->weights.empty()))
      continue;
    WISP_TRY(set_alias(backend, record.name, record.alias, to, {}));
    log.step(fmt::format("{}:{} → version {} (100%)", record.name, record.alias, to));
    record.previous_version = from;
    record.version = to;
    promoted.push_back(id);
  }
  for (const auto& [id, api] : stage.apis)
    if (api.kind == "rest" && !api.id.empty())
      WISP_TRY(promote_api_canary(backend, api.id, api.stage, log));
  if (promoted.empty() && stage.shift.empty()) {
    WISP_TRY(lock->release());
    auto result = result_of(stage, "deployed", "nothing to promote: no shift is unfinished");
    result.warnings = log.warnings();
    return result;
  }
  stage.shift.clear();
  stage.status = "deployed";
  add_history(stage, "promoted", fmt::format("promoted {}", support::join(promoted, ", ")));
  WISP_TRY(save_stage_state(*client, loaded.location, stage, fresh->etag));
  WISP_TRY(lock->release());
  auto result = result_of(stage, "deployed", {});
  result.warnings = log.warnings();
  return result;
}

support::Result<DeployResult> rollback(std::shared_ptr<const aws::Client> client,
                                       const RollbackOptions& options, Reporter& reporter) {
  Backend backend(client);
  Log log(reporter);
  const auto& target = options.stage.target;
  WISP_TRY_ASSIGN(auto loaded, load(backend, target, true));
  WISP_TRY_ASSIGN(auto lock, lock_stage(backend, loaded, target, "rollback"));
  WISP_TRY_ASSIGN(auto fresh, load_stage_state(*client, loaded.location, loaded.stage));
  if (!fresh)
    return support::failf("stage {} vanished", loaded.stage);
  auto stage = fresh->value;

  std::map<std::string, std::string> targets; // logical id → version
  if (!options.to_version.empty()) {
    std::string function = options.function;
    if (function.empty()) {
      if (stage.functions.size() != 1) {
        std::vector<std::string> ids;
        for (const auto& [id, r] : stage.functions)
          ids.push_back(id);
        return support::fail(fmt::format("pass --function with --to: stage {} has {} functions "
                                         "({})",
                                         loaded.stage, ids.size(), support::join(ids, ", ")),
                             support::ExitCode::usage);
      }
      function = stage.functions.begin()->first;
    }
    auto it = stage.functions.find(function);
    if (it == stage.functions.end())
      return support::failf("stage {} has no function {}", loaded.stage, function);
    const auto& version = options.to_version;
    if (version.empty() ||
        !std::all_of(version.begin(), version.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return support::fail(fmt::format("--to takes a version number, not '{}'", version),
                           support::ExitCode::usage);
    auto exists = backend.get_function(it->second.name, version);
    if (!exists)
      return tl::unexpected<support::Error>(exists.error());
    if (!*exists)
      return support::failf("{} has no version {}", it->second.name, version);
    targets[function] = version;
  } else {
    for (const auto& [id, record] : stage.functions) {
      auto alias = backend.get_alias(record.name, record.alias);
      if (!alias)
        return tl::unexpected<support::Error>(alias.error());
      if (auto it = stage.shift.find(id); it != stage.shift.end())
        targets[id] = it->second.from;
      else if (*alias && !(*alias)->weights.empty())
        targets[id] = (*alias)->version; // the primary is the old version
      else if (!record.previous_version.empty())
        targets[id] = record.previous_version;
      else
        log.warning(fmt::format("{}: no earlier version on record; left at version {}", id,
                                record.version));
    }
  }
  std::vector<std::string> rolled;
  for (const auto& [id, version] : targets) {
    auto& record = stage.functions[id];
    WISP_TRY(set_alias(backend, record.name, record.alias, version, {}));
    log.step(fmt::format("{}:{} → version {}", record.name, record.alias, version));
    if (record.version != version)
      record.previous_version = record.version;
    record.version = version;
    rolled.push_back(fmt::format("{}@{}", id, version));
  }
  // API stage canaries of this stage go.
  for (const auto& [id, api] : stage.apis) {
    if (api.kind != "rest" || api.id.empty())
      continue;
    auto current =
        backend.apigw("GetStage", "GET", slash_segment(api.id) + "/stages/" + segment(api.stage));
    if (current && current->is_object() && current->as_object().contains("canarySettings")) {
      const json::value body =
          json::object{{"patchOperations",
                        json::array{json::object{{"op", "remove"}, {"path", "/canarySettings"}}}}};
      auto removed = backend.apigw("UpdateStage", "PATCH",
                                   slash_segment(api.id) + "/stages/" + segment(api.stage), &body);
      if (!removed)
        log.warning("could not remove the stage canary of " + id + ": " +
                    removed.error().describe());
      else
        log.step(fmt::format("stage {} of {}: canary removed", api.stage, id));
    }
  }
  stage.shift.clear();
  stage.status = "rolled-back";
  add_history(stage, "rolled-back", fmt::format("rollback {}", support::join(rolled, ", ")));
  WISP_TRY(save_stage_state(*client, loaded.location, stage, fresh->etag));
  WISP_TRY(lock->release());
  auto result = result_of(stage, "rolled-back", {});
  result.warnings = log.warnings();
  return result;
}

namespace {

std::vector<std::string> stages_to_delete(const Loaded& loaded) {
  if (!loaded.stage.empty())
    return {loaded.stage};
  return loaded.app.value.stages;
}

} // namespace

support::Result<std::vector<std::string>> delete_preview(std::shared_ptr<const aws::Client> client,
                                                         const DeleteOptions& options) {
  Backend backend(client);
  WISP_TRY_ASSIGN(auto loaded, load(backend, options.target, false));
  std::vector<std::string> lines;
  const auto& app = loaded.app.value;
  for (const auto& stage : stages_to_delete(loaded))
    lines.push_back(fmt::format("stage {} (aliases, API stages, its state)", stage));
  if (options.target.stage.empty()) {
    for (const auto& [id, name] : app.functions)
      lines.push_back(fmt::format("function {} ({}) with every version", name, id));
    for (const auto& [id, role] : app.roles)
      lines.push_back(fmt::format("role {}", role.name));
    for (const auto& [id, api] : app.apis)
      lines.push_back(
          fmt::format("{} API {} ({})", api.kind == "rest" ? "REST" : "HTTP", api.id, id));
    for (const auto& [id, alarm] : app.alarms)
      lines.push_back(fmt::format("alarm {}", alarm));
    for (const auto& [id, layer] : app.layers)
      lines.push_back(fmt::format("the versions wisp published of layer {}", layer));
    WISP_TRY_ASSIGN(auto stack, infra::read_stack(*client, options.target.stack));
    if (stack.exists && stack.tags.contains("wisp:stack"))
      lines.push_back(fmt::format("stack {} (the template's other resources; those with "
                                  "DeletionPolicy Retain stay)",
                                  options.target.stack));
    lines.push_back(fmt::format("artifacts and state under s3://{}/{}/", loaded.location.bucket,
                                loaded.location.prefix));
  }
  return lines;
}

support::Result<DeleteResult> remove(std::shared_ptr<const aws::Client> client,
                                     const DeleteOptions& options, Reporter& reporter) {
  Backend backend(client);
  Log log(reporter);
  DeleteResult result;
  WISP_TRY_ASSIGN(auto loaded, load(backend, options.target, false));
  const bool whole_app = options.target.stage.empty();
  auto app = loaded.app.value;
  Lock::Options lock_options;
  lock_options.command = "delete";
  lock_options.break_lock = options.target.break_lock;
  std::unique_ptr<Lock> app_lock;
  if (whole_app) {
    WISP_TRY_ASSIGN(app_lock,
                    Lock::acquire(client, loaded.location.bucket, loaded.location.app_lock_key(),
                                  fmt::format("app {}", options.target.stack), lock_options));
  }
  const auto done = [&](std::string line) {
    log.step("deleted " + line);
    result.deleted.push_back(std::move(line));
  };

  for (const auto& stage_name : stages_to_delete(loaded)) {
    WISP_TRY(validate_stage_name(stage_name));
    WISP_TRY_ASSIGN(auto stage_lock,
                    Lock::acquire(client, loaded.location.bucket,
                                  loaded.location.stage_lock_key(stage_name),
                                  fmt::format("stage {} of {}", stage_name, options.target.stack),
                                  lock_options));
    WISP_TRY_ASSIGN(auto state, load_stage_state(*client, loaded.location, stage_name));
    if (state) {
      for (const auto& [id, record] : state->value.functions) {
        if (!whole_app) {
          for (const auto& [api_id, api] : state->value.apis) {
            (void)api;
            WISP_TRY(backend.remove_permission(record.name, record.alias,
                                               permission_id(api_id, record.alias)));
          }
        }
        WISP_TRY(backend.delete_alias(record.name, record.alias));
        done(fmt::format("alias {}:{}", record.name, record.alias));
      }
      for (const auto& [id, api] : state->value.apis) {
        if (api.id.empty())
          continue;
        if (api.kind == "rest")
          WISP_TRY(remove_usage_plans(backend, options.target.stack, api.id, api.stage, log));
        auto removed =
            api.kind == "rest"
                ? backend.apigw("DeleteStage", "DELETE",
                                slash_segment(api.id) + "/stages/" + segment(api.stage))
                : backend.apigw2("DeleteStage", "DELETE",
                                 "/apis/" + segment(api.id) + "/stages/" + segment(api.stage));
        if (!removed && !removed.error().not_found())
          return tl::unexpected<support::Error>(removed.error());
        done(fmt::format("stage {} of API {}", api.stage, id));
      }
    }
    WISP_TRY(aws::s3::delete_object(*client, loaded.location.bucket,
                                    loaded.location.stage_state_key(stage_name)));
    done(fmt::format("state of stage {}", stage_name));
    app.stages.erase(std::remove(app.stages.begin(), app.stages.end(), stage_name),
                     app.stages.end());
    WISP_TRY(stage_lock->release());
    [[maybe_unused]] auto ignored = aws::s3::delete_object(
        *client, loaded.location.bucket, loaded.location.stage_lock_key(stage_name));
  }

  if (!whole_app) {
    WISP_TRY(save_app_state(*client, loaded.location, app, loaded.app.etag));
    result.warnings = log.warnings();
    return result;
  }

  for (const auto& [id, name] : app.functions) {
    WISP_TRY(backend.delete_function(name));
    done(fmt::format("function {}", name));
  }
  for (const auto& [id, api] : app.apis) {
    if (api.id.empty())
      continue;
    auto removed = api.kind == "rest"
                       ? backend.apigw("DeleteRestApi", "DELETE", slash_segment(api.id))
                       : backend.apigw2("DeleteApi", "DELETE", "/apis/" + segment(api.id));
    if (!removed && !removed.error().not_found())
      return tl::unexpected<support::Error>(removed.error());
    done(fmt::format("API {} ({})", api.id, id));
  }
  for (const auto& [id, role] : app.roles) {
    auto attached = backend.attached_role_policies(role.name);
    if (!attached) {
      if (attached.error().not_found() || attached.error().is("NoSuchEntity"))
        continue;
      return tl::unexpected<support::Error>(attached.error());
    }
    for (const auto& arn : *attached)
      WISP_TRY(backend.detach_role_policy(role.name, arn));
    WISP_TRY_ASSIGN(auto names, backend.role_policy_names(role.name));
    for (const auto& name : names)
      WISP_TRY(backend.delete_role_policy(role.name, name));
    WISP_TRY(backend.delete_role(role.name));
    done(fmt::format("role {}", role.name));
  }
  for (const auto& [id, name] : app.layers) {
    WISP_TRY_ASSIGN(auto versions, backend.layer_versions(name));
    for (const auto& [arn, description] : versions) {
      if (!description.starts_with("wisp "))
        continue; // not published by wisp
      WISP_TRY(backend.delete_layer_version(name, arn.substr(arn.rfind(':') + 1)));
      done(fmt::format("layer version {}", arn));
    }
  }
  std::vector<std::string> alarms;
  for (const auto& [id, name] : app.alarms)
    alarms.push_back(name);
  if (!alarms.empty()) {
    WISP_TRY(backend.delete_alarms(alarms));
    done(fmt::format("alarms {}", support::join(alarms, ", ")));
  }
  // The infrastructure stack, after the functions that its triggers call.
  WISP_TRY_ASSIGN(auto stack, infra::read_stack(*client, options.target.stack));
  if (stack.exists && stack.tags.contains("wisp:stack")) {
    WISP_TRY_ASSIGN(auto gone,
                    infra::delete_stack(*client, options.target.stack, stack_progress(log)));
    done(fmt::format("stack {}", options.target.stack));
    for (const auto& kept : gone.retained) {
      log.warning(fmt::format("kept (DeletionPolicy): {}", kept));
      result.retained.push_back(kept);
    }
  }
  // Everything under the prefix: artifacts, state; the locks last.
  WISP_TRY_ASSIGN(auto objects, aws::s3::list_objects(*client, loaded.location.bucket,
                                                      loaded.location.prefix + "/"));
  std::size_t count = 0;
  for (const auto& object : objects) {
    if (object.key == loaded.location.app_lock_key())
      continue;
    WISP_TRY(aws::s3::delete_object(*client, loaded.location.bucket, object.key));
    ++count;
  }
  done(fmt::format("{} objects under s3://{}/{}/", count, loaded.location.bucket,
                   loaded.location.prefix));
  WISP_TRY(app_lock->release());
  result.warnings = log.warnings();
  return result;
}

} // namespace wisp::deploy
