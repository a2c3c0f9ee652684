#pragma once
// `wisp deploy` of a packaged template (src/wisp/deploy/nested_fetch.cpp): a nested stack whose
// Location/TemplateURL is a URL naming an object in the S3 of the backend wisp deploys to (as
// `sam package` and `wisp package` write them) and whose template holds what wisp deploys itself
// (functions, layers, APIs, SAM resources) is downloaded before the template is loaded (to
// .wisp/nested/<Id>.template beside the template), and the root's text given to the loader
// names the local copy instead, so the child is deployed as a
// local child is. Other children's URLs stay as written (CloudFormation reads them).

#include <wisp/aws/client.hpp>
#include <wisp/support/error.hpp>
#include <wisp/support/fs.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::deploy {

struct S3ObjectRef {
  std::string bucket;
  std::string key;
  std::string version; // ?versionId=, else empty
};

// The S3 object a template URL names, in the forms SAM and CloudFormation use:
// s3://bucket/key, https://s3.amazonaws.com/bucket/key, https://s3.<region>.amazonaws.com/
// bucket/key (also s3-<region>., s3.dualstack.<region>.), https://bucket.s3[.<region>]
// .amazonaws.com/key, and `<endpoint>/bucket/key` for the S3 endpoint the deploy uses (what
// `sam package --endpoint-url` writes, a local backend's). nullopt for any other URL.
std::optional<S3ObjectRef> s3_object_of_url(std::string_view url, std::string_view s3_endpoint);

struct FetchedTemplates {
  // The root template's text with the fetched children's URLs replaced by their local copies;
  // empty when nothing was fetched (load the template file as it is).
  std::string text;
  std::vector<std::string> fetched;  // "Child: <url>"
  std::vector<std::string> warnings; // children passed as written that wisp could not read
  std::optional<support::TempDir>
      dir; // where they are when the app's .wisp/nested cannot be written
};

// Reads the root template at `template_path` and fetches its children as said above. Never
// fails a deploy that works without it: what cannot be read or parsed is left as written.
FetchedTemplates fetch_nested_templates(const aws::Client& client,
                                        const std::filesystem::path& template_path);

} // namespace wisp::deploy
