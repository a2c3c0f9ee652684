#include <wisp/artifact/packaged.hpp>

#include <doctest/doctest.h>

using namespace wisp::artifact;

TEST_CASE("packaged template: CodeUri/ContentUri rewritten, everything else kept") {
  const std::string text = R"(AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
# a comment that stays
Globals:
  Function:
    Timeout: 10
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: makefile
    Properties:
      CodeUri: hello/   # the code
      Handler: app.handler
      Environment:
        Variables:
          TABLE: !Ref Table
          N: "123"
      Layers:
        - !Ref Libs
  Quoted:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: "quoted dir/"
      Handler: app.handler
  FromGlobals:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
  Libs:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: libs
  Raw:
    Type: AWS::Lambda::Function
    Properties:
      Code: raw/
      Handler: index.handler
  RawLayer:
    Type: AWS::Lambda::LayerVersion
    Properties:
      Content:
        S3Bucket: old
        S3Key: old.zip
      CompatibleRuntimes: [python3.12]
Outputs:
  Fn:
    Value: !GetAtt Hello.Arn
)";
  const std::vector<ArtifactLocation> locations = {
      {"Hello", "bucket", "p/aaa.zip", "", "", {}, {}, {}},
      {"Quoted", "bucket", "p/bbb.zip", "", "", {}, {}, {}},
      {"FromGlobals", "bucket", "p/ccc.zip", "", "", {}, {}, {}},
      {"Libs", "bucket", "p/ddd.zip", "", "", {}, {}, {}},
      {"Raw", "bucket", "p/eee.zip", "", "", {}, {}, {}},
      {"RawLayer", "bucket", "p/fff.zip", "", "", {}, {}, {}},
  };
  auto out = rewrite_template(text, "template.yaml", locations);
  REQUIRE_MESSAGE(out, out.error().message);
  CHECK(*out == R"(AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
# a comment that stays
Globals:
  Function:
    Timeout: 10
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: makefile
    Properties:
      CodeUri: s3://bucket/p/aaa.zip   # the code
      Handler: app.handler
      Environment:
        Variables:
          TABLE: !Ref Table
          N: "123"
      Layers:
        - !Ref Libs
  Quoted:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: "s3://bucket/p/bbb.zip"
      Handler: app.handler
  FromGlobals:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://bucket/p/ccc.zip
      Handler: app.handler
  Libs:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: s3://bucket/p/ddd.zip
  Raw:
    Type: AWS::Lambda::Function
    Properties:
      Code: {S3Bucket: bucket, S3Key: p/eee.zip}
      Handler: index.handler
  RawLayer:
    Type: AWS::Lambda::LayerVersion
    Properties:
      Content: {S3Bucket: bucket, S3Key: p/fff.zip}
      CompatibleRuntimes: [python3.12]
Outputs:
  Fn:
    Value: !GetAtt Hello.Arn
)");
}

TEST_CASE("packaged template: JSON, images, local paths") {
  const std::string text =
      R"({"Resources": {"A": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "a/", "Runtime": "python3.12"}},
 "B": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "x"}},
 "Img": {"Type": "AWS::Lambda::Function", "Properties": {"PackageType": "Image"}}}})";
  auto out = rewrite_template(text, "t.json",
                              {{"A", "", "", "", "artifacts/A.zip", {}, {}, {}},
                               {"B", "bk", "k.zip", "", "", {}, {}, {}},
                               {"Img", "", "", "127.0.0.1:5000/app:img-1", "", {}, {}, {}}});
  REQUIRE_MESSAGE(out, out.error().message);
  CHECK(
      *out ==
      R"({"Resources": {"A": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "artifacts/A.zip", "Runtime": "python3.12"}},
 "B": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "s3://bk/k.zip", "Handler": "x"}},
 "Img": {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"ImageUri": "127.0.0.1:5000/app:img-1"}, "PackageType": "Image"}}}})");
}

