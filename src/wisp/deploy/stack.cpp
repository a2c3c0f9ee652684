// deploy's side of the infrastructure stack: what it tells the infra area, what it takes back.

#include <wisp/deploy/engine.hpp>
#include <wisp/deploy/naming.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace wisp::deploy {

namespace {
constexpr const char* k_before_the_stack = "before the stack (the stack names it)";
} // namespace

infra::Inputs infra_inputs(const sam::Model& model, const Desired& desired,
                           const std::set<std::string>& existing_aliases,
                           const std::map<std::string, std::string>& api_ids,
                           const std::map<std::string, std::string>& layer_arns) {
  infra::Inputs in;
  in.stack = desired.stack;
  in.stage = desired.stage;
  in.region = desired.region;
  in.account = desired.account;
  in.nested_urls = desired.nested_urls;
  in.nested = desired.nested;
  for (const auto& f : desired.functions) {
    infra::WispFunction w;
    w.logical_id = f.logical_id;
    w.name = f.name;
    w.alias = f.alias;
    w.alias_arn = f.arn + ":" + f.alias;
    if (f.role_logical_id == f.logical_id)
      if (auto it = desired.roles.find(f.logical_id); it != desired.roles.end()) {
        w.role_name = it->second.name;
        w.role_arn = it->second.arn;
      }
    w.exists = existing_aliases.contains(f.logical_id);
    w.role_exists = existing_aliases.contains("role:" + f.logical_id);
    in.functions.push_back(std::move(w));
  }
  for (const auto& a : desired.apis) {
    auto it = api_ids.find(a.logical_id);
    in.apis.push_back(
        {a.logical_id, a.kind, it == api_ids.end() ? std::string() : it->second, a.stage});
  }
  for (const auto& [id, role] : desired.roles) {
    const auto* resource = model.find_resource(id);
    if (resource != nullptr && resource->type == "AWS::IAM::Role")
      in.roles.push_back({id, role.name, role.arn, existing_aliases.contains("role:" + id)});
  }
  for (const auto& layer : desired.layers) {
    auto it = layer_arns.find(layer.logical_id);
    in.layers.push_back(
        {layer.logical_id, layer.name, it == layer_arns.end() ? std::string() : it->second});
  }
  for (const auto& alarm : desired.alarms)
    if (!alarm.logical_id.empty())
      in.alarms.push_back(
          {alarm.logical_id, alarm.name,
           fmt::format("arn:{}:cloudwatch:{}:{}:alarm:{}", partition(desired.region),
                       desired.region, desired.account, alarm.name)});
  return in;
}

support::Result<infra::StackTemplate> stack_template(
    const sam::Model& model, const Desired& desired, const std::set<std::string>& existing,
    const std::map<std::string, std::string>& api_ids,
    const std::map<std::string, std::string>& layer_arns, std::vector<std::string>* roles_first) {
  if (roles_first != nullptr)
    roles_first->clear();
  auto stack = infra::generate(model, infra_inputs(model, desired, existing, api_ids, layer_arns));
  if (stack)
    return stack;
  // The roles wisp makes that do not exist yet and whose trust policy names nothing of the
  // stack: the template again as if they did.
  auto with_roles = existing;
  std::vector<std::string> candidates;
  for (const auto& [id, role] : desired.roles)
    if (!existing.contains("role:" + id) && !is_pending(canonical_json(role.document.trust))) {
      with_roles.insert("role:" + id);
      candidates.push_back(id);
    }
  if (candidates.empty())
    return stack;
  auto again =
      infra::generate(model, infra_inputs(model, desired, with_roles, api_ids, layer_arns));
  if (!again)
    return stack;
  // Of those, the ones the stack names (a parameter for the role's ARN or name).
  std::set<std::string> keys;
  for (const auto& p : again->parameters)
    keys.insert(p.key);
  std::vector<std::string> named;
  for (const auto& id : candidates) {
    // A function's own role is FnRole to the template (SAM's name); an AWS::IAM::Role its id.
    const auto* resource = model.find_resource(id);
    const bool own = resource != nullptr && resource->type != "AWS::IAM::Role";
    std::string base = "Wisp";
    for (char c : own ? id + "Role" : id)
      if (std::isalnum(static_cast<unsigned char>(c)) != 0)
        base += c;
    if (keys.contains(base + "Arn") || keys.contains(base + "Name"))
      named.push_back(id);
  }
  if (named.empty())
    return stack;
  if (roles_first != nullptr)
    *roles_first = std::move(named);
  return again;
}

