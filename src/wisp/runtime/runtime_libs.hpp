#pragma once
// What Lambda's managed runtimes ship besides the language itself, for functions that use it
// without bundling it: the AWS SDK for JavaScript v3 (@aws-sdk/*) in the nodejs runtimes;
// boto3/botocore in the python runtimes, and the durable execution SDK
// (aws_durable_execution_sdk_python) in python3.13 and later.
//
// A function's code is scanned for what it imports (require/import of '@aws-sdk/<name>', and of
// the SDK's own building blocks '@smithy/<name>' and '@aws-crypto/<name>', which sit in the same
// node_modules tree of Lambda's runtimes;
// `import boto3`, `from botocore ...`); what neither its own packages (CodeUri), its layers,
// nor (python) its interpreter provide is installed into the cache with the ecosystem's own
// tool, at the versions pinned below (one place to bump), on first need, with progress:
//   <cache>/runtime-libs/aws-sdk-js-<version>/current/node_modules   npm install; grows as
//        functions need more clients (each growth a new directory, renamed into place)
//   <cache>/runtime-libs/python3.<minor>/<set>/                         pip install --target
// Every install goes to a temporary directory first and is renamed into place, so a failed or
// interrupted one leaves nothing half-written. When pip cannot reach its index, the pure-Python
// distributions (boto3, botocore, s3transfer, jmespath, python-dateutil, six, urllib3) are
// copied, file by file as their RECORD lists them, from another local interpreter that has
// them (a warning names it and the version). Otherwise: one error naming the function, the
// file that imports the library, and what to install.
//
// Resolution order stays Lambda's: the function's own packages, then layers, then these.

#include <wisp/runtime/runtimes.hpp>
#include <wisp/support/error.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::runtime {

// The versions wisp installs (Lambda updates the copies in its runtimes from time to time).
inline constexpr std::string_view k_aws_sdk_js_version = "3.1178.0";
inline constexpr std::string_view k_boto3_version = "1.43.11";
inline constexpr std::string_view k_botocore_version = "1.43.11";
inline constexpr std::string_view k_durable_sdk_python_version = "1.7.0";

// The npm scopes of what Lambda's nodejs runtimes ship in /var/runtime/node_modules: the SDK's
// packages and the ones it is built from. @smithy/* and @aws-crypto/* are versioned apart from the
// SDK: one the SDK's packages already pulled into the cache is used as it is; another is
// installed at its newest release (then kept, as npm's lock file records it).
inline constexpr std::string_view k_runtime_node_scopes[] = {"@aws-sdk/", "@smithy/",
                                                             "@aws-crypto/"};
// Of @aws-crypto/*, only the hashing packages the SDK depends on are in that tree (not, e.g., the
// AWS Encryption SDK's @aws-crypto/client-node, which a function must bundle).
inline constexpr std::string_view k_runtime_aws_crypto_packages[] = {
    "@aws-crypto/crc32",          "@aws-crypto/crc32c",    "@aws-crypto/sha1-browser",
    "@aws-crypto/sha256-browser", "@aws-crypto/sha256-js", "@aws-crypto/supports-web-crypto",
    "@aws-crypto/ie11-detection", "@aws-crypto/util"};

// Packages of those scopes that code names but Lambda's runtimes do not ship, so wisp never
// installs them (the cache stays what Lambda ships): the SDK's optional CRT-based signer and its
// loader, which pull in the native aws-crt (tens of MB). The SDK and bundles that inline it
// require them inside try/catch; as in Lambda, the require fails and the SDK goes on without.
inline constexpr std::string_view k_runtime_node_not_shipped[] = {"@aws-sdk/signature-v4-crt",
                                                                  "@aws-sdk/crt-loader"};

// The npm version range wisp installs `package` (one of those scopes) at.
inline std::string runtime_node_package_spec(std::string_view package) {
  return package.starts_with("@aws-sdk/") ? "<=" + std::string(k_aws_sdk_js_version) : "*";
}

struct RuntimeLibraries {
  // nodejs: a node_modules directory holding the SDK packages (Lambda: /var/runtime/node_modules).
  std::filesystem::path node_modules;
  // python: a directory for sys.path after the layers (Lambda:
  // /var/lang/lib/python3.X/site-packages).
  std::filesystem::path python_path;
};

struct RuntimeLibraryRequest {
  std::string function_id; // for messages
  RuntimeInfo runtime;
  Interpreter interpreter;
  std::filesystem::path code_dir;
  std::vector<std::filesystem::path> layer_dirs;
  std::filesystem::path cache_dir;
  std::function<void(std::string_view)> progress; // one line per step
};

// The runtime libraries `request`'s function uses and does not bundle, installed when missing.
// Empty paths when it needs none.
support::Result<RuntimeLibraries> provide_runtime_libraries(const RuntimeLibraryRequest& request,
                                                            std::vector<std::string>& warnings);

namespace detail {

// The packages of k_runtime_node_scopes a JavaScript source imports or requires
// ("@aws-sdk/client-s3", "@smithy/protocol-http"), in order of appearance, without duplicates,
// without k_runtime_node_not_shipped.
std::vector<std::string> aws_sdk_imports(std::string_view source);
// The top-level modules a Python source imports ("boto3", "botocore", ...), in order, no
// duplicates.
std::vector<std::string> python_imports(std::string_view source);

} // namespace detail

} // namespace wisp::runtime
