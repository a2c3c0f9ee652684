#include <wisp/artifact/registry.hpp>

#include <wisp/support/fs.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/http.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <unistd.h>

namespace wisp::artifact {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace http = support::http;

namespace {

constexpr std::string_view k_docker_manifest =
    "application/vnd.docker.distribution.manifest.v2+json";
constexpr std::string_view k_docker_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
constexpr std::string_view k_docker_layer = "application/vnd.docker.image.rootfs.diff.tar.gzip";

std::map<std::string, std::string> parse_challenge(std::string_view header, std::string& scheme) {
  std::map<std::string, std::string> params;
  const auto space = header.find(' ');
  scheme = support::to_lower(header.substr(0, space));
  if (space == std::string_view::npos)
    return params;
  std::string_view rest = header.substr(space + 1);
  while (!rest.empty()) {
    rest = support::trim(rest);
    const auto eq = rest.find('=');
    if (eq == std::string_view::npos)
      break;
    std::string key = support::to_lower(support::trim(rest.substr(0, eq)));
    rest.remove_prefix(eq + 1);
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      rest.remove_prefix(1);
      while (!rest.empty() && rest.front() != '"') {
        if (rest.front() == '\\' && rest.size() > 1)
          rest.remove_prefix(1);
        value += rest.front();
        rest.remove_prefix(1);
      }
      if (!rest.empty())
        rest.remove_prefix(1);
    } else {
      const auto comma = rest.find(',');
      value = std::string(support::trim(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma);
    }
    params[key] = value;
    rest = support::trim(rest);
    if (!rest.empty() && rest.front() == ',')
      rest.remove_prefix(1);
  }
  return params;
}

std::pair<std::string, std::string> docker_config_credentials(const std::string& registry) {
  const char* home = std::getenv("HOME");
  if (home == nullptr)
    return {};
  auto text = support::read_file(fs::path(home) / ".docker" / "config.json", 1u << 20u);
  if (!text)
    return {};
  boost::system::error_code ec;
  auto value = json::parse(*text, ec);
  if (ec || !value.is_object())
    return {};
  const auto* auths = value.as_object().if_contains("auths");
  if (auths == nullptr || !auths->is_object())
    return {};
  for (const auto& [key, entry] : auths->as_object()) {
    std::string host(key);
    for (const char* prefix : {"https://", "http://"})
      if (host.starts_with(prefix))
        host.erase(0, std::strlen(prefix));
    host = host.substr(0, host.find('/'));
    if (host != registry || !entry.is_object())
      continue;
    const auto* auth = entry.as_object().if_contains("auth");
    if (auth == nullptr || !auth->is_string())
      continue;
    auto decoded = support::base64_decode(std::string(auth->as_string()));
    if (!decoded)
      continue;
    const auto colon = decoded->find(':');
    if (colon == std::string::npos)
      continue;
    return {decoded->substr(0, colon), decoded->substr(colon + 1)};
  }
  return {};
}

class Session {
public:
  Session(ImageReference ref, const RegistryOptions& options)
      : m_ref(std::move(ref)), m_options(options) {
    m_username = options.username;
    m_password = options.password;
    if (m_username.empty()) {
      if (const char* u = std::getenv("WISP_REGISTRY_USERNAME"); u != nullptr) {
        m_username = u;
        const char* p = std::getenv("WISP_REGISTRY_PASSWORD");
        m_password = p != nullptr ? p : "";
      } else {
        std::tie(m_username, m_password) = docker_config_credentials(m_ref.registry);
      }
    }
  }

  [[nodiscard]] std::string base() const {
    return fmt::format("{}://{}/v2/{}", m_options.insecure ? "http" : "https", m_ref.registry,
                       m_ref.repository);
  }

  // Resolves a Location header against the registry.
  [[nodiscard]] std::string absolute(const std::string& location) const {
    if (location.starts_with("http://") || location.starts_with("https://"))
      return location;
    return fmt::format("{}://{}{}", m_options.insecure ? "http" : "https", m_ref.registry,
                       location);
  }

