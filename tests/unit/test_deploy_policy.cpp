#include <wisp/deploy/policy.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace wisp;
namespace json = boost::json;

namespace {
const deploy::PolicyContext k_context{"eu-west-1", "111122223333", "app"};

sam::Function function_with(const char* policies) {
  sam::Function f;
  f.logical_id = "Hello";
  f.policies = json::parse(policies);
  return f;
}
} // namespace

TEST_CASE("policy: every function role trusts Lambda and has basic execution") {
  auto role = deploy::function_role(function_with("null"), k_context);
  REQUIRE(role.has_value());
  CHECK(
      deploy::canonical_json(role->trust) ==
      R"({"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"}}],"Version":"2012-10-17"})");
  REQUIRE(role->managed.size() == 1);
  CHECK(role->managed[0] == "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole");
  CHECK(role->inline_policies.empty());
}

TEST_CASE("policy: names, ARNs, documents and templates") {
  auto role = deploy::function_role(function_with(R"([
        "AmazonS3ReadOnlyAccess",
        "arn:aws:iam::111122223333:policy/custom",
        {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]},
        {"DynamoDBCrudPolicy": {"TableName": "orders"}},
        {"SQSPollerPolicy": {"QueueName": "jobs"}},
        {"CloudWatchPutMetricPolicy": {}}
      ])"),
                                    k_context);
  REQUIRE(role.has_value());
  CHECK(role->managed == std::vector<std::string>{
                             "arn:aws:iam::111122223333:policy/custom",
                             "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
                             "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"});
  REQUIRE(role->inline_policies.size() == 4);
  CHECK(role->inline_policies.at("HelloRolePolicy2").at("Version") == "2012-10-17");
  const auto crud = deploy::canonical_json(role->inline_policies.at("HelloRolePolicy3"));
  CHECK(crud.find(R"("arn:aws:dynamodb:eu-west-1:111122223333:table/orders")") !=
        std::string::npos);
  CHECK(crud.find(R"("arn:aws:dynamodb:eu-west-1:111122223333:table/orders/index/*")") !=
        std::string::npos);
  CHECK(crud.find("dynamodb:PutItem") != std::string::npos);
  const auto poller = deploy::canonical_json(role->inline_policies.at("HelloRolePolicy4"));
  CHECK(poller.find("arn:aws:sqs:eu-west-1:111122223333:jobs") != std::string::npos);
  CHECK(poller.find("sqs:ReceiveMessage") != std::string::npos);
  CHECK(poller.find("sqs:SendMessage") == std::string::npos); // least privilege
}

TEST_CASE("policy: the ten templates the issue names expand") {
  const std::pair<const char*, const char*> k_templates[] = {
      {"DynamoDBCrudPolicy", R"({"TableName": "t"})"},
      {"DynamoDBReadPolicy", R"({"TableName": "t"})"},
      {"S3ReadPolicy", R"({"BucketName": "b"})"},
      {"S3CrudPolicy", R"({"BucketName": "b"})"},
      {"SQSSendMessagePolicy", R"({"QueueName": "q"})"},
      {"SQSPollerPolicy", R"({"QueueName": "q"})"},
      {"SNSPublishMessagePolicy", R"({"TopicName": "t"})"},
      {"LambdaInvokePolicy", R"({"FunctionName": "f"})"},
      {"SSMParameterReadPolicy", R"({"ParameterName": "/app/key"})"},
      {"AWSSecretsManagerGetSecretValuePolicy", R"({"SecretArn": "arn:aws:secretsmanager:x"})"}};
  for (const auto& [name, parameters] : k_templates) {
    const std::string template_name = name;
    CAPTURE(template_name);
    auto statements = deploy::expand_policy_template(name, json::parse(parameters), k_context);
    REQUIRE(statements.has_value());
    CHECK_FALSE(statements->empty());
    for (const auto& statement : *statements) {
      CHECK(statement.at("Effect") == "Allow");
      // Scoped to the named resource (ssm:DescribeParameters only works on "*").
      if (deploy::canonical_json(statement.at("Action")) != R"(["ssm:DescribeParameters"])")
        CHECK(statement.at("Resource") != json::value("*"));
    }
  }
  auto read = deploy::expand_policy_template("S3ReadPolicy", json::parse(R"({"BucketName": "b"})"),
                                             k_context);
  CHECK(deploy::canonical_json(read->at(0)).find("s3:PutObject") == std::string::npos);
  // As SAM writes it: SSMParameterReadPolicy takes the name without its leading slash,
  // SSMParameterWithSlashPrefixReadPolicy with it.
  auto ssm = deploy::expand_policy_template(
      "SSMParameterReadPolicy", json::parse(R"({"ParameterName": "app/key"})"), k_context);
  CHECK(deploy::canonical_json(*ssm).find("parameter/app/key") != std::string::npos);
  auto slash =
      deploy::expand_policy_template("SSMParameterWithSlashPrefixReadPolicy",
                                     json::parse(R"({"ParameterName": "/app/key"})"), k_context);
  CHECK(deploy::canonical_json(*slash).find(":parameter/app/key") != std::string::npos);
  auto cn = deploy::expand_policy_template("S3ReadPolicy", json::parse(R"({"BucketName": "b"})"),
                                           {"cn-north-1", "1", "app"});
  CHECK(deploy::canonical_json(*cn).find("arn:aws-cn:s3:::b") != std::string::npos);
}

TEST_CASE("policy: bad policies are clear errors") {
  auto unknown = deploy::function_role(
      function_with(R"([{"DynamoDBCrudPolicyy": {"TableName": "t"}}])"), k_context);
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().message.find("Hello: Policies[0]: unknown SAM policy template "
                                     "'DynamoDBCrudPolicyy'; did you mean 'DynamoDBCrudPolicy'?") !=
        std::string::npos);
  auto missing = deploy::function_role(function_with(R"([{"S3ReadPolicy": {}}])"), k_context);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message.find("needs the parameter BucketName") != std::string::npos);
  auto extra = deploy::function_role(
      function_with(R"([{"S3ReadPolicy": {"BucketName": "b", "Bucket": "c"}}])"), k_context);
  CHECK(extra.error().message.find("has no parameter Bucket") != std::string::npos);
  auto symbolic = deploy::function_role(
      function_with(R"([{"DynamoDBCrudPolicy": {"TableName": {"Ref": "Table"}}}])"), k_context);
  REQUIRE_FALSE(symbolic.has_value());
  CHECK(symbolic.error().message.find("TableName is Ref") != std::string::npos);
  CHECK_FALSE(deploy::function_role(function_with("[42]"), k_context).has_value());
}

TEST_CASE("policy: poll-based event sources add the managed policies SAM adds") {
  auto function = function_with("null");
  for (const char* type : {"SQS", "Kinesis", "DynamoDB"}) {
    sam::EventSource event;
    event.name = type;
    event.type = type;
    function.events.push_back(event);
  }
  auto role = deploy::function_role(function, k_context);
  REQUIRE(role.has_value());
  CHECK(role->managed ==
        std::vector<std::string>{
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole",
            "arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole",
            "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"});
}

TEST_CASE("policy: digests are canonical (key order does not matter)") {
  deploy::RoleDocument a;
  a.trust = json::parse(R"({"b": 1, "a": [1, {"y": 2, "x": 1}]})").as_object();
  deploy::RoleDocument b;
  b.trust = json::parse(R"({"a": [1, {"x": 1, "y": 2}], "b": 1})").as_object();
  CHECK(a.digest() == b.digest());
  b.managed.push_back("arn:x");
  CHECK(a.digest() != b.digest());
}
