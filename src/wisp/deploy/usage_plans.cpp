// API keys and usage plans of REST APIs (Auth.UsagePlan): the usage plan, its API key and
// the usage plan key, as samtranslator makes them, for the API's stage. wisp's plans and
// keys are tagged wisp:stack; a plan is shared by the APIs that say SHARED.

#include <wisp/deploy/engine.hpp>

#include <wisp/aws/json_fields.hpp>
#include <wisp/deploy/naming.hpp>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace wisp::deploy {

namespace json = boost::json;

namespace {

bool owned(const json::object& o, const std::string& stack) {
  const auto* tags = o.if_contains("tags");
  return tags != nullptr && tags->is_object() &&
         aws::json_string(tags->as_object(), "wisp:stack") == stack;
}

// Every usage plan of the backend that wisp made for the stack.
support::Result<std::vector<UsagePlanActual>> owned_plans(const Backend& backend,
                                                          const std::string& stack) {
  std::vector<UsagePlanActual> out;
  std::string position;
  for (int page = 0; page < 50; ++page) {
    aws::Query query{{"limit", "500"}};
    if (!position.empty())
      query.emplace_back("position", position);
    auto listed = backend.apigw_root("GetUsagePlans", "GET", "/usageplans", nullptr, query);
    if (!listed)
      return tl::unexpected(aws::error_of(std::move(listed)));
    for (const auto& item : aws::json_items(*listed)) {
      if (!item.is_object() || !owned(item.as_object(), stack))
        continue;
      const auto& o = item.as_object();
      UsagePlanActual plan{aws::json_string(o, "id"),
                           aws::json_string(o, "name"),
                           usage_plan_fields(item),
                           {},
                           {},
                           false,
                           false};
      if (const auto* stages = o.if_contains("apiStages"); stages != nullptr && stages->is_array())
        for (const auto& s : stages->as_array())
          if (s.is_object())
            plan.stages.emplace_back(aws::json_string(s.as_object(), "apiId"),
                                     aws::json_string(s.as_object(), "stage"));
      out.push_back(std::move(plan));
    }
    position = listed->is_object() ? aws::json_string(listed->as_object(), "position") : "";
    if (position.empty())
      break;
  }
  return out;
}

// The API key named `name` (wisp's), and whether the plan lists it.
support::Status read_key(const Backend& backend, const std::string& name, UsagePlanActual& plan) {
  auto keys = backend.apigw_root("GetApiKeys", "GET", "/apikeys", nullptr,
                                 {{"name", name}, {"limit", "500"}});
  if (!keys)
    return tl::unexpected(aws::error_of(std::move(keys)));
  for (const auto& item : aws::json_items(*keys))
    if (item.is_object() && aws::json_string(item.as_object(), "name") == name) {
      plan.key_id = aws::json_string(item.as_object(), "id");
      const auto* enabled = item.as_object().if_contains("enabled");
      plan.key_enabled = enabled != nullptr && enabled->is_bool() && enabled->as_bool();
      break;
    }
  if (plan.key_id.empty() || plan.id.empty())
    return {};
  auto linked =
      backend.apigw_root("GetUsagePlanKeys", "GET", "/usageplans/" + segment(plan.id) + "/keys",
                         nullptr, {{"limit", "500"}});
  if (!linked)
    return tl::unexpected(aws::error_of(std::move(linked)));
  for (const auto& item : aws::json_items(*linked))
    if (item.is_object() && aws::json_string(item.as_object(), "id") == plan.key_id)
      plan.key_linked = true;
  return {};
}

bool lists(const UsagePlanActual& plan, const std::string& api_id, const std::string& stage) {
  return std::find(plan.stages.begin(), plan.stages.end(), std::pair{api_id, stage}) !=
         plan.stages.end();
}

// Leaves `plan`: the stage goes from it; a plan left without stages goes, with wisp's keys.
support::Status leave(const Backend& backend, const UsagePlanActual& plan, const std::string& stack,
                      const std::string& api_id, const std::string& stage, Log& log) {
  const auto path = "/usageplans/" + segment(plan.id);
  if (plan.stages.size() > 1 || !lists(plan, api_id, stage)) {
    if (!lists(plan, api_id, stage))
      return {};
    const json::value body = json::object{
        {"patchOperations",
         json::array{json::object{
             {"op", "remove"}, {"path", "/apiStages"}, {"value", api_id + ":" + stage}}}}};
    auto patched = backend.apigw_root("UpdateUsagePlan", "PATCH", path, &body);
    if (!patched)
      return tl::unexpected(aws::error_of(std::move(patched)));
    log.step(fmt::format("usage plan {}: stage {} of API {} removed", plan.name, stage, api_id));
    return {};
  }
  // The plan's keys that wisp made (named after the stack, like the plan).
  auto linked =
      backend.apigw_root("GetUsagePlanKeys", "GET", path + "/keys", nullptr, {{"limit", "500"}});
  if (!linked && !linked.error().not_found())
    return tl::unexpected(aws::error_of(std::move(linked)));
  std::vector<std::string> keys;
  if (linked)
    for (const auto& item : aws::json_items(*linked))
      if (item.is_object() && aws::json_string(item.as_object(), "name").starts_with(stack + "-"))
        keys.push_back(aws::json_string(item.as_object(), "id"));
  // API Gateway refuses to delete a plan that still lists stages.
  const json::value body =
      json::object{{"patchOperations", json::array{json::object{{"op", "remove"},
                                                                {"path", "/apiStages"},
                                                                {"value", api_id + ":" + stage}}}}};
  auto patched = backend.apigw_root("UpdateUsagePlan", "PATCH", path, &body);
  if (!patched && !patched.error().not_found())
    return tl::unexpected(aws::error_of(std::move(patched)));
  auto removed = backend.apigw_root("DeleteUsagePlan", "DELETE", path);
  if (!removed && !removed.error().not_found())
    return tl::unexpected(aws::error_of(std::move(removed)));
  log.step(fmt::format("usage plan {} removed", plan.name));
  for (const auto& key : keys) {
    auto gone = backend.apigw_root("DeleteApiKey", "DELETE", "/apikeys/" + segment(key));
    if (!gone && !gone.error().not_found())
      return tl::unexpected(aws::error_of(std::move(gone)));
    log.step(fmt::format("API key {} removed", key));
  }
  return {};
}

// The patch operations that make `actual` (usage_plan_fields) into `wanted`.
json::array field_patches(const json::object& wanted, const json::object& actual) {
  json::array ops;
  const auto scalar = [](const json::value& v) {
    if (v.is_string())
      return std::string(v.as_string());
    if (v.is_double())
      return fmt::format("{}", v.as_double());
    return json::serialize(v);
  };
  const auto* wd = wanted.if_contains("description");
  const auto* ad = actual.if_contains("description");
  if ((wd == nullptr) != (ad == nullptr) || (wd != nullptr && *wd != *ad))
    ops.push_back(json::object{{"op", "replace"},
                               {"path", "/description"},
                               {"value", wd != nullptr ? scalar(*wd) : std::string()}});
  for (const char* group : {"quota", "throttle"}) {
    const auto* w = wanted.if_contains(group);
    const auto* a = actual.if_contains(group);
    if (w == nullptr) {
      if (a != nullptr)
        ops.push_back(json::object{{"op", "remove"}, {"path", std::string("/") + group}});
      continue;
    }
    for (const auto& field : w->as_object()) {
      const auto* now = a != nullptr ? a->as_object().if_contains(field.key()) : nullptr;
      if (now == nullptr || *now != field.value())
        ops.push_back(
            json::object{{"op", "replace"},
                         {"path", fmt::format("/{}/{}", group, std::string_view(field.key()))},
                         {"value", scalar(field.value())}});
    }
  }
  return ops;
}

} // namespace

