// What a function imports of the libraries Lambda's runtimes ship, and how runtimes are named.
#include <wisp/runtime/runtime_libs.hpp>
#include <wisp/runtime/runtimes.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace wisp::runtime;

TEST_CASE("runtime libraries: the @aws-sdk packages a JavaScript source uses") {
  const auto found = detail::aws_sdk_imports(R"(
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
import { S3Client } from "@aws-sdk/client-s3";
import { marshall } from '@aws-sdk/util-dynamodb/dist-cjs/index.js';
const lazy = await import(`@aws-sdk/client-sqs`);
// "@aws-sdk/" alone, a template string with a variable, and text that merely mentions it:
const x = '@aws-sdk/'; const y = `@aws-sdk/${name}`; const z = 'see @aws-sdk/client-sns docs';
require("@aws-sdk/client-dynamodb");
)");
  CHECK(found == std::vector<std::string>{"@aws-sdk/client-dynamodb", "@aws-sdk/client-s3",
                                          "@aws-sdk/util-dynamodb", "@aws-sdk/client-sqs"});
  CHECK(detail::aws_sdk_imports("const AWS = require('aws-sdk');").empty());
}

TEST_CASE("runtime libraries: the SDK's optional CRT signer is not what Lambda ships") {
  // A bundle that inlines the SDK keeps these optional requires inside try/catch.
  const auto found = detail::aws_sdk_imports(R"(
try { require("@aws-sdk/signature-v4-crt"); } catch (e) {}
var crt = __require('@aws-sdk/crt-loader');
const { S3Client } = require('@aws-sdk/client-s3');
)");
  CHECK(found == std::vector<std::string>{"@aws-sdk/client-s3"});
}

TEST_CASE("runtime libraries: the SDK's building blocks, in order of appearance") {
  const auto found = detail::aws_sdk_imports(R"(
import { SignatureV4 } from '@smithy/signature-v4';
const { Sha256 } = require("@aws-crypto/sha256-js");
import { HttpRequest } from '@smithy/protocol-http';
import { S3Client } from '@aws-sdk/client-s3';
const other = require('@smithyfake/x'); const y = '@aws-crypto/';
const encryption = require('@aws-crypto/client-node'); // the Encryption SDK: not in Lambda's tree
)");
  CHECK(found == std::vector<std::string>{"@smithy/signature-v4", "@aws-crypto/sha256-js",
                                          "@smithy/protocol-http", "@aws-sdk/client-s3"});
  // Only module names: a string that merely looks like one is not an import (a minified bundle
  // holds such constants); esbuild's __require and re-exports are.
  CHECK(detail::aws_sdk_imports(R"(var e="@smithy/err",t={n:'@smithy/lis'};f("@aws-sdk/types");
try{__require("@aws-sdk/token-providers")}catch{} export * from '@aws-sdk/client-sqs';
const q = require ( "@smithy/core" ); import
  "@aws-sdk/client-sns";)") == std::vector<std::string>{"@aws-sdk/token-providers",
                                                        "@aws-sdk/client-sqs", "@smithy/core",
                                                        "@aws-sdk/client-sns"});
  CHECK(runtime_node_package_spec("@aws-sdk/client-s3") ==
        "<=" + std::string(k_aws_sdk_js_version));
  CHECK(runtime_node_package_spec("@smithy/protocol-http") == "*");
}

TEST_CASE("runtime libraries: the modules a Python source imports") {
  const auto found = detail::python_imports(R"(import json, os
import boto3
from botocore.exceptions import ClientError
    import urllib.request as r
from . import sibling
from .pkg import thing
from aws_durable_execution_sdk_python import DurableContext, durable_execution
x = "import fake"
)");
  CHECK(found == std::vector<std::string>{"json", "os", "boto3", "botocore", "urllib",
                                          "aws_durable_execution_sdk_python"});
}

TEST_CASE("runtimes: naming an interpreter") {
  CHECK(interpreter_env_name("nodejs24.x") == "WISP_INTERPRETER_NODEJS24_X");
  CHECK(interpreter_env_name("python3.13") == "WISP_INTERPRETER_PYTHON3_13");
  auto ok = parse_interpreter_choice("nodejs24.x=/opt/node24/bin/node");
  REQUIRE(ok.has_value());
  CHECK(ok->first == "nodejs24.x");
  CHECK(ok->second == "/opt/node24/bin/node");
  auto bad = parse_interpreter_choice("nodejs24.x");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message.find("RUNTIME=PATH") != std::string::npos);
  auto typo = parse_interpreter_choice("pyhton3.13=/usr/bin/python3.13");
  REQUIRE_FALSE(typo.has_value());
  CHECK(typo.error().message.find("did you mean python3.13?") != std::string::npos);
  CHECK_FALSE(parse_interpreter_choice("provided.al2023=/bin/sh").has_value());
}