  support::Result<http::Response> send(http::Request request) {
    request.verify_tls = !m_options.insecure;
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto with_auth = request;
      if (!m_authorization.empty())
        with_auth.headers.emplace_back("Authorization", m_authorization);
      auto response = m_http.send(with_auth);
      if (!response)
        return support::failf("registry {}: {}", m_ref.registry, response.error().message);
      if (response->status != 401 || attempt == 1)
        return std::move(*response);
      const auto challenge = response->header("www-authenticate");
      if (!challenge)
        return std::move(*response);
      WISP_TRY(authenticate(*challenge));
    }
    return support::fail("unreachable");
  }

private:
  support::Status authenticate(const std::string& challenge) {
    std::string scheme;
    const auto params = parse_challenge(challenge, scheme);
    const auto basic = [&] {
      return "Basic " + support::base64_encode(m_username + ":" + m_password);
    };
    if (scheme == "basic") {
      if (m_username.empty())
        return support::failf("registry {} asks for a username and password (set "
                              "WISP_REGISTRY_USERNAME and WISP_REGISTRY_PASSWORD, or log in "
                              "with docker/skopeo login)",
                              m_ref.registry);
      m_authorization = basic();
      return {};
    }
    if (scheme != "bearer")
      return support::failf("registry {} asks for unsupported authentication '{}'", m_ref.registry,
                            scheme);
    const auto realm = params.find("realm");
    if (realm == params.end())
      return support::failf("registry {}: Bearer challenge without a realm", m_ref.registry);
    std::string url = realm->second;
    std::string query;
    for (const char* key : {"service", "scope"}) {
      if (const auto it = params.find(key); it != params.end())
        query +=
            fmt::format("{}{}={}", query.empty() ? "" : "&", key, http::url_encode(it->second));
    }
    if (!query.empty())
      url += (url.find('?') == std::string::npos ? "?" : "&") + query;
    http::Request token_request;
    token_request.url = url;
    token_request.verify_tls = !m_options.insecure;
    if (!m_username.empty())
      token_request.headers.emplace_back("Authorization", basic());
    auto response = m_http.send(token_request);
    if (!response)
      return support::failf("registry token service {}: {}", realm->second,
                            response.error().message);
    if (response->status != 200)
      return support::failf("registry token service refused access (HTTP {}){}", response->status,
                            m_username.empty() ? " (no credentials were given)" : "");
    boost::system::error_code ec;
    auto value = json::parse(response->body, ec);
    if (ec || !value.is_object())
      return support::fail("registry token service answered something that is not JSON");
    std::string token;
    for (const char* key : {"token", "access_token"})
      if (const auto* t = value.as_object().if_contains(key); t != nullptr && t->is_string()) {
        token = std::string(t->as_string());
        break;
      }
    if (token.empty())
      return support::fail("registry token service answered without a token");
    m_authorization = "Bearer " + token;
    return {};
  }

  http::Client m_http;
  ImageReference m_ref;
  const RegistryOptions& m_options;
  std::string m_username;
  std::string m_password;
  std::string m_authorization;
};

support::Error registry_error(const std::string& what, const http::Response& response) {
  // Distribution errors: {"errors":[{"code":"DIGEST_INVALID","message":"..."}]}.
  std::string detail;
  boost::system::error_code ec;
  auto value = json::parse(response.body, ec);
  if (!ec && value.is_object())
    if (const auto* errors = value.as_object().if_contains("errors");
        errors != nullptr && errors->is_array())
      for (const auto& e : errors->as_array())
        if (e.is_object()) {
          const auto& o = e.as_object();
          const auto code = o.if_contains("code");
          const auto message = o.if_contains("message");
          detail += fmt::format(
              "{}{}{}{}", detail.empty() ? "" : "; ",
              code != nullptr && code->is_string() ? code->as_string().c_str() : "",
              message != nullptr && message->is_string() ? ": " : "",
              message != nullptr && message->is_string() ? message->as_string().c_str() : "");
        }
  return support::Error{fmt::format("{}: HTTP {}{}", what, response.status,
                                    detail.empty() ? "" : " (" + detail + ")"),
                        {},
                        support::ExitCode::failure};
}

std::string with_query(const std::string& url, const std::string& query) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
}

