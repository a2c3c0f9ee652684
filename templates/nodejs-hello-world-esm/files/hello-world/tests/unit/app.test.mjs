// Unit tests for the HelloWorld handler, with Node's own test runner. Run from the project
// directory (or from hello-world/):  node --test
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { lambdaHandler } from '../../app.mjs';

const loadEvent = (name) =>
  JSON.parse(readFileSync(new URL(`../../../events/${name}`, import.meta.url), 'utf8'));

test('REST API event', async () => {
  const response = await lambdaHandler(loadEvent('event.json'), {});
  assert.equal(response.statusCode, 200);
  assert.deepEqual(response.headers, { 'Content-Type': 'application/json' });
  assert.deepEqual(JSON.parse(response.body), { message: 'hello world' });
});

test('HTTP API event with a path parameter', async () => {
  const response = await lambdaHandler(loadEvent('event-http.json'), {});
  assert.equal(response.statusCode, 200);
  assert.deepEqual(JSON.parse(response.body), { message: 'hello wisp' });
});

test('query string name', async () => {
  const event = { ...loadEvent('event.json'), queryStringParameters: { name: 'Ana' } };
  const response = await lambdaHandler(event, {});
  assert.deepEqual(JSON.parse(response.body), { message: 'hello Ana' });
});
