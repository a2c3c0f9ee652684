// Nested stacks with a local template, as `sam package`/`sam deploy` upload them: each child
// template (its own nested stacks first) is uploaded to the deploy's bucket under a
// content-addressed key, and the parent's TemplateURL (AWS::CloudFormation::Stack) or Location
// (AWS::Serverless::Application) names that upload. An unchanged child gives the same URL, so
// an unchanged parent template. What wisp deploys itself (functions, APIs, layers) and the
// other SAM resources are refused in a child: the child is deployed by CloudFormation alone.

#include <wisp/infra/detail.hpp>
#include <wisp/infra/infra.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/http.hpp>
#include <wisp/template/document.hpp>
#include <wisp/template/load.hpp>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <functional>

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

class Packer {
public:
  Packer(std::string bucket, std::string prefix, std::string region)
      : m_bucket(std::move(bucket)), m_prefix(std::move(prefix)), m_region(std::move(region)) {}

  NestedTemplates out;

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
    if (std::find(m_chain.begin(), m_chain.end(), canonical) != m_chain.end())
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
    m_chain.push_back(canonical);
    auto body = std::move(read->as_object());
    auto done =
        rewrite(path_id, body, positions, path.parent_path(), shown.parent_path(), shown.string());
    m_chain.pop_back();
    if (!done)
      return tl::unexpected(done.error());
    NestedTemplate t;
    t.logical_id = path_id;
    t.file = shown.string();
    t.body = json::serialize(body);
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
      if (wisp_type(type))
        return support::failf(
            "{}{}/{} ({}) is in a nested template: wisp deploys functions, APIs and layers of "
            "the root template only, not of nested stacks (move it to the root template)",
            detail::source_prefix(where(id)), path_id, id, type);
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
      if (type.starts_with("AWS::Serverless::"))
        return support::failf("{}{}/{}: {} in a nested template is not deployed by wisp yet",
                              detail::source_prefix(where(id)), path_id, id, type);
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
  std::vector<fs::path> m_chain;
};

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

support::Result<NestedTemplates> nested_templates(const sam::Model& model,
                                                  const std::string& bucket,
                                                  const std::string& prefix,
                                                  const std::string& region) {
  Packer packer(bucket, prefix, region);
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
    if (resource.type == "AWS::Serverless::Application")
      if (const auto* location = resource.properties.if_contains("Location");
          location && location->is_object())
        return Packer::refuse_repository(resource.logical_id, where);
    const auto local = local_location(resource.properties, key);
    if (local.empty())
      continue;
    WISP_TRY_ASSIGN(auto url, packer.child(resource.logical_id, local, model.base_dir,
                                           fs::path(shown).parent_path(), where));
    packer.out.urls[resource.logical_id] = std::move(url);
  }
  return std::move(packer.out);
}

} // namespace wisp::infra
