#include "template_test_support.hpp"

#include <wisp/scaffold/runtimes.hpp>

#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>
#include <fmt/ranges.h>

using namespace wisp;
using namespace wisp::test;

namespace {

std::string json(const boost::json::value& value) {
  return boost::json::serialize(value);
}

} // namespace

TEST_CASE("a common template loads into the model") {
  TemplateFixture t;
  t.write("src/app.py", "def handler(e, c): return {}\n");
  const auto r = t.load(std::string(k_header) + R"(
Description: demo
Parameters:
  Stage:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
Globals:
  Function:
    Runtime: python3.13
    Timeout: 10
    Environment:
      Variables:
        STAGE: !Ref Stage
        SHARED: global
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      CodeUri: src/
      MemorySize: 512
      Architectures: [arm64]
      Environment:
        Variables:
          TABLE: !Ref Table
          NAME: !Sub '${AWS::StackName}-${Stage}'
          ARN: !GetAtt Table.Arn
          SHARED: local
      Events:
        Hello:
          Type: Api
          Properties:
            Path: /hello/{name}
            Method: get
        Any:
          Type: HttpApi
  Table:
    Type: AWS::Serverless::SimpleTable
)");
  INFO(joined(r));
  REQUIRE_FALSE(r.diagnostics.has_errors());
  const auto& m = r.model;
  CHECK(m.description == "demo");
  CHECK(m.parameters.at("Stage") == "dev");
  REQUIRE(m.functions.size() == 1);
  const auto& f = m.functions[0];
  CHECK(f.logical_id == "HelloFunction");
  CHECK(f.resource_type == "AWS::Serverless::Function");
  CHECK(f.handler == "app.handler");
  CHECK(f.runtime == "python3.13");
  CHECK(f.timeout == 10);
  CHECK(f.memory_size == 512);
  CHECK(f.architectures == std::vector<std::string>{"arm64"});
  CHECK(f.code_dir == (t.dir.path() / "src").lexically_normal());
  CHECK(f.environment.at("STAGE") == "dev");
  CHECK(f.environment.at("SHARED") == "local");
  CHECK(f.environment.at("TABLE") == "Table");
  CHECK(f.environment.at("NAME") == "local-dev");
  CHECK(f.environment.at("ARN").empty());
  CHECK(f.unresolved_environment == std::vector<std::string>{"ARN"});
  REQUIRE(f.events.size() == 2);
  CHECK(f.events[0].name == "Hello");
  CHECK(f.events[0].type == "Api");
  CHECK(json(f.events[0].properties) == R"({"Path":"/hello/{name}","Method":"get"})");
  CHECK(f.source.line == 19);
  CHECK(f.source.column == 3);

  REQUIRE(m.apis.size() == 2);
  const auto* rest = m.find_api("ServerlessRestApi");
  REQUIRE(rest);
  CHECK(rest->implicit);
  CHECK(rest->kind == sam::ApiKind::rest);
  CHECK(rest->stage_name == "Prod");
  const auto* http = m.find_api("ServerlessHttpApi");
  REQUIRE(http);
  CHECK(http->stage_name == "$default");

  REQUIRE(m.routes.size() == 2);
  CHECK(m.routes[0].api_logical_id == "ServerlessRestApi");
  CHECK(m.routes[0].method == "GET");
  CHECK(m.routes[0].path == "/hello/{name}");
  CHECK(m.routes[0].payload_format_version == "1.0");
  CHECK(m.routes[0].function_logical_id == "HelloFunction");
  CHECK(m.routes[0].event_name == "Hello");
  CHECK(m.routes[1].api_logical_id == "ServerlessHttpApi");
  CHECK(m.routes[1].method == "ANY");
  CHECK(m.routes[1].path == "$default");
  CHECK(m.routes[1].payload_format_version == "2.0");
  CHECK(m.find_resource("Table") != nullptr);
  CHECK(m.find_resource("ServerlessRestApi") != nullptr);
}