support::Result<std::vector<UsagePlanActual>>
read_usage_plans(const Backend& backend, const ApiSpec& spec, const std::string& api_id) {
  WISP_TRY_ASSIGN(auto all, owned_plans(backend, spec.stack));
  std::vector<UsagePlanActual> out;
  for (auto& plan : all) {
    const bool wanted = spec.usage_plan && plan.name == spec.usage_plan->name;
    if (!wanted && !lists(plan, api_id, spec.stage))
      continue;
    if (wanted)
      WISP_TRY(read_key(backend, spec.usage_plan->key_name, plan));
    out.push_back(std::move(plan));
  }
  return out;
}

std::vector<std::string> plan_usage_plans(const ApiSpec& spec, const ApiActual& actual) {
  std::vector<std::string> lines;
  const UsagePlanActual* found = nullptr;
  for (const auto& plan : actual.usage_plans) {
    if (spec.usage_plan && plan.name == spec.usage_plan->name)
      found = &plan;
    else if (lists(plan, actual.id, spec.stage))
      lines.push_back("- usage plan " + plan.name);
  }
  if (!spec.usage_plan)
    return lines;
  const auto& wanted = *spec.usage_plan;
  if (found == nullptr) {
    lines.push_back(fmt::format("+ usage plan {} with API key {}", wanted.name, wanted.key_name));
    return lines;
  }
  if (found->fields != wanted.body)
    lines.push_back("~ usage plan " + wanted.name);
  if (!lists(*found, actual.id, spec.stage))
    lines.push_back(fmt::format("~ usage plan {} (+ stage {})", wanted.name, spec.stage));
  if (found->key_id.empty() || !found->key_enabled || !found->key_linked)
    lines.push_back("+ API key " + wanted.key_name);
  return lines;
}

