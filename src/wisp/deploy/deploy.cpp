// wisp deploy: read the backend, plan, apply, shift.

#include <wisp/deploy/deploy.hpp>

#include <wisp/aws/json_fields.hpp>
#include <wisp/aws/s3.hpp>
#include <wisp/deploy/engine.hpp>
#include <wisp/deploy/naming.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <thread>

namespace wisp::deploy {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

// --- reading the backend ---

struct FunctionActual {
  bool exists = false;
  std::optional<AliasInfo> alias;
  std::optional<json::object> served; // configuration of the version the alias serves
  std::optional<json::object> latest; // $LATEST configuration
  std::map<std::string, std::string> tags;
  std::optional<long long> concurrency;
  std::set<std::string> policy_sids; // on the alias
};

struct FunctionPlan {
  const FunctionSpec* spec = nullptr;
  FunctionActual actual;
  bool create = false;
  bool update_code = false;
  bool update_config = false;
  bool publish = false;
  bool alias_create = false;
  bool alias_move = false;
  bool tags_change = false;
  bool concurrency_change = false;
  std::vector<std::string> missing_permissions; // API logical ids
  std::vector<std::string> details;
  [[nodiscard]] bool function_changed() const {
    return create || update_code || update_config || tags_change || concurrency_change;
  }
};

struct RoleActual {
  bool exists = false;
  std::string digest_tag;
};

struct RolePlan {
  const RoleSpec* spec = nullptr;
  RoleActual actual;
};

struct AlarmPlan {
  const AlarmSpec* spec = nullptr;
  bool exists = false;
  bool put = false;
  std::vector<std::string> details;
};

struct Snapshot {
  bool bucket_exists = false;
  bool create_bucket = false;
  std::optional<Versioned<AppState>> app;
  std::optional<Versioned<StageState>> stage;
  std::set<std::string> artifacts_present; // keys
  std::vector<FunctionPlan> functions;
  std::vector<RolePlan> roles;
  std::vector<AlarmPlan> alarms;
  std::vector<ApiPlan> apis;
  Plan plan;
};

std::string short_digest(std::string_view base64_or_hex) {
  // CodeSha256 is base64; show 8 hex digits of the same digest.
  if (auto raw = support::base64_decode(base64_or_hex); raw && raw->size() == 32)
    return support::to_hex(*raw).substr(0, 8);
  return std::string(base64_or_hex.substr(0, 8));
}

std::string human_size(std::uint64_t bytes) {
  if (bytes < 1024)
    return fmt::format("{} B", bytes);
  if (bytes < 1024 * 1024)
    return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024.0);
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

// Compares the fields of a desired configuration with what the backend reports; fields the
// backend does not report are left to the recorded digest. Adds what differs to `diff`.
void compare_config(const json::object& want, const json::object& have,
                    std::vector<std::string>& diff) {
  const auto scalar = [&](const char* key) {
    const auto* w = want.if_contains(key);
    const auto* h = have.if_contains(key);
    if (w == nullptr)
      return;
    const auto wt = w->is_string() ? std::string(w->as_string()) : json::serialize(*w);
    const auto ht = h == nullptr     ? std::string("(none)")
                    : h->is_string() ? std::string(h->as_string())
                                     : json::serialize(*h);
    if (wt != ht)
      diff.push_back(fmt::format("{} {} → {}", key, ht, wt));
  };
  for (const char* key : {"Runtime", "Handler", "Role", "MemorySize", "Timeout"})
    scalar(key);
  // Environment: names only, never values.
  std::map<std::string, std::string> want_env;
  std::map<std::string, std::string> have_env;
  const auto env_of = [](const json::object& o, std::map<std::string, std::string>& out) {
    if (const auto* env = o.if_contains("Environment"); env != nullptr && env->is_object())
      if (const auto* vars = env->as_object().if_contains("Variables");
          vars != nullptr && vars->is_object())
        for (const auto& item : vars->as_object())
          out[std::string(item.key())] = item.value().is_string()
                                             ? std::string(item.value().as_string())
                                             : json::serialize(item.value());
  };
  env_of(want, want_env);
  env_of(have, have_env);
  std::vector<std::string> env_changes;
  for (const auto& [k, v] : want_env) {
    auto it = have_env.find(k);
    if (it == have_env.end())
      env_changes.push_back("+" + k);
    else if (it->second != v)
      env_changes.push_back("~" + k);
  }
  for (const auto& [k, v] : have_env) {
    (void)v;
    if (!want_env.contains(k))
      env_changes.push_back("-" + k);
  }
  if (!env_changes.empty())
    diff.push_back("Environment " + support::join(env_changes, " "));
  const auto list_of = [](const json::object& o, const char* key, const char* field) {
    std::vector<std::string> out;
    if (const auto* v = o.if_contains(key); v != nullptr && v->is_array())
      for (const auto& item : v->as_array()) {
        if (item.is_string())
          out.emplace_back(item.as_string());
        else if (field != nullptr && item.is_object())
          out.push_back(aws::json_string(item.as_object(), field));
      }
    return out;
  };
  if (have.contains("Architectures")) {
    auto w = list_of(want, "Architectures", nullptr);
    auto h = list_of(have, "Architectures", nullptr);
    if (w != h)
      diff.push_back(
          fmt::format("Architectures {} → {}", support::join(h, ","), support::join(w, ",")));
  }
  {
    auto w = list_of(want, "Layers", nullptr);
    auto h = list_of(have, "Layers", "Arn");
    if (w != h)
      diff.push_back("Layers");
  }
  const auto nested = [&](const char* key, const char* field, const std::string& fallback) {
    const auto* h = have.if_contains(key);
    if (h == nullptr || !h->is_object())
      return; // not reported
    std::string wv = fallback;
    if (const auto* w = want.if_contains(key); w != nullptr && w->is_object()) {
      const auto* f = w->as_object().if_contains(field);
      if (f != nullptr)
        wv = f->is_string() ? std::string(f->as_string()) : json::serialize(*f);
    }
    const auto* hf = h->as_object().if_contains(field);
    const auto hv = hf == nullptr     ? fallback
                    : hf->is_string() ? std::string(hf->as_string())
                                      : json::serialize(*hf);
    if (wv != hv)
      diff.push_back(fmt::format("{}.{} {} → {}", key, field, hv, wv));
  };
  // ImageConfig (image functions): sent as ImageConfig, reported as ImageConfigResponse.
  if (const auto* response = have.if_contains("ImageConfigResponse");
      want.contains("ImageConfig") || (response != nullptr && response->is_object())) {
    json::object none;
    const auto* w = want.if_contains("ImageConfig");
    const json::value* h = nullptr;
    if (response != nullptr && response->is_object())
      h = response->as_object().if_contains("ImageConfig");
    const auto& wo = w != nullptr && w->is_object() ? w->as_object() : none;
    const auto& ho = h != nullptr && h->is_object() ? h->as_object() : none;
    for (const char* field : {"EntryPoint", "Command"}) {
      auto wl = list_of(wo, field, nullptr);
      auto hl = list_of(ho, field, nullptr);
      if (wl != hl)
        diff.push_back(fmt::format("ImageConfig.{} [{}] → [{}]", field, support::join(hl, ","),
                                   support::join(wl, ",")));
    }
    const auto wd = aws::json_string(wo, "WorkingDirectory");
    const auto hd = aws::json_string(ho, "WorkingDirectory");
    if (wd != hd)
      diff.push_back(fmt::format("ImageConfig.WorkingDirectory {} → {}",
                                 hd.empty() ? "(image's)" : hd, wd.empty() ? "(image's)" : wd));
  }
  nested("EphemeralStorage", "Size", "512");
  nested("TracingConfig", "Mode", "PassThrough");
  nested("LoggingConfig", "LogFormat", "Text");
}

std::string code_of(const json::object& config) {
  return aws::json_string(config, "CodeSha256");
}

const json::object* configuration(const std::optional<json::object>& get_function_response) {
  if (!get_function_response)
    return nullptr;
  const auto* c = get_function_response->if_contains("Configuration");
  return c != nullptr && c->is_object() ? &c->as_object() : nullptr;
}

std::map<std::string, std::string> tags_of(const std::optional<json::object>& response) {
  std::map<std::string, std::string> tags;
  if (!response)
    return tags;
  if (const auto* t = response->if_contains("Tags"); t != nullptr && t->is_object())
    for (const auto& item : t->as_object())
      if (item.value().is_string())
        tags[std::string(item.key())] = std::string(item.value().as_string());
  return tags;
}

std::optional<long long> concurrency_of(const std::optional<json::object>& response) {
  if (!response)
    return std::nullopt;
  if (const auto* c = response->if_contains("Concurrency"); c != nullptr && c->is_object())
    if (const auto* r = c->as_object().if_contains("ReservedConcurrentExecutions");
        r != nullptr && r->is_number())
      return r->to_number<long long>();
  return std::nullopt;
}

support::Error as_error(const aws::ServiceError& error) {
  return support::Error(error);
}

struct Engine {
  const sam::Model& model;
  const Backend& backend;
  const DeployOptions& options;
  Log& log;
  const Desired& desired;

