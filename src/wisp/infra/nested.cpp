// Nested stacks with a local template, as `sam package`/`sam deploy` upload them: each child
// template (its own nested stacks first) is uploaded to the deploy's bucket under a
// content-addressed key, and the parent's TemplateURL (AWS::CloudFormation::Stack) or Location
// (AWS::Serverless::Application) names that upload. An unchanged child gives the same URL, so
// an unchanged parent template. A child of the root holding what wisp deploys itself
// (functions, APIs, layers) or other SAM resources is, for `wisp deploy`, loaded a second time
// with its parameters left references (GeneratedChild) and its template generated with the
// root's stack (nested_generate.cpp); its functions, layers and APIs join the root's as
// `Child/Fn`, their references into the child rewritten to what wisp can read (the child's
// outputs). `wisp package` packages such a child as `sam package` does (the caller uploads its
// artifacts and gives back its packaged text: PackageChild); deploy two levels down refuses it.

#include <wisp/infra/detail.hpp>
#include <wisp/infra/infra.hpp>
#include <wisp/infra/nested_package.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/http.hpp>
#include <wisp/template/document.hpp>
#include <wisp/template/load.hpp>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>

namespace fs = std::filesystem;

namespace wisp::infra {

namespace json = boost::json;

namespace {

bool wisp_type(std::string_view type) {
  return type == "AWS::Serverless::Function" || type == "AWS::Lambda::Function" ||
         type == "AWS::Serverless::Api" || type == "AWS::Serverless::HttpApi" ||
         type == "AWS::Serverless::LayerVersion" || type == "AWS::Lambda::LayerVersion";
}

// The local template a nested stack names, or empty when it names none (remote, intrinsic).
// `key`: sam::nested_template_property of its type.
std::string local_location(const json::object& properties, const char* key) {
  const auto* value = properties.if_contains(key);
  if (value == nullptr || !value->is_string() || sam::is_remote_template(value->as_string()))
    return {};
  return std::string(value->as_string());
}

// A value a parent passes to a child's parameter, as text when it is known before deploying.
std::optional<std::string> known_value(const json::value& value) {
  if (value.is_string())
    return std::string(value.as_string());
  if (value.is_int64() || value.is_uint64() || value.is_double() || value.is_bool())
    return json::serialize(value);
  if (value.is_array()) {
    std::string joined;
    for (const auto& item : value.as_array()) {
      if (!item.is_string())
        return std::nullopt;
      if (!joined.empty())
        joined += ',';
      joined += item.as_string();
    }
    return joined;
  }
  return std::nullopt;
}

class Packer {
public:
  Packer(std::string bucket, std::string prefix, std::string region)
      : m_bucket(std::move(bucket)), m_prefix(std::move(prefix)), m_region(std::move(region)) {}

  NestedTemplates out;
  bool deploy = false;         // generate the root's children that hold functions (wisp deploy)
  PackageChild package_child;  // wisp package: package a child that holds code
  std::vector<fs::path> chain; // the templates above the one packed
  std::string stack;
  std::string account;

  // The child at `location` of a template in `dir`: its path and its path as shown.
  static std::pair<fs::path, fs::path> child_path(const std::string& location, const fs::path& dir,
                                                  const fs::path& shown_dir) {
    fs::path relative =
        location.starts_with("file://")
            ? fs::path(support::http::url_decode(std::string_view(location).substr(7)))
            : fs::path(location);
    return {(relative.is_absolute() ? relative : dir / relative).lexically_normal(),
            (relative.is_absolute() ? relative : shown_dir / relative).lexically_normal()};
  }

  // A child of the root that holds functions, layers, APIs or SAM resources (wisp deploy):
  // loaded with its parameters left as references, its wisp resources made the root's.
  support::Status generate(const sam::Resource& parent, const std::string& location,
                           const fs::path& dir, const fs::path& shown_dir,
                           const sam::SourceRef& where);