support::Status apply_usage_plans(const Backend& backend, const ApiSpec& spec,
                                  const std::string& api_id, Log& log) {
  // Read again: an API applied just before may have made the shared plan.
  WISP_TRY_ASSIGN(auto plans, read_usage_plans(backend, spec, api_id));
  UsagePlanActual* found = nullptr;
  for (auto& plan : plans) {
    if (spec.usage_plan && plan.name == spec.usage_plan->name)
      found = &plan;
    else
      WISP_TRY(leave(backend, plan, spec.stack, api_id, spec.stage, log));
  }
  if (!spec.usage_plan)
    return {};
  const auto& wanted = *spec.usage_plan;
  const json::object tags{{"wisp:stack", spec.stack}, {"wisp:logical-id", wanted.logical_id}};
  UsagePlanActual made;
  if (found == nullptr) {
    json::object body = wanted.body;
    body["name"] = wanted.name;
    body["apiStages"] = json::array{json::object{{"apiId", api_id}, {"stage", spec.stage}}};
    body["tags"] = tags;
    const json::value request = std::move(body);
    auto created = backend.apigw_root("CreateUsagePlan", "POST", "/usageplans", &request);
    if (!created)
      return tl::unexpected(aws::error_of(std::move(created)));
    made.id = created->is_object() ? aws::json_string(created->as_object(), "id") : "";
    if (made.id.empty())
      return support::failf("CreateUsagePlan for {} returned no id", spec.logical_id);
    made.name = wanted.name;
    made.stages.emplace_back(api_id, spec.stage);
    made.fields = wanted.body;
    found = &made;
    log.step(fmt::format("{}: usage plan {} created", spec.logical_id, wanted.name));
  } else {
    auto ops = field_patches(wanted.body, found->fields);
    if (!lists(*found, api_id, spec.stage))
      ops.push_back(json::object{
          {"op", "add"}, {"path", "/apiStages"}, {"value", api_id + ":" + spec.stage}});
    if (!ops.empty()) {
      const json::value body = json::object{{"patchOperations", std::move(ops)}};
      auto patched = backend.apigw_root("UpdateUsagePlan", "PATCH",
                                        "/usageplans/" + segment(found->id), &body);
      if (!patched)
        return tl::unexpected(aws::error_of(std::move(patched)));
      log.step(fmt::format("{}: usage plan {} updated", spec.logical_id, wanted.name));
    }
  }
  if (found->key_id.empty()) {
    const json::value body =
        json::object{{"name", wanted.key_name}, {"enabled", true}, {"tags", tags}};
    auto created = backend.apigw_root("CreateApiKey", "POST", "/apikeys", &body);
    if (!created)
      return tl::unexpected(aws::error_of(std::move(created)));
    found->key_id = created->is_object() ? aws::json_string(created->as_object(), "id") : "";
    if (found->key_id.empty())
      return support::failf("CreateApiKey for {} returned no id", spec.logical_id);
    found->key_linked = false;
    log.step(fmt::format("{}: API key {} created (aws apigateway get-api-key --api-key {} "
                         "--include-value shows it)",
                         spec.logical_id, wanted.key_name, found->key_id));
  } else if (!found->key_enabled) {
    const json::value body = json::object{
        {"patchOperations",
         json::array{json::object{{"op", "replace"}, {"path", "/enabled"}, {"value", "true"}}}}};
    auto patched =
        backend.apigw_root("UpdateApiKey", "PATCH", "/apikeys/" + segment(found->key_id), &body);
    if (!patched)
      return tl::unexpected(aws::error_of(std::move(patched)));
  }
  if (!found->key_linked) {
    const json::value body = json::object{{"keyId", found->key_id}, {"keyType", "API_KEY"}};
    auto linked = backend.apigw_root("CreateUsagePlanKey", "POST",
                                     "/usageplans/" + segment(found->id) + "/keys", &body);
    if (!linked)
      return tl::unexpected(aws::error_of(std::move(linked)));
  }
  return {};
}

support::Status remove_usage_plans(const Backend& backend, const std::string& stack,
                                   const std::string& api_id, const std::string& stage, Log& log) {
  WISP_TRY_ASSIGN(auto plans, owned_plans(backend, stack));
  for (const auto& plan : plans)
    if (lists(plan, api_id, stage))
      WISP_TRY(leave(backend, plan, stack, api_id, stage, log));
  return {};
}

} // namespace wisp::deploy