TEST_CASE("parameter overrides in both SAM forms, pseudo parameters, NoEcho") {
  auto parsed = sam::parse_parameter_overrides(
      {"A=1 B='two words'",
       "ParameterKey=C,ParameterValue=x,y ParameterKey=D,ParameterValue=\"q r\""});
  REQUIRE(parsed);
  REQUIRE(parsed->size() == 4);
  CHECK((*parsed)[0] == std::pair<std::string, std::string>{"A", "1"});
  CHECK((*parsed)[1] == std::pair<std::string, std::string>{"B", "two words"});
  CHECK((*parsed)[2] == std::pair<std::string, std::string>{"C", "x,y"});
  CHECK((*parsed)[3] == std::pair<std::string, std::string>{"D", "q r"});
  auto bad = sam::parse_parameter_overrides({"novalue"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().exit_code == support::ExitCode::usage);
  CHECK(bad.error().message == "--parameter-overrides: 'novalue' is neither Key=Value nor "
                               "ParameterKey=Key,ParameterValue=Value");

  TemplateFixture t;
  sam::LoadOptions options;
  options.parameter_overrides = {"Size=256 Secret=hunter2 Names=a,b,c"};
  options.region = "eu-west-1";
  const auto r = t.load(std::string(k_header) + R"(
Parameters:
  Size: {Type: Number, Default: 128, MinValue: 128}
  Secret: {Type: String, NoEcho: true}
  Names: {Type: CommaDelimitedList}
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub '${AWS::StackName}-${AWS::Region}-${AWS::AccountId}-${AWS::Partition}-${Size}'
      DisplayName: !Select [1, !Ref Names]
      Tags:
        - Key: k
          Value: !Join ['|', !Ref Names]
        - Key: zones
          Value: !Select [0, !GetAZs '']
        - Key: nope
          Value: !Ref AWS::NoValue
        - !Ref AWS::NoValue
)",
                        options);
  INFO(joined(r));
  REQUIRE_FALSE(r.diagnostics.has_errors());
  const auto* topic = r.model.find_resource("Topic");
  REQUIRE(topic);
  CHECK(
      json(topic->properties) ==
      R"({"TopicName":"local-eu-west-1-123456789012-aws-256","DisplayName":"b","Tags":[{"Key":"k","Value":"a|b|c"},{"Key":"zones","Value":"eu-west-1a"},{"Key":"nope"}]})");
  CHECK(r.model.no_echo_parameters.count("Secret") == 1);
  CHECK(r.model.parameters.at("Secret") == "hunter2");
}

TEST_CASE("parameter constraints are checked; NoEcho values never printed") {
  TemplateFixture t;
  sam::LoadOptions options;
  options.parameter_overrides = {"Env=qa Pass=abc Count=0 Other=1"};
  const auto r = t.load(std::string(k_header) + R"(Parameters:
  Env: {Type: String, AllowedValues: [dev, prod]}
  Pass: {Type: String, NoEcho: true, MinLength: 8, AllowedPattern: '[A-Za-z0-9]+'}
  Count: {Type: Number, MinValue: 1, MaxValue: 10}
  Name: {Type: String, Default: toolongname, MaxLength: 4}
  Code: {Type: String, Default: ab-1, AllowedPattern: '^[a-z]+$'}
Resources:
  Topic: {Type: AWS::SNS::Topic}
)",
                        options);
  CHECK(joined(r) ==
        "0:0: warning: --parameter-overrides sets 'Other', which is not a parameter of the "
        "template [parameter-unknown]\n"
        "4:3: error: parameter 'Env': 'qa' (from --parameter-overrides) is not one of the "
        "AllowedValues (dev, prod) [parameter-value]\n"
        "5:3: error: parameter 'Pass': (NoEcho value) (from --parameter-overrides) is shorter "
        "than MinLength 8 [parameter-value]\n"
        "6:3: error: parameter 'Count': '0' (from --parameter-overrides) is less than MinValue "
        "1 [parameter-value]\n"
        "7:33: error: parameter 'Name': 'toolongname' is longer than MaxLength 4 "
        "[parameter-value]\n"
        "8:33: error: parameter 'Code': 'ab-1' does not match the AllowedPattern ^[a-z]+$ "
        "[parameter-value]\n");
}