support::Status upload_blob(Session& session, const fs::path& file, const Digest& digest,
                            const RegistryOptions& options, PushResult& result) {
  http::Request start;
  start.method = "POST";
  start.url = session.base() + "/blobs/uploads/";
  WISP_TRY_ASSIGN(auto started, session.send(start));
  if (started.status != 202)
    return tl::unexpected(registry_error("starting an upload of " + digest.oci(), started));
  auto location = started.header("location");
  if (!location)
    return support::fail("registry started an upload without a Location");
  std::string url = session.absolute(*location);

  if (digest.size > options.chunk_size && options.chunk_size > 0) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return support::failf("cannot read {}: {}", file.string(), std::strerror(errno));
    std::string chunk;
    std::uint64_t offset = 0;
    while (offset < digest.size) {
      const auto size = std::min<std::uint64_t>(options.chunk_size, digest.size - offset);
      chunk.resize(static_cast<std::size_t>(size));
      std::size_t got = 0;
      while (got < chunk.size()) {
        const auto n =
            ::pread(fd, chunk.data() + got, chunk.size() - got, static_cast<off_t>(offset + got));
        if (n <= 0) {
          ::close(fd);
          return support::failf("cannot read {}", file.string());
        }
        got += static_cast<std::size_t>(n);
      }
      http::Request patch;
      patch.method = "PATCH";
      patch.url = url;
      patch.body = chunk;
      patch.timeout = std::chrono::milliseconds(0);
      patch.headers = {{"Content-Type", "application/octet-stream"},
                       {"Content-Range", fmt::format("{}-{}", offset, offset + size - 1)}};
      auto patched = session.send(patch);
      if (!patched) {
        ::close(fd);
        return tl::unexpected(patched.error());
      }
      if (patched->status != 202) {
        ::close(fd);
        return tl::unexpected(registry_error("uploading a chunk of " + digest.oci(), *patched));
      }
      if (auto next = patched->header("location"))
        url = session.absolute(*next);
      offset += size;
    }
    ::close(fd);
    http::Request finish;
    finish.method = "PUT";
    finish.url = with_query(url, "digest=" + http::url_encode(digest.oci()));
    finish.headers = {{"Content-Type", "application/octet-stream"}};
    WISP_TRY_ASSIGN(auto done, session.send(finish));
    if (done.status != 201)
      return tl::unexpected(registry_error("finishing the upload of " + digest.oci(), done));
  } else {
    http::Request put;
    put.method = "PUT";
    put.url = with_query(url, "digest=" + http::url_encode(digest.oci()));
    put.body_file = file;
    put.timeout = std::chrono::milliseconds(0); // big layers: the low-speed guard still applies
    put.headers = {{"Content-Type", "application/octet-stream"}};
    WISP_TRY_ASSIGN(auto done, session.send(put));
    if (done.status != 201)
      return tl::unexpected(registry_error("uploading " + digest.oci(), done));
  }
  ++result.blobs_uploaded;
  result.bytes_uploaded += digest.size;
  return {};
}

} // namespace

support::Result<PushResult> push_image(const fs::path& layout, const std::string& tag,
                                       const ImageReference& destination,
                                       const RegistryOptions& options) {
  WISP_TRY_ASSIGN(auto image, read_layout_image(layout, tag));
  Session session(destination, options);
  PushResult result;
  const auto emit = [&](PushEvent::Type type, std::string what, const Digest& digest) {
    if (options.on_event)
      options.on_event(PushEvent{type, std::move(what), digest});
  };
  const auto destination_tag = destination.tag.empty() ? tag : destination.tag;
  {
    // The tag already names this manifest (an unchanged image pushed before): done.
    http::Request head;
    head.method = "HEAD";
    head.url = session.base() + "/manifests/" + destination_tag;
    head.headers = {{"Accept", image.manifest.media_type.empty() ? std::string(k_oci_manifest_type)
                                                                 : image.manifest.media_type}};
    WISP_TRY_ASSIGN(auto present, session.send(head));
    if (present.status == 200 &&
        present.header("docker-content-digest").value_or("") == image.manifest.digest.oci()) {
      result.already_present = true;
      result.manifest_digest = image.manifest.digest.oci();
      emit(PushEvent::Type::exists, "manifest", image.manifest.digest);
      return result;
    }
    if (present.status != 200 && present.status != 404)
      return tl::unexpected(registry_error("checking the tag " + destination_tag, present));
  }
  std::vector<std::pair<std::string, BlobRef>> blobs;
  for (std::size_t i = 0; i < image.layers.size(); ++i)
    blobs.emplace_back(fmt::format("layer {}/{}", i + 1, image.layers.size()), image.layers[i]);
  blobs.emplace_back("config", image.config);
  for (const auto& [what, blob] : blobs) {
    http::Request head;
    head.method = "HEAD";
    head.url = session.base() + "/blobs/" + blob.digest.oci();
    WISP_TRY_ASSIGN(auto present, session.send(head));
    if (present.status == 200) {
      ++result.blobs_skipped;
      emit(PushEvent::Type::exists, what, blob.digest);
      continue;
    }
    if (present.status != 404)
      return tl::unexpected(registry_error("checking " + blob.digest.oci(), present));
    if (options.dry_run) {
      ++result.blobs_uploaded;
      result.bytes_uploaded += blob.digest.size;
      continue;
    }
    emit(PushEvent::Type::uploading, what, blob.digest);
    WISP_TRY(upload_blob(session, blob_path(layout, blob.digest), blob.digest, options, result));
    emit(PushEvent::Type::uploaded, what, blob.digest);
  }
  if (options.dry_run) {
    result.manifest_digest = image.manifest.digest.oci();
    return result;
  }
  http::Request put;
  put.method = "PUT";
  put.url = session.base() + "/manifests/" + destination_tag;
  put.body = image.manifest_json;
  put.headers = {{"Content-Type", image.manifest.media_type.empty()
                                      ? std::string(k_oci_manifest_type)
                                      : image.manifest.media_type}};
  WISP_TRY_ASSIGN(auto stored, session.send(put));
  if (stored.status != 201 && stored.status != 200)
    return tl::unexpected(registry_error("storing the manifest", stored));
  result.manifest_digest =
      stored.header("docker-content-digest").value_or(image.manifest.digest.oci());
  emit(PushEvent::Type::manifest, "manifest", image.manifest.digest);
  return result;
}

