#include <wisp/aws/s3.hpp>

#include <wisp/support/http.hpp>
#include <wisp/support/strings.hpp>

#include <algorithm>

namespace wisp::aws::s3 {

namespace http = support::http;

namespace {

std::string object_path(std::string_view key) {
  return "/" + http::url_encode(key, /*keep_slash=*/true);
}

ServiceRequest base_request(std::string_view operation, std::string_view method,
                            std::string_view bucket, std::string_view key) {
  ServiceRequest request;
  request.service = Service::s3;
  request.operation = std::string(operation);
  request.method = std::string(method);
  request.bucket = std::string(bucket);
  request.path = key.empty() ? std::string("/") : object_path(key);
  return request;
}

void add_put_headers(ServiceRequest& request, const PutOptions& options) {
  request.headers.emplace_back("Content-Type", options.content_type.empty()
                                                   ? std::string("application/octet-stream")
                                                   : options.content_type);
  for (const auto& [name, value] : options.metadata)
    request.headers.emplace_back("x-amz-meta-" + support::to_lower(name), value);
  if (options.if_none_match)
    request.headers.emplace_back("If-None-Match", "*");
  if (!options.if_match.empty())
    request.headers.emplace_back("If-Match", options.if_match);
  request.body_sha256 = options.sha256_hex;
}

ObjectInfo info_from_headers(std::string_view key, const http::Response& response) {
  ObjectInfo info;
  info.key = std::string(key);
  info.etag = response.header("etag").value_or("");
  info.last_modified = response.header("last-modified").value_or("");
  info.content_type = response.header("content-type").value_or("");
  if (auto length = response.header("content-length")) {
    try {
      info.size = std::stoull(*length);
    } catch (const std::exception&) {
      info.size = 0;
    }
  }
  for (const auto& [name, value] : response.headers)
    if (name.starts_with("x-amz-meta-"))
      info.metadata[name.substr(11)] = value;
  return info;
}

ServiceError invalid_response(std::string_view operation, std::string message) {
  ServiceError error;
  error.service = "s3";
  error.operation = std::string(operation);
  error.code = "InvalidResponse";
  error.message = std::move(message);
  return error;
}

} // namespace

bool valid_bucket_name(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63)
    return false;
  const auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  };
  if (!std::all_of(bucket.begin(), bucket.end(), ok_char))
    return false;
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(bucket.front()) || !alnum(bucket.back()))
    return false;
  if (bucket.find("..") != std::string_view::npos)
    return false;
  // Not an IPv4 address.
  const auto parts = support::split(bucket, '.');
  if (parts.size() == 4 && std::all_of(parts.begin(), parts.end(), [](const std::string& p) {
        return !p.empty() && p.size() <= 3 &&
               std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
      }))
    return false;
  return true;
}

AwsResult<std::string> put_object(const Client& client, std::string_view bucket,
                                  std::string_view key, std::string_view body,
                                  const PutOptions& options) {
  auto request = base_request("PutObject", "PUT", bucket, key);
  request.body = std::string(body);
  add_put_headers(request, options);
  auto response = client.send(request);
  if (!response)
    return tl::unexpected(std::move(response).error());
  return response->header("etag").value_or("");
}

AwsResult<std::string> put_object_file(const Client& client, std::string_view bucket,
                                       std::string_view key, const std::filesystem::path& file,
                                       const PutOptions& options) {
  auto request = base_request("PutObject", "PUT", bucket, key);
  request.body_file = file;
  add_put_headers(request, options);
  auto response = client.send(request);
  if (!response)
    return tl::unexpected(std::move(response).error());
  return response->header("etag").value_or("");
}

AwsResult<std::optional<ObjectInfo>> head_object(const Client& client, std::string_view bucket,
                                                 std::string_view key,
                                                 std::string_view version_id) {
  auto request = base_request("HeadObject", "HEAD", bucket, key);
  if (!version_id.empty())
    request.query.emplace_back("versionId", std::string(version_id));
  auto response = client.send(request);
  if (!response) {
    if (response.error().status == 404)
      return std::optional<ObjectInfo>();
    return tl::unexpected(std::move(response).error());
  }
  return std::optional<ObjectInfo>(info_from_headers(key, *response));
}

AwsResult<std::optional<Object>> get_object(const Client& client, std::string_view bucket,
                                            std::string_view key) {
  auto response = client.send(base_request("GetObject", "GET", bucket, key));
  if (!response) {
    if (response.error().is("NoSuchKey"))
      return std::optional<Object>();
    return tl::unexpected(std::move(response).error());
  }
  Object object{std::move(response->body), info_from_headers(key, *response)};
  object.info.size = object.body.size();
  return std::optional<Object>(std::move(object));
}