TEST_CASE("conditions: evaluated, a false resource Condition removes the resource, Fn::If picks") {
  TemplateFixture t;
  sam::LoadOptions options;
  options.parameter_overrides = {"Stage=prod"};
  const auto r = t.load(std::string(k_header) + R"(
Parameters:
  Stage: {Type: String, Default: dev}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, !Or [!Condition IsDev, !Equals [a, a]]]
Resources:
  DevOnly:
    Type: AWS::SNS::Topic
    Condition: IsDev
  ProdOnly:
    Type: AWS::SNS::Topic
    Condition: Both
    Properties:
      TopicName: !If [IsProd, prod-topic, dev-topic]
      DisplayName: !If [IsDev, x, !Ref AWS::NoValue]
Outputs:
  Dev:
    Condition: IsDev
    Value: !Ref DevOnly
  Prod:
    Value: !Ref ProdOnly
)",
                        options);
  INFO(joined(r));
  REQUIRE_FALSE(r.diagnostics.has_errors());
  CHECK(r.model.find_resource("DevOnly") == nullptr);
  const auto* prod = r.model.find_resource("ProdOnly");
  REQUIRE(prod);
  CHECK(json(prod->properties) == R"({"TopicName":"prod-topic"})");
  CHECK(json(r.model.outputs) == R"({"Prod":{"Value":{"Ref":"ProdOnly"}}})");
}

TEST_CASE("Globals merge: scalars local, mappings merged, lists concatenated, IgnoreGlobals") {
  TemplateFixture t;
  t.write("src/app.py", "");
  const auto r = t.load(std::string(k_header) + R"(
Globals:
  Function:
    Runtime: python3.13
    Handler: app.handler
    CodeUri: src/
    MemorySize: 256
    Layers: [arn:aws:lambda:us-east-1:123456789012:layer:a:1]
    Tags: {team: core, env: dev}
  Api:
    Cors: "'*'"
    BinaryMediaTypes: [image~1png]
Resources:
  A:
    Type: AWS::Serverless::Function
    Properties:
      MemorySize: 1024
      Layers: [arn:aws:lambda:us-east-1:123456789012:layer:b:1]
      Tags: {env: prod}
      Events:
        Get: {Type: Api, Properties: {Path: /a, Method: get}}
  B:
    Type: AWS::Serverless::Function
    IgnoreGlobals: [MemorySize, Layers]
    Properties: {}
)");
  INFO(joined(r));
  REQUIRE_FALSE(r.diagnostics.has_errors());
  const auto* a = r.model.find_function("A");
  REQUIRE(a);
  CHECK(a->memory_size == 1024);
  REQUIRE(a->layers.size() == 2);
  CHECK(a->layers[0].literal == "arn:aws:lambda:us-east-1:123456789012:layer:a:1");
  CHECK(a->layers[1].literal == "arn:aws:lambda:us-east-1:123456789012:layer:b:1");
  CHECK(a->tags == std::map<std::string, std::string>{{"env", "prod"}, {"team", "core"}});
  const auto* b = r.model.find_function("B");
  REQUIRE(b);
  CHECK(b->memory_size == 128);
  CHECK(b->layers.empty());
  CHECK(b->handler == "app.handler");
  const auto* api = r.model.find_api("ServerlessRestApi");
  REQUIRE(api);
  REQUIRE(api->cors);
  CHECK(api->cors->allow_origins == std::vector<std::string>{"*"});
  CHECK(api->binary_media_types == std::vector<std::string>{"image/png"});
}

