// Nested applications run locally, as SAM CLI runs them (samcli/lib/providers/
// sam_stack_provider.py): an AWS::Serverless::Application whose Location, or an
// AWS::CloudFormation::Stack whose TemplateURL, is a local template path (relative to the
// parent's directory, or file://) is loaded with the values its parent's
// `Parameters:` pass (the child's Defaults for the rest), recursively, and its functions,
// layers, APIs and routes join the model under their stack path: `Child/Function`,
// `Child/Grandchild/Function` (SAM's full path). A remote Location (ApplicationId +
// SemanticVersion, s3://, http(s)://, a TemplateURL built with intrinsic functions) is
// skipped with a warning, as SAM CLI does.
//
// A parameter that is `!GetAtt Sibling.Outputs.X` takes the value of the sibling's output:
// a literal, or what a local run calls the resource the output names (a layer: a layer ARN
// that the functions given it resolve back to that layer, as SAM CLI's nested layer lookup
// does; a function: its name). A missing child template and a template that includes itself
// are errors at the Location.

#include <wisp/support/http.hpp>
#include <wisp/support/strings.hpp>
#include <wisp/template/build_support.hpp>
#include <wisp/template/convert.hpp>
#include <wisp/template/loader.hpp>

#include <fmt/format.h>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace wisp::sam::detail {

namespace {

std::string prefixed(const std::string& prefix, const std::string& id) {
  return id.empty() ? id : prefix + id;
}

void prefix_ref(const std::string& prefix, ResourceRef& ref) {
  ref.logical_id = prefixed(prefix, ref.logical_id);
}

// A child's outputs as plain values a sibling's parameter can take, by output name.
struct ChildOutputs {
  std::map<std::string, std::string, std::less<>> values;
};

} // namespace