support::Result<std::optional<std::string>> manifest_digest(const ImageReference& image,
                                                            const RegistryOptions& options) {
  Session session(image, options);
  const std::string accept = fmt::format("{}, {}, {}, {}", k_oci_manifest_type, k_oci_index_type,
                                         k_docker_manifest, k_docker_list);
  const auto reference = image.digest.empty() ? image.tag : image.digest;
  http::Request head;
  head.method = "HEAD";
  head.url = session.base() + "/manifests/" + reference;
  head.headers = {{"Accept", accept}};
  WISP_TRY_ASSIGN(auto response, session.send(head));
  if (response.status == 404)
    return std::optional<std::string>();
  if (response.status != 200)
    return tl::unexpected(registry_error("reading the manifest of " + image.str(), response));
  if (auto digest = response.header("docker-content-digest");
      digest && digest->starts_with("sha256:") && digest->size() == 71)
    return std::optional<std::string>(*digest);
  // No digest header: the manifest's own bytes tell it.
  http::Request get;
  get.url = head.url;
  get.headers = head.headers;
  WISP_TRY_ASSIGN(auto body, session.send(get));
  if (body.status == 404)
    return std::optional<std::string>();
  if (body.status != 200)
    return tl::unexpected(registry_error("reading the manifest of " + image.str(), body));
  if (body.body.empty())
    return support::failf("{}: the registry answered an empty manifest", image.str());
  return std::optional<std::string>(digest_bytes(body.body).oci());
}