TEST_CASE("function code forms, image functions, AWS::Lambda::Function, layers") {
  TemplateFixture t;
  t.write("layer/python/x.py", "");
  const auto r = t.load(std::string(k_header) + R"(
Resources:
  S3Uri:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.h, Runtime: python3.13, CodeUri: s3://bucket/key.zip}
  S3Object:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.h, Runtime: python3.13, CodeUri: {Bucket: b, Key: k.zip}}
  Inline:
    Type: AWS::Serverless::Function
    Properties: {Handler: index.handler, Runtime: nodejs22.x, InlineCode: "exports.handler=1"}
  Image:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1
      ImageConfig: {Command: [app.handler], WorkingDirectory: /var/task}
  Plain:
    Type: AWS::Lambda::Function
    Properties:
      Handler: index.handler
      Runtime: nodejs22.x
      Role: !GetAtt Role.Arn
      Code: {ZipFile: "exports.handler = async () => 1"}
      TracingConfig: {Mode: Active}
  Role:
    Type: AWS::IAM::Role
    Properties: {AssumeRolePolicyDocument: {}}
  Deps:
    Type: AWS::Serverless::LayerVersion
    Properties:
      LayerName: deps
      ContentUri: layer/
      CompatibleRuntimes: [python3.13]
      RetentionPolicy: Delete
)");
  INFO(joined(r));
  REQUIRE_FALSE(r.diagnostics.has_errors());
  const auto& m = r.model;
  CHECK(m.find_function("S3Uri")->code_s3_uri == "s3://bucket/key.zip");
  CHECK(m.find_function("S3Object")->code_s3_uri == "s3://b/k.zip");
  CHECK(m.find_function("Inline")->inline_code.value() == "exports.handler=1");
  const auto* image = m.find_function("Image");
  CHECK(image->package_type == sam::PackageType::image);
  CHECK(image->image_config.command == std::vector<std::string>{"app.handler"});
  CHECK(image->image_config.working_directory == "/var/task");
  const auto* plain = m.find_function("Plain");
  CHECK(plain->resource_type == "AWS::Lambda::Function");
  CHECK(plain->role.logical_id == "Role");
  CHECK(plain->tracing == "Active");
  CHECK(plain->inline_code.value() == "exports.handler = async () => 1");
  REQUIRE(m.layers.size() == 1);
  CHECK(m.layers[0].layer_name == "deps");
  CHECK(m.layers[0].content_dir == (t.dir.path() / "layer").lexically_normal());
  CHECK(m.layers[0].compatible_runtimes == std::vector<std::string>{"python3.13"});
  CHECK(m.layers[0].retention_policy == "Delete");
}