  // The child at `location` (as written) of a template in `dir` (shown as `shown_dir`):
  // uploaded (recorded), its URL back.
  support::Result<std::string> child(const std::string& path_id, const std::string& location,
                                     const fs::path& dir, const fs::path& shown_dir,
                                     const sam::SourceRef& where) {
    fs::path relative =
        location.starts_with("file://")
            ? fs::path(support::http::url_decode(std::string_view(location).substr(7)))
            : fs::path(location);
    const fs::path path = (relative.is_absolute() ? relative : dir / relative).lexically_normal();
    const fs::path shown =
        (relative.is_absolute() ? relative : shown_dir / relative).lexically_normal();
    std::error_code ec;
    if (!fs::exists(path, ec))
      return support::failf("{}{}: nested template {} does not exist", detail::source_prefix(where),
                            path_id, shown.string());
    if (fs::is_directory(path, ec))
      return support::failf("{}{}: nested template {} is a directory, not a template",
                            detail::source_prefix(where), path_id, shown.string());
    auto canonical = fs::weakly_canonical(path, ec);
    if (ec)
      canonical = path;
    if (std::find(chain.begin(), chain.end(), canonical) != chain.end())
      return support::failf("{}{}: nested template {} includes itself (a cycle of nested stacks)",
                            detail::source_prefix(where), path_id, shown.string());
    std::map<std::string, sam::SourceRef, std::less<>> positions;
    auto read = sam::read_document_file(path, shown.string(), positions);
    if (!read)
      return support::failf("{}{}: nested template: {}", detail::source_prefix(where), path_id,
                            read.error().message);
    if (!read->is_object())
      return support::failf("{}{}: nested template {} is not a mapping",
                            detail::source_prefix(where), path_id, shown.string());
    NestedTemplate t;
    t.logical_id = path_id;
    t.file = shown.string();
    chain.push_back(canonical);
    if (!deploy && package_child && needs_generation(*read)) {
      // Code of its own (or SAM resources): packaged as the root is, SAM's Transform kept.
      auto packaged = package_child(ChildToPackage{path_id, path, shown.string(), chain});
      chain.pop_back();
      if (!packaged)
        return tl::unexpected(packaged.error());
      for (auto& below : packaged->templates)
        if (std::none_of(out.templates.begin(), out.templates.end(),
                         [&](const NestedTemplate& o) { return o.key == below.key; }))
          out.templates.push_back(std::move(below));
      t.body = std::move(packaged->text);
    } else {
      auto body = std::move(read->as_object());
      auto done = rewrite(path_id, body, positions, path.parent_path(), shown.parent_path(),
                          shown.string());
      chain.pop_back();
      if (!done)
        return tl::unexpected(done.error());
      t.body = json::serialize(body);
    }
    const auto name = support::sha256_hex(t.body) + ".template";
    t.key = m_prefix.empty() ? name : m_prefix + "/" + name;
    t.url = fmt::format("https://s3.{}.amazonaws.com/{}/{}", m_region, m_bucket, t.key);
    auto url = t.url;
    if (std::none_of(out.templates.begin(), out.templates.end(),
                     [&](const NestedTemplate& o) { return o.key == t.key; }))
      out.templates.push_back(std::move(t));
    return url;
  }