  // Reads everything the plan compares.
  support::Result<Snapshot> read() {
    Snapshot snap;
    const auto& location = desired.location;
    WISP_TRY_ASSIGN(snap.bucket_exists, aws::s3::bucket_exists(backend.client(), location.bucket));
    if (!snap.bucket_exists) {
      if (!options.target.resolve_s3)
        return support::failf("the bucket {} does not exist (create it, or pass --resolve-s3 to "
                              "let wisp manage one)",
                              location.bucket);
      snap.create_bucket = true;
    } else {
      WISP_TRY_ASSIGN(snap.app, load_app_state(backend.client(), location));
      WISP_TRY_ASSIGN(snap.stage, load_stage_state(backend.client(), location, desired.stage));
    }

    for (const auto& [id, role] : desired.roles) {
      (void)id;
      snap.roles.push_back({&role, {}});
    }
    for (const auto& alarm : desired.alarms) {
      AlarmPlan plan;
      plan.spec = &alarm;
      snap.alarms.push_back(std::move(plan));
    }
    for (const auto& function : desired.functions) {
      FunctionPlan plan;
      plan.spec = &function;
      snap.functions.push_back(std::move(plan));
    }
    for (const auto& api : desired.apis) {
      ApiPlan plan;
      plan.spec = &api;
      snap.apis.push_back(std::move(plan));
    }

    // Pass 1: roles, alarms, APIs, functions (alias and the version it serves).
    std::vector<std::function<support::Status()>> tasks;
    std::mutex mutex;
    for (auto& role : snap.roles) {
      if (!options.refresh && snap.app) {
        auto it = snap.app->value.roles.find(role.spec->logical_id);
        if (it != snap.app->value.roles.end() && it->second.digest == role.spec->digest &&
            it->second.name == role.spec->name) {
          role.actual = {true, role.spec->digest}; // recorded as complete by an earlier deploy
          continue;
        }
      }
      tasks.emplace_back([&, r = &role]() -> support::Status {
        auto got = backend.get_role(r->spec->name);
        if (!got)
          return tl::unexpected(as_error(got.error()));
        if (*got) {
          r->actual.exists = true;
          if (const auto* tags = (*got)->if_contains("Tags"); tags != nullptr && tags->is_object())
            r->actual.digest_tag = aws::json_string(tags->as_object(), "wisp:digest");
        }
        return {};
      });
    }
    for (auto& api : snap.apis)
      tasks.emplace_back([&, a = &api]() -> support::Status {
        std::string known;
        if (snap.app)
          if (auto it = snap.app->value.apis.find(a->spec->logical_id);
              it != snap.app->value.apis.end())
            known = it->second.id;
        WISP_TRY_ASSIGN(auto actual, read_api(backend, *a->spec, known));
        *a = plan_api(*a->spec, std::move(actual));
        return {};
      });
    for (auto& function : snap.functions)
      tasks.emplace_back([&, f = &function]() -> support::Status {
        const auto& spec = *f->spec;
        // A function the app state does not know is probably new: one call tells.
        const bool known = snap.app && snap.app->value.functions.contains(spec.logical_id);
        if (!known) {
          auto latest = backend.get_function(spec.name);
          if (!latest)
            return tl::unexpected(as_error(latest.error()));
          if (!latest->has_value())
            return {};
        }
        auto alias = backend.get_alias(spec.name, spec.alias);
        if (!alias)
          return tl::unexpected(as_error(alias.error()));
        f->actual.alias = *alias;
        if (*alias) {
          auto served = backend.get_function(spec.name, spec.alias);
          if (!served)
            return tl::unexpected(as_error(served.error()));
          f->actual.exists = served->has_value();
          if (const auto* c = configuration(*served))
            f->actual.served = *c;
          f->actual.tags = tags_of(*served);
          f->actual.concurrency = concurrency_of(*served);
        } else {
          auto latest = backend.get_function(spec.name);
          if (!latest)
            return tl::unexpected(as_error(latest.error()));
          f->actual.exists = latest->has_value();
          if (const auto* c = configuration(*latest))
            f->actual.latest = *c;
          f->actual.tags = tags_of(*latest);
          f->actual.concurrency = concurrency_of(*latest);
        }
        return {};
      });
    WISP_TRY(parallel_for(tasks.size(), options.max_parallel,
                          [&](std::size_t i) { return tasks[i](); }));
    // Alarm existence and configuration (one DescribeAlarms call for all of them).
    if (!snap.alarms.empty()) {
      std::vector<std::string> names;
      for (const auto& alarm : snap.alarms)
        names.push_back(alarm.spec->name);
      auto found = backend.describe_alarms(names);
      if (!found)
        return tl::unexpected(as_error(found.error()));
      for (auto& alarm : snap.alarms)
        alarm.exists = std::any_of(found->begin(), found->end(),
                                   [&](const AlarmInfo& a) { return a.name == alarm.spec->name; });
    }

    // Pass 2: what only some functions need: $LATEST, their permissions, artifacts.
    tasks.clear();
    for (auto& function : snap.functions) {
      decide_version(function, snap);
      if (function.publish && function.actual.exists && !function.actual.latest)
        tasks.emplace_back([&, f = &function]() -> support::Status {
          auto latest = backend.get_function(f->spec->name);
          if (!latest)
            return tl::unexpected(as_error(latest.error()));
          if (const auto* c = configuration(*latest))
            f->actual.latest = *c;
          return {};
        });
      if (!function.spec->apis.empty() && function.actual.alias &&
          !permissions_recorded(function, snap))
        tasks.emplace_back([&, f = &function]() -> support::Status {
          auto ids = backend.policy_statement_ids(f->spec->name, f->spec->alias);
          if (!ids)
            return tl::unexpected(as_error(ids.error()));
          std::lock_guard lock(mutex);
          f->actual.policy_sids.insert(ids->begin(), ids->end());
          return {};
        });
    }
    WISP_TRY(parallel_for(tasks.size(), options.max_parallel,
                          [&](std::size_t i) { return tasks[i](); }));
    tasks.clear();
    std::set<std::string> keys;
    for (auto& function : snap.functions) {
      decide_function(function, snap);
      if (!function.spec->code.s3_bucket.empty() || !function.spec->code.image_uri.empty())
        // code already in S3, or an image in a registry: nothing to upload
        snap.artifacts_present.insert(function.spec->code.s3_key);
      else if ((function.create || function.update_code) && snap.bucket_exists)
        keys.insert(function.spec->code.s3_key);
    }
    std::vector<std::string> key_list(keys.begin(), keys.end());
    WISP_TRY(
        parallel_for(key_list.size(), options.max_parallel, [&](std::size_t i) -> support::Status {
          auto head = aws::s3::head_object(backend.client(), desired.location.bucket, key_list[i]);
          if (!head)
            return tl::unexpected(as_error(head.error()));
          const auto* function = [&]() -> const FunctionSpec* {
            for (const auto& f : desired.functions)
              if (f.code.s3_key == key_list[i])
                return &f;
            return nullptr;
          }();
          if (*head && function != nullptr && (*head)->size == function->code.size) {
            std::lock_guard lock(mutex);
            snap.artifacts_present.insert(key_list[i]);
          }
          return {};
        }));
    for (auto& alarm : snap.alarms)
      alarm.put = !alarm.spec->logical_id.empty() && !alarm.exists;
    build_plan(snap);
    return snap;
  }

