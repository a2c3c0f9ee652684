// Functions whose CodeUri is already in S3 (s3://bucket/key, {Bucket, Key, Version}, or
// Code.S3Bucket/S3Key/S3ObjectVersion): Lambda is pointed at the object as it is, never
// uploaded again. Lambda reports the code's SHA-256 (CodeSha256), which is what wisp compares
// to decide "changed"; so the object is downloaded once per ETag (and version) and its digest
// kept beside the builds (.wisp/build/<Function>.s3.json), and a HEAD per deploy tells whether
// it changed.

#include <wisp/deploy/engine.hpp>

#include <wisp/artifact/digest.hpp>
#include <wisp/aws/s3.hpp>
#include <wisp/support/fs.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <mutex>

namespace wisp::deploy {

namespace json = boost::json;

support::Result<std::map<std::string, CodeSpec>>
resolve_s3_code(const Backend& backend, const sam::Model& model, unsigned parallel) {
  std::vector<const sam::Function*> functions;
  for (const auto& f : model.functions)
    if (!f.code_s3_uri.empty() && !f.inline_code && f.package_type == sam::PackageType::zip)
      functions.push_back(&f);
  std::map<std::string, CodeSpec> out;
  std::mutex mutex;
  auto done = parallel_for(functions.size(), parallel, [&](std::size_t i) -> support::Status {
    const auto& f = *functions[i];
    const std::string_view uri = f.code_s3_uri;
    const auto rest = uri.substr(5);
    const auto slash = rest.find('/');
    if (!uri.starts_with("s3://") || slash == std::string_view::npos || slash == 0 ||
        slash + 1 == rest.size())
      return support::failf("{}: CodeUri {} is not s3://bucket/key", f.logical_id, uri);
    CodeSpec code;
    code.s3_bucket = std::string(rest.substr(0, slash));
    code.s3_key = std::string(rest.substr(slash + 1));
    // The version: CodeUri.Version (SAM) or Code.S3ObjectVersion (Lambda), as written.
    for (const auto& resource : model.resources) {
      if (resource.logical_id != f.logical_id)
        continue;
      for (const auto& [property, field] :
           {std::pair{"CodeUri", "Version"}, std::pair{"Code", "S3ObjectVersion"}})
        if (const auto* p = resource.properties.if_contains(property);
            p != nullptr && p->is_object())
          if (const auto* v = p->as_object().if_contains(field); v != nullptr && v->is_string())
            code.s3_version = std::string(v->as_string());
    }
    auto head =
        aws::s3::head_object(backend.client(), code.s3_bucket, code.s3_key, code.s3_version);
    if (!head)
      return support::failf("{}: CodeUri {}{}: {}", f.logical_id, uri,
                            code.s3_version.empty() ? "" : " version " + code.s3_version,
                            head.error().describe());
    if (!*head)
      return support::failf("{}: CodeUri {}{} does not exist", f.logical_id, uri,
                            code.s3_version.empty() ? "" : " version " + code.s3_version);
    const auto cache = model.base_dir / ".wisp" / "build" / (f.logical_id + ".s3.json");
    const json::object identity{{"uri", f.code_s3_uri},
                                {"version", code.s3_version},
                                {"etag", (*head)->etag},
                                {"size", (*head)->size}};
    if (auto text = support::read_file(cache)) {
      std::error_code ec;
      auto cached = json::parse(*text, ec);
      if (!ec && cached.is_object() && cached.as_object().contains("identity") &&
          cached.as_object().at("identity") == json::value(identity)) {
        const auto& o = cached.as_object();
        if (o.contains("hex") && o.at("hex").is_string() && o.contains("base64") &&
            o.at("base64").is_string()) {
          code.sha256_hex = std::string(o.at("hex").as_string());
          code.sha256_base64 = std::string(o.at("base64").as_string());
          code.size = (*head)->size;
          std::lock_guard lock(mutex);
          out[f.logical_id] = std::move(code);
          return {};
        }
      }
    }
    // Not seen at this ETag: download it once for its digest.
    const auto zip = model.base_dir / ".wisp" / "build" / (f.logical_id + ".s3.zip");
    std::error_code ec;
    std::filesystem::create_directories(zip.parent_path(), ec);
    auto got = aws::s3::get_object_to_file(backend.client(), code.s3_bucket, code.s3_key, zip,
                                           code.s3_version);
    if (!got)
      return support::failf("{}: reading CodeUri {}: {}", f.logical_id, uri,
                            got.error().describe());
    if (!*got)
      return support::failf("{}: CodeUri {} does not exist", f.logical_id, uri);
    WISP_TRY_ASSIGN(const auto digest, artifact::digest_file(zip));
    std::filesystem::remove(zip, ec);
    code.sha256_hex = digest.hex;
    code.sha256_base64 = digest.base64;
    code.size = digest.size;
    WISP_TRY(support::write_file_atomic(
        cache, json::serialize(json::object{
                   {"identity", identity}, {"hex", digest.hex}, {"base64", digest.base64}})));
    std::lock_guard lock(mutex);
    out[f.logical_id] = std::move(code);
    return {};
  });
  if (!done)
    return tl::unexpected(done.error());
  return out;
}

} // namespace wisp::deploy
