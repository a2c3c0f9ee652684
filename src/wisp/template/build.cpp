// The loader's second half: resolved resources → Model (functions, APIs, routes, layers,
// resources, outputs), with the semantic checks that need resolved values.

#include <wisp/support/fs.hpp>
#include <wisp/support/strings.hpp>
#include <wisp/template/convert.hpp>
#include <wisp/template/loader.hpp>
#include <wisp/template/reader.hpp>
#include <wisp/template/rules.hpp>
#include <wisp/template/scalar.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <unordered_map>

namespace wisp::sam::detail {

namespace fs = std::filesystem;

namespace {

bool is_symbolic(const Node& node) {
  return !node.intrinsic(true).empty();
}

std::optional<std::string> as_string(const Node* node) {
  if (node == nullptr || !node->is_scalar())
    return std::nullopt;
  return node->text;
}

std::optional<std::int64_t> as_int(const Node* node) {
  if (node == nullptr || !node->is_scalar())
    return std::nullopt;
  if (node->kind == NodeKind::boolean)
    return std::nullopt;
  return number_as_int(support::trim(node->text));
}

std::optional<bool> as_bool(const Node* node) {
  if (node == nullptr)
    return std::nullopt;
  if (node->kind == NodeKind::boolean)
    return node->text == "true";
  if (node->is_string()) {
    if (support::iequals(node->text, "true"))
      return true;
    if (support::iequals(node->text, "false"))
      return false;
  }
  return std::nullopt;
}

std::vector<std::string> as_strings(const Node* node) {
  std::vector<std::string> out;
  if (node == nullptr)
    return out;
  if (node->is_scalar()) {
    out.push_back(node->text);
    return out;
  }
  for (const auto& item : node->items)
    if (item.is_scalar())
      out.push_back(item.text);
  return out;
}

int clamp_int(std::int64_t value) {
  return static_cast<int>(std::clamp<std::int64_t>(value, -2'000'000'000, 2'000'000'000));
}

std::string strip_quotes(std::string text) {
  if (text.size() >= 2 && text.front() == '\'' && text.back() == '\'')
    return text.substr(1, text.size() - 2);
  return text;
}

std::vector<std::string> split_trimmed(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& piece : support::split(text, ','))
    if (auto trimmed = std::string(support::trim(piece)); !trimmed.empty())
      out.push_back(std::move(trimmed));
  return out;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
  return out;
}

// The logical id a reference names: {Ref: X}, {Fn::GetAtt: [X, ...]}, "${X.Arn}" in a Sub.
std::string referenced_id(const Node& node) {
  const auto key = node.intrinsic(false);
  if (key.empty())
    return {};
  const Node& arg = node.entries.front().value;
  if (key == "Ref" && arg.is_string())
    return arg.text.substr(0, arg.text.find('.'));
  if (key == "Fn::GetAtt" && arg.is_sequence() && !arg.items.empty() && arg.items[0].is_string())
    return arg.items[0].text;
  if (key == "Fn::Sub") {
    const Node* text = arg.is_sequence() && !arg.items.empty() ? &arg.items[0] : &arg;
    if (!text->is_string())
      return {};
    const auto parts = parse_sub(text->text, nullptr);
    if (!parts)
      return {};
    for (const auto& part : *parts)
      if (part.variable && !part.text.starts_with("AWS::"))
        return part.text.substr(0, part.text.find('.'));
  }
  return {};
}

// A local path of the template (CodeUri, ContentUri, Code) as an absolute, normal path
// without a trailing separator.
fs::path local_path(const fs::path& base_dir, const std::string& text) {
  auto path = (base_dir / text).lexically_normal();
  if (!path.has_filename() && path.has_parent_path() && path != path.root_path())
    path = path.parent_path();
  return path;
}

} // namespace

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

// -------------------------------------------------------------------- functions

namespace {

// Environment values: strings as they are; a Ref to a resource becomes its logical id (as
// SAM CLI does locally); anything else that stays symbolic becomes "" and is listed.
void fill_environment(Function& function, const Node* variables, const Scope& scope) {
  if (variables == nullptr || !variables->is_mapping())
    return;
  for (const auto& entry : variables->entries) {
    const Node& value = entry.value;
    if (value.is_scalar()) {
      function.environment[entry.key] = value.text;
    } else if (value.is_null()) {
      function.environment[entry.key] = "";
    } else if (value.intrinsic() == "Ref" && value.entries.front().value.is_string() &&
               scope.is_resource(value.entries.front().value.text)) {
      function.environment[entry.key] = value.entries.front().value.text;
    } else {
      function.environment[entry.key] = "";
      function.unresolved_environment.push_back(entry.key);
    }
  }
}

ResourceRef to_resource_ref(const Node& node, const Scope& scope) {
  ResourceRef ref;
  if (node.is_scalar()) {
    if (scope.is_resource(node.text))
      ref.logical_id = node.text;
    else
      ref.literal = node.text;
    return ref;
  }
  auto id = referenced_id(node);
  if (!id.empty() && scope.is_resource(id))
    ref.logical_id = std::move(id);
  return ref;
}

} // namespace

void Loader::build_function(const ResourceDecl& decl, const Node& properties) {
  Function function;
  function.logical_id = decl.logical_id;
  function.resource_type = decl.type;
  function.source = {m_file, decl.mark.line, decl.mark.column};
  const auto find = [&](std::string_view key) { return properties.find(key); };

  if (auto name = as_string(find("FunctionName")))
    function.function_name = *name;
  if (auto handler = as_string(find("Handler")))
    function.handler = *handler;
  if (auto runtime = as_string(find("Runtime")))
    function.runtime = *runtime;
  if (const auto* type = find("PackageType"); type && type->is_scalar()) {
    if (type->text == "Image")
      function.package_type = PackageType::image;
    else if (type->text != "Zip")
      error(type->mark, "package-type",
            fmt::format("PackageType must be Zip or Image, not '{}'", type->text));
  }
  const Node* code_uri = find("CodeUri");
  const Node* inline_code = find("InlineCode");
  if (code_uri != nullptr && inline_code != nullptr)
    warning(code_uri->mark, "code", "CodeUri is ignored: InlineCode is the function's code");
  if (code_uri != nullptr && inline_code == nullptr) {
    if (code_uri->is_scalar()) {
      if (code_uri->text.starts_with("s3://"))
        function.code_s3_uri = code_uri->text;
      else
        function.code_dir = local_path(m_model.base_dir, code_uri->text);
    } else if (code_uri->is_mapping() && !is_symbolic(*code_uri)) {
      const auto bucket = as_string(code_uri->find("Bucket"));
      const auto key = as_string(code_uri->find("Key"));
      if (bucket && key)
        function.code_s3_uri = fmt::format("s3://{}/{}", *bucket, *key);
    }
  }
  if (inline_code != nullptr && inline_code->is_scalar())
    function.inline_code = inline_code->text;
  if (code_uri == nullptr && inline_code == nullptr && function.package_type == PackageType::zip) {
    // SAM CLI's default: the template's directory is the code.
    function.code_dir = m_model.base_dir;
    lint(decl.mark, "lint-codeuri",
         "no CodeUri: the whole template directory becomes the function's code");
  }
  if (auto image = as_string(find("ImageUri")))
    function.image_uri = *image;
  if (const auto* image_config = find("ImageConfig"); image_config && image_config->is_mapping()) {
    if (const auto* command = image_config->find("Command"))
      function.image_config.command = as_strings(command);
    if (const auto* entry_point = image_config->find("EntryPoint"))
      function.image_config.entry_point = as_strings(entry_point);
    if (auto dir = as_string(image_config->find("WorkingDirectory")))
      function.image_config.working_directory = *dir;
  }
  if (const auto& resource = m_model.resources.back(); resource.logical_id == decl.logical_id)
    function.metadata = resource.metadata;
  if (auto memory = as_int(find("MemorySize")))
    function.memory_size = clamp_int(*memory);
  if (auto timeout = as_int(find("Timeout")))
    function.timeout = clamp_int(*timeout);
  if (const auto* storage = find("EphemeralStorage"); storage && storage->is_mapping())
    if (auto size = as_int(storage->find("Size")))
      function.ephemeral_storage = clamp_int(*size);
  if (const auto* architectures = find("Architectures");
      architectures && architectures->is_sequence())
    function.architectures = as_strings(architectures);
  if (const auto* environment = find("Environment"); environment && environment->is_mapping())
    fill_environment(function, environment->find("Variables"), m_scope);
  if (const auto* events = find("Events");
      events && events->is_mapping() && !is_symbolic(*events)) {
    check_events(*events);
    for (const auto& entry : events->entries) {
      if (!entry.value.is_mapping())
        continue;
      EventSource event;
      event.name = entry.key;
      if (auto type = as_string(entry.value.find("Type")))
        event.type = *type;
      const Node* props = entry.value.find("Properties");
      if (props != nullptr && props->is_mapping())
        event.properties = to_json_object(*props);
      event.source = {m_file, entry.key_mark.line, entry.key_mark.column};
      function.events.push_back(event);
      m_events.push_back(PendingEvent{m_model.functions.size(), entry.key, event.type,
                                      props != nullptr && props->is_mapping() ? props : nullptr,
                                      entry.key_mark});
    }
  } else if (events != nullptr && !events->is_mapping()) {
    error(events->mark, "type",
          fmt::format("'Events' must be a mapping, not {}", describe_kind(*events)));
  }
  if (auto alias = as_string(find("AutoPublishAlias")))
    function.auto_publish_alias = *alias;
  if (const auto* preference = find("DeploymentPreference");
      preference && preference->is_mapping() && !is_symbolic(*preference)) {
    DeploymentPreference dp;
    dp.source = {m_file, preference->mark.line, preference->mark.column};
    if (auto type = as_string(preference->find("Type")))
      dp.type = *type;
    if (auto enabled = as_bool(preference->find("Enabled")))
      dp.enabled = *enabled;
    if (const auto* alarms = preference->find("Alarms"); alarms && alarms->is_sequence())
      for (const auto& alarm : alarms->items)
        dp.alarms.push_back(to_resource_ref(alarm, m_scope));
    if (const auto* hooks = preference->find("Hooks"); hooks && hooks->is_mapping()) {
      if (const auto* pre = hooks->find("PreTraffic"))
        dp.pre_traffic_hook = to_resource_ref(*pre, m_scope);
      if (const auto* post = hooks->find("PostTraffic"))
        dp.post_traffic_hook = to_resource_ref(*post, m_scope);
    }
    if (auto role = as_string(preference->find("Role")))
      dp.role = *role;
    else if (const auto* role_node = preference->find("Role"))
      dp.role = referenced_id(*role_node);
    function.deployment_preference = std::move(dp);
  }
  if (const auto* layers = find("Layers"); layers && layers->is_sequence())
    for (const auto& layer : layers->items)
      function.layers.push_back(to_resource_ref(layer, m_scope));
  if (auto reserved = as_int(find("ReservedConcurrentExecutions")))
    function.reserved_concurrency = clamp_int(*reserved);
  if (const auto* provisioned = find("ProvisionedConcurrencyConfig");
      provisioned && provisioned->is_mapping())
    if (auto value = as_int(provisioned->find("ProvisionedConcurrentExecutions")))
      function.provisioned_concurrency = clamp_int(*value);
  if (const auto* policies = find("Policies"))
    function.policies = to_json(*policies);
  if (const auto* role = find("Role"))
    function.role = to_resource_ref(*role, m_scope);
  if (const auto* tags = find("Tags"); tags && tags->is_mapping())
    for (const auto& tag : tags->entries)
      if (tag.value.is_scalar())
        function.tags[tag.key] = tag.value.text;
  if (auto tracing = as_string(find("Tracing")))
    function.tracing = *tracing;
  if (const auto* logging = find("LoggingConfig"); logging && logging->is_mapping()) {
    if (auto group = as_string(logging->find("LogGroup")))
      function.log_group = *group;
    if (auto format = as_string(logging->find("LogFormat")))
      function.log_format = *format;
  }
  if (const auto* url = find("FunctionUrlConfig"); url && url->is_mapping())
    function.function_url_config = to_json_object(*url);
  check_function(function, properties, decl);
  lint_function(function, properties);
  m_model.functions.push_back(std::move(function));
}

