// The loader's second half: resolved resources → Model. This file walks the resources
// (Globals merged, properties resolved and schema-checked) and hands each to its builder:
// functions and layers in build_functions.cpp, SAM APIs and routes in build_apis.cpp,
// plain API Gateway resources in build_raw_apis.cpp. Outputs and the transformed-stack
// size check live here too.

#include <wisp/template/build_support.hpp>
#include <wisp/template/convert.hpp>
#include <wisp/template/loader.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace wisp::sam::detail {

// -------------------------------------------------------------------- resources

const Node* Loader::globals_for(const ResourceDecl& decl) {
  const auto it = m_globals.find(decl.type);
  if (it == m_globals.end())
    return nullptr;
  const Node* ignore = decl.node != nullptr ? decl.node->find("IgnoreGlobals") : nullptr;
  if (ignore == nullptr)
    return &it->second;
  if (ignore->is_string() && ignore->text == "*")
    return nullptr;
  if (!ignore->is_sequence()) {
    error(ignore->mark, "globals", "IgnoreGlobals takes \"*\" or a list of property names");
    return &it->second;
  }
  Node globals = it->second;
  for (const auto& item : ignore->items) {
    if (!item.is_string())
      continue;
    auto& entries = globals.entries;
    const auto before = entries.size();
    entries.erase(std::remove_if(entries.begin(), entries.end(),
                                 [&](const Entry& e) { return e.key == item.text; }),
                  entries.end());
    if (entries.size() == before)
      error(item.mark, "globals",
            fmt::format("IgnoreGlobals names '{}', which Globals does not set", item.text));
  }
  m_ignored_globals.push_back(std::move(globals));
  return &m_ignored_globals.back();
}

// SAM's Globals merge, fused with resolution (no intermediate merged copy): the resource
// wins for scalars and intrinsics, mappings merge key by key (Globals' keys first), lists
// concatenate (Globals first). Intrinsics are merged as the values they are written as,
// before resolution, exactly as SAM does.
Node Loader::resolve_merged(const Node* global, const Node& local) {
  if (global == nullptr)
    return m_resolver->resolve(local);
  const auto token = [](const Node& n) {
    if (n.is_mapping() && !is_symbolic(n))
      return 1;
    if (n.is_sequence())
      return 2;
    return 0;
  };
  const int g = token(*global);
  const int l = token(local);
  if (g != l || g == 0)
    return m_resolver->resolve(local);
  if (g == 2) {
    Node out(NodeKind::sequence, local.mark);
    out.items.reserve(global->items.size() + local.items.size());
    for (const auto* list : {global, &local})
      for (const auto& item : list->items) {
        Node resolved = m_resolver->resolve(item);
        if (resolved.kind != NodeKind::no_value)
          out.items.push_back(std::move(resolved));
      }
    return out;
  }
  Node out(NodeKind::mapping, local.mark);
  out.entries.reserve(global->entries.size() + local.entries.size());
  for (const auto& entry : global->entries) {
    const Entry* mine = local.find_entry(entry.key);
    Node value = mine != nullptr ? resolve_merged(&entry.value, mine->value)
                                 : m_resolver->resolve(entry.value);
    if (value.kind != NodeKind::no_value)
      out.entries.push_back(
          Entry{entry.key, mine != nullptr ? mine->key_mark : entry.key_mark, std::move(value)});
  }
  for (const auto& entry : local.entries) {
    if (global->find_entry(entry.key) != nullptr)
      continue;
    Node value = m_resolver->resolve(entry.value);
    if (value.kind != NodeKind::no_value)
      out.entries.push_back(Entry{entry.key, entry.key_mark, std::move(value)});
  }
  return out;
}