AwsResult<bool> get_object_to_file(const Client& client, std::string_view bucket,
                                   std::string_view key, const std::filesystem::path& file,
                                   std::string_view version_id) {
  auto request = base_request("GetObject", "GET", bucket, key);
  if (!version_id.empty())
    request.query.emplace_back("versionId", std::string(version_id));
  request.response_file = file;
  auto response = client.send(request);
  if (!response) {
    if (response.error().is("NoSuchKey"))
      return false;
    return tl::unexpected(std::move(response).error());
  }
  return true;
}

AwsResult<std::vector<ObjectInfo>> list_objects(const Client& client, std::string_view bucket,
                                                std::string_view prefix) {
  std::vector<ObjectInfo> objects;
  std::string token;
  for (int page = 0; page < 100000; ++page) {
    auto request = base_request("ListObjectsV2", "GET", bucket, {});
    request.query.emplace_back("list-type", "2");
    if (!prefix.empty())
      request.query.emplace_back("prefix", std::string(prefix));
    if (!token.empty())
      request.query.emplace_back("continuation-token", token);
    auto response = client.send(request);
    if (!response)
      return tl::unexpected(std::move(response).error());
    auto xml = parse_xml(response->body);
    if (!xml || xml->name != "ListBucketResult")
      return tl::unexpected(
          invalid_response("ListObjectsV2", "the response is not a ListBucketResult"));
    for (const auto* contents : xml->all("Contents")) {
      ObjectInfo info;
      info.key = contents->text_at("Key");
      info.etag = contents->text_at("ETag");
      info.last_modified = contents->text_at("LastModified");
      try {
        info.size = std::stoull(contents->text_at("Size"));
      } catch (const std::exception&) {
        info.size = 0;
      }
      objects.push_back(std::move(info));
    }
    if (xml->text_at("IsTruncated") != "true")
      break;
    token = xml->text_at("NextContinuationToken");
    if (token.empty())
      return tl::unexpected(invalid_response(
          "ListObjectsV2", "the listing is truncated but has no NextContinuationToken"));
  }
  std::sort(objects.begin(), objects.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return objects;
}

AwsStatus delete_object(const Client& client, std::string_view bucket, std::string_view key,
                        std::string_view if_match) {
  auto request = base_request("DeleteObject", "DELETE", bucket, key);
  if (!if_match.empty())
    request.headers.emplace_back("If-Match", std::string(if_match));
  auto response = client.send(request);
  if (!response) {
    if (response.error().is("NoSuchKey"))
      return {};
    return tl::unexpected(std::move(response).error());
  }
  return {};
}

AwsResult<bool> bucket_exists(const Client& client, std::string_view bucket) {
  auto response = client.send(base_request("HeadBucket", "HEAD", bucket, {}));
  if (!response) {
    if (response.error().status == 404)
      return false;
    auto error = std::move(response).error();
    if (error.status == 403)
      error.message = "the bucket exists but this account cannot access it (HTTP 403)";
    return tl::unexpected(std::move(error));
  }
  return true;
}

AwsStatus create_bucket(const Client& client, std::string_view bucket) {
  auto request = base_request("CreateBucket", "PUT", bucket, {});
  if (client.region() != "us-east-1") {
    request.body = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                   "<LocationConstraint>" +
                   xml_escape(client.region()) +
                   "</LocationConstraint></CreateBucketConfiguration>";
    request.headers.emplace_back("Content-Type", "application/xml");
  }
  auto response = client.send(request);
  if (!response) {
    if (response.error().is("BucketAlreadyOwnedByYou"))
      return {};
    if (response.error().is("BucketAlreadyExists")) {
      // us-east-1 answers so even to the owner on some backends: ours if we can reach it.
      auto exists = bucket_exists(client, bucket);
      if (exists && *exists)
        return {};
    }
    return tl::unexpected(std::move(response).error());
  }
  return {};
}

AwsStatus delete_bucket(const Client& client, std::string_view bucket) {
  auto response = client.send(base_request("DeleteBucket", "DELETE", bucket, {}));
  if (!response) {
    if (response.error().is("NoSuchBucket"))
      return {};
    return tl::unexpected(std::move(response).error());
  }
  return {};
}

} // namespace wisp::aws::s3
