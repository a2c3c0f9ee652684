#!/usr/bin/env python3
"""Verdicts of AWS's SAM translator (aws-sam-translator) on templates, for the
differential test of `wisp validate`.

Usage: samtranslator_verdicts.py TEMPLATE...   → one JSON object on stdout:
  {"<path>": {"valid": true|false, "error": "<translator message or null>"}, ...}

Like `sam validate`, local artifact paths are first replaced by S3 URIs (the translator
only accepts S3 locations), then the template is translated with the bundled managed
policy map (no AWS calls) in us-east-1. Exit 3 when samtranslator is not importable.
"""

import json
import os
import sys

os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

try:
    from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
    from samtranslator.parser import parser
    from samtranslator.public.exceptions import InvalidDocumentException
    from samtranslator.translator.translator import Translator
    from samtranslator.yaml_helper import yaml_parse
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"samtranslator is not importable: {e}", file=sys.stderr)
    sys.exit(3)

S3_URI = "s3://bucket/value"


def is_local(value):
    return isinstance(value, str) and not value.startswith("s3://")


def replace_local_artifacts(template):
    """What `sam validate` does before translating: S3 URIs for local code and definitions."""
    if not isinstance(template, dict):
        return
    resources = template.get("Resources")
    globals_ = template.get("Globals")
    global_function = globals_.get("Function") if isinstance(globals_, dict) else None
    if isinstance(global_function, dict) and is_local(global_function.get("CodeUri")):
        global_function["CodeUri"] = S3_URI
    if not isinstance(resources, dict):
        return
    for resource in resources.values():
        if not isinstance(resource, dict):
            continue
        kind = resource.get("Type")
        properties = resource.get("Properties")
        if not isinstance(properties, dict):
            if kind == "AWS::Serverless::Function":
                properties = resource["Properties"] = {}
            else:
                continue
        if kind == "AWS::Serverless::Function":
            if properties.get("PackageType", "Zip") == "Image":
                # Built from Metadata (Dockerfile) by `sam build`: the image URI comes later.
                properties.setdefault("ImageUri", "123456789012.dkr.ecr.us-east-1.amazonaws.com/image:latest")
                continue
            if "InlineCode" in properties:
                continue
            code = properties.get("CodeUri")
            if code is None and isinstance(global_function, dict) and "CodeUri" in global_function:
                continue
            if code is None or is_local(code):
                properties["CodeUri"] = S3_URI
        elif kind in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi", "AWS::Serverless::StateMachine"):
            if is_local(properties.get("DefinitionUri")):
                properties["DefinitionUri"] = S3_URI
        elif kind == "AWS::Serverless::LayerVersion":
            if is_local(properties.get("ContentUri")):
                properties["ContentUri"] = S3_URI


def verdict(path):
    try:
        with open(path, encoding="utf-8") as f:
            template = yaml_parse(f.read())
    except Exception as e:  # a document the translator's parser rejects
        return {"valid": False, "error": f"parse: {type(e).__name__}: {e}"}
    replace_local_artifacts(template)
    translator = Translator(
        managed_policy_map=get_bundled_managed_policy_map("aws"), sam_parser=parser.Parser()
    )
    try:
        translator.translate(sam_template=template, parameter_values={})
    except InvalidDocumentException as e:
        causes = "; ".join(str(getattr(c, "message", c)) for c in e.causes)
        return {"valid": False, "error": causes or str(e)}
    except Exception as e:  # the translator crashing on odd input is a rejection too
        return {"valid": False, "error": f"{type(e).__name__}: {e}"}
    return {"valid": True, "error": None}


def main(paths):
    print(json.dumps({path: verdict(path) for path in paths}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
