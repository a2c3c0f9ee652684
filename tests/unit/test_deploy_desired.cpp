#include <wisp/deploy/desired.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/template/load.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <algorithm>

using namespace wisp;
namespace json = boost::json;

namespace {

struct App {
  support::TempDir dir{"wisp-desired"};
  sam::Model model;
  artifact::BuildReport artifacts;

  explicit App(const std::string& resources) {
    const std::string text = "AWSTemplateFormatVersion: '2010-09-09'\n"
                             "Transform: AWS::Serverless-2016-10-31\n"
                             "Resources:\n" +
                             resources;
    REQUIRE(support::write_file_atomic(dir.path() / "template.yaml", text));
    REQUIRE(support::write_file_atomic(dir.path() / "src" / "app.py", "def handler(e, c): pass\n"));
    sam::LoadOptions options;
    options.template_path = dir.path() / "template.yaml";
    options.account_id = "111122223333";
    options.stack_name = "shop";
    auto loaded = sam::load_model(options);
    if (!loaded)
      FAIL(loaded.error().message);
    model = std::move(*loaded);
    for (const auto& f : model.functions) {
      artifact::ArtifactBuild build;
      build.logical_id = f.logical_id;
      build.zip_path = dir.path() / (f.logical_id + ".zip");
      build.zip_digest = artifact::digest_bytes("zip of " + f.logical_id);
      artifacts.artifacts.push_back(build);
    }
  }

  support::Result<deploy::Desired> desired(const std::string& stage = {},
                                           const deploy::InfraValues* infra = nullptr) const {
    deploy::DesiredInputs inputs;
    inputs.infra = infra;
    inputs.stack = "shop";
    inputs.stage = stage;
    inputs.region = "eu-west-1";
    inputs.account = "111122223333";
    inputs.location = {"bucket", "shop"};
    return deploy::build_desired(model, artifacts, inputs);
  }
};

const char* const k_functions = R"(  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      AutoPublishAlias: live
      MemorySize: 256
      Environment:
        Variables:
          PLAIN: value
          OTHER_NAME: !Ref World
          OTHER_ARN: !GetAtt World.Arn
          MIXED: !Sub "${World}-suffix"
      DeploymentPreference:
        Type: Linear10PercentEvery2Minutes
      Events:
        Get:
          Type: Api
          Properties:
            Path: /hello
            Method: get
  World:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Events:
        Http:
          Type: HttpApi
          Properties:
            Path: /w
            Method: post
)";

} // namespace

TEST_CASE("desired: names, stage aliases, code, configuration, environment refs") {
  App app(k_functions);
  auto desired = app.desired();
  REQUIRE(desired.has_value());
  CHECK(desired->stage == "live"); // the common AutoPublishAlias
  const auto* hello = desired->function("Hello");
  REQUIRE(hello != nullptr);
  CHECK(hello->name == "shop-Hello");
  CHECK(hello->arn == "arn:aws:lambda:eu-west-1:111122223333:function:shop-Hello");
  CHECK(hello->alias == "live");
  CHECK(hello->code.sha256_hex == artifact::digest_bytes("zip of Hello").hex);
  CHECK(hello->code.sha256_base64 == artifact::digest_bytes("zip of Hello").base64);
  CHECK(hello->code.s3_key == "shop/" + hello->code.sha256_hex + ".zip");
  CHECK(hello->config.at("MemorySize") == 256);
  CHECK(hello->config.at("Role") == "arn:aws:iam::111122223333:role/shop-Hello-role");
  const auto& variables = hello->config.at("Environment").at("Variables").as_object();
  CHECK(variables.at("PLAIN") == "value");
  CHECK(variables.at("OTHER_NAME") == "shop-World");
  CHECK(variables.at("OTHER_ARN") == "arn:aws:lambda:eu-west-1:111122223333:function:shop-World");
  CHECK(variables.at("MIXED") == "shop-World-suffix");
  REQUIRE(hello->shift.has_value());
  CHECK(hello->shift->steps.size() == 10);
  CHECK(hello->tags.at("wisp:stack") == "shop");
  CHECK(desired->roles.size() == 2);
  // World has no AutoPublishAlias: it gets the stage's alias.
  CHECK(desired->function("World")->alias == "live");
  // The digest covers the configuration.
  App other(std::string(k_functions)
                .replace(std::string(k_functions).find("MemorySize: 256"), 15, "MemorySize: 512"));
  CHECK(other.desired()->function("Hello")->config_digest != hello->config_digest);
}

