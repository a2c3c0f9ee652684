// Packaged nested children fetched for `wisp deploy` (nested_fetch.hpp). aws-sam-cli writes a
// child's URL as `<S3 endpoint>/<bucket>/<key>[?versionId=<v>]` (samcli/lib/package/
// s3_uploader.py, to_path_style_s3_url); CloudFormation also takes virtual-hosted URLs
// (https://<bucket>.s3.<region>.amazonaws.com/<key>). Such an object is read with GetObject
// through the deploy's own client (its endpoint, credentials and region), so a local backend's
// bucket is read from that backend.

#include <wisp/deploy/nested_fetch.hpp>

#include <wisp/aws/s3.hpp>
#include <wisp/infra/infra.hpp>
#include <wisp/support/http.hpp>
#include <wisp/template/document.hpp>
#include <wisp/template/load.hpp>

#include <fmt/format.h>

#include <map>

namespace wisp::deploy {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// "s3.amazonaws.com", "s3.<region>.amazonaws.com", "s3-<region>.amazonaws.com",
// "s3.dualstack.<region>.amazonaws.com" (and .amazonaws.com.cn): S3's path-style hosts.
bool s3_host(std::string_view host) {
  for (const std::string_view suffix : {".amazonaws.com", ".amazonaws.com.cn"})
    if (host.ends_with(suffix)) {
      const auto name = host.substr(0, host.size() - suffix.size());
      return name == "s3" || name.starts_with("s3.") || name.starts_with("s3-");
    }
  return false;
}

} // namespace

std::optional<S3ObjectRef> s3_object_of_url(std::string_view url, std::string_view s3_endpoint) {
  S3ObjectRef out;
  if (url.starts_with("s3://")) {
    const auto rest = url.substr(5);
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size())
      return std::nullopt;
    out.bucket = std::string(rest.substr(0, slash));
    out.key = std::string(rest.substr(slash + 1));
    return out;
  }
  const auto parsed = support::http::parse_url(url);
  if (!parsed)
    return std::nullopt;
  const auto endpoint = support::http::parse_url(s3_endpoint);
  const bool own_endpoint = endpoint && endpoint->scheme == parsed->scheme &&
                            endpoint->authority() == parsed->authority();
  std::string_view path = parsed->path;
  if (path.starts_with('/'))
    path.remove_prefix(1);
  const auto& host = parsed->host;
  if (own_endpoint || s3_host(host)) {
    const auto slash = path.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == path.size())
      return std::nullopt;
    out.bucket = support::http::url_decode(path.substr(0, slash));
    out.key = support::http::url_decode(path.substr(slash + 1));
  } else {
    // <bucket>.s3[.<region>|-<region>].amazonaws.com/<key>
    const auto at = host.find(".s3");
    if (at == std::string::npos || at == 0 || !s3_host(std::string_view(host).substr(at + 1)) ||
        path.empty())
      return std::nullopt;
    out.bucket = host.substr(0, at);
    out.key = support::http::url_decode(path);
  }
  std::string_view query = parsed->query;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto item = query.substr(0, amp);
    if (item.starts_with("versionId="))
      out.version = support::http::url_decode(item.substr(10));
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  return out;
}

FetchedTemplates fetch_nested_templates(const aws::Client& client, const fs::path& template_path) {
  FetchedTemplates out;
  std::map<std::string, sam::SourceRef, std::less<>> positions;
  auto document = sam::read_document_file(template_path, template_path.string(), positions);
  if (!document || !document->is_object())
    return out; // the loader reports it
  const auto* resources = document->as_object().if_contains("Resources");
  if (resources == nullptr || !resources->is_object())
    return out;
  auto text = support::read_file(template_path);
  if (!text)
    return out;
  std::string rewritten = *text;
  bool changed = false;
  const std::string endpoint = client.endpoint(aws::Service::s3);
  fs::path dir;
  fs::path shown_dir; // as the root's Location names it
  for (const auto& item : resources->as_object()) {
    if (!item.value().is_object())
      continue;
    const auto& resource = item.value().as_object();
    const auto* type = resource.if_contains("Type");
    const auto* properties = resource.if_contains("Properties");
    if (type == nullptr || !type->is_string() || properties == nullptr || !properties->is_object())
      continue;
    const char* key = sam::nested_template_property(type->as_string());
    if (key == nullptr)
      continue;
    const auto* value = properties->as_object().if_contains(key);
    if (value == nullptr || !value->is_string() || !sam::is_remote_template(value->as_string()))
      continue;
    const std::string id(item.key());
    const std::string url(value->as_string());
    const auto object = s3_object_of_url(url, endpoint);
    if (!object) {
      out.warnings.push_back(
          fmt::format("nested stack {}: {} is not an S3 object of this backend: passed to "
                      "CloudFormation as written (functions, layers or APIs in it are "
                      "CloudFormation's to create, not wisp's)",
                      id, url));
      continue;
    }
    // Beside the app's builds (.wisp/nested/<Id>.template, named so in the loader's messages
    // and in the generated child's Description, which must not change from one deploy to the
    // next); in a temp dir when the app's directory cannot be written.
    if (dir.empty()) {
      std::error_code ec;
      dir = template_path.parent_path() / ".wisp" / "nested";
      shown_dir = fs::path(".wisp") / "nested";
      if (!fs::create_directories(dir, ec) && ec) {
        out.dir.emplace("wisp-nested");
        dir = out.dir->path();
        shown_dir = dir;
      }
    }
    const fs::path file = dir / (id + ".template");
    auto got =
        aws::s3::get_object_to_file(client, object->bucket, object->key, file, object->version);
    if (!got || !*got) {
      out.warnings.push_back(fmt::format(
          "nested stack {}: its template {} could not be read ({}): passed to CloudFormation "
          "as written (functions, layers or APIs in it are CloudFormation's to create, not "
          "wisp's)",
          id, url, got ? "no such object" : got.error().describe()));
      continue;
    }
    auto child = sam::read_document_file(file);
    if (!child || !infra::needs_generation(*child))
      continue; // CloudFormation deploys it as it is
    // The URL as written, at its position (the line the loader reports).
    const auto where = positions.find(id + "/" + key);
    std::size_t from = 0; // the start of the line before it (whatever the line base)
    if (where != positions.end())
      for (int line = 2; line < where->second.line; ++line) {
        const auto newline = rewritten.find('\n', from);
        if (newline == std::string::npos)
          break;
        from = newline + 1;
      }
    const auto at = rewritten.find(url, from);
    if (at == std::string::npos)
      continue;
    rewritten.replace(at, url.size(), (shown_dir / (id + ".template")).generic_string());
    changed = true;
    out.fetched.push_back(fmt::format("{}: {}", id, url));
  }
  if (changed)
    out.text = std::move(rewritten);
  return out;
}

} // namespace wisp::deploy