  const FunctionRecord* recorded(const Snapshot& snap, const std::string& logical_id) const {
    if (!snap.stage)
      return nullptr;
    auto it = snap.stage->value.functions.find(logical_id);
    return it == snap.stage->value.functions.end() ? nullptr : &it->second;
  }

  // True when the stage state records every invoke permission the function needs, for the
  // API ids the backend has now; the policy is then not read (unless --refresh).
  bool permissions_recorded(FunctionPlan& f, const Snapshot& snap) const {
    if (options.refresh)
      return false;
    const auto* record = recorded(snap, f.spec->logical_id);
    if (record == nullptr || record->alias != f.spec->alias)
      return false;
    for (const auto& api_id : f.spec->apis) {
      const ApiPlan* api = nullptr;
      for (const auto& a : snap.apis)
        if (a.spec->logical_id == api_id)
          api = &a;
      if (api == nullptr || api->actual.id.empty())
        return false;
      const auto entry = permission_id(api_id, f.spec->alias) + "=" + api->actual.id;
      if (std::find(record->permissions.begin(), record->permissions.end(), entry) ==
          record->permissions.end())
        return false;
      f.actual.policy_sids.insert(permission_id(api_id, f.spec->alias));
    }
    return true;
  }

  // Pass-1 decision: does the alias serve what is desired?
  void decide_version(FunctionPlan& f, const Snapshot& snap) const {
    const auto& spec = *f.spec;
    if (!f.actual.exists) {
      f.create = true;
      f.publish = true;
      f.alias_create = true;
      return;
    }
    if (f.actual.alias && f.actual.served) {
      std::vector<std::string> diff;
      compare_config(spec.config, *f.actual.served, diff);
      const bool same_code = spec.code.reported_as(code_of(*f.actual.served));
      const auto* record = recorded(snap, spec.logical_id);
      const bool digest_ok = record == nullptr || record->version != f.actual.alias->version ||
                             record->config_digest.empty() ||
                             record->config_digest == spec.config_digest;
      if (same_code && diff.empty() && digest_ok) {
        if (!f.actual.alias->weights.empty()) {
          f.alias_move = true; // an unfinished shift: back to one version
          f.details.push_back("unfinished shift");
        }
        return;
      }
    }
    f.publish = true;
    if (!f.actual.alias)
      f.alias_create = true;
    else
      f.alias_move = true;
  }

  // Pass-2 decision: what $LATEST needs, tags, concurrency, permissions.
  void decide_function(FunctionPlan& f, const Snapshot& snap) const {
    const auto& spec = *f.spec;
    if (f.create) {
      f.details.push_back(spec.code.image_uri.empty()
                              ? fmt::format("code {} ({})", short_digest(spec.code.sha256_base64),
                                            human_size(spec.code.size))
                              : fmt::format("image {}", short_digest(spec.code.sha256_base64)));
      if (!spec.code.push_to.empty() && !spec.code.push_note.empty())
        f.details.push_back(spec.code.push_note);
    } else if (f.publish && f.actual.latest) {
      const auto& latest = *f.actual.latest;
      if (!spec.code.reported_as(code_of(latest))) {
        f.update_code = true;
        f.details.push_back(fmt::format("code {} → {}", short_digest(code_of(latest)),
                                        short_digest(spec.code.sha256_base64)));
        if (!spec.code.push_to.empty() && !spec.code.push_note.empty())
          f.details.push_back(spec.code.push_note);
      }
      std::vector<std::string> diff;
      compare_config(spec.config, latest, diff);
      const auto* record = recorded(snap, spec.logical_id);
      if (diff.empty() && record != nullptr && !record->config_digest.empty() &&
          record->config_digest != spec.config_digest)
        diff.push_back("configuration (fields the backend does not report)");
      if (!diff.empty()) {
        f.update_config = true;
        f.details.insert(f.details.end(), diff.begin(), diff.end());
      }
      if (!f.update_code && !f.update_config)
        f.details.push_back("publish the current code and configuration");
    }
    if (!f.create) {
      std::vector<std::string> tag_changes;
      for (const auto& [k, v] : spec.tags) {
        auto it = f.actual.tags.find(k);
        if (it == f.actual.tags.end() || it->second != v)
          tag_changes.push_back(k);
      }
      if (!tag_changes.empty()) {
        f.tags_change = true;
        f.details.push_back("tags " + support::join(tag_changes, ","));
      }
      const std::optional<long long> want =
          spec.reserved_concurrency ? std::optional<long long>(*spec.reserved_concurrency)
                                    : std::nullopt;
      if (want != f.actual.concurrency) {
        f.concurrency_change = true;
        f.details.push_back(
            fmt::format("reserved concurrency {} → {}",
                        f.actual.concurrency ? std::to_string(*f.actual.concurrency) : "none",
                        want ? std::to_string(*want) : "none"));
      }
    }
    for (const auto& api_id : spec.apis) {
      const auto* api = [&]() -> const ApiPlan* {
        for (const auto& a : snap.apis)
          if (a.spec->logical_id == api_id)
            return &a;
        return nullptr;
      }();
      if (api == nullptr)
        continue;
      if (api->actual.id.empty() || !f.actual.alias ||
          !f.actual.policy_sids.contains(permission_id(api_id, spec.alias)))
        f.missing_permissions.push_back(api_id);
    }
  }

  void build_plan(Snapshot& snap) const {
    Plan& plan = snap.plan;
    plan.stack = desired.stack;
    plan.stage = desired.stage;
    plan.region = desired.region;
    plan.bucket = desired.location.bucket;
    plan.prefix = desired.location.prefix;
    if (snap.create_bucket)
      plan.changes.push_back({Action::create, "bucket", desired.location.bucket, {}});
    std::set<std::string> uploads;
    for (const auto& f : snap.functions)
      if ((f.create || f.update_code) && f.spec->code.image_uri.empty() &&
          !snap.artifacts_present.contains(f.spec->code.s3_key) &&
          uploads.insert(f.spec->code.s3_key).second)
        plan.changes.push_back(
            {Action::create, "artifact", f.spec->code.s3_key, {human_size(f.spec->code.size)}});
    for (const auto& f : snap.functions)
      if ((f.create || f.update_code) && !f.spec->code.push_to.empty())
        plan.changes.push_back(
            {Action::create,
             "image",
             f.spec->code.push_to,
             {short_digest(f.spec->code.sha256_base64), human_size(f.spec->code.size)}});
    for (const auto& role : snap.roles) {
      if (!role.actual.exists)
        plan.changes.push_back({Action::create, "role", role.spec->name, {}});
      else if (role.actual.digest_tag != role.spec->digest)
        plan.changes.push_back({Action::update, "role", role.spec->name, {"policies"}});
      else
        plan.changes.push_back({Action::unchanged, "role", role.spec->name, {}});
    }
    for (const auto& alarm : snap.alarms) {
      if (alarm.spec->logical_id.empty())
        continue;
      plan.changes.push_back(
          {alarm.put ? Action::create : Action::unchanged, "alarm", alarm.spec->name, {}});
    }
    for (const auto& f : snap.functions) {
      const auto& spec = *f.spec;
      if (f.create)
        plan.changes.push_back({Action::create, "function", spec.name, f.details});
      else if (f.function_changed() || f.publish)
        plan.changes.push_back({Action::update, "function", spec.name, f.details});
      else if (f.alias_move)
        plan.changes.push_back({Action::unchanged, "function", spec.name, {}});
      else
        plan.changes.push_back({Action::unchanged, "function", spec.name, {}});
      const auto alias_name = spec.name + ":" + spec.alias;
      const auto how = spec.shift ? fmt::format(" ({})", spec.shift->type) : std::string();
      if (f.alias_create)
        plan.changes.push_back({Action::create, "alias", alias_name, {"→ new version"}});
      else if (f.alias_move && f.publish)
        plan.changes.push_back(
            {Action::update,
             "alias",
             alias_name,
             {fmt::format("version {} → new version{}", f.actual.alias->version, how)}});
      else if (f.alias_move)
        plan.changes.push_back(
            {Action::update,
             "alias",
             alias_name,
             {fmt::format("finish the unfinished shift of version {}", f.actual.alias->version)}});
      for (const auto& api : f.missing_permissions)
        plan.changes.push_back({Action::create, "permission", alias_name, {"invoke from " + api}});
    }
    // What this stage served and the template no longer has: its alias and API stages go
    // (the functions and APIs stay for other stages until `wisp delete`).
    if (snap.stage) {
      for (const auto& [id, record] : snap.stage->value.functions)
        if (desired.function(id) == nullptr)
          plan.changes.push_back({Action::remove,
                                  "alias",
                                  record.name + ":" + record.alias,
                                  {"no longer in the template"}});
      for (const auto& [id, api] : snap.stage->value.apis)
        if (std::none_of(desired.apis.begin(), desired.apis.end(),
                         [&](const ApiSpec& a) { return a.logical_id == id; }))
          plan.changes.push_back(
              {Action::remove, "stage", id + "/" + api.stage, {"no longer in the template"}});
    }
    for (const auto& api : snap.apis) {
      const auto& spec = *api.spec;
      if (api.create_api)
        plan.changes.push_back({Action::create, "api", spec.name, api.details});
      else if (api.definition_changed)
        plan.changes.push_back({Action::update, "api", spec.name, api.details});
      else
        plan.changes.push_back({Action::unchanged, "api", spec.name, {}});
      const auto stage_name = spec.logical_id + "/" + spec.stage;
      if (!api.actual.stage_exists)
        plan.changes.push_back({Action::create,
                                "stage",
                                stage_name,
                                {spec.kind == "http" ? "AutoDeploy" : "new deployment"}});
      else if (api.needs_deployment || api.stage_variables_changed)
        plan.changes.push_back(
            {Action::update,
             "stage",
             stage_name,
             {api.needs_deployment ? (spec.canary ? std::string("new deployment (stage canary)")
                                                  : std::string("new deployment"))
                                   : std::string("stage variables")}});
    }
  }