  // A child template's resources: its nested stacks uploaded, what wisp cannot deploy from a
  // nested template refused.
  support::Status rewrite(const std::string& path_id, json::object& body,
                          const std::map<std::string, sam::SourceRef, std::less<>>& positions,
                          const fs::path& dir, const fs::path& shown_dir, const std::string& file) {
    const auto where = [&](const std::string& key) {
      auto it = positions.find(key);
      return it == positions.end() ? sam::SourceRef{file, 0, 0} : it->second;
    };
    auto* resources = body.if_contains("Resources");
    if (resources == nullptr || !resources->is_object())
      return support::failf("{}: {}: the nested template has no Resources", file, path_id);
    for (auto& item : resources->as_object()) {
      const std::string id(item.key());
      if (!item.value().is_object())
        continue;
      auto& resource = item.value().as_object();
      const auto* type_value = resource.if_contains("Type");
      const std::string type = type_value != nullptr && type_value->is_string()
                                   ? std::string(type_value->as_string())
                                   : std::string();
      if (wisp_type(type)) {
        if (deploy)
          return support::failf("{}{}/{} ({}) is in a nested stack of a nested stack: wisp deploys "
                                "functions, APIs and layers of the root template and of its "
                                "nested stacks, not deeper (move it up a level)",
                                detail::source_prefix(where(id)), path_id, id, type);
        return support::failf(
            "{}{}/{} ({}) is in a nested template: wisp deploys functions, APIs and layers of "
            "the root template only, not of nested stacks (move it to the root template)",
            detail::source_prefix(where(id)), path_id, id, type);
      }
      if (const char* key = sam::nested_template_property(type)) {
        auto* properties = resource.if_contains("Properties");
        if (properties == nullptr || !properties->is_object())
          continue;
        auto& props = properties->as_object();
        if (type == "AWS::Serverless::Application") {
          const auto* location = props.if_contains("Location");
          if (location != nullptr && location->is_object())
            return refuse_repository(path_id + "/" + id, where(id + "/Location"));
        }
        const auto local = local_location(props, key);
        std::string url;
        if (!local.empty()) {
          WISP_TRY_ASSIGN(url,
                          child(path_id + "/" + id, local, dir, shown_dir, where(id + "/" + key)));
        }
        if (type == "AWS::Serverless::Application") {
          application_to_stack(resource, url);
        } else if (!url.empty()) {
          props["TemplateURL"] = url;
        }
        continue;
      }
      if (type.starts_with("AWS::Serverless::")) {
        if (deploy)
          return support::failf("{}{}/{}: {} in a nested stack of a nested stack is not deployed "
                                "by wisp (only in the root's nested stacks)",
                                detail::source_prefix(where(id)), path_id, id, type);
        return support::failf("{}{}/{}: {} in a nested template is not deployed by wisp yet",
                              detail::source_prefix(where(id)), path_id, id, type);
      }
    }
    // Nothing of SAM's is left to transform.
    if (auto* transform = body.if_contains("Transform")) {
      if (transform->is_string() && transform->as_string() == "AWS::Serverless-2016-10-31")
        body.erase("Transform");
      else if (transform->is_array()) {
        json::array kept;
        for (const auto& t : transform->as_array())
          if (!(t.is_string() && t.as_string() == "AWS::Serverless-2016-10-31"))
            kept.push_back(t);
        if (kept.empty())
          body.erase("Transform");
        else
          *transform = std::move(kept);
      }
    }
    body.erase("Globals");
    return {};
  }

