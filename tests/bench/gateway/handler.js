// The benchmark's Node handler: the same code runs under wisp and serverless-offline.
exports.hello = async () => ({ statusCode: 200, body: 'hello world' });
