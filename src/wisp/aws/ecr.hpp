#pragma once
// ECR basics over the AWS client (JSON 1.1, AmazonEC2ContainerRegistry_V20150921): what a
// tag points at, and the credentials a registry client pushes with.
//
// A tag that is not in the repository (or a repository that does not exist) is not an
// error here: image_digest returns nullopt and the caller names what is missing.

#include <wisp/aws/client.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace wisp::aws::ecr {

// An ECR registry host: <account>.dkr.ecr.<region>.amazonaws.com[.cn] (and the FIPS form
// <account>.dkr.ecr-fips.<region>.amazonaws.com).
struct RegistryHost {
  std::string account;
  std::string region;
};
std::optional<RegistryHost> parse_registry_host(std::string_view host);

// The digest ("sha256:...") the tag names in `repository` of the registry `account`
// (DescribeImages); nullopt when the tag or the repository does not exist.
AwsResult<std::optional<std::string>> image_digest(const Client& client, std::string_view account,
                                                   std::string_view repository,
                                                   std::string_view tag);

struct Login {
  std::string username; // "AWS"
  std::string password; // a 12-hour token: never print it
};
// GetAuthorizationToken for the registry of `account`: Basic credentials for its OCI API.
AwsResult<Login> login(const Client& client, std::string_view account);

} // namespace wisp::aws::ecr