TEST_CASE("desired: one API many stages through the lambdaAlias stage variable") {
  App app(k_functions);
  auto dev = app.desired("dev");
  REQUIRE(dev.has_value());
  CHECK(dev->function("Hello")->alias == "dev");
  REQUIRE(dev->apis.size() == 2);
  const auto& rest = dev->apis[0].kind == "rest" ? dev->apis[0] : dev->apis[1];
  const auto& http = dev->apis[0].kind == "rest" ? dev->apis[1] : dev->apis[0];
  CHECK(rest.name == "shop-ServerlessRestApi");
  CHECK(rest.stage == "dev");
  CHECK(rest.variables.at("lambdaAlias") == "dev");
  REQUIRE(rest.routes.size() == 1);
  CHECK(rest.routes[0].integration_uri ==
        "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
        "arn:aws:lambda:eu-west-1:111122223333:function:shop-Hello:${stageVariables.lambdaAlias}/"
        "invocations");
  CHECK(http.stage == "dev");
  CHECK(http.routes[0].integration_uri ==
        "arn:aws:lambda:eu-west-1:111122223333:function:shop-World:${stageVariables.lambdaAlias}");
  CHECK(dev->function("Hello")->apis == std::vector<std::string>{"ServerlessRestApi"});
  // Without --stage, the implicit APIs keep their stage names.
  auto live = app.desired();
  for (const auto& api : live->apis)
    CHECK(api.stage == (api.kind == "rest" ? "Prod" : "$default"));
  // The same routes give the same definition digest in every stage.
  CHECK(live->apis[0].definition_digest == dev->apis[0].definition_digest);
}

TEST_CASE("desired: what wisp does not deploy is an error or a warning, never silent") {
  {
    App app(std::string(k_functions) + R"(  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Environment:
        Variables:
          TABLE: !Ref Table
)");
    auto desired = app.desired();
    REQUIRE_FALSE(desired.has_value());
    CHECK(desired.error().message.find("Ref Table (AWS::DynamoDB::Table) cannot be resolved") !=
          std::string::npos);
  }
  {
    App app(std::string(k_functions) + R"(  Queue:
    Type: AWS::SQS::Queue
  Consumer:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Events:
        Jobs:
          Type: SQS
          Properties:
            Queue: arn:aws:sqs:eu-west-1:111122223333:jobs
)");
    auto desired = app.desired();
    REQUIRE(desired.has_value());
    const auto& w = desired->warnings;
    CHECK(std::find(w.begin(), w.end(),
                    "Consumer: event sources are not deployed by wisp yet: Jobs (SQS)") != w.end());
    CHECK(std::find(w.begin(), w.end(), "Queue (AWS::SQS::Queue) is not deployed by wisp") !=
          w.end());
  }
}

TEST_CASE("desired: values of the infrastructure stack reach environment and policies") {
  App app(std::string(k_functions) + R"(  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Environment:
        Variables:
          TABLE: !Ref Table
          ARN: !GetAtt Table.Arn
      Policies:
        - DynamoDBCrudPolicy:
            TableName: !Ref Table
        - Statement:
            - Effect: Allow
              Action: dynamodb:GetItem
              Resource: !Sub "${Table.Arn}/index/*"
        - DynamoDBStreamReadPolicy:
            TableName: !Ref Table
            StreamName: !Select [3, !Split ["/", !GetAtt Table.StreamArn]]
)");
  deploy::InfraValues infra;
  infra.ids = {"Table"};
  // Before the stack is deployed the values are pending (for the plan only).
  auto before = app.desired({}, &infra);
  REQUIRE(before.has_value());
  const auto& pending = before->function("Worker")->config.at("Environment").at("Variables");
  CHECK(deploy::is_pending(pending.at("TABLE").as_string()));
  // Then the stack's outputs give them.
  infra.values = {{"Table", "shop-Table-X1"},
                  {"Table.Arn", "arn:aws:dynamodb:eu-west-1:111122223333:table/shop-Table-X1"},
                  {"Table.StreamArn",
                   "arn:aws:dynamodb:eu-west-1:111122223333:table/shop-Table-X1/stream/"
                   "2026-12-04T00:00:00.000"}};
  auto after = app.desired({}, &infra);
  REQUIRE(after.has_value());
  const auto& variables = after->function("Worker")->config.at("Environment").at("Variables");
  CHECK(variables.at("TABLE") == "shop-Table-X1");
  CHECK(variables.at("ARN") == "arn:aws:dynamodb:eu-west-1:111122223333:table/shop-Table-X1");
  const auto& role = after->roles.at("Worker").document;
  CHECK(deploy::canonical_json(role.inline_policies.at("WorkerRolePolicy0"))
            .find("table/shop-Table-X1/index/*") != std::string::npos);
  CHECK(role.inline_policies.at("WorkerRolePolicy1").at("Statement").at(0).at("Resource") ==
        "arn:aws:dynamodb:eu-west-1:111122223333:table/shop-Table-X1/index/*");
  // Fn::Select of Fn::Split of a stack value (a policy template's StreamName).
  CHECK(deploy::canonical_json(role.inline_policies.at("WorkerRolePolicy2"))
            .find("table/shop-Table-X1/stream/2026-12-04T00:00:00.000") != std::string::npos);
  // The warning about resources wisp does not deploy is gone for what the stack holds.
  CHECK(std::none_of(after->warnings.begin(), after->warnings.end(), [](const std::string& w) {
    return w.find("Table (AWS::DynamoDB::Table)") != std::string::npos;
  }));
}