void Loader::build_resources() {
  // Reserved up front: the model's elements are not cheap to move.
  std::size_t functions = 0;
  std::size_t apis = 2;
  std::size_t layers = 0;
  for (const auto& [id, decl] : m_scope.resources) {
    functions += decl.type == "AWS::Serverless::Function" || decl.type == "AWS::Lambda::Function";
    apis += decl.type == "AWS::Serverless::Api" || decl.type == "AWS::Serverless::HttpApi";
    layers += decl.type.ends_with("::LayerVersion");
  }
  m_model.functions.reserve(functions);
  m_model.apis.reserve(apis);
  m_model.layers.reserve(layers);
  m_model.resources.reserve(m_resource_entries.size() + 2);
  for (const auto* entry : m_resource_entries) {
    auto& decl = m_scope.resources.at(entry->key);
    if (!entry->value.is_mapping() || decl.type.empty()) {
      decl.included = false;
      continue;
    }
    if (!decl.condition.empty()) {
      if (const auto value = m_resolver->condition(decl.condition); value && !*value) {
        decl.included = false;
        continue;
      }
    }
    const Node* raw = entry->value.find("Properties");
    const Node empty(NodeKind::mapping, decl.mark);
    const Node* properties = &empty;
    if (raw != nullptr) {
      if (raw->is_mapping())
        properties = raw;
      else if (!raw->is_null())
        error(raw->mark, "type",
              fmt::format("'Properties' must be a mapping, not {}", describe_kind(*raw)));
    }
    m_resolved.push_back(resolve_merged(globals_for(decl), *properties));
    Node& resolved = m_resolved.back();
    if (!resolved.is_mapping() || is_symbolic(resolved))
      resolved = Node(NodeKind::mapping, decl.mark);
    m_resolved_by_id[decl.logical_id] = &resolved;
    if (const auto* spec = resource_properties_spec(decl.type))
      m_schema->check_object(resolved, *spec);

    Resource resource;
    resource.logical_id = decl.logical_id;
    resource.type = decl.type;
    resource.properties = to_json_object(resolved);
    if (const auto* metadata = entry->value.find("Metadata"))
      resource.metadata = to_json_object(m_resolver->resolve(*metadata));
    if (const auto* depends = entry->value.find("DependsOn"))
      resource.depends_on = as_strings(depends);
    resource.source = {m_file, decl.mark.line, decl.mark.column};
    m_model.resources.push_back(std::move(resource));

    if (decl.type == "AWS::Serverless::Function")
      build_function(decl, resolved);
    else if (decl.type == "AWS::Lambda::Function")
      build_lambda_function(decl, resolved);
    else if (decl.type == "AWS::Serverless::Api")
      build_api(decl, resolved, false, false);
    else if (decl.type == "AWS::Serverless::HttpApi")
      build_api(decl, resolved, true, false);
    else if (decl.type == "AWS::Serverless::LayerVersion")
      build_layer(decl, resolved, true);
    else if (decl.type == "AWS::Lambda::LayerVersion")
      build_layer(decl, resolved, false);
  }
  build_implicit_apis();
  build_raw_apis();
  build_routes();
  check_transformed_size();
}

// CloudFormation's 500-resource limit applies to the stack after the SAM transform, which
// adds resources for every function (role, permissions, event sources, alias, version)
// and API (deployment, stage). A lower bound of that count:
void Loader::check_transformed_size() {
  if (m_resources == nullptr || m_resources->entries.size() > 500)
    return; // the declared count is reported already
  std::size_t total = 0;
  for (const auto* entry : m_resource_entries) {
    const auto& decl = m_scope.resources.at(entry->key);
    if (!decl.included)
      continue;
    ++total;
    if (decl.type == "AWS::Serverless::Api")
      total += 2; // deployment, stage
    else if (decl.type == "AWS::Serverless::HttpApi")
      total += 1; // stage
  }
  for (const auto& function : m_model.functions) {
    if (function.resource_type != "AWS::Serverless::Function")
      continue;
    if (function.role.empty())
      ++total; // the generated role
    if (!function.auto_publish_alias.empty())
      total += 2; // version, alias
    for (const auto& event : function.events) {
      const auto& type = event.type;
      if (type == "Schedule" || type == "EventBridgeRule" || type == "CloudWatchEvent" ||
          type == "SNS" || type == "CloudWatchLogs" || type == "ScheduleV2")
        total += 2;
      else
        total += 1; // a permission or an event source mapping
    }
  }
  for (const auto& api : m_model.apis)
    if (api.implicit)
      total += api.kind == ApiKind::rest ? 3 : 2;
  if (total > 500)
    error(m_resources->mark, "limit-resources",
          fmt::format("after the SAM transform this stack has at least {} resources; "
                      "CloudFormation allows 500 (split it into nested stacks)",
                      total));
}

// -------------------------------------------------------------------- outputs

void Loader::build_outputs() {
  if (m_outputs == nullptr)
    return;
  boost::json::object outputs;
  for (const auto& entry : m_outputs->entries) {
    if (!entry.value.is_mapping())
      continue;
    if (const auto* condition = entry.value.find("Condition"); condition && condition->is_string())
      if (const auto value = m_resolver->condition(condition->text); value && !*value)
        continue;
    outputs[entry.key] = to_json(m_resolver->resolve(entry.value));
  }
  if (outputs.size() > 200)
    error(m_outputs->mark, "limit-outputs",
          fmt::format("a template has at most 200 outputs, this one has {}", outputs.size()));
  m_model.outputs = std::move(outputs);
}

} // namespace wisp::sam::detail
