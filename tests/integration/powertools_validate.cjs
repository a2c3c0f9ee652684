// Validates recorded events against @aws-lambda-powertools/parser's schemas.
// Usage: node powertools_validate.cjs <dir>   (files named <kind>-<n>.json; <kind> is one of the
// API Gateway kinds below or the name of any exported schema, e.g. SqsSchema, SnsSchema)
// Prints one line per event ("ok <file>" or "FAIL <file>: <issues>") and exits 1 on failure.
const fs = require('fs');
const path = require('path');
const schemas = require('@aws-lambda-powertools/parser/schemas');

const byKind = {
  rest: schemas.APIGatewayProxyEventSchema,
  http1: schemas.APIGatewayProxyEventSchema,
  http2: schemas.APIGatewayProxyEventV2Schema,
  token: schemas.APIGatewayTokenAuthorizerEventSchema,
  request: schemas.APIGatewayRequestAuthorizerEventSchema,
  v2auth: schemas.APIGatewayRequestAuthorizerEventV2Schema,
  furl: schemas.LambdaFunctionUrlSchema,
};

const dir = process.argv[2];
let failed = 0;
let checked = 0;
for (const file of fs.readdirSync(dir).sort()) {
  const kind = file.split('-')[0];
  const schema = byKind[kind] || schemas[kind];
  if (!schema) continue;
  const event = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  const result = schema.safeParse(event);
  checked++;
  if (result.success) {
    console.log(`ok ${file}`);
  } else {
    failed++;
    console.log(`FAIL ${file}: ${JSON.stringify(result.error.issues)}`);
  }
}
console.log(`checked ${checked}, failed ${failed}`);
process.exit(failed > 0 || checked === 0 ? 1 : 0);
