#pragma once
// Execution roles for functions: Lambda's trust policy, AWSLambdaBasicExecutionRole, and
// the function's `Policies` — managed policy names or ARNs, inline policy documents, and
// SAM policy templates expanded to least-privilege statements.

#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::deploy {

struct RoleDocument {
  boost::json::object trust;                                  // AssumeRolePolicyDocument
  std::vector<std::string> managed;                           // policy ARNs, sorted, unique
  std::map<std::string, boost::json::object> inline_policies; // name → policy document
  // SHA-256 (hex) of the canonical JSON of all three: what decides "changed".
  [[nodiscard]] std::string digest() const;
};

struct PolicyContext {
  std::string region;
  std::string account;
  std::string stack;
};

// The role wisp makes for a function without `Role`: its Policies (as given, or resolved
// by the caller), and the managed policies SAM adds for its event sources and tracing.
support::Result<RoleDocument> function_role(const sam::Function& function,
                                            const PolicyContext& context);
support::Result<RoleDocument> function_role(const sam::Function& function,
                                            const boost::json::value& policies,
                                            const PolicyContext& context);

// What else SAM puts in a function's role: the VPC access policy (VpcConfig) and the
// dead-letter queue's send permission (DeadLetterQueue {Type: SQS|SNS, TargetArn}, resolved).
void add_function_extras(RoleDocument& role, bool vpc, const boost::json::value& dead_letter_queue,
                         const PolicyContext& context);

// The statements of one SAM policy template, e.g. ("DynamoDBCrudPolicy", {"TableName": t}).
support::Result<boost::json::array> expand_policy_template(std::string_view name,
                                                           const boost::json::value& parameters,
                                                           const PolicyContext& context);

// The policy templates wisp knows (SAM's list), sorted.
std::vector<std::string> policy_template_names();

// A managed policy name → its ARN (AWS-managed service roles live under service-role/).
std::string managed_policy_arn(std::string_view name_or_arn, std::string_view region);

// JSON with object keys sorted at every level: the canonical form digests are taken of.
std::string canonical_json(const boost::json::value& value);

} // namespace wisp::deploy
