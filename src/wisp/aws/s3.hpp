#pragma once
// S3 basics over the AWS client: buckets and objects, bodies from memory or files.
//
// Keys are raw (not encoded); the client encodes them. Conditional writes (`if_none_match`
// "*", `if_match` an ETag) fail with ServiceError code "PreconditionFailed" (HTTP 412) when
// the condition does not hold — the building block of deploy's lock and state objects.
// Missing objects are not errors where a caller naturally asks "is it there?":
// head_object/get_object return nullopt.

#include <wisp/aws/client.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::aws::s3 {

struct ObjectInfo {
  std::string key;
  std::uint64_t size = 0;
  std::string etag; // with quotes, as S3 sends it
  std::string last_modified;
  std::string content_type;
  std::map<std::string, std::string> metadata; // x-amz-meta-* (names lower-cased, no prefix)
};

struct PutOptions {
  std::string content_type = "application/octet-stream";
  std::map<std::string, std::string> metadata; // sent as x-amz-meta-<name>
  bool if_none_match = false;                  // only create, never overwrite
  std::string if_match;                        // only overwrite this ETag
  std::string sha256_hex;                      // the body's digest when already known
};

// Returns the new object's ETag.
AwsResult<std::string> put_object(const Client& client, std::string_view bucket,
                                  std::string_view key, std::string_view body,
                                  const PutOptions& options = {});
AwsResult<std::string> put_object_file(const Client& client, std::string_view bucket,
                                       std::string_view key, const std::filesystem::path& file,
                                       const PutOptions& options = {});

// `version_id`: that version of the object (versioned buckets), else the current one.
AwsResult<std::optional<ObjectInfo>> head_object(const Client& client, std::string_view bucket,
                                                 std::string_view key,
                                                 std::string_view version_id = {});

struct Object {
  std::string body;
  ObjectInfo info;
};
AwsResult<std::optional<Object>> get_object(const Client& client, std::string_view bucket,
                                            std::string_view key);
// Streams the object into `file` (atomically). false when there is no such object.
AwsResult<bool> get_object_to_file(const Client& client, std::string_view bucket,
                                   std::string_view key, const std::filesystem::path& file,
                                   std::string_view version_id = {});

// Every object under `prefix` (all pages), in key order.
AwsResult<std::vector<ObjectInfo>> list_objects(const Client& client, std::string_view bucket,
                                                std::string_view prefix = {});

// Deleting a missing object succeeds (as S3 does). `if_match` deletes only that ETag.
AwsStatus delete_object(const Client& client, std::string_view bucket, std::string_view key,
                        std::string_view if_match = {});

AwsResult<bool> bucket_exists(const Client& client, std::string_view bucket);
// Creates the bucket in the client's region; a bucket we already own is not an error.
AwsStatus create_bucket(const Client& client, std::string_view bucket);
// Deletes an (empty) bucket.
AwsStatus delete_bucket(const Client& client, std::string_view bucket);

// S3's rules for bucket names (3–63 chars, lower case, digits, '.', '-'; no IP form).
bool valid_bucket_name(std::string_view bucket);

} // namespace wisp::aws::s3
