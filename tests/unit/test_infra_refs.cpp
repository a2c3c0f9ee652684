#include <wisp/infra/detail.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <vector>

using namespace wisp;
namespace json = boost::json;

TEST_CASE("infra refs: Ref, GetAtt (both forms) and Fn::Sub variables are found") {
  const auto value = json::parse(R"({
    "A": {"Ref": "Table"},
    "B": {"Fn::GetAtt": ["Queue", "Arn"]},
    "C": {"Fn::GetAtt": "Topic.TopicName"},
    "D": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/${Fn.Arn}/${!Literal}"},
    "E": {"Fn::Sub": ["${Local}-${Other}", {"Local": {"Ref": "Inner"}}]},
    "F": {"Ref": "AWS::Region"},
    "G": {"Ref": "Fn.Alias"}
  })");
  std::vector<std::string> seen;
  infra::detail::for_each_reference(value, [&](const infra::detail::Reference& r) {
    seen.push_back(r.id + (r.attribute.empty() ? "" : "." + r.attribute) + (r.ref ? "" : "!"));
  });
  CHECK(seen == std::vector<std::string>{"Table", "Queue.Arn!", "Topic.TopicName!", "Bucket",
                                         "Fn.Arn!", "Inner", "Other", "Fn.Alias"});
}

TEST_CASE("infra refs: rewriting keeps what it is not asked to change") {
  auto value = json::parse(R"({
    "Name": {"Ref": "Fn"},
    "Arn": {"Fn::GetAtt": ["Fn", "Arn"]},
    "Keep": {"Ref": "Table"},
    "Text": {"Fn::Sub": "/aws/lambda/${Fn} ${Table} ${AWS::Region}"}
  })");
  auto done = infra::detail::rewrite_references(
      value, [](const infra::detail::Reference& r) -> support::Result<std::optional<json::value>> {
        if (r.id != "Fn")
          return std::nullopt;
        return json::value(json::object{{"Ref", r.attribute.empty() ? "FnName" : "FnAlias"}});
      });
  REQUIRE(done.has_value());
  CHECK(value == json::parse(R"({
    "Name": {"Ref": "FnName"},
    "Arn": {"Ref": "FnAlias"},
    "Keep": {"Ref": "Table"},
    "Text": {"Fn::Sub": "/aws/lambda/${FnName} ${Table} ${AWS::Region}"}
  })"));
  auto failing = infra::detail::rewrite_references(
      value, [](const infra::detail::Reference&) -> support::Result<std::optional<json::value>> {
        return support::failf("no");
      });
  CHECK_FALSE(failing.has_value());
}

TEST_CASE("infra refs: definition strings are Python's sorted, indented JSON") {
  const auto text = infra::detail::pretty_sorted_json(
      json::parse(R"({"b": [1, {"d": true}], "a": {}, "c": 1.0, "e": []})"));
  CHECK(text == "{\n    \"a\": {},\n    \"b\": [\n        1,\n        {\n            \"d\": "
                "true\n        }\n    ],\n    \"c\": 1.0,\n    \"e\": []\n}");
}

TEST_CASE("infra: SAM's policy templates, with intrinsic parameters kept for CloudFormation") {
  auto crud = infra::policy_template("DynamoDBCrudPolicy",
                                     json::parse(R"({"TableName": {"Ref": "Table"}})"));
  REQUIRE(crud.has_value());
  CHECK(crud->at(0).at("Resource").at(0) ==
        json::parse(R"({"Fn::Sub": ["arn:${AWS::Partition}:dynamodb:${AWS::Region}:)"
                    R"(${AWS::AccountId}:table/${TableName}", {"TableName": {"Ref": "Table"}}]})"));
  auto secret = infra::policy_template("AWSSecretsManagerGetSecretValuePolicy",
                                       json::parse(R"({"SecretArn": {"Ref": "Secret"}})"));
  REQUIRE(secret.has_value());
  CHECK(secret->at(0).at("Resource") == json::parse(R"({"Ref": "Secret"})"));
  auto typo = infra::policy_template("S3ReedPolicy", json::parse(R"({"BucketName": "b"})"));
  REQUIRE_FALSE(typo.has_value());
  CHECK(typo.error().message ==
        "unknown SAM policy template 'S3ReedPolicy'; did you mean 'S3ReadPolicy'?");
  CHECK(infra::policy_template_names().size() >= 80);
}