  static tl::unexpected<support::Error> refuse_repository(const std::string& path_id,
                                                          const sam::SourceRef& where) {
    return support::failf("{}{}: a nested application from the Serverless Application "
                          "Repository (ApplicationId, SemanticVersion) is not deployed by wisp "
                          "(give Location a local template)",
                          detail::source_prefix(where), path_id);
  }

private:
  std::string m_bucket;
  std::string m_prefix;
  std::string m_region;
};

support::Status Packer::generate(const sam::Resource& parent, const std::string& location,
                                 const fs::path& dir, const fs::path& shown_dir,
                                 const sam::SourceRef& where) {
  const auto& id = parent.logical_id;
  const auto paths = child_path(location, dir, shown_dir);
  const fs::path path = paths.first;
  const fs::path shown = paths.second;
  std::map<std::string, sam::SourceRef, std::less<>> positions;
  auto read = sam::read_document_file(path, shown.string(), positions);
  if (!read)
    return support::failf("{}{}: nested template: {}", detail::source_prefix(where), id,
                          read.error().message);
  if (!read->is_object())
    return support::failf("{}{}: nested template {} is not a mapping", detail::source_prefix(where),
                          id, shown.string());
  auto document = std::move(read->as_object());
  GeneratedChild child;
  child.logical_id = id;
  child.file = shown.string();
  if (const auto* declared = document.if_contains("Parameters"); declared && declared->is_object())
    child.declarations = declared->as_object();

  // What the parent passes: values known now, and those only a deployed stack knows.
  std::map<std::string, std::string> known;
  std::set<std::string> passed;
  if (const auto* given = parent.properties.if_contains("Parameters"); given && given->is_object())
    for (const auto& item : given->as_object()) {
      passed.insert(std::string(item.key()));
      if (auto value = known_value(item.value()))
        known[std::string(item.key())] = *value;
    }
  // Parameters a Condition reads take the value the parent passes (the loader evaluates
  // Conditions); the others stay references: their Defaults are dropped, so the loader leaves
  // them symbolic, and CloudFormation applies the Default or the parent's value.
  std::set<std::string> in_conditions;
  if (const auto* conditions = document.if_contains("Conditions"))
    detail::for_each_reference(*conditions, [&](const detail::Reference& r) {
      if (child.declarations.contains(r.id))
        in_conditions.insert(r.id);
    });
  sam::LoadOptions options;
  for (auto& item : child.declarations) {
    const std::string name(item.key());
    std::optional<std::string> value;
    if (auto it = known.find(name); it != known.end())
      value = it->second;
    else if (!passed.contains(name) && item.value().is_object())
      if (const auto* d = item.value().as_object().if_contains("Default"))
        value = known_value(*d);
    if (in_conditions.contains(name)) {
      if (value)
        options.parent_parameters.emplace_back(name, *value);
      continue;
    }
    if (passed.contains(name) && !known.contains(name))
      child.unknown_parameters.insert(name);
    if (item.value().is_object())
      item.value().as_object().erase("Default");
  }
  json::object stripped = document;
  if (!child.declarations.empty())
    stripped["Parameters"] = child.declarations;
  // Back to the declarations as written (CloudFormation applies the Defaults).
  if (const auto* declared = document.if_contains("Parameters"); declared && declared->is_object())
    child.declarations = declared->as_object();
  options.template_path = path;
  options.template_text = json::serialize(stripped);
  options.region = m_region;
  options.account_id = account;
  // A stand-in for the nested stack's name (CloudFormation names it): made `!Ref
  // AWS::StackName` again in the template, the child's output `WispStackName` for its functions.
  child.stack_name = "WispStackName" + support::sha256_hex(stack + "/" + id).substr(0, 12);
  options.stack_name = child.stack_name;
  options.nested_applications = false;
  options.check_code = false;
  options.missing_code_is_error = false;
  options.parent_source = where;
  auto loaded = sam::load(options);
  for (const auto& d : loaded.diagnostics.items())
    if (d.severity == support::Severity::error)
      return support::failf("{}{}: nested template {}: {}", detail::source_prefix(where), id,
                            shown.string(), d.message);
  auto model = std::make_shared<sam::Model>(std::move(loaded.model));
  model->template_path = path;
  const auto at = [&](const std::string& key, const sam::SourceRef& fallback) {
    auto it = positions.find(key);
    return it == positions.end() ? fallback : it->second;
  };
  for (auto& r : model->resources)
    r.source = at(r.logical_id, sam::SourceRef{shown.string(), 0, 0});
  for (auto& f : model->functions)
    f.source = at(f.logical_id, sam::SourceRef{shown.string(), 0, 0});

  // Its own nested stacks: uploaded as they are (a function there is refused).
  for (const auto& r : model->resources) {
    const char* key = sam::nested_template_property(r.type);
    if (key == nullptr)
      continue;
    if (r.type == "AWS::Serverless::Application")
      if (const auto* l = r.properties.if_contains("Location"); l && l->is_object())
        return refuse_repository(id + "/" + r.logical_id, at(r.logical_id + "/Location", r.source));
    const auto local = local_location(r.properties, key);
    if (local.empty())
      continue;
    WISP_TRY_ASSIGN(auto url,
                    this->child(id + "/" + r.logical_id, local, path.parent_path(),
                                shown.parent_path(), at(r.logical_id + "/" + key, r.source)));
    child.urls[r.logical_id] = std::move(url);
  }

  // Its functions, layers and APIs, as the root's resources `Child/X`, and the IAM roles of
  // the child its functions take as their Role (wisp makes those, as the root's).
  std::set<std::string> roles;
  for (const auto& r : model->resources)
    if (wisp_type(r.type))
      if (const auto* role = r.properties.if_contains("Role"))
        detail::for_each_reference(*role, [&](const detail::Reference& ref) {
          if (const auto* target = model->find_resource(ref.id);
              target != nullptr && target->type == "AWS::IAM::Role")
            roles.insert(ref.id);
        });
  std::set<std::string> used_unknown;
  for (const auto& r : model->resources) {
    if (!wisp_type(r.type) && !roles.contains(r.logical_id))
      continue;
    sam::Resource merged = r;
    merged.logical_id = id + "/" + r.logical_id;
    merged.depends_on.clear();
    json::value properties = r.properties;
    auto done = detail::rewrite_references(
        properties,
        [&](const detail::Reference& ref) -> support::Result<std::optional<json::value>> {
          if (const auto* target = model->find_resource(ref.id)) {
            const auto prefixed = id + "/" + ref.id;
            if (wisp_type(target->type) || roles.contains(ref.id)) {
              if (ref.ref)
                return json::value(json::object{
                    {"Ref", ref.attribute.empty() ? prefixed : prefixed + "." + ref.attribute}});
              return json::value(json::object{
                  {"Fn::GetAtt", json::array{json::value(prefixed), json::value(ref.attribute)}}});
            }
            const auto output = ref.attribute.empty() ? "WispRef" + detail::alphanumeric(ref.id)
                                                      : "WispAtt" + detail::alphanumeric(ref.id) +
                                                            detail::alphanumeric(ref.attribute);
            return json::value(json::object{
                {"Fn::GetAtt", json::array{json::value(id), json::value("Outputs." + output)}}});
          }
          if (child.declarations.contains(ref.id) && ref.attribute.empty()) {
            if (!child.unknown_parameters.contains(ref.id)) {
              std::optional<std::string> value;
              if (auto it = known.find(ref.id); it != known.end())
                value = it->second;
              else if (const auto& d = child.declarations.at(ref.id); d.is_object())
                if (const auto* given = d.as_object().if_contains("Default"))
                  value = known_value(*given);
              if (value)
                return json::value(*value);
              return std::optional<json::value>();
            }
            used_unknown.insert(ref.id);
            return json::value(json::object{
                {"Fn::GetAtt",
                 json::array{json::value(id),
                             json::value("Outputs.WispParam" + detail::alphanumeric(ref.id))}}});
          }
          return std::optional<json::value>();
        });
    if (!done)
      return support::failf("{}{}: {}", detail::source_prefix(r.source), merged.logical_id,
                            done.error().message);
    if (detail::replace_text(
            properties, child.stack_name,
            json::object{{"Fn::GetAtt", json::array{json::value(id), "Outputs.WispStackName"}}}))
      child.wants_stack_name = true;
    merged.properties = std::move(properties.as_object());
    out.resources.push_back(std::move(merged));
  }
  child.unknown_parameters = std::move(used_unknown);
  child.model = std::move(model);
  out.generated.push_back(std::move(child));
  return {};
}

} // namespace

// What aws-sam-translator makes of an AWS::Serverless::Application: the nested stack with its
// Parameters, NotificationARNs, TimeoutInMinutes, and its Tags as a list after SAM's own.
void application_to_stack(json::object& resource, const std::string& url) {
  resource["Type"] = "AWS::CloudFormation::Stack";
  json::object properties;
  if (const auto* given = resource.if_contains("Properties"); given && given->is_object()) {
    const auto& p = given->as_object();
    json::array tags{json::object{{"Key", "lambda:createdBy"}, {"Value", "SAM"}}};
    if (const auto* t = p.if_contains("Tags"))
      for (auto& tag : detail::tag_list(*t))
        tags.push_back(std::move(tag));
    if (const auto* location = p.if_contains("Location");
        url.empty() && location && location->is_string())
      properties["TemplateURL"] = *location;
    else
      properties["TemplateURL"] = url;
    for (const char* key : {"Parameters", "NotificationARNs", "TimeoutInMinutes"})
      if (const auto* v = p.if_contains(key))
        properties[key] = *v;
    properties["Tags"] = std::move(tags);
  }
  resource["Properties"] = std::move(properties);
}

namespace {

support::Result<NestedTemplates> pack(const sam::Model& model, Packer& packer,
                                      const std::string& stack_path = {}) {
  std::map<std::string, sam::SourceRef, std::less<>> positions;
  bool read = false;
  std::string shown;
  for (const auto& resource : model.resources) {
    const char* key = sam::nested_template_property(resource.type);
    if (key == nullptr)
      continue;
    shown = resource.source.file;
    if (!read && !model.template_path.empty()) {
      // Where the root's Location and TemplateURL values are written.
      (void)sam::read_document_file(model.template_path, shown, positions);
      read = true;
    }
    auto it = positions.find(resource.logical_id + "/" + key);
    const auto where = it == positions.end() ? resource.source : it->second;
    const auto path_id =
        stack_path.empty() ? resource.logical_id : stack_path + "/" + resource.logical_id;
    if (resource.type == "AWS::Serverless::Application")
      if (const auto* location = resource.properties.if_contains("Location");
          location && location->is_object())
        return Packer::refuse_repository(path_id, where);
    const auto local = local_location(resource.properties, key);
    if (local.empty())
      continue;
    if (packer.deploy) {
      const auto paths = Packer::child_path(local, model.base_dir, fs::path(shown).parent_path());
      const fs::path path = paths.first;
      const fs::path shown_path = paths.second;
      std::error_code ec;
      if (fs::is_regular_file(path, ec)) {
        std::map<std::string, sam::SourceRef, std::less<>> ignored;
        auto document = sam::read_document_file(path, shown_path.string(), ignored);
        if (document && needs_generation(*document)) {
          WISP_TRY(packer.generate(resource, local, model.base_dir, fs::path(shown).parent_path(),
                                   where));
          continue;
        }
      }
    }
    WISP_TRY_ASSIGN(auto url, packer.child(path_id, local, model.base_dir,
                                           fs::path(shown).parent_path(), where));
    packer.out.urls[resource.logical_id] = std::move(url);
  }
  return std::move(packer.out);
}

} // namespace

bool needs_generation(const json::value& document) {
  if (!document.is_object())
    return false;
  const auto* resources = document.as_object().if_contains("Resources");
  if (resources == nullptr || !resources->is_object())
    return false;
  for (const auto& item : resources->as_object()) {
    if (!item.value().is_object())
      continue;
    const auto* type = item.value().as_object().if_contains("Type");
    if (type == nullptr || !type->is_string())
      continue;
    const std::string_view t = type->as_string();
    if (wisp_type(t) || (t.starts_with("AWS::Serverless::") && t != "AWS::Serverless::Application"))
      return true;
  }
  return false;
}

support::Result<NestedTemplates>
nested_templates(const sam::Model& model, const std::string& bucket, const std::string& prefix,
                 const std::string& region, const PackageChild& package_child,
                 const std::string& stack_path, const std::vector<fs::path>& chain) {
  Packer packer(bucket, prefix, region);
  packer.package_child = package_child;
  packer.chain = chain;
  return pack(model, packer, stack_path);
}

support::Result<NestedTemplates>
nested_templates_for_deploy(const sam::Model& model, const std::string& bucket,
                            const std::string& prefix, const std::string& region,
                            const std::string& stack, const std::string& account) {
  Packer packer(bucket, prefix, region);
  packer.deploy = true;
  packer.stack = stack;
  packer.account = account;
  packer.out.bucket = bucket;
  packer.out.prefix = prefix;
  packer.out.region = region;
  return pack(model, packer);
}

sam::Model with_nested(const sam::Model& model, const NestedTemplates& nested) {
  sam::Model merged = model;
  for (const auto& resource : nested.resources) {
    // The loader resolved the child's values; what names the child's resources (a policy
    // template's TableName) is read from the child's outputs, as the rewritten properties say.
    for (auto& function : merged.functions)
      if (function.logical_id == resource.logical_id)
        if (const auto* policies = resource.properties.if_contains("Policies"))
          function.policies = *policies;
    merged.resources.push_back(resource);
  }
  return merged;
}

} // namespace wisp::infra