  // --- applying ---

  support::Status apply_role(const RolePlan& plan) {
    const auto& spec = *plan.spec;
    const std::map<std::string, std::string> tags{{"wisp:stack", desired.stack},
                                                  {"wisp:digest", spec.digest}};
    if (!plan.actual.exists) {
      auto created =
          backend.create_role(spec.name, spec.document.trust, {{"wisp:stack", desired.stack}});
      if (!created && !created.error().is("EntityAlreadyExists"))
        return tl::unexpected(as_error(created.error()));
    } else {
      WISP_TRY(backend.update_assume_role_policy(spec.name, spec.document.trust));
    }
    std::vector<std::string> attached;
    if (plan.actual.exists) {
      WISP_TRY_ASSIGN(attached, backend.attached_role_policies(spec.name));
    }
    std::vector<std::string> expected = spec.document.managed;
    for (const auto& arn : spec.document.managed) {
      if (std::find(attached.begin(), attached.end(), arn) != attached.end())
        continue;
      auto attach = backend.attach_role_policy(spec.name, arn);
      if (!attach) {
        // moto only knows AWS-managed policies with MOTO_IAM_LOAD_MANAGED_POLICIES=true.
        const bool aws_managed = arn.find(":iam::aws:policy/") != std::string::npos;
        if (aws_managed && attach.error().is("NoSuchEntity") &&
            backend.client().custom_endpoint(aws::Service::iam)) {
          log.warning(fmt::format("role {}: the endpoint has no AWS-managed policy {}; not "
                                  "attached (moto: start it with "
                                  "MOTO_IAM_LOAD_MANAGED_POLICIES=true)",
                                  spec.name, arn));
          expected.erase(std::remove(expected.begin(), expected.end(), arn), expected.end());
          continue;
        }
        return tl::unexpected(as_error(attach.error()));
      }
    }
    for (const auto& arn : attached)
      if (!spec.shared && std::find(spec.document.managed.begin(), spec.document.managed.end(),
                                    arn) == spec.document.managed.end())
        WISP_TRY(backend.detach_role_policy(spec.name, arn));
    std::vector<std::string> inline_names;
    if (plan.actual.exists) {
      WISP_TRY_ASSIGN(inline_names, backend.role_policy_names(spec.name));
    }
    for (const auto& [name, document] : spec.document.inline_policies)
      WISP_TRY(backend.put_role_policy(spec.name, name, document));
    for (const auto& name : inline_names)
      if (!spec.shared && !spec.document.inline_policies.contains(name))
        WISP_TRY(backend.delete_role_policy(spec.name, name));
    // The digest tag last: it says the role is complete.
    WISP_TRY(backend.tag_role(spec.name, tags));
    // Read back.
    WISP_TRY_ASSIGN(auto now, backend.attached_role_policies(spec.name));
    std::sort(now.begin(), now.end());
    if (spec.shared) // the stack's own attachments stay beside wisp's
      std::erase_if(now, [&](const std::string& arn) {
        return std::find(expected.begin(), expected.end(), arn) == expected.end();
      });
    if (now != expected)
      return support::failf("read-back: role {} has managed policies {} instead of {}", spec.name,
                            support::join(now, ", "), support::join(expected, ", "));
    log.step(fmt::format("{} role {}", plan.actual.exists ? "updated" : "created", spec.name));
    return {};
  }

  support::Status upload(const FunctionSpec& spec) {
    aws::s3::PutOptions put;
    put.sha256_hex = spec.code.sha256_hex;
    put.metadata["sha256"] = spec.code.sha256_hex;
    put.content_type = "application/zip";
    WISP_TRY(aws::s3::put_object_file(backend.client(), desired.location.bucket, spec.code.s3_key,
                                      spec.code.zip, put));
    auto head = aws::s3::head_object(backend.client(), desired.location.bucket, spec.code.s3_key);
    if (!head)
      return tl::unexpected(as_error(head.error()));
    if (!*head || (*head)->size != spec.code.size ||
        ((*head)->metadata.contains("sha256") &&
         (*head)->metadata.at("sha256") != spec.code.sha256_hex))
      return support::failf("read-back: s3://{}/{} does not hold the {} bytes uploaded",
                            desired.location.bucket, spec.code.s3_key, spec.code.size);
    log.step(fmt::format("uploaded {} ({})", spec.code.s3_key, human_size(spec.code.size)));
    return {};
  }

  support::Status check_code(const json::object& config, const FunctionSpec& spec,
                             std::string_view after) const {
    const auto code = code_of(config);
    if (!spec.code.reported_as(code))
      return support::failf("read-back: after {} {} reports CodeSha256 {}, but the artifact's is "
                            "{}",
                            after, spec.name, code.empty() ? "(none)" : code,
                            spec.code.sha256_base64);
    return {};
  }

