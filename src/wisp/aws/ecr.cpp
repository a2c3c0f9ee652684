#include <wisp/aws/ecr.hpp>

#include <wisp/aws/json_fields.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

#include <algorithm>

namespace wisp::aws::ecr {

namespace json = boost::json;

namespace {

constexpr std::string_view k_target = "AmazonEC2ContainerRegistry_V20150921";

} // namespace

std::optional<RegistryHost> parse_registry_host(std::string_view host) {
  const auto parts = support::split(host, '.');
  // account . dkr . ecr[-fips] . region . amazonaws . com [. cn]
  if (parts.size() < 6 || parts[1] != "dkr" || (parts[2] != "ecr" && parts[2] != "ecr-fips") ||
      parts[4] != "amazonaws" || parts[5] != "com" || parts.size() > 7 ||
      (parts.size() == 7 && parts[6] != "cn"))
    return std::nullopt;
  const auto& account = parts[0];
  if (account.size() != 12 ||
      !std::all_of(account.begin(), account.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return RegistryHost{std::string(account), std::string(parts[3])};
}

AwsResult<std::optional<std::string>> image_digest(const Client& client, std::string_view account,
                                                   std::string_view repository,
                                                   std::string_view tag) {
  const json::object body{{"registryId", account},
                          {"repositoryName", repository},
                          {"imageIds", json::array{json::object{{"imageTag", tag}}}}};
  auto answer = client.json_rpc(Service::ecr, k_target, "DescribeImages", body);
  if (!answer) {
    if (answer.error().is("ImageNotFoundException") ||
        answer.error().is("RepositoryNotFoundException"))
      return std::optional<std::string>();
    return tl::unexpected(std::move(answer).error());
  }
  if (answer->is_object())
    if (const auto* details = answer->as_object().if_contains("imageDetails");
        details != nullptr && details->is_array())
      for (const auto& detail : details->as_array())
        if (detail.is_object())
          if (auto digest = json_string(detail.as_object(), "imageDigest"); !digest.empty())
            return std::optional<std::string>(std::move(digest));
  return std::optional<std::string>();
}

AwsResult<Login> login(const Client& client, std::string_view account) {
  const json::object body{{"registryIds", json::array{json::value(account)}}};
  auto answer = client.json_rpc(Service::ecr, k_target, "GetAuthorizationToken", body);
  if (!answer)
    return tl::unexpected(std::move(answer).error());
  ServiceError missing{"ecr", "GetAuthorizationToken", 200, "", "no authorization token", "", 1};
  if (!answer->is_object())
    return tl::unexpected(missing);
  const auto* data = answer->as_object().if_contains("authorizationData");
  if (data == nullptr || !data->is_array() || data->as_array().empty() ||
      !data->as_array().front().is_object())
    return tl::unexpected(missing);
  const auto token = json_string(data->as_array().front().as_object(), "authorizationToken");
  auto decoded = support::base64_decode(token);
  const auto colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos)
    return tl::unexpected(missing);
  return Login{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

} // namespace wisp::aws::ecr
