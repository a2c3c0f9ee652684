// The loader's build phase for functions (AWS::Serverless::Function, AWS::Lambda::Function)
// and layers: resolved properties → Model::functions and Model::layers, with the checks of
// their events, handlers, code, limits and deployment preferences.

#include <wisp/support/strings.hpp>
#include <wisp/template/build_support.hpp>
#include <wisp/template/convert.hpp>
#include <wisp/template/loader.hpp>
#include <wisp/template/rules.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <system_error>

namespace wisp::sam::detail {

namespace fs = std::filesystem;

// -------------------------------------------------------------------- functions

namespace {

// The files (relative to CodeUri, without extension) an esbuild build writes for the function's
// BuildProperties.EntryPoints that exist: esbuild keeps each entry point's path below the
// deepest directory common to all of them ("src/handler.ts" alone gives "handler").
std::vector<std::string> esbuild_outputs(const boost::json::object& metadata,
                                         const fs::path& code_dir) {
  std::vector<fs::path> entries;
  if (const auto* props = metadata.if_contains("BuildProperties"); props && props->is_object())
    if (const auto* points = props->as_object().if_contains("EntryPoints");
        points && points->is_array())
      for (const auto& point : points->as_array())
        if (point.is_string())
          entries.push_back(fs::path(std::string(point.as_string())).lexically_normal());
  std::vector<std::string> out;
  if (entries.empty())
    return out;
  fs::path base = entries.front().parent_path();
  for (const auto& entry : entries) {
    while (!base.empty() && entry.lexically_relative(base).native().starts_with(".."))
      base = base.parent_path();
  }
  std::error_code ec;
  for (const auto& entry : entries)
    if (fs::is_regular_file(code_dir / entry, ec)) {
      auto relative = entry.lexically_relative(base.empty() ? fs::path(".") : base);
      out.push_back(relative.replace_extension().generic_string());
    }
  return out;
}

// Environment values: strings as they are; a Ref to a resource becomes its logical id (as
// SAM CLI does locally); SAM's references to generated resources that have a local value
// (`!Ref Fn.Alias`, `${Fn.Alias}`, `${Api.Stage}`) become it, also in a Fn::Sub beside
// `${Resource}` (its logical id); anything else that stays symbolic becomes "" and is listed.
void fill_environment(Function& function, const Node* variables, const Scope& scope,
                      const std::function<std::optional<std::string>(std::string_view)>& local) {
  if (variables == nullptr || !variables->is_mapping())
    return;
  // A Fn::Sub whose variables are all SAM references with a local value.
  const auto local_sub = [&](const Node& value) -> std::optional<std::string> {
    if (value.intrinsic() != "Fn::Sub" || !value.entries.front().value.is_string())
      return std::nullopt;
    const auto parts = parse_sub(value.entries.front().value.text, nullptr);
    if (!parts)
      return std::nullopt;
    std::string out;
    for (const auto& part : *parts) {
      if (!part.variable) {
        out += part.text;
        continue;
      }
      auto text = local(part.text);
      if (!text && scope.is_resource(part.text))
        text = part.text; // as a Ref to a resource: its logical id
      if (!text)
        return std::nullopt;
      out += *text;
    }
    return out;
  };
  for (const auto& entry : variables->entries) {
    const Node& value = entry.value;
    std::optional<std::string> generated;
    if (value.is_scalar()) {
      function.environment[entry.key] = value.text;
    } else if (value.is_null()) {
      function.environment[entry.key] = "";
    } else if (value.intrinsic() == "Ref" && value.entries.front().value.is_string() &&
               scope.is_resource(value.entries.front().value.text)) {
      function.environment[entry.key] = value.entries.front().value.text;
    } else if (value.intrinsic() == "Ref" && value.entries.front().value.is_string() &&
               (generated = local(value.entries.front().value.text))) {
      function.environment[entry.key] = *generated;
    } else if ((generated = local_sub(value))) {
      function.environment[entry.key] = *generated;
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

// What AWS::Serverless::Function and AWS::Lambda::Function write alike: the function's name,
// handler, runtime and package type.
void Loader::read_identity(Function& function, const Node& properties) {
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
}

// ... its size, limits, environment and image configuration.
void Loader::read_configuration(Function& function, const Node& properties) {
  const auto find = [&](std::string_view key) { return properties.find(key); };
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
  if (const auto* loop = find("RecursiveLoop"); loop && loop->is_scalar()) {
    if (loop->text == "Allow")
      function.recursive_loop_allowed = true;
    else if (loop->text != "Terminate")
      error(loop->mark, "recursive-loop",
            fmt::format("RecursiveLoop must be Allow or Terminate, not '{}'", loop->text));
  }
  if (const auto* environment = find("Environment"); environment && environment->is_mapping())
    fill_environment(function, environment->find("Variables"), m_scope,
                     [&](std::string_view name) { return local_generated_value(name); });
  if (const auto* image_config = find("ImageConfig"); image_config && image_config->is_mapping()) {
    if (const auto* command = image_config->find("Command"))
      function.image_config.command = as_strings(command);
    if (const auto* entry_point = image_config->find("EntryPoint"))
      function.image_config.entry_point = as_strings(entry_point);
    if (auto dir = as_string(image_config->find("WorkingDirectory")))
      function.image_config.working_directory = *dir;
  }
}

// ... and its LoggingConfig.
void Loader::read_logging(Function& function, const Node& properties) {
  const auto find = [&](std::string_view key) { return properties.find(key); };
  if (const auto* logging = find("LoggingConfig"); logging && logging->is_mapping()) {
    if (auto group = as_string(logging->find("LogGroup")))
      function.log_group = *group;
    if (auto format = as_string(logging->find("LogFormat")))
      function.log_format = *format;
  }
}

void Loader::build_function(const ResourceDecl& decl, const Node& properties) {
  Function function;
  function.logical_id = decl.logical_id;
  function.resource_type = decl.type;
  function.source = {m_file, decl.mark.line, decl.mark.column};
  const auto find = [&](std::string_view key) { return properties.find(key); };
  read_identity(function, properties);
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
  if (const auto& resource = m_model.resources.back(); resource.logical_id == decl.logical_id)
    function.metadata = resource.metadata;
  read_configuration(function, properties);
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
  read_logging(function, properties);
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
  read_identity(function, properties);
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
  read_configuration(function, properties);
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
  read_logging(function, properties);
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
        // samtranslator reads Type and Properties and drops the rest.
        warning(key.key_mark, "unknown-property",
                fmt::format("unknown key '{}' in the event '{}': the SAM transform ignores it (an "
                            "event has Type and Properties){}",
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
    // The SAM transform reads only ImageUri for an Image function (_construct_code_dict).
    for (const char* key : {"CodeUri", "InlineCode"})
      if (const auto* node = find(key))
        warning(node->mark, "code",
                fmt::format("{} is ignored: an Image function runs its ImageUri", key));
    if (serverless && find("ImageUri") == nullptr && !function.metadata.contains("DockerContext") &&
        !function.metadata.contains("Dockerfile"))
      error(decl.mark, "code",
            "an Image function needs ImageUri (or Metadata Dockerfile and DockerContext to "
            "build it)");
    if (serverless) {
      // The transform refuses them (Globals included): "Runtime, Handler, Layers cannot be
      // present when PackageType is of type `Image`".
      for (const char* key : {"Runtime", "Handler", "Layers"})
        if (const auto* node = find(key))
          error(node->mark, "package-type",
                fmt::format("an Image function takes no {} (the image defines it; from Globals "
                            "too: list it in IgnoreGlobals)",
                            key));
    } else if (find("Handler") != nullptr) {
      lint(find("Handler")->mark, "image-handler",
           "Handler is ignored for an Image function (use ImageConfig.Command)");
    }
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
        missing_code(code_mark, "code-missing",
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
        // esbuild writes the handler's file from an entry point, which may sit deeper
        // (EntryPoints: [src/handler.ts] for Handler: handler.handler), as SAM's build does.
        if (!found && build_method == "esbuild")
          for (const auto& output : esbuild_outputs(function.metadata, function.code_dir))
            for (const auto& candidate : candidates)
              if (fs::path(candidate).replace_extension().generic_string() == output)
                found = true;
        if (!found) {
          if (runtime->family == RuntimeFamily::provided)
            missing_code(handler->mark, "handler-missing",
                         fmt::format("runtime {} runs the executable 'bootstrap', but CodeUri '{}' "
                                     "has none",
                                     runtime->name, code_text));
          else
            missing_code(handler->mark, "handler-missing",
                         fmt::format("handler '{}' names {}, which is not in CodeUri '{}'",
                                     handler->text, candidates.front(), code_text));
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
      missing_code(content->mark, "code-missing",
                   fmt::format("{} '{}' does not exist (paths are relative to the template's "
                               "directory)",
                               serverless ? "ContentUri" : "Content", content->text));
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

} // namespace wisp::sam::detail
