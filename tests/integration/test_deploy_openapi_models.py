"""wisp deploy of REST APIs whose OpenAPI bodies write request and response schemas inline, as
API Gateway's import makes them, against moto_server: an inline schema becomes a model of its
own (MODEL and six hex digits) that the method's requestModels or the method response's
responseModels name, a $ref names the body's model; checked with the aws CLI; redeployed with
no change (no mutating call), with a changed inline schema (that model updated, nothing else
made again)."""

import json
import re
import unittest

from test_deploy_infra import InfraTestCase

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      Runtime: python3.12
      Handler: app.handler
      AutoPublishAlias: live
  Orders:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      DefinitionBody:
        openapi: '3.0.1'
        info: {{title: orders, version: '1.0'}}
        x-amazon-apigateway-request-validators:
          body: {{validateRequestBody: true, validateRequestParameters: false}}
        components:
          schemas:
            Item:
              type: object
              properties:
                sku: {{type: string}}
          responses:
            Failed:
              description: failed
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      message: {{type: string}}
        paths:
          /orders:
            post:
              x-amazon-apigateway-request-validator: body
              requestBody:
                content:
                  application/json:
                    schema:
                      type: object
                      required: [sku]
                      properties:
                        sku: {{type: string}}
{extra}              responses:
                '200':
                  description: ok
                  headers:
                    X-Order: {{schema: {{type: string}}}}
                  content:
                    application/json:
                      schema: {{$ref: '#/components/schemas/Item'}}
                '400': {{$ref: '#/components/responses/Failed'}}
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{Worker.Arn}}/invocations
  Legacy:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      DefinitionBody:
        swagger: '2.0'
        info: {{title: legacy, version: '1.0'}}
        produces: [application/json]
        definitions:
          Item:
            type: object
            properties:
              sku: {{type: string}}
        paths:
          /items:
            post:
              consumes: [application/json]
              parameters:
                - in: body
                  name: item
                  schema:
                    type: object
                    properties:
                      count: {{type: integer}}
              responses:
                '201':
                  description: made
                  schema:
                    type: array
                    items: {{$ref: '#/definitions/Item'}}
                '404':
                  description: none
                  schema: {{$ref: '#/definitions/Empty'}}
              x-amazon-apigateway-integration:
                type: mock
                requestTemplates: {{application/json: '{{"statusCode": 201}}'}}
                responses:
                  default: {{statusCode: '201'}}
"""

MODEL_NAME = re.compile(r"^MODEL[0-9a-f]{6}$")


class InlineSchemas(InfraTestCase):
    def write_app(self, extra="", **kw):
        self.write("app/template.yaml", TEMPLATE.format(extra=extra))
        self.write("app/worker/app.py", 'def handler(event, context):\n    return "v1"\n')

    def api(self, name):
        api_id = next(a["id"] for a in self.aws("apigateway", "get-rest-apis")["items"] if a["name"] == name)
        models = {m["name"]: m for m in self.aws("apigateway", "get-models", "--rest-api-id", api_id)["items"]}
        resources = {r["path"]: r["id"] for r in
                     self.aws("apigateway", "get-resources", "--rest-api-id", api_id)["items"]}
        return api_id, models, resources

    def method(self, api_id, resource, verb, code=None):
        args = ["--rest-api-id", api_id, "--resource-id", resource, "--http-method", verb]
        if code is None:
            return self.aws("apigateway", "get-method", *args)
        return self.aws("apigateway", "get-method-response", *args, "--status-code", code)

    def test_inline_request_and_response_schemas_become_models_the_methods_name(self):
        self.deploy()
        # OpenAPI 3, a Lambda proxy operation.
        api_id, models, resources = self.api("shop-Orders")
        post = self.method(api_id, resources["/orders"], "POST")
        request_model = post["requestModels"]["application/json"]
        self.assertRegex(request_model, MODEL_NAME)
        self.assertEqual(models[request_model]["contentType"], "application/json")
        self.assertEqual(json.loads(models[request_model]["schema"])["required"], ["sku"])
        validators = self.aws("apigateway", "get-request-validators", "--rest-api-id", api_id)["items"]
        self.assertEqual(post["requestValidatorId"], next(v["id"] for v in validators if v["name"] == "body"))
        # A $ref response schema names the body's model; a shared response's inline schema is a model.
        ok = self.method(api_id, resources["/orders"], "POST", "200")
        self.assertEqual(ok["responseModels"], {"application/json": "Item"})
        self.assertEqual(ok["responseParameters"], {"method.response.header.X-Order": False})
        failed = self.method(api_id, resources["/orders"], "POST", "400")["responseModels"]["application/json"]
        self.assertRegex(failed, MODEL_NAME)
        self.assertIn("message", json.loads(models[failed]["schema"])["properties"])
        self.assertEqual(sorted(models), sorted(["Item", request_model, failed]))

        # Swagger 2, a mock integration: the body parameter's schema, the response's for `produces`.
        legacy_id, legacy_models, legacy_resources = self.api("shop-Legacy")
        items = self.method(legacy_id, legacy_resources["/items"], "POST")
        body_model = items["requestModels"]["application/json"]
        self.assertIn("count", json.loads(legacy_models[body_model]["schema"])["properties"])
        made = self.method(legacy_id, legacy_resources["/items"], "POST", "201")["responseModels"]["application/json"]
        self.assertRegex(made, MODEL_NAME)
        # The inline schema's reference to a model of the body is the API's model URL.
        self.assertEqual(json.loads(legacy_models[made]["schema"])["items"]["$ref"],
                         f"https://apigateway.amazonaws.com/restapis/{legacy_id}/models/Item")

        # API Gateway's own Empty model, named and not defined: every REST API has it (moto's does
        # not, so wisp makes it there).
        self.assertEqual(self.method(legacy_id, legacy_resources["/items"], "POST", "404")["responseModels"],
                         {"application/json": "Empty"})
        self.assertEqual(json.loads(legacy_models["Empty"]["schema"])["title"], "Empty Schema")

        again = self.deploy_json()
        self.assertEqual((again["status"], again["mutating_calls"]), ("no-change", 0))

        # The inline request schema changes: the same model, updated; nothing else made again.
        self.write_app(extra="                        count: {type: integer}\n")
        proc = self.deploy()
        self.assertEqual(re.findall(r"Orders: model (\S+) (\w+)", proc.stdout + proc.stderr),
                         [(request_model, "updated")])
        steps = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("•")]
        self.assertEqual([s for s in steps if "route" in s or "Legacy" in s], [])
        self.assertIn("= api       shop-Legacy", proc.stdout)
        _, models, _ = self.api("shop-Orders")
        self.assertIn("count", json.loads(models[request_model]["schema"])["properties"])
        self.assertEqual(self.method(api_id, resources["/orders"], "POST")["requestModels"],
                         {"application/json": request_model})
        self.assertEqual(self.deploy_json()["status"], "no-change")


if __name__ == "__main__":
    unittest.main()