  // Creates or updates the function and publishes the version the alias should serve.
  support::Result<std::string> apply_function(const FunctionPlan& plan) {
    const auto& spec = *plan.spec;
    json::object code_location{
        {"S3Bucket", spec.code.s3_bucket.empty() ? desired.location.bucket : spec.code.s3_bucket},
        {"S3Key", spec.code.s3_key}};
    if (!spec.code.s3_version.empty())
      code_location["S3ObjectVersion"] = spec.code.s3_version;
    if (!spec.code.image_uri.empty())
      code_location = json::object{{"ImageUri", spec.code.image_uri}};
    if (plan.create) {
      json::object request = spec.config;
      request["FunctionName"] = spec.name;
      request["Code"] = code_location;
      request["Publish"] = false;
      request["PackageType"] = spec.code.image_uri.empty() ? "Zip" : "Image";
      json::object tags;
      for (const auto& [k, v] : spec.tags)
        tags[k] = v;
      request["Tags"] = std::move(tags);
      // A new role takes a while to be assumable by Lambda (IAM propagation).
      const auto deadline = Clock::now() + std::chrono::seconds(90);
      while (true) {
        auto created = backend.create_function(request);
        if (created) {
          WISP_TRY(check_code(*created, spec, "CreateFunction"));
          break;
        }
        if (created.error().is("ResourceConflictException")) {
          // A retried call that had succeeded, or a function made meanwhile: update it.
          WISP_TRY_ASSIGN(auto updated, backend.update_function_code(spec.name, code_location));
          WISP_TRY(check_code(updated, spec, "UpdateFunctionCode"));
          WISP_TRY(backend.wait_until_updated(spec.name, std::chrono::minutes(5)));
          WISP_TRY(backend.update_function_configuration(spec.name, spec.config));
          break;
        }
        const bool role_not_ready = created.error().is("InvalidParameterValueException") &&
                                    created.error().message.find("assume") != std::string::npos;
        if (!role_not_ready || Clock::now() > deadline)
          return tl::unexpected(as_error(created.error()));
        log.status(fmt::format("waiting for role of {} to become assumable", spec.name));
        std::this_thread::sleep_for(std::chrono::seconds(3));
      }
      log.step(fmt::format("created function {}", spec.name));
    } else {
      if (plan.update_code) {
        WISP_TRY(backend.wait_until_updated(spec.name, std::chrono::minutes(5)));
        WISP_TRY_ASSIGN(auto updated, backend.update_function_code(spec.name, code_location));
        WISP_TRY(check_code(updated, spec, "UpdateFunctionCode"));
        log.step(fmt::format("updated code of {}", spec.name));
      }
      if (plan.update_config) {
        WISP_TRY(backend.wait_until_updated(spec.name, std::chrono::minutes(5)));
        auto request = spec.config;
        if (!spec.code.image_uri.empty() && !request.contains("ImageConfig"))
          // The template no longer overrides the image's ENTRYPOINT/CMD: clear the override.
          request["ImageConfig"] =
              json::object{{"EntryPoint", json::array()}, {"Command", json::array()}};
        WISP_TRY_ASSIGN(auto updated, backend.update_function_configuration(spec.name, request));
        std::vector<std::string> diff;
        compare_config(spec.config, updated, diff);
        if (!diff.empty())
          return support::failf("read-back: {} after UpdateFunctionConfiguration: {}", spec.name,
                                support::join(diff, "; "));
        log.step(fmt::format("updated configuration of {}", spec.name));
      }
      if (plan.tags_change)
        WISP_TRY(backend.tag_function(spec.arn, spec.tags));
    }
    if (plan.concurrency_change || (plan.create && spec.reserved_concurrency)) {
      if (spec.reserved_concurrency)
        WISP_TRY(backend.put_function_concurrency(spec.name, *spec.reserved_concurrency));
      else
        WISP_TRY(backend.delete_function_concurrency(spec.name));
    }
    if (!plan.publish)
      return plan.actual.alias ? plan.actual.alias->version : std::string();
    WISP_TRY(backend.wait_until_updated(spec.name, std::chrono::minutes(5)));
    WISP_TRY_ASSIGN(auto published,
                    backend.publish_version(spec.name, spec.code.sha256_base64,
                                            "wisp " + spec.config_digest.substr(0, 12)));
    WISP_TRY(check_code(published, spec, "PublishVersion"));
    const auto version = aws::json_string(published, "Version");
    if (version.empty() || version == "$LATEST")
      return support::failf("PublishVersion of {} returned no version number", spec.name);
    log.step(fmt::format("published {} version {}", spec.name, version));
    return version;
  }
};

// Nested stacks' templates, before the stack that names them: each key is its content's digest,
// so one already there holds these bytes and is not sent again.
support::Status upload_nested(const aws::Client& client, const std::string& bucket,
                              const std::vector<infra::NestedTemplate>& templates, Log& log) {
  for (const auto& t : templates) {
    WISP_TRY_ASSIGN(auto head, aws::s3::head_object(client, bucket, t.key));
    if (head.has_value() && head->size == t.body.size())
      continue;
    aws::s3::PutOptions put;
    put.content_type = "application/json";
    WISP_TRY(aws::s3::put_object(client, bucket, t.key, t.body, put));
    log.step(fmt::format("uploaded {} ({}) for nested stack {}", t.key, t.file, t.logical_id));
  }
  return {};
}

std::string qualified_hook(const Desired& desired, const std::string& logical_id) {
  const auto* hook = desired.function(logical_id);
  return hook == nullptr ? std::string() : hook->name + ":" + hook->alias;
}

} // namespace

