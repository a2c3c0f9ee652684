"""Unit tests for the HelloWorld handler. Run from the project directory:

    python3 -m unittest
"""

import copy
import json
import os
import unittest

from hello_world import app

EVENTS = os.path.join(os.path.dirname(__file__), "..", "..", "events")


def load_event(name):
    with open(os.path.join(EVENTS, name), encoding="utf-8") as f:
        return json.load(f)


class HandlerTest(unittest.TestCase):
    def test_rest_api_event(self):
        response = app.lambda_handler(load_event("event.json"), None)
        self.assertEqual(response["statusCode"], 200)
        self.assertEqual(response["headers"], {"Content-Type": "application/json"})
        self.assertEqual(json.loads(response["body"]), {"message": "hello world"})

    def test_http_api_event_with_a_path_parameter(self):
        response = app.lambda_handler(load_event("event-http.json"), None)
        self.assertEqual(response["statusCode"], 200)
        self.assertEqual(json.loads(response["body"]), {"message": "hello wisp"})

    def test_query_string_name(self):
        event = copy.deepcopy(load_event("event.json"))
        event["queryStringParameters"] = {"name": "Ana"}
        response = app.lambda_handler(event, None)
        self.assertEqual(json.loads(response["body"]), {"message": "hello Ana"})


if __name__ == "__main__":
    unittest.main()
