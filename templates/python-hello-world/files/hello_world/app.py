"""The HelloWorld function: answers GET /hello (REST API, event payload 1.0) and
GET /hello/{name} (HTTP API, event payload 2.0)."""

import json


def lambda_handler(event, context):
    """Handles an API Gateway proxy event.

    event: the request as API Gateway sends it (both payload formats carry
        pathParameters and queryStringParameters, null when there are none).
    context: the Lambda context object (not used here).

    Returns the proxy response: status code, headers and a JSON body.
    """
    name = (
        (event.get("pathParameters") or {}).get("name")
        or (event.get("queryStringParameters") or {}).get("name")
        or "world"
    )
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"message": f"hello {name}"}),
    }
