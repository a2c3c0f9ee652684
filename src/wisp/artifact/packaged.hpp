#pragma once
// The packaged template (SAM's `package` semantics): the original template text with each
// built resource's code property pointing at its uploaded (or exported) artifact, and
// nothing else changed — comments, quoting, key order and intrinsic tags are kept.
//
//   AWS::Serverless::Function    CodeUri: s3://bucket/key   (Image: ImageUri: uri)
//   AWS::Lambda::Function        Code: {S3Bucket: bucket, S3Key: key}   (Image: {ImageUri: uri})
//   AWS::Serverless::LayerVersion ContentUri: s3://bucket/key
//   AWS::Lambda::LayerVersion    Content: {S3Bucket: bucket, S3Key: key}
//   AWS::Serverless::Application Location: https://s3.<region>.amazonaws.com/bucket/key
//   AWS::CloudFormation::Stack   TemplateURL: (the same)    (a nested stack's uploaded template)
// With a local location (package --output-dir), CodeUri/ContentUri name the file instead.
// A missing property (e.g. CodeUri given in Globals) is added to the resource's
// Properties. A build's Handler and Environment.Variables changes (esbuild bundles, source
// maps) are written the same way, as SAM's built template carries them. YAML and JSON
// templates are both handled.

#include <wisp/support/error.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wisp::artifact {

struct ArtifactLocation {
  std::string logical_id;
  std::string s3_bucket; // with s3_key: an S3 object
  std::string s3_key;
  std::string image_uri;  // an image in a registry
  std::string local_path; // a local file or directory (relative to the packaged template)
  // What the build changed in the function (esbuild): Handler, and Environment.Variables
  // entries (added, or replaced when present).
  std::string handler;
  std::vector<std::pair<std::string, std::string>> environment;
  std::string template_url; // a nested stack's uploaded template
};

// `file` names the template in errors.
support::Result<std::string> rewrite_template(std::string_view text, const std::string& file,
                                              const std::vector<ArtifactLocation>& locations);

} // namespace wisp::artifact