support::Result<DeployResult> deploy(const sam::Model& loaded_model,
                                     const artifact::BuildReport& artifacts,
                                     std::shared_ptr<const aws::Client> client,
                                     const DeployOptions& options, Reporter& reporter) {
  const auto started = Clock::now();
  const long calls_before = client->counters().requests.load();
  const long mutating_before = client->counters().mutating.load();
  Backend backend(client);
  Log log(reporter);
  DeployResult result;
  const auto finish = [&](std::string status) {
    result.status = std::move(status);
    result.calls = client->counters().requests.load() - calls_before;
    result.mutating_calls = client->counters().mutating.load() - mutating_before;
    result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    result.warnings = log.warnings();
    return result;
  };
  const auto cancelled = [&] { return options.cancel != nullptr && options.cancel->load(); };

  WISP_TRY(validate_stack_name(options.target.stack));
  std::string account = options.account;
  if (account.empty()) {
    WISP_TRY_ASSIGN(account, backend.account_id());
  }
  WISP_TRY_ASSIGN(auto location, resolve_location(options.target, account, client->region()));

  // Nested stacks' local templates: uploaded (content-addressed) before the stack is deployed;
  // those holding functions are generated, their functions, layers and APIs deployed here.
  WISP_TRY_ASSIGN(auto nested_templates, infra::nested_templates_for_deploy(
                                             loaded_model, location.bucket, location.prefix,
                                             client->region(), options.target.stack, account));
  const auto nested = std::make_shared<const infra::NestedTemplates>(std::move(nested_templates));
  const sam::Model merged_model =
      nested->resources.empty() ? sam::Model() : infra::with_nested(loaded_model, *nested);
  const sam::Model& model = nested->resources.empty() ? loaded_model : merged_model;

  // Names first (values of the infrastructure stack pending): what the stack template needs.
  InfraValues infra{};
  for (const auto& resource : model.resources)
    infra.ids.insert(resource.logical_id);
  DesiredInputs inputs{options.target.stack,
                       options.target.stage,
                       client->region(),
                       account,
                       location,
                       options.step_interval,
                       options.tags,
                       &infra};
  inputs.nested_urls = &nested->urls;
  inputs.nested = nested;
  WISP_TRY_ASSIGN(const auto s3_code, resolve_s3_code(backend, model, options.max_parallel));
  inputs.s3_code = &s3_code;
  WISP_TRY_ASSIGN(const auto images, resolve_images(backend, model, artifacts, options, log));
  inputs.images = &images;
  WISP_TRY_ASSIGN(auto desired, build_desired(model, artifacts, inputs));
  // The template's layers: a version that holds the content already is used as it is.
  std::map<std::string, std::string> layer_arns;
  inputs.layer_arns = &layer_arns;
  WISP_TRY_ASSIGN(auto layers, read_layers(backend, desired, options.max_parallel));
  for (const auto& layer : layers)
    if (!layer.arn.empty())
      layer_arns[layer.spec.logical_id] = layer.arn;
  if (!layer_arns.empty()) {
    WISP_TRY_ASSIGN(desired, build_desired(model, artifacts, inputs));
  }
  const auto& stack_name = options.target.stack;
  WISP_TRY_ASSIGN(auto stack, stack_template(model, desired, {}, {}, layer_arns));
  infra::StackState stack_state;
  std::map<std::string, std::string> stack_outputs;
  if (!stack.empty()) {
    infra = infra_values(stack, {});
    WISP_TRY_ASSIGN(stack_state, infra::read_stack(*client, stack_name));
    WISP_TRY(check_stack(stack_state, stack, desired));
    if (stack_state.exists && stack_state.status.ends_with("_COMPLETE") &&
        stack_state.status != "ROLLBACK_COMPLETE") {
      std::vector<std::string> notes;
      auto values = infra::export_values(*client, stack_name, stack_state, stack.exports,
                                         client->region(), account, notes);
      if (values)
        stack_outputs = std::move(*values);
      for (const auto& note : notes)
        log.warning(note);
    }
    infra = infra_values(stack, stack_outputs);
    WISP_TRY_ASSIGN(desired, build_desired(model, artifacts, inputs));
  }
  for (const auto& warning : desired.warnings)
    log.warning(warning);

  Engine engine{model, backend, options, log, desired};
  WISP_TRY_ASSIGN(auto snap, engine.read());
  // The stack as it must be, now that wisp knows which functions and APIs exist.
  const auto existing = [&](const Snapshot& s) {
    std::set<std::string> aliases;
    for (const auto& f : s.functions)
      if (f.actual.alias)
        aliases.insert(f.spec->logical_id);
    for (const auto& r : s.roles)
      if (r.actual.exists)
        aliases.insert("role:" + r.spec->logical_id);
    return aliases;
  };
  const auto api_ids = [&](const Snapshot& s) {
    std::map<std::string, std::string> ids;
    for (const auto& a : s.apis)
      if (!a.actual.id.empty())
        ids[a.spec->logical_id] = a.actual.id;
    return ids;
  };
  bool stack_changed = false;
  std::vector<std::string> roles_first; // made before the stack: it names them
  std::vector<infra::ResourceChange> dry_changes;
  const auto plan_infra = [&]() -> support::Status {
    plan_layers(snap.plan, layers);
    if (stack.empty())
      return {};
    WISP_TRY_ASSIGN(stack, stack_template(model, desired, existing(snap), api_ids(snap), layer_arns,
                                          &roles_first));
    stack_changed = stack.split() || !infra::unchanged(stack_state, stack.body, stack.parameters);
    plan_stack(snap.plan, stack_name, stack_state, stack, stack_changed,
               options.dry_run && stack_changed ? &dry_changes : nullptr);
    mark_roles_first(snap.plan, desired, roles_first);
    return {};
  };
  if (options.dry_run && !stack.empty()) {
    // The change set's own account of what would change, beside wisp's plan.
    WISP_TRY_ASSIGN(stack,
                    stack_template(model, desired, existing(snap), api_ids(snap), layer_arns));
    if (stack.split() || !infra::unchanged(stack_state, stack.body, stack.parameters)) {
      infra::StackOptions so;
      so.name = stack_name;
      so.body = stack.early;
      so.parameters = stack.parameters;
      so.tags = {{"wisp:stack", stack_name}};
      so.dry_run = true;
      so.bucket = location.bucket;
      so.prefix = location.prefix;
      auto preview = infra::deploy_stack(*client, stack_state, so, stack_progress(log));
      if (preview)
        dry_changes = preview->changes;
      else
        log.warning("could not preview the stack's change set: " + preview.error().message);
    }
  }
  WISP_TRY(plan_infra());
  for (const auto& warning : stack.warnings)
    log.warning(warning);
  reporter.plan(snap.plan);
  result.plan = snap.plan;
  for (const auto& f : snap.functions)
    if (f.actual.alias)
      result.versions[f.spec->logical_id] = f.actual.alias->version;
  const auto endpoints_from = [&](const Snapshot& s) {
    std::vector<Endpoint> out;
    for (const auto& api : s.apis)
      if (!api.actual.id.empty())
        out.push_back({api.spec->logical_id, api.spec->kind, api.spec->stage,
                       api_url(desired, api.spec->kind, api.actual.id, api.spec->stage)});
    return out;
  };
  if (!snap.plan.has_changes()) {
    result.endpoints = endpoints_from(snap);
    return finish("no-change");
  }
  if (options.dry_run) {
    result.endpoints = endpoints_from(snap);
    return finish("dry-run");
  }
  if (options.confirm && !options.confirm(snap.plan))
    return finish("cancelled");

  // From here on the backend changes: take the stage lock, then the app lock.
  if (snap.create_bucket) {
    WISP_TRY(aws::s3::create_bucket(*client, location.bucket));
    log.step(fmt::format("created bucket {}", location.bucket));
  }
  Lock::Options lock_options;
  lock_options.command = "deploy";
  lock_options.break_lock = options.target.break_lock;
  WISP_TRY_ASSIGN(auto stage_lock,
                  Lock::acquire(client, location.bucket, location.stage_lock_key(desired.stage),
                                fmt::format("stage {} of {}", desired.stage, desired.stack),
                                lock_options));
  WISP_TRY_ASSIGN(auto app_lock,
                  Lock::acquire(client, location.bucket, location.app_lock_key(),
                                fmt::format("app {} (another stage is changing it)", desired.stack),
                                lock_options));
  // Plan again under the locks if someone deployed meanwhile (the state objects changed).
  bool state_unchanged = false;
  if (snap.create_bucket) {
    // A bucket just made: unchanged unless another first deploy raced this one.
    WISP_TRY_ASSIGN(auto app_now, load_app_state(*client, location));
    WISP_TRY_ASSIGN(auto stage_now, load_stage_state(*client, location, desired.stage));
    state_unchanged = !app_now && !stage_now;
  } else {
    WISP_TRY_ASSIGN(auto app_now, load_app_state(*client, location));
    WISP_TRY_ASSIGN(auto stage_now, load_stage_state(*client, location, desired.stage));
    const auto etag = [](const auto& versioned) {
      return versioned ? versioned->etag : std::string();
    };
    state_unchanged = etag(app_now) == etag(snap.app) && etag(stage_now) == etag(snap.stage);
  }
  if (!state_unchanged) {
    const auto without_bucket = [](Plan plan) {
      std::erase_if(plan.changes, [](const Change& c) { return c.kind == "bucket"; });
      return render_plan(plan, support::Style(false));
    };
    const auto before = without_bucket(snap.plan);
    WISP_TRY_ASSIGN(snap, engine.read());
    WISP_TRY(plan_infra());
    if (without_bucket(snap.plan) != before) {
      log.warning("the backend changed while planning; applying this plan instead:");
      reporter.plan(snap.plan);
    }
    result.plan = snap.plan;
    if (!snap.plan.has_changes()) {
      WISP_TRY(app_lock->release());
      WISP_TRY(stage_lock->release());
      return finish("no-change");
    }
  }

  // Phase 0: the infrastructure stack (without what waits for new functions and APIs); the
  // functions are then planned again with its values (table names, queue ARNs, ...).
  bool nested_uploaded = false;
  const auto deploy_infra = [&](const json::object& body) -> support::Status {
    if (!nested_uploaded) {
      WISP_TRY(upload_nested(*client, location.bucket, nested->templates, log));
      nested_uploaded = true;
    }
    WISP_TRY(upload_nested(*client, location.bucket, stack.uploads, log));
    infra::StackOptions so;
    so.name = stack_name;
    so.body = body;
    so.parameters = stack.parameters;
    so.tags = {{"wisp:stack", stack_name}};
    so.sources = stack.sources;
    so.bucket = location.bucket;
    so.prefix = location.prefix;
    so.cancel = options.cancel;
    WISP_TRY_ASSIGN(auto applied,
                    infra::deploy_stack(*client, stack_state, so, stack_progress(log)));
    WISP_TRY_ASSIGN(stack_state, infra::read_stack(*client, stack_name));
    std::vector<std::string> notes;
    WISP_TRY_ASSIGN(auto values,
                    infra::export_values(*client, stack_name, stack_state, stack.exports,
                                         client->region(), account, notes));
    for (const auto& note : notes)
      log.warning(note);
    if (applied.changed)
      log.step(fmt::format("stack {} is {}", stack_name, applied.status));
    stack_outputs = std::move(values);
    return {};
  };
  const bool publish =
      std::any_of(layers.begin(), layers.end(), [](const LayerState& l) { return l.arn.empty(); });
  if (publish) {
    WISP_TRY(publish_layers(backend, desired, layers, log));
    for (const auto& layer : layers)
      layer_arns[layer.spec.logical_id] = layer.arn;
    if (!stack.empty()) {
      WISP_TRY_ASSIGN(stack, stack_template(model, desired, existing(snap), api_ids(snap),
                                            layer_arns, &roles_first));
    }
  }
  if (stack_changed) {
    WISP_TRY(create_roles_first(backend, desired, roles_first, log));
    WISP_TRY(deploy_infra(stack.early));
  }
  if (stack_changed || publish) {
    infra = infra_values(stack, stack_outputs);
    WISP_TRY_ASSIGN(desired, build_desired(model, artifacts, inputs));
    for (const auto& f : desired.functions)
      for (const auto& [key, value] :
           f.config.contains("Environment")
               ? f.config.at("Environment").as_object().at("Variables").as_object()
               : json::object())
        if (value.is_string() && is_pending(value.as_string()))
          return support::failf("{}: environment variable {} has no value after the stack "
                                "deployed",
                                f.logical_id, std::string_view(key));
    WISP_TRY_ASSIGN(snap, engine.read());
  }
  // A value of the stack an API's integration or CORS names must be there by now: a stand-in
  // is never sent.
  for (const auto& api : desired.apis) {
    for (const auto& route : api.routes)
      if (route.integration && is_pending(canonical_json(*route.integration)))
        return support::failf("{}: the integration of {} {} names a value of the stack it does "
                              "not provide: {}",
                              api.logical_id, route.method, route.path,
                              canonical_json(*route.integration));
    if (api.cors && is_pending(canonical_json(*api.cors)))
      return support::failf("{}: the CORS configuration names a value of the stack it does not "
                            "provide",
                            api.logical_id);
  }

  // Phase 1: artifacts, roles, alarms.
  {
    std::vector<std::function<support::Status()>> tasks;
    std::set<std::string> uploading;
    for (const auto& f : snap.functions)
      if ((f.create || f.update_code) && f.spec->code.image_uri.empty() &&
          !snap.artifacts_present.contains(f.spec->code.s3_key) &&
          uploading.insert(f.spec->code.s3_key).second)
        tasks.emplace_back([&, spec = f.spec] { return engine.upload(*spec); });
    for (const auto& f : snap.functions)
      if ((f.create || f.update_code) && !f.spec->code.push_to.empty())
        tasks.emplace_back([&, spec = f.spec] {
          return push_image_code(backend, spec->logical_id, spec->code, options, log);
        });
    for (const auto& role : snap.roles)
      if (!role.actual.exists || role.actual.digest_tag != role.spec->digest)
        tasks.emplace_back([&, r = &role] { return engine.apply_role(*r); });
    for (const auto& alarm : snap.alarms)
      if (alarm.put)
        tasks.emplace_back([&, a = &alarm]() -> support::Status {
          WISP_TRY(backend.put_metric_alarm(a->spec->parameters));
          log.step(fmt::format("created alarm {}", a->spec->name));
          return {};
        });
    if (auto done = parallel_for(
            tasks.size(), options.max_parallel, [&](std::size_t i) { return tasks[i](); },
            options.cancel);
        !done)
      return tl::unexpected(done.error());
  }

  // Phase 2: functions and versions.
  std::map<std::string, std::string> new_versions; // logical id → version to serve
  std::mutex versions_mutex;
  {
    auto done = parallel_for(
        snap.functions.size(), options.max_parallel,
        [&](std::size_t i) -> support::Status {
          const auto& f = snap.functions[i];
          if (!f.function_changed() && !f.publish) {
            if (f.actual.alias) {
              std::lock_guard lock(versions_mutex);
              new_versions[f.spec->logical_id] = f.actual.alias->version;
            }
            return {};
          }
          WISP_TRY_ASSIGN(auto version, engine.apply_function(f));
          std::lock_guard lock(versions_mutex);
          new_versions[f.spec->logical_id] = version;
          return {};
        },
        options.cancel);
    if (!done)
      return tl::unexpected(done.error());
  }

  // Phase 3: aliases that move at once (new ones, functions without a DeploymentPreference).
  std::vector<ShiftItem> shift_items;
  {
    std::vector<const FunctionPlan*> direct;
    for (const auto& f : snap.functions) {
      const auto& to = new_versions[f.spec->logical_id];
      if (f.alias_create) {
        direct.push_back(&f);
      } else if (f.alias_move) {
        const auto& from = f.actual.alias->version;
        if (f.spec->shift && from != to) {
          ShiftItem item{f.spec->logical_id,
                         f.spec->name,
                         f.spec->alias,
                         from,
                         to,
                         *f.spec->shift,
                         f.spec->alarms,
                         f.spec->pre_traffic_hook.empty()
                             ? std::string()
                             : qualified_hook(desired, f.spec->pre_traffic_hook),
                         f.spec->post_traffic_hook.empty()
                             ? std::string()
                             : qualified_hook(desired, f.spec->post_traffic_hook)};
          shift_items.push_back(std::move(item));
        } else {
          direct.push_back(&f);
        }
      }
    }
    auto done = parallel_for(
        direct.size(), options.max_parallel,
        [&](std::size_t i) -> support::Status {
          const auto& f = *direct[i];
          const auto& to = new_versions[f.spec->logical_id];
          WISP_TRY(set_alias(backend, f.spec->name, f.spec->alias, to, {}, f.alias_create));
          log.step(fmt::format("{}:{} → version {}", f.spec->name, f.spec->alias, to));
          return {};
        },
        options.cancel);
    if (!done)
      return tl::unexpected(done.error());
  }

  // Phase 4: APIs, then the permissions that let them invoke each alias.
  std::map<std::string, ApiApplied> applied_apis;
  {
    std::mutex mutex;
    auto done = parallel_for(
        snap.apis.size(), options.max_parallel,
        [&](std::size_t i) -> support::Status {
          const auto& api = snap.apis[i];
          ApiApplied applied;
          if (api.unchanged()) {
            applied.id = api.actual.id;
            applied.deployment_id = api.actual.deployment_id;
            applied.url = api_url(desired, api.spec->kind, api.actual.id, api.spec->stage);
          } else {
            WISP_TRY_ASSIGN(applied, apply_api(backend, desired, api, log));
          }
          std::lock_guard lock(mutex);
          applied_apis[api.spec->logical_id] = applied;
          return {};
        },
        options.cancel);
    if (!done)
      return tl::unexpected(done.error());
    // Usage plans and API keys, one API at a time (a SHARED plan spans APIs).
    for (const auto& api : snap.apis)
      if (api.usage_plan_changed)
        WISP_TRY(
            apply_usage_plans(backend, *api.spec, applied_apis.at(api.spec->logical_id).id, log));
    std::vector<std::pair<const FunctionSpec*, std::string>> permissions;
    for (const auto& f : snap.functions)
      for (const auto& api : f.missing_permissions)
        permissions.emplace_back(f.spec, api);
    done = parallel_for(
        permissions.size(), options.max_parallel,
        [&](std::size_t i) -> support::Status {
          const auto& [spec, api] = permissions[i];
          const auto& applied = applied_apis.at(api);
          WISP_TRY(backend.add_permission(
              spec->name, spec->alias, permission_id(api, spec->alias), "apigateway.amazonaws.com",
              api_source_arn(desired.region, desired.account, applied.id)));
          log.step(fmt::format("{}:{} may be invoked by {}", spec->name, spec->alias, api));
          return {};
        },
        options.cancel);
    if (!done)
      return tl::unexpected(done.error());
  }

  // Phase 4b: what waited for the new functions and APIs (their permissions, event source
  // mappings, notifications).
  if (stack_changed && stack.split()) {
    std::set<std::string> all;
    for (const auto& f : desired.functions)
      all.insert(f.logical_id);
    for (const auto& [id, role] : desired.roles)
      all.insert("role:" + id);
    std::map<std::string, std::string> ids;
    for (const auto& [id, applied] : applied_apis)
      ids[id] = applied.id;
    WISP_TRY_ASSIGN(stack,
                    infra::generate(model, infra_inputs(model, desired, all, ids, layer_arns)));
    WISP_TRY(deploy_infra(stack.body));
  }

  // Phase 5: what the template no longer has, for this stage.
  if (snap.stage) {
    std::vector<std::function<support::Status()>> removals;
    for (const auto& [id, record] : snap.stage->value.functions)
      if (desired.function(id) == nullptr)
        removals.emplace_back([&, r = &record]() -> support::Status {
          WISP_TRY(backend.delete_alias(r->name, r->alias));
          log.step(fmt::format("removed alias {}:{}", r->name, r->alias));
          return {};
        });
    for (const auto& [id, api] : snap.stage->value.apis) {
      if (api.id.empty() || std::any_of(desired.apis.begin(), desired.apis.end(),
                                        [&](const ApiSpec& a) { return a.logical_id == id; }))
        continue;
      removals.emplace_back([&, a = &api, name = id]() -> support::Status {
        auto removed =
            a->kind == "rest"
                ? backend.apigw("DeleteStage", "DELETE",
                                slash_segment(a->id) + "/stages/" + segment(a->stage))
                : backend.apigw2("DeleteStage", "DELETE",
                                 "/apis/" + segment(a->id) + "/stages/" + segment(a->stage));
        if (!removed && !removed.error().not_found())
          return tl::unexpected(as_error(removed.error()));
        log.step(fmt::format("removed stage {} of {}", a->stage, name));
        return {};
      });
    }
    if (auto done = parallel_for(
            removals.size(), options.max_parallel, [&](std::size_t i) { return removals[i](); },
            options.cancel);
        !done)
      return tl::unexpected(done.error());
  }

  // The app-wide record, then the app lock goes: shifting only touches this stage.
  AppState app = snap.app ? snap.app->value : AppState{};
  app.stack = desired.stack;
  app.region = desired.region;
  for (const auto& f : desired.functions)
    app.functions[f.logical_id] = f.name;
  for (const auto& [id, role] : desired.roles)
    app.roles[id] = {role.name, role.arn, role.digest};
  for (const auto& [id, applied] : applied_apis) {
    const auto* spec = [&]() -> const ApiSpec* {
      for (const auto& a : desired.apis)
        if (a.logical_id == id)
          return &a;
      return nullptr;
    }();
    app.apis[id] = {applied.id, spec != nullptr ? spec->kind : "", "", "", ""};
  }
  for (const auto& alarm : desired.alarms)
    if (!alarm.logical_id.empty())
      app.alarms[alarm.logical_id] = alarm.name;
  for (const auto& layer : desired.layers)
    app.layers[layer.logical_id] = layer.name;
  if (std::find(app.stages.begin(), app.stages.end(), desired.stage) == app.stages.end())
    app.stages.push_back(desired.stage);
  for (const auto& f : desired.functions)
    if (f.code.s3_bucket.empty() && // the user's own objects are never wisp's to delete
        std::find(app.artifacts.begin(), app.artifacts.end(), f.code.s3_key) == app.artifacts.end())
      app.artifacts.push_back(f.code.s3_key);
  WISP_TRY(save_app_state(*client, location, app, snap.app ? snap.app->etag : ""));
  WISP_TRY(app_lock->release());

  // The stage record: written before shifting so a crash leaves the shift on record.
  StageState stage = snap.stage ? snap.stage->value : StageState{};
  std::string stage_etag = snap.stage ? snap.stage->etag : "";
  stage.stack = desired.stack;
  stage.stage = desired.stage;
  stage.region = desired.region;
  stage.git_commit = options.git_commit;
  for (const auto& f : snap.functions) {
    auto& record = stage.functions[f.spec->logical_id];
    const auto& to = new_versions[f.spec->logical_id];
    const auto from = f.actual.alias ? f.actual.alias->version : std::string();
    record.name = f.spec->name;
    record.alias = f.spec->alias;
    if (record.version != to && !from.empty() && from != to)
      record.previous_version = from;
    record.version = to;
    record.code_sha256 = f.spec->code.sha256_base64;
    record.config_digest = f.spec->config_digest;
    record.deployment_preference = f.spec->shift ? f.spec->shift->type : "";
    record.permissions.clear();
    for (const auto& api : f.spec->apis)
      if (auto it = applied_apis.find(api); it != applied_apis.end())
        record.permissions.push_back(permission_id(api, f.spec->alias) + "=" + it->second.id);
  }
  for (auto it = stage.functions.begin(); it != stage.functions.end();)
    it = desired.function(it->first) == nullptr ? stage.functions.erase(it) : std::next(it);
  for (auto it = stage.apis.begin(); it != stage.apis.end();)
    it = std::none_of(desired.apis.begin(), desired.apis.end(),
                      [&](const ApiSpec& a) { return a.logical_id == it->first; })
             ? stage.apis.erase(it)
             : std::next(it);
  for (const auto& api : desired.apis) {
    const auto& applied = applied_apis[api.logical_id];
    stage.apis[api.logical_id] = {applied.id, api.kind, api.stage, applied.deployment_id,
                                  applied.url};
    result.endpoints.push_back({api.logical_id, api.kind, api.stage, applied.url});
  }
  stage.shift.clear();
  for (const auto& item : shift_items)
    stage.shift[item.logical_id] = {item.from, item.to, 0.0, item.plan.type};
  stage.status = shift_items.empty() ? "deployed" : "shifting";
  stage.updated = now_iso8601();
  WISP_TRY_ASSIGN(stage_etag, save_stage_state(*client, location, stage, stage_etag));

  std::string final_status = "deployed";
  if (!shift_items.empty()) {
    std::mutex state_mutex;
    const auto outcome =
        run_shift(backend, shift_items, log, options.cancel,
                  [&](const std::map<std::string, double>& weights) {
                    std::lock_guard lock(state_mutex);
                    for (const auto& [id, w] : weights)
                      stage.shift[id].weight = w;
                    stage.updated = now_iso8601();
                    auto saved = save_stage_state(*client, location, stage, stage_etag);
                    if (saved)
                      stage_etag = *saved;
                    else
                      log.warning("could not record the shift: " + saved.error().message);
                  });
    using Kind = ShiftOutcome::Kind;
    if (outcome.kind == Kind::completed) {
      stage.shift.clear();
    } else {
      // Every shifted alias serves its old version again.
      for (const auto& item : shift_items) {
        auto& record = stage.functions[item.logical_id];
        record.version = item.from;
        record.previous_version = item.to;
      }
      result.message = outcome.reason;
      if (outcome.kind == Kind::interrupted) {
        final_status = "interrupted";
      } else {
        final_status = outcome.kind == Kind::rolled_back ? "rolled-back" : "failed";
        stage.shift.clear();
      }
      // A stage canary made for this deploy goes too.
      for (const auto& [id, applied] : applied_apis) {
        if (!applied.canary_active)
          continue;
        const auto* spec = [&]() -> const ApiSpec* {
          for (const auto& a : desired.apis)
            if (a.logical_id == id)
              return &a;
          return nullptr;
        }();
        const json::value body = json::object{
            {"patchOperations",
             json::array{json::object{{"op", "remove"}, {"path", "/canarySettings"}}}}};
        auto removed =
            backend.apigw("UpdateStage", "PATCH",
                          slash_segment(applied.id) + "/stages/" + segment(spec->stage), &body);
        if (!removed)
          log.warning("could not remove the stage canary of " + id + ": " +
                      removed.error().describe());
      }
    }
  }
  if (final_status == "deployed") {
    for (const auto& [id, applied] : applied_apis) {
      if (!applied.canary_active)
        continue;
      for (const auto& api : desired.apis)
        if (api.logical_id == id)
          WISP_TRY(promote_api_canary(backend, applied.id, api.stage, log));
    }
  }
  for (const auto& [id, record] : stage.functions)
    result.versions[id] = record.version;
  stage.status = final_status == "failed" ? "rolled-back" : final_status;
  stage.updated = now_iso8601();
  HistoryEntry entry;
  entry.id = stage.history.empty() ? 1 : stage.history.back().id + 1;
  entry.time = stage.updated;
  entry.status = final_status;
  entry.git_commit = options.git_commit;
  entry.message = result.message;
  for (const auto& [id, record] : stage.functions)
    entry.versions[id] = record.version;
  stage.history.push_back(std::move(entry));
  WISP_TRY(save_stage_state(*client, location, stage, stage_etag));
  WISP_TRY(stage_lock->release());
  (void)cancelled;
  return finish(final_status);
}

} // namespace wisp::deploy