support::Status create_roles_first(const Backend& backend, const Desired& desired,
                                   const std::vector<std::string>& roles, Log& log) {
  for (const auto& id : roles) {
    const auto& role = desired.roles.at(id);
    auto created =
        backend.create_role(role.name, role.document.trust, {{"wisp:stack", desired.stack}});
    if (!created && !created.error().is("EntityAlreadyExists"))
      return tl::unexpected(aws::error_of(std::move(created)));
    log.step(fmt::format("role {} created before the stack (the stack names it; its policies "
                         "follow the stack)",
                         role.name));
  }
  return {};
}

void mark_roles_first(Plan& plan, const Desired& desired, const std::vector<std::string>& roles) {
  for (const auto& id : roles)
    for (auto& change : plan.changes)
      if (change.kind == "role" && change.name == desired.roles.at(id).name &&
          std::find(change.details.begin(), change.details.end(), k_before_the_stack) ==
              change.details.end())
        change.details.emplace_back(k_before_the_stack);
}

InfraValues infra_values(const infra::StackTemplate& stack,
                         const std::map<std::string, std::string>& outputs) {
  InfraValues values;
  for (const auto& [id, type] : stack.types)
    values.ids.insert(id);
  values.deployed_events = stack.deployed_events;
  for (const auto& e : stack.exports)
    if (auto it = outputs.find(e.output); it != outputs.end())
      values.values[e.attribute.empty() ? e.logical_id : e.logical_id + "." + e.attribute] =
          it->second;
  return values;
}

support::Status check_stack(const infra::StackState& state, const infra::StackTemplate& stack,
                            const Desired& desired) {
  if (!state.exists)
    return {};
  if (auto it = state.tags.find("wisp:stack");
      it == state.tags.end() || it->second != desired.stack)
    return support::failf("a CloudFormation stack named {} exists and was not made by wisp deploy "
                          "(it has no wisp:stack tag): wisp would take over its resources; deploy "
                          "with another --stack-name, or delete that stack first",
                          desired.stack);
  // Triggers of the stack point at one stage's aliases.
  for (const auto& p : stack.parameters) {
    if (!p.key.ends_with("Alias"))
      continue;
    auto it = state.parameters.find(p.key);
    if (it == state.parameters.end() || it->second == p.value)
      continue;
    const auto colon = it->second.rfind(':');
    const auto serving = colon == std::string::npos ? it->second : it->second.substr(colon + 1);
    return support::failf("the infrastructure stack {} serves stage {} (its event sources and "
                          "permissions name the aliases {}); deploying stage {} would move them. "
                          "Deploy another stage of an app with infrastructure as its own app "
                          "(--stack-name {}-{})",
                          desired.stack, serving, serving, desired.stage, desired.stack,
                          desired.stage);
  }
  return {};
}

void plan_stack(Plan& plan, const std::string& name, const infra::StackState& state,
                const infra::StackTemplate& stack, bool changed,
                const std::vector<infra::ResourceChange>* changes) {
  const auto count = stack.types.size();
  const auto resources = fmt::format("{} resource{}", count, count == 1 ? "" : "s");
  if (!state.exists || state.status == "REVIEW_IN_PROGRESS")
    plan.changes.push_back({Action::create, "stack", name, {resources}});
  else if (changed)
    plan.changes.push_back(
        {Action::update,
         "stack",
         name,
         {resources, state.status.ends_with("_COMPLETE") && state.status != "ROLLBACK_COMPLETE"
                         ? "template or parameters changed"
                         : "stack is " + state.status}});
  else
    plan.changes.push_back({Action::unchanged, "stack", name, {resources}});
  if (changes == nullptr)
    return;
  for (const auto& c : *changes) {
    const auto action = c.action == "Add"      ? Action::create
                        : c.action == "Remove" ? Action::remove
                                               : Action::update;
    std::vector<std::string> details{c.type};
    if (c.replacement == "True")
      details.emplace_back("replaced");
    plan.changes.push_back({action, "resource", c.logical_id, std::move(details)});
  }
}

infra::StackProgress stack_progress(Log& log) {
  return {[&log](std::string_view line) { log.step(std::string(line)); },
          [&log](std::string_view line) { log.status(std::string(line)); },
          [&log](std::string_view line) { log.warning(std::string(line)); }};
}

} // namespace wisp::deploy
