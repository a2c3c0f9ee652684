// Unit tests for the HelloWorld handler, with Node's own test runner. Run from the project
// directory (or from hello-world/):  node --test
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const { lambdaHandler } = require('../../app.js');

const events = path.join(__dirname, '..', '..', '..', 'events');
const loadEvent = (name) => JSON.parse(fs.readFileSync(path.join(events, name), 'utf8'));

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