void Loader::build_lambda_function(const ResourceDecl& decl, const Node& properties) {
  Function function;
  function.logical_id = decl.logical_id;
  function.resource_type = decl.type;
  function.source = {m_file, decl.mark.line, decl.mark.column};
  const auto find = [&](std::string_view key) { return properties.find(key); };
  if (auto name = as_string(find("FunctionName")))
    function.function_name = *name;
  if (auto handler = as_string(find("Handler")))
    function.handler = *handler;
  if (auto runtime = as_string(find("Runtime")))
    function.runtime = *runtime;
  if (const auto* type = find("PackageType"); type && type->is_scalar()) {
    if (type->text == "Image")
      function.package_type = PackageType::image;
    else if (type->text != "Zip")
      error(type->mark, "package-type",
            fmt::format("PackageType must be Zip or Image, not '{}'", type->text));
  }
  if (const auto* code = find("Code")) {
    if (code->is_scalar()) {
      // `aws cloudformation package` style: a local path.
      if (code->text.starts_with("s3://"))
        function.code_s3_uri = code->text;
      else
        function.code_dir = local_path(m_model.base_dir, code->text);
    } else if (code->is_mapping() && !is_symbolic(*code)) {
      if (auto zip = as_string(code->find("ZipFile")))
        function.inline_code = *zip;
      const auto bucket = as_string(code->find("S3Bucket"));
      const auto key = as_string(code->find("S3Key"));
      if (bucket && key)
        function.code_s3_uri = fmt::format("s3://{}/{}", *bucket, *key);
      if (auto image = as_string(code->find("ImageUri")))
        function.image_uri = *image;
    }
  }
  if (const auto& resource = m_model.resources.back(); resource.logical_id == decl.logical_id)
    function.metadata = resource.metadata;
  if (auto memory = as_int(find("MemorySize")))
    function.memory_size = clamp_int(*memory);
  if (auto timeout = as_int(find("Timeout")))
    function.timeout = clamp_int(*timeout);
  if (const auto* storage = find("EphemeralStorage"); storage && storage->is_mapping())
    if (auto size = as_int(storage->find("Size")))
      function.ephemeral_storage = clamp_int(*size);
  if (const auto* architectures = find("Architectures");
      architectures && architectures->is_sequence())
    function.architectures = as_strings(architectures);
  if (const auto* environment = find("Environment"); environment && environment->is_mapping())
    fill_environment(function, environment->find("Variables"), m_scope);
  if (const auto* image_config = find("ImageConfig"); image_config && image_config->is_mapping()) {
    if (const auto* command = image_config->find("Command"))
      function.image_config.command = as_strings(command);
    if (const auto* entry_point = image_config->find("EntryPoint"))
      function.image_config.entry_point = as_strings(entry_point);
    if (auto dir = as_string(image_config->find("WorkingDirectory")))
      function.image_config.working_directory = *dir;
  }
  if (const auto* layers = find("Layers"); layers && layers->is_sequence())
    for (const auto& layer : layers->items)
      function.layers.push_back(to_resource_ref(layer, m_scope));
  if (auto reserved = as_int(find("ReservedConcurrentExecutions")))
    function.reserved_concurrency = clamp_int(*reserved);
  if (const auto* role = find("Role"))
    function.role = to_resource_ref(*role, m_scope);
  if (const auto* tags = find("Tags"); tags && tags->is_sequence())
    for (const auto& tag : tags->items)
      if (tag.is_mapping())
        if (auto key = as_string(tag.find("Key")))
          function.tags[*key] = as_string(tag.find("Value")).value_or("");
  if (const auto* tracing = find("TracingConfig"); tracing && tracing->is_mapping())
    if (auto mode = as_string(tracing->find("Mode")))
      function.tracing = *mode;
  if (const auto* logging = find("LoggingConfig"); logging && logging->is_mapping()) {
    if (auto group = as_string(logging->find("LogGroup")))
      function.log_group = *group;
    if (auto format = as_string(logging->find("LogFormat")))
      function.log_format = *format;
  }
  check_function(function, properties, decl);
  m_model.functions.push_back(std::move(function));
}

