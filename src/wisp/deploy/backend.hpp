#pragma once
// The AWS services deploy drives, as typed calls over wisp's AWS client: Lambda, IAM,
// CloudWatch, API Gateway (REST and HTTP APIs), STS. Each call is one API operation; the
// caller decides what to do with not-found errors (most reads return nullopt for them).

#include <wisp/aws/client.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wisp::deploy {

using aws::AwsResult;
using aws::AwsStatus;

struct AliasInfo {
  std::string name;
  std::string version;
  std::map<std::string, double> weights; // AdditionalVersionWeights
  std::string revision_id;
};

struct InvokeResult {
  long status = 0;
  std::string function_error; // X-Amz-Function-Error (Handled/Unhandled) or empty
  std::string payload;
  std::string executed_version;
};

struct AlarmInfo {
  std::string name;
  std::string state; // OK | ALARM | INSUFFICIENT_DATA
  std::string reason;
};

class Backend {
public:
  explicit Backend(std::shared_ptr<const aws::Client> client);

  [[nodiscard]] const aws::Client& client() const { return *m_client; }
  [[nodiscard]] std::shared_ptr<const aws::Client> shared_client() const { return m_client; }

  // STS
  AwsResult<std::string> account_id() const;

  // Lambda: functions
  AwsResult<std::optional<boost::json::object>>
  get_function(const std::string& name, const std::string& qualifier = {}) const;
  AwsResult<boost::json::object>
  get_function_configuration(const std::string& name, const std::string& qualifier = {}) const;
  AwsResult<boost::json::object> create_function(const boost::json::object& request) const;
  AwsResult<boost::json::object> update_function_code(const std::string& name,
                                                      const boost::json::object& request) const;
  AwsResult<boost::json::object>
  update_function_configuration(const std::string& name, const boost::json::object& request) const;
  AwsResult<boost::json::object> publish_version(const std::string& name,
                                                 const std::string& code_sha256,
                                                 const std::string& description) const;
  // Polls until State is Active and LastUpdateStatus is Successful (real Lambda rejects
  // updates and publishes meanwhile); an error with the reason when it Failed.
  AwsResult<boost::json::object> wait_until_updated(const std::string& name,
                                                    std::chrono::seconds timeout) const;
  AwsStatus delete_function(const std::string& name) const;
  AwsStatus put_function_concurrency(const std::string& name, int reserved) const;
  AwsStatus delete_function_concurrency(const std::string& name) const;
  AwsStatus tag_function(const std::string& arn,
                         const std::map<std::string, std::string>& tags) const;
  AwsStatus untag_function(const std::string& arn, const std::vector<std::string>& keys) const;
  AwsResult<InvokeResult> invoke(const std::string& name, const std::string& qualifier,
                                 const std::string& payload) const;

  // Lambda: layers. Versions of a layer (newest first): version ARN and description.
  AwsResult<std::vector<std::pair<std::string, std::string>>>
  layer_versions(const std::string& layer) const;
  // PublishLayerVersion; the new version's ARN.
  AwsResult<std::string> publish_layer_version(const std::string& layer,
                                               const boost::json::object& request) const;
  AwsStatus delete_layer_version(const std::string& layer, const std::string& version) const;

  // Lambda: aliases and permissions
  AwsResult<std::optional<AliasInfo>> get_alias(const std::string& function,
                                                const std::string& alias) const;
  AwsResult<AliasInfo> create_alias(const std::string& function, const std::string& alias,
                                    const std::string& version,
                                    const std::map<std::string, double>& weights = {}) const;
  AwsResult<AliasInfo> update_alias(const std::string& function, const std::string& alias,
                                    const std::string& version,
                                    const std::map<std::string, double>& weights) const;
  AwsStatus delete_alias(const std::string& function, const std::string& alias) const;
  // Statement ids of the resource policy (of the alias when `qualifier` is set).
  AwsResult<std::vector<std::string>> policy_statement_ids(const std::string& function,
                                                           const std::string& qualifier) const;
  AwsStatus add_permission(const std::string& function, const std::string& qualifier,
                           const std::string& statement_id, const std::string& principal,
                           const std::string& source_arn) const;
  AwsStatus remove_permission(const std::string& function, const std::string& qualifier,
                              const std::string& statement_id) const;

  // IAM
  AwsResult<std::optional<boost::json::object>> get_role(const std::string& name) const;
  AwsResult<boost::json::object> create_role(const std::string& name,
                                             const boost::json::object& trust,
                                             const std::map<std::string, std::string>& tags) const;
  AwsStatus update_assume_role_policy(const std::string& name,
                                      const boost::json::object& trust) const;
  AwsResult<std::vector<std::string>> attached_role_policies(const std::string& name) const;
  AwsStatus attach_role_policy(const std::string& name, const std::string& arn) const;
  AwsStatus detach_role_policy(const std::string& name, const std::string& arn) const;
  AwsResult<std::vector<std::string>> role_policy_names(const std::string& name) const;
  AwsStatus put_role_policy(const std::string& name, const std::string& policy,
                            const boost::json::object& document) const;
  AwsStatus delete_role_policy(const std::string& name, const std::string& policy) const;
  AwsStatus tag_role(const std::string& name, const std::map<std::string, std::string>& tags) const;
  AwsStatus delete_role(const std::string& name) const;

  // CloudWatch
  AwsStatus put_metric_alarm(const aws::Query& parameters) const;
  AwsResult<std::vector<AlarmInfo>> describe_alarms(const std::vector<std::string>& names) const;
  AwsStatus delete_alarms(const std::vector<std::string>& names) const;

  // API Gateway (REST, v1). Paths below /restapis.
  AwsResult<boost::json::value> apigw(std::string_view operation, std::string_view method,
                                      std::string path, const boost::json::value* body = nullptr,
                                      aws::Query query = {}) const;
  // API Gateway (REST, v1) outside /restapis: /usageplans, /apikeys.
  AwsResult<boost::json::value> apigw_root(std::string_view operation, std::string_view method,
                                           std::string path,
                                           const boost::json::value* body = nullptr,
                                           aws::Query query = {}) const;
  // API Gateway v2 (HTTP APIs). Paths below /v2.
  AwsResult<boost::json::value> apigw2(std::string_view operation, std::string_view method,
                                       std::string path, const boost::json::value* body = nullptr,
                                       aws::Query query = {}) const;

private:
  std::shared_ptr<const aws::Client> m_client;
};

// Percent-encodes one path segment (function names, ARNs).
std::string segment(std::string_view text);
// "/" + segment(text), built by appending (GCC 12 warns about `"/" + std::string`).
std::string slash_segment(std::string_view text);

} // namespace wisp::deploy