namespace {

support::Status pull_image_impl(const ImageReference& source, const std::string& architecture,
                                const fs::path& layout, const std::string& tag,
                                const RegistryOptions& options) {
  Session session(source, options);
  const std::string accept = fmt::format("{}, {}, {}, {}", k_oci_manifest_type, k_oci_index_type,
                                         k_docker_manifest, k_docker_list);
  const auto fetch_manifest = [&](const std::string& reference) -> support::Result<http::Response> {
    http::Request get;
    get.url = session.base() + "/manifests/" + reference;
    get.headers = {{"Accept", accept}};
    WISP_TRY_ASSIGN(auto response, session.send(get));
    if (response.status != 200)
      return tl::unexpected(registry_error("fetching the manifest of " + source.str(), response));
    return response;
  };
  WISP_TRY_ASSIGN(auto response,
                  fetch_manifest(source.digest.empty() ? source.tag : source.digest));
  boost::system::error_code ec;
  auto manifest = json::parse(response.body, ec);
  if (ec || !manifest.is_object())
    return support::failf("{}: the manifest is not JSON", source.str());
  auto media_type = response.header("content-type").value_or("");
  if (const auto* mt = manifest.as_object().if_contains("mediaType");
      mt != nullptr && mt->is_string())
    media_type = std::string(mt->as_string());
  if (media_type == k_oci_index_type || media_type == k_docker_list) {
    std::string chosen;
    std::vector<std::string> platforms;
    for (const auto& m : manifest.as_object().at("manifests").as_array()) {
      const auto* platform = m.as_object().if_contains("platform");
      if (platform == nullptr || !platform->is_object())
        continue;
      const auto os = std::string(platform->as_object().at("os").as_string());
      const auto arch = std::string(platform->as_object().at("architecture").as_string());
      platforms.push_back(os + "/" + arch);
      if (os == "linux" && arch == architecture && chosen.empty())
        chosen = std::string(m.as_object().at("digest").as_string());
    }
    if (chosen.empty())
      return support::failf("{} has no linux/{} image (it has: {})", source.str(), architecture,
                            support::join(platforms, ", "));
    WISP_TRY_ASSIGN(response, fetch_manifest(chosen));
    manifest = json::parse(response.body, ec);
    if (ec || !manifest.is_object())
      return support::failf("{}: the manifest is not JSON", source.str());
  }
  // Store as an OCI manifest: Docker media types are renamed (the blobs are the same bytes).
  auto& mo = manifest.as_object();
  mo["mediaType"] = k_oci_manifest_type;
  std::vector<std::pair<std::string, Digest>> wanted;
  const auto take = [&](json::object& descriptor, bool is_config) -> support::Status {
    const auto digest_text = std::string(descriptor.at("digest").as_string());
    if (!digest_text.starts_with("sha256:") || digest_text.size() != 71)
      return support::failf("{}: unsupported digest {}", source.str(), digest_text);
    Digest d;
    d.hex = digest_text.substr(7);
    d.size = descriptor.at("size").to_number<std::uint64_t>();
    if (is_config)
      descriptor["mediaType"] = k_oci_config_type;
    else if (descriptor.at("mediaType").as_string() == k_docker_layer)
      descriptor["mediaType"] = k_oci_layer_gzip_type;
    wanted.emplace_back(digest_text, d);
    return {};
  };
  WISP_TRY(take(mo.at("config").as_object(), true));
  for (auto& layer : mo.at("layers").as_array())
    WISP_TRY(take(layer.as_object(), false));
  fs::create_directories(layout / "blobs" / "sha256", ec);
  for (const auto& [digest_text, digest] : wanted) {
    const auto path = blob_path(layout, digest);
    if (fs::exists(path))
      continue;
    http::Request get;
    get.url = session.base() + "/blobs/" + digest_text;
    get.response_file = path;
    get.timeout = std::chrono::milliseconds(0);
    WISP_TRY_ASSIGN(auto blob, session.send(get));
    if (blob.status == 307 || blob.status == 302) {
      auto location = blob.header("location");
      if (!location)
        return support::failf("{}: redirect without a Location", source.str());
      http::Request redirected;
      redirected.url = session.absolute(*location);
      redirected.response_file = path;
      redirected.timeout = std::chrono::milliseconds(0);
      redirected.verify_tls = !options.insecure;
      http::Client direct;
      auto fetched = direct.send(redirected);
      if (!fetched)
        return support::failf("{}: {}", source.str(), fetched.error().message);
      blob = std::move(*fetched);
    }
    if (blob.status != 200)
      return tl::unexpected(registry_error("fetching blob " + digest_text, blob));
    WISP_TRY_ASSIGN(auto got, digest_file(path));
    if (got.hex != digest.hex) {
      fs::remove(path, ec);
      return support::failf("{}: blob {} does not match its digest", source.str(), digest_text);
    }
  }
  const auto manifest_text = json::serialize(mo);
  const auto manifest_digest = digest_bytes(manifest_text);
  WISP_TRY(support::write_file_atomic(blob_path(layout, manifest_digest), manifest_text));
  json::object entry;
  entry["mediaType"] = k_oci_manifest_type;
  entry["digest"] = manifest_digest.oci();
  entry["size"] = manifest_digest.size;
  entry["annotations"] = json::object{{"org.opencontainers.image.ref.name", tag}};
  json::object index;
  index["schemaVersion"] = 2;
  index["mediaType"] = k_oci_index_type;
  index["manifests"] = json::array{entry};
  WISP_TRY(support::write_file_atomic(layout / "index.json", json::serialize(index) + "\n"));
  return support::write_file_atomic(layout / "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}\n");
}

} // namespace

support::Status pull_image(const ImageReference& source, const std::string& architecture,
                           const fs::path& layout, const std::string& tag,
                           const RegistryOptions& options) {
  // A registry answering JSON of the wrong shape is an error, not a crash.
  try {
    return pull_image_impl(source, architecture, layout, tag, options);
  } catch (const std::exception& e) {
    return support::failf("{}: malformed answer from the registry ({})", source.str(), e.what());
  }
}

} // namespace wisp::artifact