void Loader::check_events(const Node& events) {
  for (const auto& entry : events.entries) {
    if (entry.key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789") != std::string::npos)
      error(entry.key_mark, "event-name",
            fmt::format("event name '{}' must be alphanumeric (it becomes part of logical ids)",
                        entry.key));
    const Node& event = entry.value;
    if (!event.is_mapping() || is_symbolic(event)) {
      if (!is_symbolic(event))
        error(event.mark, "type",
              fmt::format("the event '{}' must be a mapping with Type and Properties, not {}",
                          entry.key, describe_kind(event)));
      continue;
    }
    for (const auto& key : event.entries) {
      if (key.key != "Type" && key.key != "Properties") {
        std::string hint;
        if (auto close =
                support::closest_match(key.key, std::vector<std::string>{"Type", "Properties"}))
          hint = fmt::format("; did you mean '{}'?", *close);
        error(key.key_mark, "unknown-property",
              fmt::format("unknown key '{}' in the event '{}' (an event has Type and "
                          "Properties){}",
                          key.key, entry.key, hint));
      }
    }
    const Node* type = event.find("Type");
    if (type == nullptr) {
      error(event.mark, "missing-property", fmt::format("the event '{}' needs 'Type'", entry.key));
      continue;
    }
    if (!type->is_string())
      continue;
    const auto* spec = event_properties_spec(type->text);
    if (spec == nullptr) {
      std::vector<std::string> names;
      for (const auto name : event_types())
        names.emplace_back(name);
      std::string hint;
      if (auto close = support::closest_match(type->text, names))
        hint = fmt::format("; did you mean '{}'?", *close);
      error(type->mark, "event-type", fmt::format("unknown event type '{}'{}", type->text, hint));
      continue;
    }
    const Node* properties = event.find("Properties");
    if (properties == nullptr) {
      if (type->text != "HttpApi" && type->text != "AlexaSkill")
        error(event.mark, "missing-property",
              fmt::format("the {} event '{}' needs 'Properties'", type->text, entry.key));
      continue;
    }
    if (!properties->is_mapping()) {
      error(properties->mark, "type",
            fmt::format("'Properties' must be a mapping, not {}", describe_kind(*properties)));
      continue;
    }
    m_schema->check_object(*properties, *spec);
  }
}

void Loader::check_function(Function& function, const Node& properties, const ResourceDecl& decl) {
  const auto find = [&](std::string_view key) { return properties.find(key); };
  const bool serverless = decl.type == "AWS::Serverless::Function";
  const bool zip = function.package_type == PackageType::zip;

  // Code.
  if (zip) {
    if (find("ImageUri") != nullptr)
      error(find("ImageUri")->mark, "code", "ImageUri needs 'PackageType: Image'");
  } else {
    if (find("CodeUri") != nullptr || find("InlineCode") != nullptr)
      error((find("CodeUri") != nullptr ? find("CodeUri") : find("InlineCode"))->mark, "code",
            "an Image function takes ImageUri, not CodeUri or InlineCode");
    if (serverless && find("ImageUri") == nullptr && !function.metadata.contains("DockerContext") &&
        !function.metadata.contains("Dockerfile"))
      error(decl.mark, "code",
            "an Image function needs ImageUri (or Metadata Dockerfile and DockerContext to "
            "build it)");
    if (find("Handler") != nullptr)
      lint(find("Handler")->mark, "image-handler",
           "Handler is ignored for an Image function (use ImageConfig.Command)");
  }

  // Runtime and handler.
  const RuntimeInfo* runtime = nullptr;
  if (const auto* node = find("Runtime"); node && node->is_scalar()) {
    runtime = find_runtime(node->text);
    if (runtime == nullptr) {
      std::string hint;
      if (auto close = support::closest_match(node->text, runtime_names()))
        hint = fmt::format("; did you mean '{}'?", *close);
      error(node->mark, "runtime-unknown", fmt::format("unknown runtime '{}'{}", node->text, hint));
    } else if (m_today >= runtime->update_blocked) {
      warning(node->mark, "runtime-deprecated",
              fmt::format("the runtime {} is deprecated (since {}); AWS no longer allows "
                          "creating or updating functions with it{}",
                          runtime->name, runtime->deprecated,
                          runtime->successor.empty()
                              ? std::string()
                              : fmt::format("; use {}", runtime->successor)));
    } else if (m_today >= runtime->create_blocked) {
      warning(node->mark, "runtime-deprecated",
              fmt::format("the runtime {} is deprecated (since {}); AWS no longer allows "
                          "creating functions with it (updates are blocked from {}){}",
                          runtime->name, runtime->deprecated, runtime->update_blocked,
                          runtime->successor.empty()
                              ? std::string()
                              : fmt::format("; use {}", runtime->successor)));
    } else if (m_today >= runtime->deprecated) {
      warning(node->mark, "runtime-deprecated",
              fmt::format("the runtime {} is deprecated (since {}); creating functions is "
                          "blocked from {}{}",
                          runtime->name, runtime->deprecated, runtime->create_blocked,
                          runtime->successor.empty()
                              ? std::string()
                              : fmt::format("; use {}", runtime->successor)));
    }
  } else if (zip && find("Runtime") == nullptr) {
    error(decl.mark, "missing-property", "a Zip function needs 'Runtime'");
  }
  const Node* handler = find("Handler");
  if (zip && handler == nullptr)
    error(decl.mark, "missing-property", "a Zip function needs 'Handler'");
  if (zip && runtime != nullptr && handler != nullptr && handler->is_scalar()) {
    const auto problem = handler_shape_problem(runtime->family, handler->text);
    if (!problem.empty()) {
      error(handler->mark, "handler",
            fmt::format("handler '{}' does not fit {}: {}", handler->text, runtime->name, problem));
    } else if (m_options.check_code && !function.code_dir.empty() && !function.inline_code) {
      std::error_code ec;
      const auto* code_node = find(serverless ? "CodeUri" : "Code");
      const Mark code_mark = code_node != nullptr ? code_node->mark : decl.mark;
      const std::string build_method =
          function.metadata.contains("BuildMethod") &&
                  function.metadata.at("BuildMethod").is_string()
              ? std::string(function.metadata.at("BuildMethod").as_string())
              : std::string();
      const std::string code_text =
          code_node != nullptr && code_node->is_scalar() ? code_node->text : std::string(".");
      if (!fs::exists(function.code_dir, ec)) {
        error(code_mark, "code-missing",
              fmt::format("{} '{}' does not exist (paths are relative to the template's "
                          "directory)",
                          serverless ? "CodeUri" : "Code", code_text));
      } else if (!fs::is_directory(function.code_dir, ec)) {
        // A zip file or a single file: fine for packaging, nothing to look into.
      } else if (build_method.empty() || build_method == "esbuild") {
        const auto candidates = handler_files(runtime->family, handler->text);
        bool found = candidates.empty();
        for (const auto& candidate : candidates)
          if (fs::exists(function.code_dir / candidate, ec)) {
            found = true;
            break;
          }
        if (!found) {
          if (runtime->family == RuntimeFamily::provided)
            error(handler->mark, "handler-missing",
                  fmt::format("runtime {} runs the executable 'bootstrap', but CodeUri '{}' has "
                              "none",
                              runtime->name, code_text));
          else
            error(handler->mark, "handler-missing",
                  fmt::format("handler '{}' names {}, which is not in CodeUri '{}'", handler->text,
                              candidates.front(), code_text));
        }
      }
    }
  }

  // Limits.
  if (const auto* node = find("Timeout"); node && node->is_scalar())
    if (auto value = as_int(node); value && (*value < 1 || *value > 900))
      error(node->mark, "limit-timeout",
            fmt::format("Timeout must be between 1 and 900 seconds, not {}", *value));
  if (const auto* node = find("MemorySize"); node && node->is_scalar())
    if (auto value = as_int(node); value && (*value < 128 || *value > 10240))
      error(node->mark, "limit-memory",
            fmt::format("MemorySize must be between 128 and 10240 MB, not {}", *value));
  if (const auto* storage = find("EphemeralStorage"); storage && storage->is_mapping())
    if (const auto* node = storage->find("Size"); node && node->is_scalar())
      if (auto value = as_int(node); value && (*value < 512 || *value > 10240))
        error(
            node->mark, "limit-storage",
            fmt::format("EphemeralStorage Size must be between 512 and 10240 MB, not {}", *value));
  if (const auto* node = find("ReservedConcurrentExecutions"); node && node->is_scalar())
    if (auto value = as_int(node); value && *value < 0)
      error(node->mark, "limit-concurrency",
            fmt::format("ReservedConcurrentExecutions cannot be negative ({})", *value));
  if (const auto* config = find("ProvisionedConcurrencyConfig"); config && config->is_mapping()) {
    if (const auto* node = config->find("ProvisionedConcurrentExecutions");
        node && node->is_scalar())
      if (auto value = as_int(node); value && *value < 1)
        error(node->mark, "limit-concurrency",
              fmt::format("ProvisionedConcurrentExecutions must be at least 1, not {}", *value));
    if (serverless && find("AutoPublishAlias") == nullptr)
      error(config->mark, "alias-required",
            "ProvisionedConcurrencyConfig needs AutoPublishAlias (it applies to the alias)");
  }
  if (const auto* node = find("Description"); node && node->is_scalar() && node->text.size() > 256)
    error(node->mark, "limit-description",
          fmt::format("Description is {} characters; Lambda allows 256", node->text.size()));
  if (const auto* node = find("FunctionName"); node && node->is_scalar()) {
    const auto& name = node->text;
    const bool valid = !name.empty() && name.size() <= 64 &&
                       name.find_first_not_of(
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
                           std::string::npos;
    if (!valid && name.find(':') == std::string::npos)
      error(node->mark, "function-name",
            fmt::format("FunctionName '{}' must be 1 to 64 letters, digits, '-' or '_'", name));
  }
  if (const auto* node = find("Architectures"); node && node->is_sequence()) {
    if (node->items.size() != 1)
      error(node->mark, "architectures",
            fmt::format("Architectures takes exactly one of x86_64 or arm64, not {} values",
                        node->items.size()));
    for (const auto& item : node->items)
      if (item.is_scalar() && item.text != "x86_64" && item.text != "arm64")
        error(item.mark, "architectures",
              fmt::format("unknown architecture '{}' (x86_64 or arm64)", item.text));
  }
  if (const auto* node = find("Layers"); node && node->is_sequence() && node->items.size() > 5)
    error(node->mark, "limit-layers",
          fmt::format("a function can use at most 5 layers, not {}", node->items.size()));
  if (const auto* node = find("Tracing"); node && node->is_scalar() && node->text != "Active" &&
                                          node->text != "PassThrough" && node->text != "Disabled")
    error(node->mark, "tracing",
          fmt::format("Tracing must be Active, PassThrough or Disabled, not '{}'", node->text));
  if (const auto* logging = find("LoggingConfig"); logging && logging->is_mapping()) {
    if (const auto* node = logging->find("LogFormat");
        node && node->is_scalar() && node->text != "Text" && node->text != "JSON")
      error(node->mark, "logging",
            fmt::format("LogFormat must be Text or JSON, not '{}'", node->text));
    for (const auto* key : {"ApplicationLogLevel", "SystemLogLevel"}) {
      const auto* node = logging->find(key);
      if (node == nullptr || !node->is_scalar())
        continue;
      static const std::vector<std::string> k_levels = {"TRACE", "DEBUG", "INFO",
                                                        "WARN",  "ERROR", "FATAL"};
      const bool system = std::string_view(key) == "SystemLogLevel";
      if (std::find(k_levels.begin(), k_levels.end(), node->text) == k_levels.end() ||
          (system && (node->text == "TRACE" || node->text == "ERROR" || node->text == "FATAL")))
        error(node->mark, "logging",
              fmt::format("{} must be one of {}, not '{}'", key,
                          system ? "DEBUG, INFO, WARN" : "TRACE, DEBUG, INFO, WARN, ERROR, FATAL",
                          node->text));
    }
  }

  // Environment.
  if (const auto* environment = find("Environment"); environment && environment->is_mapping()) {
    if (const auto* variables = environment->find("Variables");
        variables && variables->is_mapping()) {
      std::size_t total = 0;
      for (const auto& entry : variables->entries) {
        total += entry.key.size() + scalar_text(entry.value).size();
        if (is_reserved_env_name(entry.key))
          error(entry.key_mark, "env-reserved",
                fmt::format("'{}' is a reserved environment variable; Lambda sets it", entry.key));
        else if (!is_valid_env_name(entry.key))
          error(entry.key_mark, "env-name",
                fmt::format("environment variable name '{}' must start with a letter and have at "
                            "least 2 letters, digits or '_'",
                            entry.key));
      }
      if (total > 4096)
        error(variables->mark, "env-size",
              fmt::format("environment variables take {} bytes; Lambda allows 4 KB (4096 bytes) "
                          "in total",
                          total));
    }
  }

  // Alias and deployment preference.
  if (const auto* node = find("AutoPublishAlias");
      node && node->is_scalar() && !is_valid_alias_name(node->text))
    error(node->mark, "alias-name",
          fmt::format("alias name '{}' must be 1 to 128 letters, digits, '-' or '_', and not only "
                      "digits",
                      node->text));
  if (serverless)
    check_deployment_preference(function, properties);
  if (const auto* url = find("FunctionUrlConfig"); url && url->is_mapping()) {
    if (const auto* node = url->find("AuthType");
        node && node->is_scalar() && node->text != "NONE" && node->text != "AWS_IAM")
      error(node->mark, "function-url",
            fmt::format("AuthType must be NONE or AWS_IAM, not '{}'", node->text));
    if (const auto* node = url->find("InvokeMode");
        node && node->is_scalar() && node->text != "BUFFERED" && node->text != "RESPONSE_STREAM")
      error(node->mark, "function-url",
            fmt::format("InvokeMode must be BUFFERED or RESPONSE_STREAM, not '{}'", node->text));
  }
}

void Loader::check_deployment_preference(const Function& function, const Node& properties) {
  const Node* node = properties.find("DeploymentPreference");
  if (node == nullptr || !node->is_mapping() || is_symbolic(*node))
    return;
  const bool enabled = as_bool(node->find("Enabled")).value_or(true);
  if (!enabled)
    return;
  if (function.auto_publish_alias.empty() && properties.find("AutoPublishAlias") == nullptr)
    error(node->mark, "deployment-preference",
          "DeploymentPreference needs AutoPublishAlias (traffic shifts between alias versions)");
  const Node* type = node->find("Type");
  if (type == nullptr) {
    error(node->mark, "deployment-preference", "DeploymentPreference needs 'Type'");
  } else if (type->is_scalar()) {
    const auto types = deployment_types();
    if (std::find(types.begin(), types.end(), type->text) == types.end()) {
      std::vector<std::string> names(types.begin(), types.end());
      if (auto close = support::closest_match(type->text, names))
        error(type->mark, "deployment-type",
              fmt::format("unknown deployment type '{}'; did you mean '{}'?", type->text, *close));
      else
        warning(type->mark, "deployment-type",
                fmt::format("'{}' is not a predefined deployment type ({}); it must name a "
                            "CodeDeploy custom deployment configuration",
                            type->text, support::join(names, ", ")));
    }
  }
  if (const auto* hooks = node->find("Hooks"); hooks && hooks->is_mapping()) {
    for (const auto& hook : hooks->entries) {
      const auto ref = to_resource_ref(hook.value, m_scope);
      if (ref.logical_id.empty()) {
        if (!is_symbolic(hook.value))
          error(hook.value.mark, "deployment-preference",
                fmt::format("the {} hook must refer to a function of this template (!Ref "
                            "FunctionName)",
                            hook.key));
        continue;
      }
      const auto& type_name = m_scope.resources.at(ref.logical_id).type;
      if (type_name != "AWS::Serverless::Function" && type_name != "AWS::Lambda::Function")
        error(hook.value.mark, "deployment-preference",
              fmt::format("the {} hook '{}' ({}) is not a function", hook.key, ref.logical_id,
                          type_name));
      else if (ref.logical_id == function.logical_id)
        error(hook.value.mark, "deployment-preference",
              fmt::format("the {} hook cannot be the function itself", hook.key));
    }
  }
  if (const auto* alarms = node->find("Alarms"); alarms && alarms->is_sequence()) {
    for (const auto& alarm : alarms->items) {
      const auto ref = to_resource_ref(alarm, m_scope);
      if (!ref.logical_id.empty() &&
          m_scope.resources.at(ref.logical_id).type != "AWS::CloudWatch::Alarm" &&
          m_scope.resources.at(ref.logical_id).type != "AWS::CloudWatch::CompositeAlarm")
        error(alarm.mark, "deployment-preference",
              fmt::format("the alarm '{}' ({}) is not an AWS::CloudWatch::Alarm", ref.logical_id,
                          m_scope.resources.at(ref.logical_id).type));
    }
  }
}

// -------------------------------------------------------------------- layers

void Loader::build_layer(const ResourceDecl& decl, const Node& properties, bool serverless) {
  Layer layer;
  layer.logical_id = decl.logical_id;
  layer.source = {m_file, decl.mark.line, decl.mark.column};
  if (auto name = as_string(properties.find("LayerName")))
    layer.layer_name = *name;
  else
    layer.layer_name = decl.logical_id;
  const Node* content = properties.find(serverless ? "ContentUri" : "Content");
  if (content != nullptr) {
    if (content->is_scalar()) {
      if (content->text.starts_with("s3://"))
        layer.content_s3_uri = content->text;
      else
        layer.content_dir = local_path(m_model.base_dir, content->text);
    } else if (content->is_mapping() && !is_symbolic(*content)) {
      const auto bucket = as_string(content->find(serverless ? "Bucket" : "S3Bucket"));
      const auto key = as_string(content->find(serverless ? "Key" : "S3Key"));
      if (bucket && key)
        layer.content_s3_uri = fmt::format("s3://{}/{}", *bucket, *key);
    }
  }
  if (m_options.check_code && !layer.content_dir.empty()) {
    std::error_code ec;
    if (!fs::exists(layer.content_dir, ec))
      error(content->mark, "code-missing",
            fmt::format("ContentUri '{}' does not exist (paths are relative to the template's "
                        "directory)",
                        content->text));
  }
  layer.compatible_runtimes = as_strings(properties.find("CompatibleRuntimes"));
  layer.compatible_architectures = as_strings(properties.find("CompatibleArchitectures"));
  if (const auto* runtimes = properties.find("CompatibleRuntimes");
      runtimes && runtimes->is_sequence())
    for (const auto& item : runtimes->items)
      if (item.is_scalar() && find_runtime(item.text) == nullptr) {
        std::string hint;
        if (auto close = support::closest_match(item.text, runtime_names()))
          hint = fmt::format("; did you mean '{}'?", *close);
        error(item.mark, "runtime-unknown", fmt::format("unknown runtime '{}'{}", item.text, hint));
      }
  if (auto retention = as_string(properties.find("RetentionPolicy"))) {
    layer.retention_policy = *retention;
    if (!support::iequals(*retention, "Retain") && !support::iequals(*retention, "Delete"))
      error(properties.find("RetentionPolicy")->mark, "layer",
            fmt::format("RetentionPolicy must be Retain or Delete, not '{}'", *retention));
  }
  if (const auto& resource = m_model.resources.back(); resource.logical_id == decl.logical_id)
    layer.metadata = resource.metadata;
  m_model.layers.push_back(std::move(layer));
}

// -------------------------------------------------------------------- APIs

namespace {

Authorizer rest_authorizer(const std::string& name, const Node& spec, const Scope& scope) {
  Authorizer authorizer;
  authorizer.name = name;
  authorizer.source = {"", spec.mark.line, spec.mark.column};
  const Node* identity = spec.find("Identity");
  const auto identity_value = [&](std::string_view key) -> const Node* {
    return identity != nullptr && identity->is_mapping() ? identity->find(key) : nullptr;
  };
  if (const auto* pools = spec.find("UserPoolArn")) {
    authorizer.kind = Authorizer::Kind::cognito;
    if (pools->is_sequence()) {
      for (const auto& pool : pools->items)
        authorizer.user_pool_arns.push_back(pool.is_scalar() ? pool.text : referenced_id(pool));
    } else {
      authorizer.user_pool_arns.push_back(pools->is_scalar() ? pools->text : referenced_id(*pools));
    }
    authorizer.identity_sources.push_back(
        "method.request.header." + as_string(identity_value("Header")).value_or("Authorization"));
  } else {
    const auto payload = as_string(spec.find("FunctionPayloadType")).value_or("TOKEN");
    authorizer.kind =
        payload == "REQUEST" ? Authorizer::Kind::lambda_request : Authorizer::Kind::lambda_token;
    if (const auto* arn = spec.find("FunctionArn")) {
      const auto id = referenced_id(*arn);
      if (!id.empty() && scope.is_resource(id))
        authorizer.function_logical_id = id;
      else if (arn->is_scalar())
        authorizer.function_arn = arn->text;
    }
    if (authorizer.kind == Authorizer::Kind::lambda_token) {
      authorizer.identity_sources.push_back(
          "method.request.header." + as_string(identity_value("Header")).value_or("Authorization"));
    } else {
      for (const auto& header : as_strings(identity_value("Headers")))
        authorizer.identity_sources.push_back("method.request.header." + header);
      for (const auto& query : as_strings(identity_value("QueryStrings")))
        authorizer.identity_sources.push_back("method.request.querystring." + query);
      for (const auto& variable : as_strings(identity_value("StageVariables")))
        authorizer.identity_sources.push_back("stageVariables." + variable);
      for (const auto& context : as_strings(identity_value("Context")))
        authorizer.identity_sources.push_back("context." + context);
    }
  }
  if (auto ttl = as_int(identity_value("ReauthorizeEvery")))
    authorizer.ttl_seconds = clamp_int(*ttl);
  if (auto expression = as_string(identity_value("ValidationExpression")))
    authorizer.identity_validation_expression = *expression;
  return authorizer;
}

Authorizer http_authorizer(const std::string& name, const Node& spec, const Scope& scope) {
  Authorizer authorizer;
  authorizer.name = name;
  authorizer.source = {"", spec.mark.line, spec.mark.column};
  if (const auto* jwt = spec.find("JwtConfiguration"); jwt && jwt->is_mapping()) {
    authorizer.kind = Authorizer::Kind::jwt;
    if (auto issuer = as_string(jwt->find("issuer")))
      authorizer.jwt_issuer = *issuer;
    authorizer.jwt_audience = as_strings(jwt->find("audience"));
    authorizer.identity_sources.push_back(
        as_string(spec.find("IdentitySource")).value_or("$request.header.Authorization"));
    authorizer.ttl_seconds = 0;
    return authorizer;
  }
  authorizer.kind = Authorizer::Kind::lambda_request;
  if (const auto* arn = spec.find("FunctionArn")) {
    const auto id = referenced_id(*arn);
    if (!id.empty() && scope.is_resource(id))
      authorizer.function_logical_id = id;
    else if (arn->is_scalar())
      authorizer.function_arn = arn->text;
  }
  authorizer.payload_format_version =
      as_string(spec.find("AuthorizerPayloadFormatVersion")).value_or("");
  authorizer.enable_simple_responses = as_bool(spec.find("EnableSimpleResponses")).value_or(false);
  const Node* identity = spec.find("Identity");
  const auto identity_value = [&](std::string_view key) -> const Node* {
    return identity != nullptr && identity->is_mapping() ? identity->find(key) : nullptr;
  };
  for (const auto& header : as_strings(identity_value("Headers")))
    authorizer.identity_sources.push_back("$request.header." + header);
  for (const auto& query : as_strings(identity_value("QueryStrings")))
    authorizer.identity_sources.push_back("$request.querystring." + query);
  for (const auto& context : as_strings(identity_value("Context")))
    authorizer.identity_sources.push_back("$context." + context);
  for (const auto& variable : as_strings(identity_value("StageVariables")))
    authorizer.identity_sources.push_back("$stageVariables." + variable);
  authorizer.ttl_seconds = clamp_int(as_int(identity_value("ReauthorizeEvery")).value_or(0));
  return authorizer;
}

} // namespace

void Loader::build_api(const ResourceDecl& decl, const Node& properties, bool http, bool implicit) {
  Api api;
  api.logical_id = decl.logical_id;
  api.kind = http ? ApiKind::http : ApiKind::rest;
  api.implicit = implicit;
  api.source = {m_file, decl.mark.line, decl.mark.column};
  const auto find = [&](std::string_view key) { return properties.find(key); };

  if (auto stage = as_string(find("StageName"))) {
    api.stage_name = *stage;
  } else if (implicit) {
    api.stage_name = http ? "$default" : "Prod";
  } else if (http) {
    api.stage_name = "$default";
  } else if (find("StageName") == nullptr) {
    error(decl.mark, "missing-property", "AWS::Serverless::Api needs 'StageName'");
  }
  if (!api.stage_name.empty() && api.stage_name != "$default") {
    const bool valid = api.stage_name.size() <= 128 &&
                       api.stage_name.find_first_not_of(
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
                           std::string::npos;
    if (!valid)
      error(find("StageName") != nullptr ? find("StageName")->mark : decl.mark, "stage-name",
            fmt::format("stage name '{}' may only contain letters, digits, '-' and '_'",
                        api.stage_name));
  }
  if (const auto* variables = find(http ? "StageVariables" : "Variables");
      variables && variables->is_mapping())
    for (const auto& entry : variables->entries)
      if (entry.value.is_scalar())
        api.stage_variables[entry.key] = entry.value.text;

  if (!http) {
    if (const auto* cors = find("Cors")) {
      Cors value;
      if (cors->is_scalar()) {
        value.allow_origins.push_back(strip_quotes(cors->text));
      } else if (cors->is_mapping() && !is_symbolic(*cors)) {
        if (auto origin = as_string(cors->find("AllowOrigin")))
          value.allow_origins.push_back(strip_quotes(*origin));
        if (auto methods = as_string(cors->find("AllowMethods")))
          value.allow_methods = split_trimmed(strip_quotes(*methods));
        if (auto headers = as_string(cors->find("AllowHeaders")))
          value.allow_headers = split_trimmed(strip_quotes(*headers));
        value.allow_credentials = as_bool(cors->find("AllowCredentials")).value_or(false);
        if (auto age = as_string(cors->find("MaxAge")))
          if (auto number = number_as_int(strip_quotes(*age)))
            value.max_age = clamp_int(*number);
      }
      api.cors = std::move(value);
    }
    for (const auto& type : as_strings(find("BinaryMediaTypes"))) {
      std::string decoded;
      for (std::size_t i = 0; i < type.size(); ++i) {
        if (type[i] == '~' && i + 1 < type.size() && type[i + 1] == '1') {
          decoded += '/';
          ++i;
        } else if (type[i] == '~' && i + 1 < type.size() && type[i + 1] == '0') {
          decoded += '~';
          ++i;
        } else {
          decoded += type[i];
        }
      }
      api.binary_media_types.push_back(std::move(decoded));
    }
    if (const auto* canary = find("CanarySetting"); canary && canary->is_mapping())
      api.canary_setting = to_json_object(*canary);
    if (const auto* settings = find("MethodSettings"); settings && settings->is_sequence()) {
      for (const auto& item : settings->items) {
        if (!item.is_mapping())
          continue;
        MethodSetting setting;
        if (auto path = as_string(item.find("ResourcePath")))
          setting.resource_path = *path;
        if (auto method = as_string(item.find("HttpMethod")))
          setting.http_method = *method;
        if (const auto* rate = item.find("ThrottlingRateLimit"); rate && rate->is_scalar())
          setting.throttling_rate_limit = number_as_double(rate->text);
        if (auto burst = as_int(item.find("ThrottlingBurstLimit")))
          setting.throttling_burst_limit = clamp_int(*burst);
        api.method_settings.push_back(setting);
      }
    }
  } else {
    if (const auto* cors = find("CorsConfiguration")) {
      Cors value;
      if (as_bool(cors).value_or(false)) {
        value.allow_origins.emplace_back("*");
        api.cors = std::move(value);
      } else if (cors->is_mapping() && !is_symbolic(*cors)) {
        value.allow_origins = as_strings(cors->find("AllowOrigins"));
        value.allow_methods = as_strings(cors->find("AllowMethods"));
        value.allow_headers = as_strings(cors->find("AllowHeaders"));
        value.expose_headers = as_strings(cors->find("ExposeHeaders"));
        value.allow_credentials = as_bool(cors->find("AllowCredentials")).value_or(false);
        if (auto age = as_int(cors->find("MaxAge")))
          value.max_age = clamp_int(*age);
        api.cors = std::move(value);
      }
    }
  }

  // Auth.
  if (const auto* auth = find("Auth"); auth && auth->is_mapping() && !is_symbolic(*auth)) {
    if (const auto* authorizers = auth->find("Authorizers");
        authorizers && authorizers->is_mapping()) {
      for (const auto& entry : authorizers->entries) {
        if (!entry.value.is_mapping()) {
          error(entry.value.mark, "type",
                fmt::format("the authorizer '{}' must be a mapping, not {}", entry.key,
                            describe_kind(entry.value)));
          continue;
        }
        m_schema->check_object(entry.value, http ? http_authorizer_spec() : rest_authorizer_spec());
        Authorizer authorizer = http ? http_authorizer(entry.key, entry.value, m_scope)
                                     : rest_authorizer(entry.key, entry.value, m_scope);
        authorizer.source.file = m_file;
        if (!http && authorizer.kind != Authorizer::Kind::cognito &&
            entry.value.find("FunctionArn") == nullptr)
          error(entry.value.mark, "authorizer",
                fmt::format("the authorizer '{}' needs FunctionArn (Lambda) or UserPoolArn "
                            "(Cognito)",
                            entry.key));
        if (!http) {
          if (const auto* payload = entry.value.find("FunctionPayloadType");
              payload && payload->is_scalar() && payload->text != "TOKEN" &&
              payload->text != "REQUEST")
            error(payload->mark, "authorizer",
                  fmt::format("FunctionPayloadType must be TOKEN or REQUEST, not '{}'",
                              payload->text));
          if (authorizer.kind == Authorizer::Kind::lambda_request &&
              authorizer.identity_sources.empty() && authorizer.ttl_seconds != 0)
            error(entry.value.mark, "authorizer",
                  fmt::format("the REQUEST authorizer '{}' needs an Identity source (Headers, "
                              "QueryStrings, StageVariables or Context) unless "
                              "ReauthorizeEvery is 0",
                              entry.key));
        } else if (authorizer.kind != Authorizer::Kind::jwt) {
          if (entry.value.find("FunctionArn") == nullptr)
            error(entry.value.mark, "authorizer",
                  fmt::format("the authorizer '{}' needs JwtConfiguration or FunctionArn",
                              entry.key));
          const auto* version = entry.value.find("AuthorizerPayloadFormatVersion");
          if (version == nullptr)
            error(entry.value.mark, "authorizer",
                  fmt::format("the Lambda authorizer '{}' needs AuthorizerPayloadFormatVersion "
                              "(1.0 or 2.0)",
                              entry.key));
          else if (version->is_scalar() && version->text != "1.0" && version->text != "2.0")
            error(version->mark, "authorizer",
                  fmt::format("AuthorizerPayloadFormatVersion must be 1.0 or 2.0, not '{}'",
                              version->text));
          if (authorizer.enable_simple_responses && authorizer.payload_format_version == "1.0")
            error(entry.value.mark, "authorizer",
                  "EnableSimpleResponses needs AuthorizerPayloadFormatVersion 2.0");
        }
        api.authorizers.emplace(entry.key, std::move(authorizer));
      }
    }
    if (http && as_bool(auth->find("EnableIamAuthorizer")).value_or(false)) {
      Authorizer iam;
      iam.name = "AWS_IAM";
      iam.kind = Authorizer::Kind::iam;
      api.authorizers.emplace("AWS_IAM", std::move(iam));
    }
    if (const auto* default_authorizer = auth->find("DefaultAuthorizer");
        default_authorizer && default_authorizer->is_scalar()) {
      api.default_authorizer = default_authorizer->text;
      if (api.default_authorizer != "AWS_IAM" && api.default_authorizer != "NONE" &&
          api.authorizers.count(api.default_authorizer) == 0) {
        std::vector<std::string> names;
        for (const auto& [name, authorizer] : api.authorizers)
          names.push_back(name);
        std::string hint;
        if (auto close = support::closest_match(api.default_authorizer, names))
          hint = fmt::format("; did you mean '{}'?", *close);
        error(default_authorizer->mark, "authorizer-undefined",
              fmt::format("DefaultAuthorizer '{}' is not one of the API's Authorizers{}",
                          api.default_authorizer, hint));
      }
    }
  }

  // Definition.
  if (const auto* body = find("DefinitionBody")) {
    if (body->intrinsic() == "Fn::Transform") {
      const Node& arg = body->entries.front().value;
      const Node* name = arg.is_mapping() ? arg.find("Name") : nullptr;
      const Node* parameters = arg.is_mapping() ? arg.find("Parameters") : nullptr;
      const Node* location = parameters != nullptr && parameters->is_mapping()
                                 ? parameters->find("Location")
                                 : nullptr;
      if (name != nullptr && name->is_string() && name->text == "AWS::Include" &&
          location != nullptr) {
        if (auto included = load_definition_uri(*location))
          api.definition_body = to_json(m_resolver->resolve(*included));
      }
    } else if (!is_symbolic(*body)) {
      api.definition_body = to_json(*body);
    }
  } else if (const auto* uri = find("DefinitionUri")) {
    if (auto loaded = load_definition_uri(*uri))
      api.definition_body = to_json(*loaded);
  }
  api.properties = to_json_object(properties);
  m_api_properties[api.logical_id] = &properties;
  m_model.apis.push_back(std::move(api));
}

std::optional<Node> Loader::load_definition_uri(const Node& uri) {
  if (!uri.is_scalar() || uri.text.starts_with("s3://"))
    return std::nullopt;
  const auto path = (m_model.base_dir / uri.text).lexically_normal();
  auto display = path.lexically_relative(fs::current_path());
  if (display.empty() || display.native().starts_with(".."))
    display = path;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    error(uri.mark, "definition",
          fmt::format("'{}' does not exist (paths are relative to the template's directory)",
                      uri.text));
    return std::nullopt;
  }
  auto text = support::read_file(path, 32u * 1024 * 1024);
  if (!text) {
    error(uri.mark, "definition", text.error().message);
    return std::nullopt;
  }
  auto node = read_document(*text, display.string(), m_diags);
  if (node && !node->is_mapping()) {
    error(uri.mark, "definition",
          fmt::format("{} is not an OpenAPI document (a mapping)", display.string()));
    return std::nullopt;
  }
  return node;
}

void Loader::build_implicit_apis() {
  bool rest = false;
  bool http = false;
  for (const auto& event : m_events) {
    if (event.type == "Api" &&
        (event.properties == nullptr || !event.properties->find("RestApiId")))
      rest = true;
    if (event.type == "HttpApi" &&
        (event.properties == nullptr || !event.properties->find("ApiId")))
      http = true;
  }
  const auto add = [&](const char* id, const char* type, bool is_http) {
    if (m_scope.is_resource(id)) {
      error(m_scope.resources.at(id).mark, "logical-id",
            fmt::format("'{}' is the logical id SAM gives the implicit API; rename this resource",
                        id));
      return;
    }
    ResourceDecl decl;
    decl.logical_id = id;
    decl.type = type;
    const Node empty(NodeKind::mapping, Mark{});
    m_resolved.push_back(resolve_merged(globals_for(decl), empty));
    const Node& resolved = m_resolved.back();
    Resource resource;
    resource.logical_id = id;
    resource.type = type;
    resource.properties = to_json_object(resolved);
    m_model.resources.push_back(std::move(resource));
    build_api(decl, resolved, is_http, true);
  };
  if (rest)
    add("ServerlessRestApi", "AWS::Serverless::Api", false);
  if (http)
    add("ServerlessHttpApi", "AWS::Serverless::HttpApi", true);
}

// -------------------------------------------------------------------- routes

void Loader::build_routes() {
  struct Seen {
    std::string function;
    std::string event;
    int line;
  };
  std::unordered_map<std::string, Seen> seen; // api \n method \n path
  for (const auto& event : m_events) {
    if (event.type != "Api" && event.type != "HttpApi")
      continue;
    const bool http = event.type == "HttpApi";
    const auto& function = m_model.functions[event.function];
    const Node no_properties(NodeKind::mapping, event.mark);
    const Node& props = event.properties != nullptr ? *event.properties : no_properties;
    Route route;
    route.kind = http ? ApiKind::http : ApiKind::rest;
    route.function_logical_id = function.logical_id;
    route.event_name = event.name;
    route.source = {m_file, event.mark.line, event.mark.column};

    // Method and path.
    const Node* path = props.find("Path");
    const Node* method = props.find("Method");
    if (http && path == nullptr && method == nullptr) {
      route.path = "$default";
      route.method = "ANY";
    } else if (http && (path == nullptr || method == nullptr)) {
      error(event.mark, "route",
            fmt::format("the HttpApi event '{}' needs both Path and Method, or neither (for the "
                        "$default route)",
                        event.name));
      continue;
    } else {
      if (path == nullptr || method == nullptr)
        continue; // the schema check reported it
      if (!path->is_scalar() || !method->is_scalar())
        continue;
      route.path = path->text;
      route.method = upper(method->text);
      if (route.method == "X-AMAZON-APIGATEWAY-ANY-METHOD")
        route.method = "ANY";
      const auto methods = http_methods();
      if (std::find(methods.begin(), methods.end(), route.method) == methods.end()) {
        std::vector<std::string> names(methods.begin(), methods.end());
        std::string hint;
        if (auto close = support::closest_match(route.method, names))
          hint = fmt::format("; did you mean '{}'?", *close);
        error(method->mark, "route-method",
              fmt::format("unknown HTTP method '{}'{}", method->text, hint));
        continue;
      }
      if (const auto problem = route_path_problem(route.path, http); !problem.empty()) {
        error(path->mark, "route-path", fmt::format("path '{}': {}", route.path, problem));
        continue;
      }
    }
    // Which API.
    const char* id_key = http ? "ApiId" : "RestApiId";
    if (const auto* reference = props.find(id_key)) {
      auto id = referenced_id(*reference);
      if (id.empty() && reference->is_scalar() && m_scope.is_resource(reference->text))
        id = reference->text;
      if (id.empty() || !m_scope.is_resource(id)) {
        if (!is_symbolic(*reference) || reference->intrinsic() != "Ref")
          error(reference->mark, "api-reference",
                fmt::format("{} must refer to an {} of this template (!Ref MyApi)", id_key,
                            http ? "AWS::Serverless::HttpApi" : "AWS::Serverless::Api"));
        continue;
      }
      const auto& target = m_scope.resources.at(id);
      const std::string expected = http ? "AWS::Serverless::HttpApi" : "AWS::Serverless::Api";
      // SAM also attaches events to plain API Gateway APIs of the template (it only adds the
      // invoke permission; the API's own resources define the route).
      const std::string raw = http ? "AWS::ApiGatewayV2::Api" : "AWS::ApiGateway::RestApi";
      if (target.type != expected && target.type != raw) {
        if (!http && target.type == "AWS::Serverless::HttpApi")
          error(reference->mark, "api-kind-mismatch",
                fmt::format("the Api event '{}' refers to '{}', an AWS::Serverless::HttpApi; use "
                            "an HttpApi event with ApiId, or make '{}' an AWS::Serverless::Api",
                            event.name, id, id));
        else if (http && target.type == "AWS::Serverless::Api")
          error(reference->mark, "api-kind-mismatch",
                fmt::format("the HttpApi event '{}' refers to '{}', an AWS::Serverless::Api; use "
                            "an Api event with RestApiId, or make '{}' an "
                            "AWS::Serverless::HttpApi",
                            event.name, id, id));
        else
          error(reference->mark, "api-reference",
                fmt::format("{} refers to '{}' ({}); it must be an {} or an {}", id_key, id,
                            target.type, expected, raw));
        continue;
      }
      if (!target.included)
        continue; // removed by its Condition
      route.api_logical_id = id;
    } else {
      route.api_logical_id = http ? "ServerlessHttpApi" : "ServerlessRestApi";
    }

    route.payload_format_version = "1.0";
    if (http) {
      route.payload_format_version = "2.0";
      if (const auto* version = props.find("PayloadFormatVersion");
          version && version->is_scalar()) {
        if (version->text != "1.0" && version->text != "2.0")
          error(version->mark, "route",
                fmt::format("PayloadFormatVersion must be 1.0 or 2.0, not '{}'", version->text));
        else
          route.payload_format_version = version->text;
      }
    }
    if (const auto* auth = props.find("Auth"); auth && auth->is_mapping())
      if (auto authorizer = as_string(auth->find("Authorizer")))
        route.authorizer = *authorizer;
    const Api* api = m_model.find_api(route.api_logical_id);
    if (!route.authorizer.empty() && route.authorizer != "NONE" && api != nullptr &&
        !(route.authorizer == "AWS_IAM" && !http) &&
        api->authorizers.count(route.authorizer) == 0) {
      std::vector<std::string> names;
      for (const auto& [name, authorizer] : api->authorizers)
        names.push_back(name);
      std::string hint;
      if (auto close = support::closest_match(route.authorizer, names))
        hint = fmt::format("; did you mean '{}'?", *close);
      const auto* node = props.find("Auth")->find("Authorizer");
      error(node->mark, "authorizer-undefined",
            fmt::format("the authorizer '{}' is not defined in the Auth of API '{}'{}",
                        route.authorizer, route.api_logical_id, hint));
    }

    const auto key = route.api_logical_id + "\n" + route.method + "\n" + route.path;
    if (const auto it = seen.find(key); it != seen.end()) {
      error(event.mark, "route-duplicate",
            fmt::format("{} {} on API '{}' is already routed by event '{}' of function '{}' "
                        "(line {})",
                        route.method, route.path, route.api_logical_id, it->second.event,
                        it->second.function, it->second.line));
      continue;
    }
    seen.emplace(key, Seen{function.logical_id, event.name, event.mark.line});
    m_model.routes.push_back(std::move(route));
  }

  // Routes an API's OpenAPI definition declares itself (aws_proxy integrations), unless an
  // event already routes the same method and path.
  for (const auto& api : m_model.apis) {
    const auto it = m_api_properties.find(api.logical_id);
    if (it == m_api_properties.end() || !api.definition_body)
      continue;
    const Node* body = it->second->find("DefinitionBody");
    std::optional<Node> loaded;
    if (body == nullptr || is_symbolic(*body)) {
      const Node* uri = body == nullptr ? it->second->find("DefinitionUri") : nullptr;
      if (uri == nullptr && body != nullptr && body->intrinsic() == "Fn::Transform") {
        const Node& arg = body->entries.front().value;
        const Node* parameters = arg.is_mapping() ? arg.find("Parameters") : nullptr;
        uri = parameters != nullptr && parameters->is_mapping() ? parameters->find("Location")
                                                                : nullptr;
      }
      if (uri == nullptr)
        continue;
      support::Diagnostics ignored; // reported when the API was built
      if (!uri->is_scalar() || uri->text.starts_with("s3://"))
        continue;
      auto text = support::read_file((m_model.base_dir / uri->text).lexically_normal());
      if (!text)
        continue;
      loaded = read_document(*text, uri->text, ignored);
      if (!loaded)
        continue;
      body = &*loaded;
    }
    routes_from_definition(api, *body);
  }
  raw_routes();
}

void Loader::routes_from_definition(const Api& api, const Node& body) {
  const Node* paths = body.find("paths");
  if (paths == nullptr || !paths->is_mapping())
    return;
  const bool http = api.kind == ApiKind::http;
  std::unordered_map<std::string, bool> existing;
  for (const auto& route : m_model.routes)
    if (route.api_logical_id == api.logical_id)
      existing[route.method + "\n" + route.path] = true;
  std::vector<std::string> global_security;
  const auto first_security = [](const Node* security) -> std::string {
    if (security == nullptr || !security->is_sequence() || security->items.empty())
      return {};
    const auto& first = security->items.front();
    if (first.is_mapping() && !first.entries.empty())
      return first.entries.front().key;
    return "NONE";
  };
  const std::string default_security = first_security(body.find("security"));
  for (const auto& path_entry : paths->entries) {
    if (!path_entry.value.is_mapping())
      continue;
    for (const auto& operation : path_entry.value.entries) {
      std::string method = upper(operation.key);
      if (method == "X-AMAZON-APIGATEWAY-ANY-METHOD")
        method = "ANY";
      const auto methods = http_methods();
      if (std::find(methods.begin(), methods.end(), method) == methods.end())
        continue; // parameters, summary, ...
      if (!operation.value.is_mapping())
        continue;
      const Node* integration = operation.value.find("x-amazon-apigateway-integration");
      if (integration == nullptr || !integration->is_mapping())
        continue;
      const auto type = as_string(integration->find("type")).value_or("");
      if (!support::iequals(type, "aws_proxy"))
        continue;
      const Node* uri = integration->find("uri");
      if (uri == nullptr)
        continue;
      std::string function_id;
      std::string text;
      if (uri->is_scalar()) {
        text = uri->text;
      } else if (uri->intrinsic() == "Fn::Sub") {
        const Node& arg = uri->entries.front().value;
        const Node* sub = arg.is_sequence() && !arg.items.empty() ? &arg.items[0] : &arg;
        if (sub->is_scalar())
          text = sub->text;
      } else {
        function_id = referenced_id(*uri);
      }
      if (function_id.empty() && !text.empty()) {
        // .../functions/<function ARN or ${Function.Arn}>/invocations
        const auto start = text.find("functions/");
        const auto end = text.rfind("/invocations");
        if (start != std::string::npos && end != std::string::npos && end > start + 10) {
          auto target = text.substr(start + 10, end - start - 10);
          if (target.starts_with("${") && target.ends_with("}")) {
            target = target.substr(2, target.size() - 3);
            function_id = target.substr(0, target.find('.'));
          } else if (const auto colon = target.find(":function:"); colon != std::string::npos) {
            auto name = target.substr(colon + 10);
            name = name.substr(0, name.find(':'));
            if (const auto* function = m_model.find_function(name))
              function_id = function->logical_id;
          }
        }
      }
      if (function_id.empty() || m_model.find_function(function_id) == nullptr)
        continue;
      if (existing.count(method + "\n" + path_entry.key) != 0)
        continue;
      Route route;
      route.api_logical_id = api.logical_id;
      route.kind = api.kind;
      route.method = method;
      route.path = path_entry.key;
      route.payload_format_version =
          http ? as_string(integration->find("payloadFormatVersion")).value_or("1.0") : "1.0";
      route.function_logical_id = function_id;
      const auto security = first_security(operation.value.find("security"));
      route.authorizer = security.empty() ? default_security : security;
      route.source = {m_file, path_entry.key_mark.line, path_entry.key_mark.column};
      existing[method + "\n" + path_entry.key] = true;
      m_model.routes.push_back(std::move(route));
    }
  }
}

// -------------------------------------------------------------------- plain API Gateway

namespace {

// Every {Ref: X} and {Fn::GetAtt: [X, ...]} target inside `node`, in document order.
void referenced_ids(const Node& node, std::vector<std::string>& out) {
  if (const auto key = node.intrinsic(false); key == "Ref" || key == "Fn::GetAtt") {
    const auto id = referenced_id(node);
    if (!id.empty())
      out.push_back(id);
    return;
  }
  if (node.intrinsic(false) == "Fn::Sub") {
    const auto id = referenced_id(node);
    if (!id.empty())
      out.push_back(id);
  }
  for (const auto& item : node.items)
    referenced_ids(item, out);
  for (const auto& entry : node.entries)
    referenced_ids(entry.value, out);
}

std::string first_reference_of_type(const Node& node, const Scope& scope, std::string_view type) {
  std::vector<std::string> ids;
  referenced_ids(node, ids);
  for (const auto& id : ids) {
    const auto it = scope.resources.find(id);
    if (it != scope.resources.end() && it->second.type == type)
      return id;
  }
  return {};
}

} // namespace

// The function an API integration URI (or a quick-create Target) invokes: a reference to
// a function of the template (GetAtt X.Arn, ${X.Arn}, an alias), or a function ARN whose
// name is a FunctionName of the template.
std::string Loader::raw_function_of(const Node& uri) const {
  std::vector<std::string> ids;
  referenced_ids(uri, ids);
  for (const auto& id : ids)
    if (m_model.find_function(id) != nullptr && m_model.find_function(id)->logical_id == id)
      return id;
  std::string text;
  if (uri.is_scalar())
    text = uri.text;
  else if (uri.intrinsic() == "Fn::Sub") {
    const Node& arg = uri.entries.front().value;
    const Node* sub = arg.is_sequence() && !arg.items.empty() ? &arg.items[0] : &arg;
    if (sub->is_scalar())
      text = sub->text;
  }
  if (const auto colon = text.find(":function:"); colon != std::string::npos) {
    auto name = text.substr(colon + 10);
    name = name.substr(0, name.find_first_of(":/"));
    if (const auto* function = m_model.find_function(name))
      return function->logical_id;
  }
  return {};
}

void Loader::build_raw_apis() {
  const auto find_props = [&](const std::string& id) -> const Node* {
    const auto it = m_resolved_by_id.find(id);
    return it == m_resolved_by_id.end() ? nullptr : it->second;
  };
  for (const auto* entry : m_resource_entries) {
    const auto& decl = m_scope.resources.at(entry->key);
    if (!decl.included)
      continue;
    const bool rest = decl.type == "AWS::ApiGateway::RestApi";
    const bool v2 = decl.type == "AWS::ApiGatewayV2::Api";
    if (!rest && !v2)
      continue;
    const Node* properties = find_props(decl.logical_id);
    if (properties == nullptr)
      continue;
    if (v2) {
      const auto protocol = as_string(properties->find("ProtocolType")).value_or("");
      if (protocol != "HTTP")
        continue; // WebSocket APIs are not served
    }
    Api api;
    api.logical_id = decl.logical_id;
    api.kind = rest ? ApiKind::rest : ApiKind::http;
    api.source = {m_file, decl.mark.line, decl.mark.column};
    api.properties = to_json_object(*properties);
    if (const auto* body = properties->find("Body"); body && !is_symbolic(*body))
      api.definition_body = to_json(*body);
    if (rest) {
      api.binary_media_types = as_strings(properties->find("BinaryMediaTypes"));
    } else if (const auto* cors = properties->find("CorsConfiguration");
               cors && cors->is_mapping()) {
      Cors value;
      value.allow_origins = as_strings(cors->find("AllowOrigins"));
      value.allow_methods = as_strings(cors->find("AllowMethods"));
      value.allow_headers = as_strings(cors->find("AllowHeaders"));
      value.expose_headers = as_strings(cors->find("ExposeHeaders"));
      value.allow_credentials = as_bool(cors->find("AllowCredentials")).value_or(false);
      if (auto age = as_int(cors->find("MaxAge")))
        value.max_age = clamp_int(*age);
      api.cors = std::move(value);
    }
    if (v2 && properties->find("Target") != nullptr)
      api.stage_name = "$default"; // quick create
    // Stages, deployments and authorizers that belong to this API.
    for (const auto* other : m_resource_entries) {
      const auto& other_decl = m_scope.resources.at(other->key);
      if (!other_decl.included)
        continue;
      const Node* props = find_props(other->key);
      if (props == nullptr)
        continue;
      const Node* owner = props->find(rest ? "RestApiId" : "ApiId");
      if (owner == nullptr || referenced_id(*owner) != decl.logical_id)
        continue;
      const auto& type = other_decl.type;
      if (type == (rest ? "AWS::ApiGateway::Stage" : "AWS::ApiGatewayV2::Stage")) {
        if (!api.stage_name.empty() && api.stage_name != "$default")
          continue; // the first stage wins
        if (auto stage = as_string(props->find("StageName")))
          api.stage_name = *stage;
        if (const auto* variables = props->find(rest ? "Variables" : "StageVariables");
            variables && variables->is_mapping())
          for (const auto& variable : variables->entries)
            if (variable.value.is_scalar())
              api.stage_variables[variable.key] = variable.value.text;
        if (const auto* canary = props->find("CanarySetting");
            rest && canary && canary->is_mapping())
          api.canary_setting = to_json_object(*canary);
      } else if (rest && type == "AWS::ApiGateway::Deployment" && api.stage_name.empty()) {
        if (auto stage = as_string(props->find("StageName")))
          api.stage_name = *stage;
      } else if (type == (rest ? "AWS::ApiGateway::Authorizer" : "AWS::ApiGatewayV2::Authorizer")) {
        Authorizer authorizer;
        authorizer.name = other->key;
        authorizer.source = {m_file, other_decl.mark.line, other_decl.mark.column};
        const auto kind = as_string(props->find(rest ? "Type" : "AuthorizerType")).value_or("");
        if (kind == "COGNITO_USER_POOLS") {
          authorizer.kind = Authorizer::Kind::cognito;
          authorizer.user_pool_arns = as_strings(props->find("ProviderARNs"));
        } else if (kind == "JWT") {
          authorizer.kind = Authorizer::Kind::jwt;
          if (const auto* jwt = props->find("JwtConfiguration"); jwt && jwt->is_mapping()) {
            authorizer.jwt_issuer = as_string(jwt->find("Issuer")).value_or("");
            authorizer.jwt_audience = as_strings(jwt->find("Audience"));
          }
        } else {
          authorizer.kind =
              kind == "REQUEST" ? Authorizer::Kind::lambda_request : Authorizer::Kind::lambda_token;
          if (const auto* uri = props->find("AuthorizerUri"))
            authorizer.function_logical_id = raw_function_of(*uri);
        }
        const Node* sources = props->find("IdentitySource");
        if (sources != nullptr && sources->is_scalar())
          authorizer.identity_sources = split_trimmed(sources->text);
        else
          authorizer.identity_sources = as_strings(sources);
        authorizer.ttl_seconds =
            clamp_int(as_int(props->find("AuthorizerResultTtlInSeconds")).value_or(rest ? 300 : 0));
        authorizer.identity_validation_expression =
            as_string(props->find("IdentityValidationExpression")).value_or("");
        authorizer.payload_format_version =
            as_string(props->find("AuthorizerPayloadFormatVersion")).value_or("");
        authorizer.enable_simple_responses =
            as_bool(props->find("EnableSimpleResponses")).value_or(false);
        api.authorizers.emplace(authorizer.name, std::move(authorizer));
      }
    }
    m_model.apis.push_back(std::move(api));
  }
}

void Loader::raw_routes() {
  const auto find_props = [&](const std::string& id) -> const Node* {
    const auto it = m_resolved_by_id.find(id);
    return it == m_resolved_by_id.end() ? nullptr : it->second;
  };
  std::unordered_map<std::string, bool> existing;
  for (const auto& route : m_model.routes)
    existing[route.api_logical_id + "\n" + route.method + "\n" + route.path] = true;
  const auto add = [&](Route route) {
    const auto key = route.api_logical_id + "\n" + route.method + "\n" + route.path;
    if (existing.count(key) != 0)
      return;
    existing[key] = true;
    m_model.routes.push_back(std::move(route));
  };
  for (const auto& api : m_model.apis) {
    const auto decl_it = m_scope.resources.find(api.logical_id);
    if (decl_it == m_scope.resources.end())
      continue;
    const auto& type = decl_it->second.type;
    if (type != "AWS::ApiGateway::RestApi" && type != "AWS::ApiGatewayV2::Api")
      continue;
    const Node* properties = find_props(api.logical_id);
    if (properties == nullptr)
      continue;
    if (const auto* body = properties->find("Body"); body && body->is_mapping())
      routes_from_definition(api, *body);
    if (const auto* target = properties->find("Target")) {
      // Quick create: one route (RouteKey, default $default) to the target function.
      Route route;
      route.api_logical_id = api.logical_id;
      route.kind = ApiKind::http;
      const auto key = as_string(properties->find("RouteKey")).value_or("$default");
      const auto space = key.find(' ');
      route.method = space == std::string::npos ? "ANY" : upper(key.substr(0, space));
      route.path = space == std::string::npos ? key : key.substr(space + 1);
      route.payload_format_version = "2.0";
      route.function_logical_id = raw_function_of(*target);
      route.source = {m_file, target->mark.line, target->mark.column};
      if (!route.function_logical_id.empty())
        add(std::move(route));
    }
  }
  // AWS::ApiGateway::Method + Resource chains; AWS::ApiGatewayV2::Route + Integration.
  for (const auto* entry : m_resource_entries) {
    const auto& decl = m_scope.resources.at(entry->key);
    if (!decl.included)
      continue;
    const Node* props = find_props(entry->key);
    if (props == nullptr)
      continue;
    if (decl.type == "AWS::ApiGateway::Method") {
      const Node* api_ref = props->find("RestApiId");
      const Node* integration = props->find("Integration");
      if (api_ref == nullptr || integration == nullptr || !integration->is_mapping())
        continue;
      const auto api_id = referenced_id(*api_ref);
      const Api* api = m_model.find_api(api_id);
      if (api == nullptr)
        continue;
      if (!support::iequals(as_string(integration->find("Type")).value_or(""), "AWS_PROXY"))
        continue;
      Route route;
      route.api_logical_id = api_id;
      route.kind = ApiKind::rest;
      route.method = upper(as_string(props->find("HttpMethod")).value_or("ANY"));
      route.payload_format_version = "1.0";
      if (const auto* uri = integration->find("Uri"))
        route.function_logical_id = raw_function_of(*uri);
      if (route.function_logical_id.empty())
        continue;
      // The path: follow ParentId from the method's resource up to the root.
      std::vector<std::string> parts;
      const Node* resource_ref = props->find("ResourceId");
      bool ok = resource_ref != nullptr;
      for (int depth = 0; ok && depth < 64; ++depth) {
        if (resource_ref->intrinsic() == "Fn::GetAtt")
          break; // RestApi.RootResourceId
        const auto id = referenced_id(*resource_ref);
        const auto it = m_scope.resources.find(id);
        if (id.empty() || it == m_scope.resources.end() ||
            it->second.type != "AWS::ApiGateway::Resource") {
          ok = false;
          break;
        }
        const Node* resource_props = find_props(id);
        if (resource_props == nullptr) {
          ok = false;
          break;
        }
        parts.push_back(as_string(resource_props->find("PathPart")).value_or(""));
        resource_ref = resource_props->find("ParentId");
        ok = resource_ref != nullptr;
      }
      if (!ok)
        continue;
      std::string path;
      for (auto it = parts.rbegin(); it != parts.rend(); ++it)
        path += "/" + *it;
      route.path = path.empty() ? "/" : path;
      const auto authorization = as_string(props->find("AuthorizationType")).value_or("NONE");
      if (const auto* authorizer = props->find("AuthorizerId"))
        route.authorizer = referenced_id(*authorizer);
      else if (authorization == "AWS_IAM")
        route.authorizer = "AWS_IAM";
      else
        route.authorizer = "NONE";
      route.source = {m_file, decl.mark.line, decl.mark.column};
      add(std::move(route));
    } else if (decl.type == "AWS::ApiGatewayV2::Route") {
      const Node* api_ref = props->find("ApiId");
      const Node* target = props->find("Target");
      if (api_ref == nullptr || target == nullptr)
        continue;
      const auto api_id = referenced_id(*api_ref);
      const Api* api = m_model.find_api(api_id);
      if (api == nullptr)
        continue;
      const auto integration_id =
          first_reference_of_type(*target, m_scope, "AWS::ApiGatewayV2::Integration");
      const Node* integration = integration_id.empty() ? nullptr : find_props(integration_id);
      if (integration == nullptr ||
          !support::iequals(as_string(integration->find("IntegrationType")).value_or(""),
                            "AWS_PROXY"))
        continue;
      Route route;
      route.api_logical_id = api_id;
      route.kind = ApiKind::http;
      const auto key = as_string(props->find("RouteKey")).value_or("");
      const auto space = key.find(' ');
      route.method = space == std::string::npos ? "ANY" : upper(key.substr(0, space));
      route.path = space == std::string::npos ? key : key.substr(space + 1);
      if (route.path.empty())
        continue;
      route.payload_format_version =
          as_string(integration->find("PayloadFormatVersion")).value_or("2.0");
      if (const auto* uri = integration->find("IntegrationUri"))
        route.function_logical_id = raw_function_of(*uri);
      if (route.function_logical_id.empty())
        continue;
      const auto authorization = as_string(props->find("AuthorizationType")).value_or("NONE");
      if (const auto* authorizer = props->find("AuthorizerId"))
        route.authorizer = referenced_id(*authorizer);
      else if (authorization == "AWS_IAM")
        route.authorizer = "AWS_IAM";
      else
        route.authorizer = "NONE";
      route.source = {m_file, decl.mark.line, decl.mark.column};
      add(std::move(route));
    }
  }
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