TEST_CASE("packaged template: problems are errors") {
  CHECK_FALSE(rewrite_template("Resources: [", "t.yaml", {}));
  auto missing = rewrite_template("Resources:\n  A:\n    Type: AWS::S3::Bucket\n", "t.yaml",
                                  {{"B", "b", "k", "", "", {}, {}, {}}});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "t.yaml: no resource B to point at its artifact");
  auto bucket =
      rewrite_template("Resources:\n  A:\n    Type: AWS::S3::Bucket\n    Properties: {}\n",
                       "t.yaml", {{"A", "b", "k", "", "", {}, {}, {}}});
  REQUIRE_FALSE(bucket);
  CHECK(bucket.error().message ==
        "t.yaml: resource A of type AWS::S3::Bucket has no code to point at");
  auto syntax = rewrite_template("Resources:\n  A: [\n", "t.yaml", {});
  REQUIRE_FALSE(syntax);
  REQUIRE(syntax.error().diagnostics.size() == 1);
  CHECK(syntax.error().diagnostics[0].file == "t.yaml");
}

TEST_CASE("packaged template: a build's Handler and NODE_OPTIONS are written as SAM's built "
          "template carries them") {
  const std::string text = R"(Resources:
  Existing:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: handlers/app.handler # bundled
      Environment:
        Variables:
          TABLE: t
          NODE_OPTIONS: --trace-warnings
  NoVariables:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: handlers/b.handler
      Environment:
        Other: x
  FromGlobals:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
)";
  auto out = rewrite_template(text, "template.yaml",
                              {{"Existing",
                                "bk",
                                "a.zip",
                                "",
                                "",
                                "app.handler",
                                {{"NODE_OPTIONS", "--trace-warnings --enable-source-maps"}},
                                {}},
                               {"NoVariables",
                                "bk",
                                "b.zip",
                                "",
                                "",
                                "b.handler",
                                {{"NODE_OPTIONS", " --enable-source-maps"}},
                                {}},
                               {"FromGlobals",
                                "bk",
                                "c.zip",
                                "",
                                "",
                                "c.handler",
                                {{"NODE_OPTIONS", " --enable-source-maps"}},
                                {}}});
  REQUIRE_MESSAGE(out, out.error().message);
  CHECK(*out == R"(Resources:
  Existing:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://bk/a.zip
      Handler: app.handler # bundled
      Environment:
        Variables:
          TABLE: t
          NODE_OPTIONS: --trace-warnings --enable-source-maps
  NoVariables:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://bk/b.zip
      Handler: b.handler
      Environment:
        Variables: {NODE_OPTIONS: " --enable-source-maps"}
        Other: x
  FromGlobals:
    Type: AWS::Serverless::Function
    Properties:
      Environment: {Variables: {NODE_OPTIONS: " --enable-source-maps"}}
      Handler: c.handler
      CodeUri: s3://bk/c.zip
)");

  const std::string json_text =
      R"({"Resources": {"A": {"Type": "AWS::Lambda::Function", "Properties": {"Code": "src/", "Handler": "h/a.handler"}}}})";
  out =
      rewrite_template(json_text, "t.json",
                       {{"A", "bk", "a.zip", "", "", "a.handler", {{"NODE_OPTIONS", " --x"}}, {}}});
  REQUIRE_MESSAGE(out, out.error().message);
  CHECK(
      *out ==
      R"({"Resources": {"A": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {"NODE_OPTIONS": " --x"}}, "Code": {"S3Bucket": "bk", "S3Key": "a.zip"}, "Handler": "a.handler"}}}})");
}

TEST_CASE("packaged template: nested stacks point at their uploaded templates") {
  const std::string text = R"(Resources:
  App:
    Type: AWS::Serverless::Application
    Properties:
      Location: ./child.yaml # the child
  Raw:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: "./raw.yaml"
)";
  const std::string app_url = "https://s3.us-east-1.amazonaws.com/b/p/1.template";
  const std::string raw_url = "https://s3.us-east-1.amazonaws.com/b/p/2.template";
  auto out = rewrite_template(
      text, "template.yaml",
      {{"App", "", "", "", "", "", {}, app_url}, {"Raw", "", "", "", "", "", {}, raw_url}});
  REQUIRE_MESSAGE(out, out.error().message);
  CHECK(*out == R"(Resources:
  App:
    Type: AWS::Serverless::Application
    Properties:
      Location: https://s3.us-east-1.amazonaws.com/b/p/1.template # the child
  Raw:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: "https://s3.us-east-1.amazonaws.com/b/p/2.template"
)");
  auto wrong = rewrite_template("Resources:\n  A:\n    Type: AWS::S3::Bucket\n    Properties: {}\n",
                                "t.yaml", {{"A", "", "", "", "", "", {}, app_url}});
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message ==
        "t.yaml: resource A of type AWS::S3::Bucket is not a nested stack");
}