void Loader::load_applications() {
  struct Application {
    const ResourceDecl* decl = nullptr;
    const Node* properties = nullptr;
    const char* key = nullptr; // the property naming its template
  };
  std::vector<Application> applications;
  for (const auto* entry : m_resource_entries) {
    const auto it = m_scope.resources.find(entry->key);
    if (it == m_scope.resources.end() || !it->second.included)
      continue;
    const char* key = nested_template_property(it->second.type);
    if (key == nullptr)
      continue;
    const auto found = m_resolved_by_id.find(entry->key);
    if (found == m_resolved_by_id.end())
      continue;
    applications.push_back(Application{&it->second, found->second, key});
  }
  if (applications.empty())
    return;

  const fs::path shown_dir = fs::path(m_file).parent_path();
  auto here = m_options.enclosing_templates;
  {
    std::error_code ec;
    auto canonical = fs::weakly_canonical(m_model.template_path, ec);
    here.push_back(ec ? m_model.template_path : canonical);
  }

  std::map<std::string, ChildOutputs, std::less<>> loaded;    // by application id
  std::map<std::string, std::string, std::less<>> layer_arns; // local layer ARN → merged id
  std::set<std::string, std::less<>> visiting;

  std::function<void(const Application&)> load_one = [&](const Application& app) {
    const auto& id = app.decl->logical_id;
    if (loaded.contains(id) || visiting.contains(id))
      return;
    visiting.insert(id);
    loaded[id]; // loaded or skipped: its outputs stay empty unless it loads
    const char* const key = app.key;
    const bool stack = std::string_view(key) == "TemplateURL"; // AWS::CloudFormation::Stack
    const char* const what = stack ? "nested stack" : "nested application";
    const Node* location = app.properties->find(key);
    if (location == nullptr)
      return; // the schema check reports it
    if (stack && !location->is_scalar()) {
      // Built with intrinsic functions (CDK's templates): SAM CLI cannot tell where it is.
      warning(location->mark, "nested-remote",
              fmt::format("nested stack '{}': its TemplateURL is not a literal path: not run "
                          "locally (as SAM CLI, which skips it)",
                          id));
      return;
    }
    if (location->is_mapping()) {
      const auto* application_id = location->find("ApplicationId");
      warning(location->mark, "nested-remote",
              fmt::format("nested application '{}' comes from the Serverless Application "
                          "Repository{}: not run locally (as SAM CLI, which skips it)",
                          id,
                          application_id && application_id->is_scalar()
                              ? fmt::format(" ({})", application_id->text)
                              : std::string()));
      return;
    }
    if (!location->is_scalar())
      return;
    std::string text = location->text;
    if (is_remote_template(text)) {
      warning(location->mark, "nested-remote",
              fmt::format("{} '{}' is at {}, not a local template: not run "
                          "locally (as SAM CLI, which skips it)",
                          what, id, text));
      return;
    }
    fs::path child_path;
    fs::path child_shown;
    if (text.starts_with("file://")) {
      child_path = support::http::url_decode(std::string_view(text).substr(7));
      child_shown = child_path;
    } else {
      child_path = (m_model.base_dir / text).lexically_normal();
      child_shown = (shown_dir / text).lexically_normal();
    }
    std::error_code ec;
    if (!fs::exists(child_path, ec)) {
      error(location->mark, "nested-missing",
            fmt::format("{} '{}': its template {} does not exist", what, id, child_shown.string()));
      return;
    }
    if (fs::is_directory(child_path, ec)) {
      error(location->mark, "nested-missing",
            fmt::format("{} '{}': {} {} is a directory, not a template", what, id, key,
                        child_shown.string()));
      return;
    }
    const auto canonical = fs::weakly_canonical(child_path, ec);
    if (std::find(here.begin(), here.end(), canonical) != here.end()) {
      std::vector<std::string> chain;
      // Paths relative to the outermost template's directory.
      const auto top = here.front().parent_path();
      for (const auto& path : here)
        chain.push_back(path.lexically_relative(top).string());
      chain.push_back(canonical.lexically_relative(top).string());
      error(location->mark, "nested-cycle",
            fmt::format("{} '{}': {} includes itself ({})", what, id, child_shown.string(),
                        support::join(chain, " → ")));
      return;
    }

    LoadOptions options;
    options.template_path = child_shown;
    options.import_values = m_options.import_values;
    options.region = m_options.region;
    options.account_id = m_options.account_id;
    options.stack_name = m_options.stack_name + "-" + id;
    options.lint = m_options.lint;
    options.today = m_today;
    options.check_code = m_options.check_code;
    options.missing_code_is_error = m_options.missing_code_is_error;
    options.parent_source = SourceRef{m_file, app.decl->mark.line, app.decl->mark.column};
    options.enclosing_templates = here;
    if (const Node* parameters = app.properties->find("Parameters");
        parameters != nullptr && parameters->is_mapping()) {
      for (const auto& entry : parameters->entries) {
        const Node& value = entry.value;
        if (value.is_scalar()) {
          options.parent_parameters.emplace_back(entry.key, value.text);
          continue;
        }
        if (value.is_sequence() && std::all_of(value.items.begin(), value.items.end(),
                                               [](const Node& item) { return item.is_scalar(); })) {
          std::vector<std::string> items;
          for (const auto& item : value.items)
            items.push_back(item.text);
          options.parent_parameters.emplace_back(entry.key, support::join(items, ","));
          continue;
        }
        // !GetAtt Sibling.Outputs.Name: the sibling's output.
        std::optional<std::string> passed;
        if (const Node* args = value.find("Fn::GetAtt");
            args != nullptr && args->is_sequence() && args->items.size() == 2 &&
            args->items[0].is_scalar() && args->items[1].is_scalar() &&
            args->items[1].text.starts_with("Outputs.")) {
          const auto& sibling = args->items[0].text;
          const auto output = args->items[1].text.substr(8);
          for (const auto& other : applications)
            if (other.decl->logical_id == sibling)
              load_one(other);
          if (const auto it = loaded.find(sibling); it != loaded.end())
            if (const auto out = it->second.values.find(output); out != it->second.values.end())
              passed = out->second;
        }
        if (passed) {
          options.parent_parameters.emplace_back(entry.key, *passed);
        } else {
          warning(value.mark, "nested-parameter",
                  fmt::format("{} '{}': the value of its parameter '{}' is "
                              "known only to a deployed stack; the child template runs without it",
                              what, id, entry.key));
        }
      }
    }

    auto child = load(options);
    const bool failed = child.diagnostics.has_errors();
    m_diags.append(child.diagnostics);
    if (failed)
      return;

    Model& model = child.model;
    const std::string prefix = id + "/";
    ChildOutputs outputs;
    const auto local_value = [&](const boost::json::value& value) -> std::optional<std::string> {
      if (value.is_string())
        return std::string(value.as_string());
      if (value.is_int64() || value.is_uint64() || value.is_double() || value.is_bool())
        return boost::json::serialize(value);
      if (!value.is_object())
        return std::nullopt;
      const auto& object = value.as_object();
      const auto* ref = object.if_contains("Ref");
      if (object.size() != 1 || ref == nullptr || !ref->is_string())
        return std::nullopt;
      const std::string target(ref->as_string());
      if (const auto* layer = model.find_layer(target)) {
        const auto arn =
            fmt::format("arn:aws:lambda:{}:{}:layer:{}:1", m_options.region, m_options.account_id,
                        layer->layer_name.empty() ? target : layer->layer_name);
        layer_arns[arn] = prefix + target;
        return arn;
      }
      if (const auto* function = model.find_function(target))
        return function->function_name.empty() ? target : function->function_name;
      return target;
    };
    for (const auto& [name, output] : model.outputs) {
      if (!output.is_object())
        continue;
      if (const auto* value = output.as_object().if_contains("Value"))
        if (auto shown = local_value(*value))
          outputs.values[name] = std::move(*shown);
    }
    loaded[id] = std::move(outputs);

    for (auto& function : model.functions) {
      function.logical_id = prefix + function.logical_id;
      for (auto& layer : function.layers)
        prefix_ref(prefix, layer);
      prefix_ref(prefix, function.role);
      if (function.deployment_preference) {
        prefix_ref(prefix, function.deployment_preference->pre_traffic_hook);
        prefix_ref(prefix, function.deployment_preference->post_traffic_hook);
        for (auto& alarm : function.deployment_preference->alarms)
          prefix_ref(prefix, alarm);
      }
      m_model.functions.push_back(std::move(function));
    }
    for (auto& layer : model.layers) {
      layer.logical_id = prefix + layer.logical_id;
      m_model.layers.push_back(std::move(layer));
    }
    for (auto& api : model.apis) {
      api.logical_id = prefix + api.logical_id;
      for (auto& [name, authorizer] : api.authorizers)
        authorizer.function_logical_id = prefixed(prefix, authorizer.function_logical_id);
      m_model.apis.push_back(std::move(api));
    }
    for (auto& route : model.routes) {
      route.api_logical_id = prefix + route.api_logical_id;
      route.function_logical_id = prefixed(prefix, route.function_logical_id);
      m_model.routes.push_back(std::move(route));
    }
    m_result.nested_stacks.push_back(NestedStack{id, child.model.template_path});
    for (auto& nested : child.nested_stacks)
      m_result.nested_stacks.push_back(
          NestedStack{prefix + nested.stack_path, std::move(nested.template_path)});
  };
  for (const auto& app : applications)
    load_one(app);

  // A layer passed between stacks as the ARN its output names: the layer itself.
  for (auto& function : m_model.functions)
    for (auto& layer : function.layers)
      if (layer.logical_id.empty())
        if (const auto it = layer_arns.find(layer.literal); it != layer_arns.end()) {
          layer.logical_id = it->second;
          layer.literal.clear();
        }
}

} // namespace wisp::sam::detail

namespace wisp::sam {

const char* nested_template_property(std::string_view type) {
  if (type == "AWS::Serverless::Application")
    return "Location";
  if (type == "AWS::CloudFormation::Stack")
    return "TemplateURL";
  return nullptr;
}

bool is_remote_template(std::string_view location) {
  return location.starts_with("s3://") || location.starts_with("http://") ||
         location.starts_with("https://");
}

} // namespace wisp::sam
