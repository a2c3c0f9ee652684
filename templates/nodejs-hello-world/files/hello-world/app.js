'use strict';

/**
 * The HelloWorld function: answers GET /hello (REST API, event payload 1.0) and
 * GET /hello/{name} (HTTP API, event payload 2.0).
 *
 * @param {object} event the request as API Gateway sends it (both payload formats carry
 *   pathParameters and queryStringParameters, null when there are none)
 * @param {object} context the Lambda context object (not used here)
 * @returns {Promise<object>} the proxy response: status code, headers and a JSON body
 */
exports.lambdaHandler = async (event, context) => {
  const name = event.pathParameters?.name ?? event.queryStringParameters?.name ?? 'world';
  return {
    statusCode: 200,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ message: `hello ${name}` }),
  };
};