TEST_CASE("explicit APIs: stage, variables, CORS, auth, canary, method settings, routes") {
  TemplateFixture t;
  t.write("src/index.js", "");
  const auto r = t.load(std::string(k_header) + R"(
Resources:
  Rest:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      Variables: {color: blue}
      Cors:
        AllowOrigin: "'https://example.com'"
        AllowMethods: "'GET,POST'"
        MaxAge: "'600'"
      CanarySetting: {PercentTraffic: 10}
      MethodSettings:
        - {ResourcePath: /*, HttpMethod: '*', ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10}
      Auth:
        DefaultAuthorizer: Token
        Authorizers:
          Token:
            FunctionArn: !GetAtt AuthFn.Arn
            Identity: {Header: X-Token, ReauthorizeEvery: 60}
          Req:
            FunctionArn: !GetAtt AuthFn.Arn
            FunctionPayloadType: REQUEST
            Identity: {Headers: [A], QueryStrings: [q]}
          Pool:
            UserPoolArn: arn:aws:cognito-idp:us-east-1:123456789012:userpool/x
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageName: live
      StageVariables: {mode: fast}
      CorsConfiguration: {AllowOrigins: ['*'], MaxAge: 60}
      Auth:
        Authorizers:
          Jwt:
            JwtConfiguration: {issuer: https://issuer, audience: [aud]}
          Lam:
            FunctionArn: !GetAtt AuthFn.Arn
            AuthorizerPayloadFormatVersion: '2.0'
            EnableSimpleResponses: true
            Identity: {Headers: [Authorization]}
  AuthFn:
    Type: AWS::Serverless::Function
    Properties: {Handler: index.auth, Runtime: nodejs22.x, CodeUri: src/}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.handler
      Runtime: nodejs22.x
      CodeUri: src/
      Events:
        R1: {Type: Api, Properties: {RestApiId: !Ref Rest, Path: '/items/{id}', Method: any, Auth: {Authorizer: NONE}}}
        R2: {Type: Api, Properties: {RestApiId: !Ref Rest, Path: '/{proxy+}', Method: post}}
        H1: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /x, Method: GET, PayloadFormatVersion: '1.0', Auth: {Authorizer: Jwt}}}
)");
  INFO(joined(r));
  REQUIRE_FALSE(r.diagnostics.has_errors());
  const auto* rest = r.model.find_api("Rest");
  REQUIRE(rest);
  CHECK(rest->stage_name == "v1");
  CHECK(rest->stage_variables.at("color") == "blue");
  REQUIRE(rest->cors);
  CHECK(rest->cors->allow_origins == std::vector<std::string>{"https://example.com"});
  CHECK(rest->cors->allow_methods == std::vector<std::string>{"GET", "POST"});
  CHECK(rest->cors->max_age.value() == 600);
  CHECK(json(rest->canary_setting.value()) == R"({"PercentTraffic":10})");
  REQUIRE(rest->method_settings.size() == 1);
  CHECK(rest->method_settings[0].throttling_burst_limit.value() == 10);
  CHECK(rest->default_authorizer == "Token");
  const auto& token = rest->authorizers.at("Token");
  CHECK(token.kind == sam::Authorizer::Kind::lambda_token);
  CHECK(token.function_logical_id == "AuthFn");
  CHECK(token.identity_sources == std::vector<std::string>{"method.request.header.X-Token"});
  CHECK(token.ttl_seconds == 60);
  const auto& req = rest->authorizers.at("Req");
  CHECK(req.kind == sam::Authorizer::Kind::lambda_request);
  CHECK(req.identity_sources ==
        std::vector<std::string>{"method.request.header.A", "method.request.querystring.q"});
  CHECK(rest->authorizers.at("Pool").kind == sam::Authorizer::Kind::cognito);
  const auto* http = r.model.find_api("Http");
  REQUIRE(http);
  CHECK(http->stage_name == "live");
  CHECK(http->stage_variables.at("mode") == "fast");
  CHECK(http->cors->max_age.value() == 60);
  const auto& jwt = http->authorizers.at("Jwt");
  CHECK(jwt.kind == sam::Authorizer::Kind::jwt);
  CHECK(jwt.jwt_issuer == "https://issuer");
  CHECK(jwt.identity_sources == std::vector<std::string>{"$request.header.Authorization"});
  const auto& lam = http->authorizers.at("Lam");
  CHECK(lam.payload_format_version == "2.0");
  CHECK(lam.enable_simple_responses);
  REQUIRE(r.model.routes.size() == 3);
  CHECK(r.model.routes[0].method == "ANY");
  CHECK(r.model.routes[0].authorizer == "NONE");
  CHECK(r.model.routes[1].path == "/{proxy+}");
  CHECK(r.model.routes[2].kind == sam::ApiKind::http);
  CHECK(r.model.routes[2].payload_format_version == "1.0");
  CHECK(r.model.routes[2].authorizer == "Jwt");
}

TEST_CASE("a REST API's Cors without AllowOrigin allows every origin, as SAM's default") {
  // aws-sam-translator's CorsProperties default AllowOrigin to "'*'"; the rest stay unset.
  TemplateFixture t;
  t.write("src/index.js", "");
  const auto r = t.load(std::string(k_header) + R"(
Resources:
  Rest:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      Cors:
        AllowMethods: "'GET,PUT'"
        AllowHeaders: "'Content-Type'"
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.handler
      Runtime: nodejs22.x
      CodeUri: src/
      Events:
        Put: {Type: Api, Properties: {RestApiId: !Ref Rest, Path: /items, Method: put}}
)");
  INFO(joined(r));
  REQUIRE_FALSE(r.diagnostics.has_errors());
  const auto* rest = r.model.find_api("Rest");
  REQUIRE(rest);
  REQUIRE(rest->cors);
  CHECK(rest->cors->allow_origins == std::vector<std::string>{"*"});
  CHECK(rest->cors->allow_methods == std::vector<std::string>{"GET", "PUT"});
  CHECK(rest->cors->allow_headers == std::vector<std::string>{"Content-Type"});
  CHECK_FALSE(rest->cors->allow_credentials);
}

TEST_CASE("routes from an OpenAPI DefinitionBody with aws_proxy integrations") {
  TemplateFixture t;
  t.write("src/app.py", "");
  const auto r = t.load(std::string(k_header) + R"(
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      DefinitionBody:
        openapi: '3.0.1'
        paths:
          /pets:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${PetsFn.Arn}/invocations
            options:
              x-amazon-apigateway-integration: {type: mock}
          /pets/{id}:
            x-amazon-apigateway-any-method:
              security: [{MyAuth: []}]
              x-amazon-apigateway-integration:
                type: AWS_PROXY
                uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:pets-fn/invocations
  PetsFn:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.h, Runtime: python3.13, CodeUri: src/, FunctionName: pets-fn}
)");
  INFO(joined(r));
  REQUIRE_FALSE(r.diagnostics.has_errors());
  REQUIRE(r.model.routes.size() == 2);
  CHECK(r.model.routes[0].method == "GET");
  CHECK(r.model.routes[0].path == "/pets");
  CHECK(r.model.routes[0].function_logical_id == "PetsFn");
  CHECK(r.model.routes[0].event_name.empty());
  CHECK(r.model.routes[1].method == "ANY");
  CHECK(r.model.routes[1].path == "/pets/{id}");
  CHECK(r.model.routes[1].authorizer == "MyAuth");
  const auto* api = r.model.find_api("Api");
  REQUIRE(api->definition_body);
  CHECK(api->definition_body->as_object().at("openapi").as_string() == "3.0.1");
}

TEST_CASE("GetAtt and ImportValue stay symbolic; ImportValue can be overridden") {
  TemplateFixture t;
  sam::LoadOptions options;
  options.import_values = {{"shared-vpc", "vpc-123"}};
  const auto r = t.load(std::string(k_header) + R"(
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !ImportValue shared-vpc
      DisplayName: !ImportValue other
      KmsMasterKeyId: !GetAtt Key.Arn
      Tags:
        - Key: a
          Value: !Sub 'x-${Key.Arn}-${AWS::Region}-${!Literal}'
        - Key: b
          Value: !Base64 hello
  Key: {Type: AWS::KMS::Key}
)",
                        options);
  INFO(joined(r));
  REQUIRE_FALSE(r.diagnostics.has_errors());
  CHECK(
      json(r.model.find_resource("Topic")->properties) ==
      R"({"TopicName":"vpc-123","DisplayName":{"Fn::ImportValue":"other"},"KmsMasterKeyId":{"Fn::GetAtt":["Key","Arn"]},"Tags":[{"Key":"a","Value":{"Fn::Sub":"x-${Key.Arn}-us-east-1-${!Literal}"}},{"Key":"b","Value":"aGVsbG8="}]})");
}

TEST_CASE("default template path and missing files") {
  TemplateFixture t;
  CHECK_FALSE(sam::default_template_path(t.dir.path()));
  t.write("template.yml", "x");
  CHECK(sam::default_template_path(t.dir.path()).value() == t.dir.path() / "template.yml");
  t.write("template.yaml", "x");
  CHECK(sam::default_template_path(t.dir.path()).value() == t.dir.path() / "template.yaml");
  sam::LoadOptions options;
  options.template_path = t.dir.path();
  const auto r = sam::load(options);
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics.items()[0].code == "template-read");
  CHECK(r.diagnostics.items()[0].message.find("is a directory") != std::string::npos);
  CHECK_FALSE(sam::resolve_template_path(t.dir.path() / "nope.yaml"));
}

TEST_CASE("plain API Gateway resources become APIs, authorizers and routes") {
  sam::LoadOptions options;
  options.template_path = std::filesystem::path(WISP_TEST_DATA_DIR) / "fixtures" / "templates" /
                          "valid" / "plain-api-gateway.yaml";
  const auto r = sam::load(options);
  INFO(joined(r));
  REQUIRE_FALSE(r.diagnostics.has_errors());
  const auto& m = r.model;
  const auto& rest = must(m.find_api("RestApi"));
  CHECK(rest.kind == sam::ApiKind::rest);
  CHECK(rest.stage_name == "live");
  CHECK(rest.stage_variables.at("color") == "green");
  CHECK(rest.binary_media_types == std::vector<std::string>{"image/png"});
  const auto& token = rest.authorizers.at("TokenAuthorizer");
  CHECK(token.kind == sam::Authorizer::Kind::lambda_token);
  CHECK(token.function_logical_id == "Handler");
  CHECK(token.ttl_seconds == 60);
  const auto& http = must(m.find_api("HttpApi"));
  CHECK(http.kind == sam::ApiKind::http);
  CHECK(http.stage_name == "$default");
  CHECK(http.stage_variables.at("mode") == "fast");
  CHECK(http.authorizers.at("JwtAuthorizer").jwt_audience == std::vector<std::string>{"orders"});
  CHECK(must(m.find_api("QuickApi")).stage_name == "$default");

  std::vector<std::string> routes;
  for (const auto& route : m.routes)
    routes.push_back(fmt::format("{} {} {} {} {} {}", route.api_logical_id, route.method,
                                 route.path, route.payload_format_version,
                                 route.function_logical_id, route.authorizer));
  INFO(fmt::format("{}", fmt::join(routes, " | ")));
  CHECK(routes == std::vector<std::string>{
                      "RestApi GET /extra 1.0 Handler ",
                      "QuickApi ANY $default 2.0 Handler ",
                      "RestApi GET /users/{id} 1.0 Handler TokenAuthorizer",
                      "RestApi ANY / 1.0 Handler NONE",
                      "HttpApi POST /orders/{id} 2.0 Handler JwtAuthorizer",
                  });
}

TEST_CASE("--lint adds best-practice warnings, never errors") {
  TemplateFixture t;
  const std::string text = std::string(k_header) + R"(Parameters:
  Unused: {Type: String, Default: x}
  Used: {Type: String, Default: y}
Conditions:
  Never: !Equals [!Ref Used, z]
Mappings:
  Nothing: {a: {b: c}}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs22.x
      Handler: index.handler
      InlineCode: x
      Timeout: 60
      ReservedConcurrentExecutions: 0
      AutoPublishAlias: live
      DeploymentPreference:
        Type: Canary10Percent5Minutes
      Environment:
        Variables:
          DB_PASSWORD: hunter2
          API_TOKEN: '{{resolve:secretsmanager:tok}}'
          NAME: !Sub plain
      Policies:
        - AdministratorAccess
        - Statement:
            - Effect: Allow
              Action: '*'
              Resource: '*'
      Events:
        Get: {Type: Api, Properties: {Path: /, Method: get}}
)";
  CHECK(t.load(text).diagnostics.empty());
  sam::LoadOptions options;
  options.lint = true;
  const auto r = t.load(text, options);
  CHECK_FALSE(r.diagnostics.has_errors());
  CHECK(joined(r) ==
        "4:3: warning: the parameter 'Unused' is not used [lint-unused-parameter]\n"
        "7:3: warning: the condition 'Never' is not used [lint-unused-condition]\n"
        "9:3: warning: the mapping 'Nothing' is not used [lint-unused-mapping]\n"
        "14:16: warning: the runtime nodejs22.x is deprecated on 2027-04-30 (158 days from "
        "now); plan the move to nodejs24.x [lint-runtime-deprecating]\n"
        "17:16: warning: Timeout 60 s is longer than a REST API's 29 s integration limit "
        "(event 'Get') [lint-api-timeout]\n"
        "18:37: warning: ReservedConcurrentExecutions 0 throttles every invocation of the "
        "function [lint-reserved-zero]\n"
        "21:9: warning: DeploymentPreference Canary10Percent5Minutes has no Alarms: a bad "
        "version is only rolled back by a failing hook [lint-deployment-alarms]\n"
        "24:24: warning: 'DB_PASSWORD' looks like a secret written in plain text; use a "
        "{{resolve:secretsmanager:...}} or {{resolve:ssm:...}} reference, or read it at run "
        "time [lint-env-secret]\n"
        "26:17: warning: Fn::Sub without variables: a plain string does the same "
        "[lint-sub-needless]\n"
        "28:11: warning: AdministratorAccess gives the function every right "
        "[lint-policy-admin]\n"
        "30:15: warning: a policy statement allows every action on every resource "
        "[lint-policy-admin]\n");
}

TEST_CASE("wisp init and wisp validate judge runtimes by the same lifecycle dates") {
  TemplateFixture t;
  for (const auto& runtime : scaffold::served_runtimes()) {
    for (const char* day : {"2026-05-31", "2026-07-01", "2026-11-23", "2027-06-01", "2029-08-01"}) {
      INFO(runtime, " on ", day);
      sam::LoadOptions options;
      options.today = day;
      const auto r = t.load(std::string(k_header) +
                                "Resources:\n  Fn:\n"
                                "    Type: AWS::Serverless::Function\n"
                                "    Properties:\n      Runtime: " +
                                runtime + "\n      Handler: index.handler\n      InlineCode: x\n",
                            options);
      const auto text = joined(r);
      const auto state = scaffold::check_runtime(runtime, day).state;
      // init refuses exactly when validate says creating is no longer allowed, and warns
      // exactly when validate warns of a deprecation with creation still possible.
      CHECK((state == scaffold::RuntimeState::blocked) ==
            (text.find("no longer allows creating") != std::string::npos));
      CHECK((state == scaffold::RuntimeState::deprecated) ==
            (text.find("creating functions is blocked from") != std::string::npos));
    }
  }
}

TEST_CASE("SAM's references to generated resources: in the model, and local values in the "
          "environment") {
  test::TemplateFixture fixture;
  const std::string text = std::string(test::k_header) + R"yaml(Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: worker
      InlineCode: "exports.handler = async () => ({})"
      Handler: index.handler
      Runtime: nodejs22.x
      AutoPublishAlias: live-1
  Plain:
    Type: AWS::Serverless::Function
    Properties:
      InlineCode: "exports.handler = async () => ({})"
      Handler: index.handler
      Runtime: nodejs22.x
      Environment:
        Variables:
          ALIAS: !Ref Worker.Alias
          STAGE_URL: !Sub 'https://${Orders}.execute-api.${AWS::Region}.amazonaws.com/${Orders.Stage}/x'
          HTTP_STAGE: !Ref Events.Stage
          VERSION: !Ref Worker.Version
  Orders:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
  Events:
    Type: AWS::Serverless::HttpApi
)yaml";
  const auto result = fixture.load(text);
  INFO(test::joined(result));
  REQUIRE_FALSE(result.diagnostics.has_errors());
  const auto& model = result.model;
  const auto& alias = test::must(model.find_generated_ref("Worker.Alias"));
  CHECK(alias.type == "AWS::Lambda::Alias");
  CHECK(alias.logical_id == "WorkerAliasliveD1"); // as samtranslator: '-' → 'D', '_' → 'U'
  CHECK(alias.name == "live-1");
  CHECK(test::must(model.find_generated_ref("Worker.Version")).hashed);
  const auto& stage = test::must(model.find_generated_ref("Orders.Stage"));
  CHECK(stage.logical_id == "OrdersprodStage");
  CHECK(stage.name == "prod");
  CHECK(test::must(model.find_generated_ref("Events.Stage")).name == "$default");
  CHECK(model.find_generated_ref("Events.Deployment") == nullptr);
  CHECK(model.find_generated_ref("Plain.Alias") == nullptr);

  const auto& plain = test::must(model.find_function("Plain"));
  CHECK(plain.environment.at("ALIAS") ==
        "arn:aws:lambda:us-east-1:123456789012:function:worker:live-1");
  CHECK(plain.environment.at("STAGE_URL") ==
        "https://Orders.execute-api.us-east-1.amazonaws.com/prod/x");
  CHECK(plain.environment.at("HTTP_STAGE") == "$default");
  // A version's number is only known once deployed.
  CHECK(plain.environment.at("VERSION").empty());
}