namespace {

std::string orders_api(const std::string& request_schema, const std::string& response_ref) {
  return std::string(k_functions) + R"(  Orders:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      DefinitionBody:
        openapi: '3.0.1'
        info: {title: orders, version: '1'}
        components:
          schemas:
            Item: {type: object}
        paths:
          /orders:
            post:
              requestBody:
                content:
                  application/json:
                    schema: )" +
         request_schema + R"(
              responses:
                '200':
                  description: ok
                  content:
                    application/json:
                      schema: {$ref: ')" +
         response_ref + R"('}
                '500': {description: failed}
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Hello.Arn}/invocations
)";
}

const deploy::ApiSpec* api_named(const deploy::Desired& d, const std::string& id) {
  for (const auto& api : d.apis)
    if (api.logical_id == id)
      return &api;
  return nullptr;
}

} // namespace

TEST_CASE("desired: inline OpenAPI schemas become models named by where they are") {
  App app(orders_api("{type: object, required: [sku]}", "#/components/schemas/Item"));
  auto d = app.desired();
  REQUIRE(d.has_value());
  const auto* api = api_named(*d, "Orders");
  REQUIRE(api != nullptr);
  const auto route = std::find_if(api->routes.begin(), api->routes.end(),
                                  [](const deploy::RouteSpec& r) { return r.path == "/orders"; });
  REQUIRE(route != api->routes.end());
  // MODEL and the first six hex digits of the SHA-256 of the schema's place.
  const auto name =
      "MODEL" + support::sha256_hex("POST /orders request application/json").substr(0, 6);
  CHECK(route->request_models.at("application/json") == json::value(name));
  const auto model = std::find_if(api->models.begin(), api->models.end(),
                                  [&](const deploy::RestModelSpec& m) { return m.name == name; });
  REQUIRE(model != api->models.end());
  CHECK(model->schema.at("required") == json::array{"sku"});
  // A $ref response schema names the body's model; a response without a body has none.
  CHECK(route->method_responses.at("200").at("responseModels") ==
        json::object{{"application/json", "Item"}});
  CHECK(route->method_responses.at("500").empty());
  CHECK(d->warnings.empty());
  // Another schema in the same place: the same model name (the model is updated, not replaced).
  App changed(orders_api("{type: object, required: [sku, count]}", "#/components/schemas/Item"));
  auto again = changed.desired();
  REQUIRE(again.has_value());
  const auto* api2 = api_named(*again, "Orders");
  CHECK(std::any_of(api2->models.begin(), api2->models.end(),
                    [&](const deploy::RestModelSpec& m) { return m.name == name; }));
  CHECK(api2->definition_digest != api->definition_digest);
  // API Gateway's own Empty may be named without being defined; another undefined one is an error.
  App empty(orders_api("{type: object}", "#/components/schemas/Empty"));
  auto with_empty = empty.desired();
  REQUIRE(with_empty.has_value());
  const auto* api3 = api_named(*with_empty, "Orders");
  CHECK(std::any_of(api3->models.begin(), api3->models.end(),
                    [](const deploy::RestModelSpec& m) { return m.name == "Empty" && m.builtin; }));
  App missing(orders_api("{type: object}", "#/components/schemas/Nope"));
  auto refused = missing.desired();
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message.find("response 200 names model Nope, which the body does not "
                                     "define") != std::string::npos);
}
