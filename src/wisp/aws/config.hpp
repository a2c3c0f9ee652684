#pragma once
// AWS configuration the way the AWS CLI reads it: the environment, ~/.aws/config and
// ~/.aws/credentials (profiles), the credential chain and the region.
//
// Credential chain, first match wins:
//   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) — skipped when a
//      profile was given explicitly with --profile (as the AWS CLI does);
//   2. the profile in the credentials file (aws_access_key_id, ...);
//   3. the profile's credential_process (config or credentials file), run without a shell;
//   4. the profile in the config file (aws_access_key_id, ...);
//   5. the container endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI), only when
//      one of those variables is set;
//   6. instance metadata (IMDSv2), unless AWS_EC2_METADATA_DISABLED=true.
// Profiles that assume a role or use SSO are reported as unsupported rather than skipped.
//
// Secrets never appear in errors or logs: `Credentials::source` names where they came from.

#include <wisp/support/error.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace wisp::aws {

// Reads an environment variable; the default reads the process environment. Tests pass a
// map so they never depend on (or leak into) the real environment.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
EnvLookup process_env();

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::optional<std::chrono::system_clock::time_point> expiration;
  std::string source; // "environment", "shared-credentials-file", "custom-process", ...
  [[nodiscard]] bool expires_within(std::chrono::seconds margin) const;
};

// One section of an INI-style AWS file: key → value (keys lower-cased).
using ProfileSection = std::map<std::string, std::string>;

// Parses an AWS config/credentials file. Section headers are kept as written inside the
// brackets ("default", "profile dev"). Nested blocks (indented lines under `s3 =`) become
// "s3.key". Malformed lines are errors naming file:line.
support::Result<std::map<std::string, ProfileSection>> parse_ini(std::string_view text,
                                                                 std::string_view file_name);

// The settings wisp needs, resolved from flags, the environment and the profile.
struct ConfigInputs {
  std::string profile; // --profile; empty: AWS_PROFILE, AWS_DEFAULT_PROFILE, "default"
  std::string region;  // --region
  EnvLookup env = process_env();
  // Home directory for ~/.aws; empty: $HOME.
  std::filesystem::path home;
};

struct AwsConfig {
  std::string profile_name;
  bool profile_explicit = false; // given with --profile
  ProfileSection profile;        // the config file's section for the profile
  ProfileSection credentials;    // the credentials file's section for the profile
  std::string region;            // resolved; empty when nowhere to be found
  std::filesystem::path config_file;
  std::filesystem::path credentials_file;
};

// Loads the files and resolves the profile and region. An explicitly named profile that
// exists in neither file is an error ("The config profile (x) could not be found").
support::Result<AwsConfig> load_config(const ConfigInputs& inputs);

// Walks the credential chain. `http_get` performs the metadata/container requests (given
// so tests can point it at loopback); `timeout` bounds each of those requests.
struct MetadataRequest {
  std::string method;
  std::string url;
  std::map<std::string, std::string> headers;
};
struct MetadataResponse {
  long status = 0; // 0: no connection
  std::string body;
};
using MetadataFetch = std::function<MetadataResponse(const MetadataRequest&)>;

support::Result<Credentials> resolve_credentials(const AwsConfig& config, const EnvLookup& env,
                                                 const MetadataFetch& fetch);

// Splits a command line like Python's shlex.split (POSIX rules: quotes, backslashes),
// without any shell expansion. nullopt on an unterminated quote.
std::optional<std::vector<std::string>> split_command(std::string_view command);

// Parses "2026-11-23T12:00:00Z" (fractional seconds and ±hh:mm offsets allowed).
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

} // namespace wisp::aws
