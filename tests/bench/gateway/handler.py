# The benchmark's Python handler: the same code runs under wisp and serverless-offline.
def hello(event, context):
    return {"statusCode": 200, "body": "hello world"}
