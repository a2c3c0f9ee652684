// wisp's Lambda runtime client for Node.js (built-in modules only, Node 18+).
//
// wisp starts one of these per worker as `node bootstrap.cjs`. It speaks the Lambda Runtime
// API at $AWS_LAMBDA_RUNTIME_API over one keep-alive connection, loads _HANDLER from
// LAMBDA_TASK_ROOT (CommonJS or ES module), and reproduces the Node.js runtime's programming
// model: async and callback handlers, callbackWaitsForEmptyEventLoop, the context object,
// console lines with the request id, AWS-shaped errors, init errors, and response streaming
// (awslambda.streamifyResponse, awslambda.HttpResponseStream).
'use strict';

const net = require('net');
const util = require('util');
const path = require('path');
const fs = require('fs');

const API = process.env.AWS_LAMBDA_RUNTIME_API || '127.0.0.1:9001';
const [API_HOST, API_PORT] = (() => {
  const i = API.lastIndexOf(':');
  return [API.slice(0, i) || '127.0.0.1', parseInt(API.slice(i + 1), 10)];
})();
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const STREAM_RESPONSE = 'response';
const REQUEST_ID = Symbol.for('aws.lambda.runtime.requestId');
const TENANT_ID = Symbol.for('aws.lambda.runtime.tenantId');
const LOG_JSON = (process.env.AWS_LAMBDA_LOG_FORMAT || '').toUpperCase() === 'JSON';
// The runtime's major as Lambda names it (AWS_Lambda_nodejs24.x → 24).
const RUNTIME_MAJOR = (() => {
  const m = /^AWS_Lambda_nodejs(\d+)\.x$/.exec(process.env.AWS_EXECUTION_ENV || '');
  return m ? parseInt(m[1], 10) : 0;
})();
const RUNTIME_DIR = process.env.LAMBDA_RUNTIME_DIR || __dirname;
const NEXT_PATH = '/2018-06-01/runtime/invocation/next';
const NEXT_REQUEST = Buffer.from(`GET ${NEXT_PATH} HTTP/1.1\r\nHost: ${API}\r\nContent-Length: 0\r\n\r\n`, 'latin1');

// ---------------------------------------------------------------------------------------
// Runtime API client: one keep-alive socket; answers come back in request order (HTTP/1.1
// pipelining: a result is posted together with the next /next, one write and one wake-up per
// invocation). The socket is unref'd while nothing is pending so that Node's event loop can
// drain (callbackWaitsForEmptyEventLoop).

class RuntimeClient {
  constructor() {
    this.socket = null;
    this.buffer = Buffer.alloc(0);
    this.pending = [];
    this.prefetched = null; // the answer to a /next sent with the last result
  }

  connect() {
    const socket = net.createConnection({ host: API_HOST, port: API_PORT });
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the Runtime API closed the connection')));
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
  }

  fail(err) {
    this.socket = null;
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) p.reject(err);
  }

  expect() {
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  // Sends one request (and, with `thenNext`, a /next right behind it); resolves with its answer.
  request(method, target, headers, body, thenNext) {
    if (!this.socket) this.connect();
    this.socket.ref();
    if (method === 'GET' && target === NEXT_PATH) {
      // The long-poll request never changes: its bytes are built once.
      const answer = this.expect();
      this.socket.write(NEXT_REQUEST);
      return answer;
    }
    const payload = body === undefined || body === null ? Buffer.alloc(0) : body;
    let head = `${method} ${target} HTTP/1.1\r\nHost: ${API}\r\nContent-Length: ${payload.length}\r\n`;
    for (const key of Object.keys(headers || {})) head += `${key}: ${headers[key]}\r\n`;
    head += '\r\n';
    const answer = this.expect();
    if (thenNext) this.prefetched = this.expect();
    if (payload.length < 65536) {
      const parts = [Buffer.from(head, 'latin1'), payload];
      if (thenNext) parts.push(NEXT_REQUEST);
      this.socket.write(Buffer.concat(parts));
    } else {
      this.socket.write(head, 'latin1');
      this.socket.write(payload);
      if (thenNext) this.socket.write(NEXT_REQUEST);
    }
    // An unanswered /next must not surface as an unhandled rejection: next() awaits it.
    if (thenNext) this.prefetched.catch(() => {});
    return answer;
  }

  onData(chunk) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.pending.length) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
      const status = parseInt(lines[0].split(' ')[1], 10);
      const headers = {};
      for (let i = 1; i < lines.length; i++) {
        const colon = lines[i].indexOf(':');
        if (colon > 0) headers[lines[i].slice(0, colon).trim().toLowerCase()] = lines[i].slice(colon + 1).trim();
      }
      const length = parseInt(headers['content-length'] || '0', 10);
      if (this.buffer.length < end + 4 + length) return;
      const body = this.buffer.subarray(end + 4, end + 4 + length);
      this.buffer = this.buffer.subarray(end + 4 + length);
      const pending = this.pending.shift();
      if (this.socket && !this.pending.length) this.socket.unref();
      pending.resolve({ status, headers, body });
    }
  }

  async next() {
    for (;;) {
      let res;
      try {
        const prefetched = this.prefetched;
        this.prefetched = null;
        res = await (prefetched || this.request('GET', NEXT_PATH, {}));
      } catch (err) {
        process.stderr.write(`wisp bootstrap: ${err.message}\n`);
        process.exit(1);
      }
      if (res.status === 200) return res;
      process.stderr.write(`wisp bootstrap: /next answered ${res.status}: ${res.body}\n`);
      if (res.status >= 500 || res.status === 403) process.exit(1);
    }
  }

  // Posts a result; `thenNext` sends the next /next with it (only where the loop goes on to
  // ask for the next event: never before an exit).
  async post(target, headers, body, thenNext = false) {
    try {
      const res = await this.request('POST', target, headers, body, thenNext);
      if (res.status === 413) process.stderr.write(`wisp bootstrap: response rejected: ${res.body}\n`);
      return res.status;
    } catch (err) {
      process.stderr.write(`wisp bootstrap: ${err.message}\n`);
      process.exit(1);
    }
  }
}

const client = new RuntimeClient();

// ---------------------------------------------------------------------------------------
// Errors, as the Node.js runtime shapes them.

class RuntimeError extends Error {}
function runtimeErrorClass(name) {
  const cls = class extends RuntimeError {};
  Object.defineProperty(cls, 'name', { value: name });
  cls.prototype.name = `Runtime.${name}`;
  return cls;
}
const ImportModuleError = runtimeErrorClass('ImportModuleError');
const HandlerNotFound = runtimeErrorClass('HandlerNotFound');
const MalformedHandlerName = runtimeErrorClass('MalformedHandlerName');
const UserCodeSyntaxError = runtimeErrorClass('UserCodeSyntaxError');
const MalformedStreamingHandler = runtimeErrorClass('MalformedStreamingHandler');
const InvalidStreamingOperation = runtimeErrorClass('InvalidStreamingOperation');
const UnhandledPromiseRejection = runtimeErrorClass('UnhandledPromiseRejection');
const CallbackHandlerDeprecated = runtimeErrorClass('CallbackHandlerDeprecated');

// Node.js 24 and later: a handler declaring three or more parameters (event, context, callback),
// async or not, is refused unless it streams (AWS's runtime client, callback-deprecation.ts).
const CALLBACK_DEPRECATED_MESSAGE =
  'ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. You need to modify this function to use a supported handler signature to use Node.js 24 or later. For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.';

function isErrorLike(obj) {
  return obj && typeof obj.name === 'string' && typeof obj.message === 'string' && typeof obj.stack === 'string';
}

function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || isErrorLike(error)) {
      return { errorType: error.name, errorMessage: error.message, trace: error.stack.split('\n') };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

function withEnumerableProperties(value) {
  if (value instanceof Error) {
    const out = Object.assign({ errorType: value.name, errorMessage: value.message, code: value.code }, value);
    if (typeof value.stack === 'string') out.stack = value.stack.split('\n');
    return out;
  }
  return value;
}

function toFormatted(error) {
  try {
    return '\t' + JSON.stringify(error, (_k, v) => withEnumerableProperties(v));
  } catch (_) {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

function intoError(err) {
  return err instanceof Error ? err : new Error(err);
}

// ---------------------------------------------------------------------------------------
// console: `<ISO time>\t<request id>\t<LEVEL>\t<message>` on stdout, newlines as \r; with
// LoggingConfig LogFormat JSON (AWS_LAMBDA_LOG_FORMAT), AWS's JSON objects instead.

const jsonErrorReplacer = (_key, value) => {
  if (value instanceof Error) {
    return Object.assign(
      {
        errorType: value?.constructor?.name ?? 'UnknownError',
        errorMessage: value.message,
        stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
      },
      value,
    );
  }
  return value;
};

function formatJson(level, message, params) {
  const result = { timestamp: new Date().toISOString(), level, requestId: global[REQUEST_ID] };
  const tenantId = global[TENANT_ID];
  if (tenantId !== undefined && tenantId !== null) result.tenantId = tenantId;
  if (params.length === 0) {
    result.message = message;
    try {
      return JSON.stringify(result, jsonErrorReplacer);
    } catch (_) {
      result.message = util.format(result.message);
      return JSON.stringify(result);
    }
  }
  result.message = util.format(message, ...params);
  for (const param of params) {
    if (param instanceof Error) {
      result.errorType = param?.constructor?.name ?? 'UnknownError';
      result.errorMessage = param.message;
      result.stackTrace = typeof param.stack === 'string' ? param.stack.split('\n') : [];
      break;
    }
  }
  return JSON.stringify(result);
}

function patchConsole() {
  const write = LOG_JSON
    ? (level, message, params) => {
        process.stdout.write(formatJson(level, message, params).replace(/\n/g, '\r') + '\n');
      }
    : (level, message, params) => {
        const line = `${new Date().toISOString()}\t${global[REQUEST_ID]}\t${level}\t${util.format(message, ...params)}`;
        process.stdout.write(line.replace(/\n/g, '\r') + '\n');
      };
  const levels = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };
  const minimum = levels[(process.env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()] || 1;
  const make = (level) => (levels[level] >= minimum ? (msg, ...params) => write(level, msg, params) : () => {});
  console.trace = make('TRACE');
  console.debug = make('DEBUG');
  console.info = make('INFO');
  console.log = console.info;
  console.warn = make('WARN');
  console.error = make('ERROR');
  console.fatal = make('FATAL');
}

function logError(label, err) {
  if (LOG_JSON) console.error(intoError(err));
  else console.error(label, toFormatted(intoError(err)));
}

// ---------------------------------------------------------------------------------------
// awslambda global: response streaming.

const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';

class HttpResponseStream {
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
    const metadata = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(metadata);
      write(new Uint8Array(8));
    };
    return underlyingStream;
  }
}

globalThis.awslambda = {
  streamifyResponse: (handler, options) => {
    handler[HANDLER_STREAMING] = STREAM_RESPONSE;
    if (typeof (options && options.highWaterMark) === 'number') {
      handler[HANDLER_HIGHWATERMARK] = parseInt(options.highWaterMark, 10);
    }
    return handler;
  },
  HttpResponseStream,
};

// ---------------------------------------------------------------------------------------
// Loading the handler (CommonJS first, then ES modules), as the Node.js runtime does.

function hasTypeModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const pj = path.join(folder, 'package.json');
  if (fs.existsSync(pj)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(pj));
      return Boolean(pkg && pkg.type === 'module');
    } catch (e) {
      console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
      return false;
    }
  }
  if (folder === '/') return false;
  return hasTypeModule(path.resolve(folder, '..'));
}

// The handler is required from Lambda's entry point, so that a failed require's "Require stack"
// ends as Lambda's does (`- /var/task/app.js`, `- /var/runtime/index.mjs`).
const lambdaRequire = require('module').createRequire(path.join(RUNTIME_DIR, 'index.mjs'));

function tryRequire(file) {
  return fs.existsSync(file) ? lambdaRequire(file) : undefined;
}

// Lambda's nodejs runtimes look for an ES module's bare imports in NODE_PATH's node_modules
// directories too (plain node does not). wisp's file layout gives them /var/node_modules, which
// node's own search finds; without the layout, wisp names the directories in _WISP_ESM_PATHS and
// a resolve hook searches them once node's own search has failed.
const ESM_PATHS = (process.env._WISP_ESM_PATHS || '').split(path.delimiter).filter(Boolean);
delete process.env._WISP_ESM_PATHS;
let esmHooked = false;

function hookEsmResolution() {
  if (esmHooked || ESM_PATHS.length === 0) return;
  esmHooked = true;
  const moduleApi = require('module');
  const { pathToFileURL } = require('url');
  const parents = ESM_PATHS.map((dir) => pathToFileURL(path.join(dir, 'wisp-esm-parent.js')).href);
  const bare = (s) => !/^(\.{0,2}\/|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(s) && !moduleApi.isBuiltin(s);
  if (typeof moduleApi.registerHooks === 'function') {
    // Node 22.15+: synchronous hooks on this thread (no loader thread to start).
    moduleApi.registerHooks({
      resolve(specifier, context, nextResolve) {
        try {
          return nextResolve(specifier, context);
        } catch (err) {
          if (err.code !== 'ERR_MODULE_NOT_FOUND' || !bare(specifier)) throw err;
          for (const parentURL of parents) {
            try {
              return nextResolve(specifier, { ...context, parentURL });
            } catch (_) {}
          }
          throw err;
        }
      },
    });
    return;
  }
  // Older nodes: the same hook on node's loader thread.
  const source = `const parents = ${JSON.stringify(parents)};
const builtins = new Set(${JSON.stringify(moduleApi.builtinModules)});
const bare = (s) => !/^(\\.{0,2}\\/|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(s) && !builtins.has(s);
export async function resolve(specifier, context, nextResolve) {
  try { return await nextResolve(specifier, context); } catch (err) {
    if (err.code !== 'ERR_MODULE_NOT_FOUND' || !bare(specifier)) throw err;
    for (const parentURL of parents) {
      try { return await nextResolve(specifier, { ...context, parentURL }); } catch (_) {}
    }
    throw err;
  }
}`;
  moduleApi.register('data:text/javascript,' + encodeURIComponent(source));
}

async function tryImport(file) {
  if (!fs.existsSync(file)) return undefined;
  hookEsmResolution();
  try {
    return await import(require('url').pathToFileURL(file).href);
  } catch (err) {
    // The loader-thread hook (older nodes) is named by its data: URL, kilobytes long: its frames
    // are no part of the function's error.
    if (err && typeof err.stack === 'string' && err.stack.includes('data:text/javascript,'))
      err.stack = err.stack
        .split('\n')
        .filter((line) => !line.includes('data:text/javascript,'))
        .join('\n');
    throw err;
  }
}

async function loadModule(appRoot, moduleRoot, moduleName) {
  const base = path.resolve(appRoot, moduleRoot, moduleName);
  const extensionless = tryRequire(base);
  if (extensionless) return extensionless;
  const typeModule = hasTypeModule(path.dirname(base));
  if (!typeModule) {
    const cjs = tryRequire(base + '.js');
    if (cjs) return cjs;
  }
  const loaded =
    (typeModule && (await tryImport(base + '.js'))) ||
    (await tryImport(base + '.mjs')) ||
    tryRequire(base + '.cjs');
  if (loaded) return loaded;
  return lambdaRequire(lambdaRequire.resolve(moduleName, { paths: [appRoot, path.resolve(appRoot, moduleRoot)] }));
}

async function loadHandler(appRoot, fullHandler) {
  if (fullHandler.includes('..')) {
    throw new MalformedHandlerName(
      `'${fullHandler}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const handlerString = path.basename(fullHandler);
  const moduleRoot = fullHandler.substring(0, fullHandler.indexOf(handlerString));
  const match = handlerString.match(/^([^.]*)\.(.*)$/);
  if (!match) throw new MalformedHandlerName('Bad handler');
  const [, moduleName, handlerPath] = match;
  let app;
  try {
    app = await loadModule(appRoot, moduleRoot, moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e && e.code === 'MODULE_NOT_FOUND') throw new ImportModuleError(e);
    throw e;
  }
  const handler = handlerPath.split('.').reduce((nested, key) => nested && nested[key], app);
  if (!handler) throw new HandlerNotFound(`${fullHandler} is undefined or not exported`);
  if (typeof handler !== 'function') throw new HandlerNotFound(`${fullHandler} is not a function`);
  return handler;
}

// ---------------------------------------------------------------------------------------
// The context object.

function parseJsonHeader(value, name) {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

// Read once: process.env lookups are slow, and these never change in an environment.
const ENV_CONTEXT = {
  functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
  logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
};

// callbackWaitsForEmptyEventLoop is an enumerable accessor of the context, as in Lambda's client.
// Its getter and setter are shared by every context and keep the value in a hidden property. An
// object literal with its own getter and setter per invocation left every context in V8's
// dictionary mode, and ~1 KB of every invocation then survived each scavenge until a full GC
// (measured under load: scavenges copying ~1 MB, pauses of 2-9 ms, p99 doubled).
const WAIT_FOR_EMPTY_LOOP = Symbol('callbackWaitsForEmptyEventLoop');
const WAIT_ACCESSOR = {
  get() {
    return this[WAIT_FOR_EMPTY_LOOP];
  },
  set(value) {
    this[WAIT_FOR_EMPTY_LOOP] = value;
  },
  enumerable: true,
  configurable: true,
};

function contextBase() {
  const base = {};
  Object.defineProperty(base, WAIT_FOR_EMPTY_LOOP, { value: true, writable: true });
  return Object.defineProperty(base, 'callbackWaitsForEmptyEventLoop', WAIT_ACCESSOR);
}

function makeContext(headers, base) {
  const deadline = parseInt(headers['lambda-runtime-deadline-ms'], 10);
  return Object.assign(base, {
    functionVersion: ENV_CONTEXT.functionVersion,
    functionName: ENV_CONTEXT.functionName,
    memoryLimitInMB: ENV_CONTEXT.memoryLimitInMB,
    logGroupName: ENV_CONTEXT.logGroupName,
    logStreamName: ENV_CONTEXT.logStreamName,
    clientContext: parseJsonHeader(headers['lambda-runtime-client-context'], 'ClientContext'),
    identity: parseJsonHeader(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    tenantId: headers['lambda-runtime-aws-tenant-id'],
    getRemainingTimeInMillis: () => deadline - Date.now(),
  });
}

// ---------------------------------------------------------------------------------------
// Posting results.

function jsonBody(value) {
  const text = JSON.stringify(value === undefined ? null : value);
  return Buffer.from(text === undefined ? 'null' : text, 'utf8');
}

// `thenNext`: the invocation loop continues, so /next goes out with the result.
function postResponse(id, result, thenNext = false) {
  let body;
  try {
    body = jsonBody(result);
  } catch (err) {
    return postError(id, err, thenNext);
  }
  return client.post(
    `/2018-06-01/runtime/invocation/${id}/response`,
    { 'Content-Type': 'application/json' },
    body,
    thenNext,
  );
}

function postError(id, err, thenNext = false) {
  const response = toRapidResponse(err);
  return client.post(
    `/2018-06-01/runtime/invocation/${id}/error`,
    { 'Content-Type': 'application/json', 'Lambda-Runtime-Function-Error-Type': response.errorType },
    Buffer.from(JSON.stringify(response), 'utf8'),
    thenNext,
  );
}

// beforeExit: fires when nothing but our idle socket is left in the event loop.
let onEmptyLoop = null;
process.on('beforeExit', () => {
  const action = onEmptyLoop;
  onEmptyLoop = null;
  if (action) action();
});

let currentId = null;
process.on('uncaughtException', (err) => {
  logError('Uncaught Exception', err);
  if (currentId) postError(currentId, err).then(() => process.exit(129));
  else process.exit(129);
});
process.on('unhandledRejection', (reason, promise) => {
  const err = new UnhandledPromiseRejection(
    reason && reason.stack ? reason.stack : String(reason),
    promise,
  );
  logError('Unhandled Promise Rejection', err);
  if (currentId) postError(currentId, err).then(() => process.exit(128));
  else process.exit(128);
});

// Runs one buffered invocation; resolves once its result has been posted.
function invokeBuffered(handler, headers, event, id) {
  return new Promise((resolve) => {
    let finished = false;
    const base = contextBase();
    const complete = (err, result) => {
      if (finished) return;
      finished = true;
      onEmptyLoop = null;
      if (err !== undefined && err !== null) {
        logError('Invoke Error', err);
        postError(id, err, true).then(resolve);
      } else {
        postResponse(id, result, true).then(resolve);
      }
    };
    const callback = (err, result) => {
      if (finished) return;
      if ((err === undefined || err === null) && base[WAIT_FOR_EMPTY_LOOP]) {
        onEmptyLoop = () => setImmediate(() => complete(null, result));
      } else {
        complete(err, result);
      }
    };
    Object.assign(base, {
      succeed: (result) => complete(null, result),
      fail: (err) => complete(err === undefined || err === null ? 'handled' : err, null),
      done: (err, result) => complete(err, result),
    });
    const isAsync = handler.constructor && handler.constructor.name === 'AsyncFunction';
    // Neither a promise nor the callback finished the invocation before the loop drained.
    onEmptyLoop = () => {
      if (isAsync) {
        complete(Object.assign(new Error('Runtime exited without providing a reason'), { name: 'Runtime.NodeJsExit' }));
      } else {
        complete(null, null);
      }
    };
    try {
      const context = makeContext(headers, base);
      const result = handler(event, context, callback);
      if (result && typeof result.then === 'function') {
        result.then((value) => complete(null, value), (err) => complete(err === undefined || err === null ? 'handled' : err));
      }
    } catch (err) {
      complete(err);
    }
  });
}

// Runs one streaming invocation over a chunked POST with error trailers.
async function invokeStreaming(handler, headers, event, id, highWaterMark) {
  const http = require('http');
  let status = 'ready';
  let failed = false;
  const agent = new http.Agent({ keepAlive: false });
  const req = http.request({
    host: API_HOST,
    port: API_PORT,
    method: 'POST',
    path: `/2018-06-01/runtime/invocation/${id}/response`,
    agent,
    highWaterMark,
    headers: {
      'Lambda-Runtime-Function-Response-Mode': 'streaming',
      Trailer: ['Lambda-Runtime-Function-Error-Type', 'Lambda-Runtime-Function-Error-Body'],
      'Content-Type': 'application/octet-stream',
      'Transfer-Encoding': 'chunked',
    },
  });
  const responseDone = new Promise((resolve) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', resolve);
      res.on('error', resolve);
    });
    req.on('error', (err) => {
      process.stderr.write(`wisp bootstrap: streaming response failed: ${err.message}\n`);
      resolve();
    });
  });
  const origWrite = req.write.bind(req);
  req.setContentType = (contentType) => {
    if (status !== 'ready') throw new InvalidStreamingOperation('Cannot set content-type, too late.');
    req.setHeader('Content-Type', contentType);
  };
  req.write = function (chunk, encoding, cb) {
    if (typeof chunk !== 'string' && !Buffer.isBuffer(chunk) && !(chunk instanceof Uint8Array)) {
      chunk = JSON.stringify(chunk);
    }
    if (status === 'ready' && typeof this._onBeforeFirstWrite === 'function') {
      this._onBeforeFirstWrite((c) => origWrite(c));
    }
    status = 'write_called';
    return origWrite(chunk, encoding, cb);
  };
  const fail = (err) => {
    if (failed) return;
    failed = true;
    logError('Invoke Error', err);
    const error = toRapidResponse(err);
    if (!req.writableEnded) {
      req.addTrailers({
        'Lambda-Runtime-Function-Error-Type': error.errorType,
        'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(error)).toString('base64'),
      });
      req.end();
    }
  };
  const base = contextBase();
  try {
    const context = makeContext(headers, base);
    const result = handler(event, req, context);
    if (!result || typeof result.then !== 'function') {
      fail(new Error('Streaming does not support non-async handlers.'));
    } else {
      const value = await result;
      if (typeof value !== 'undefined') console.warn('Streaming handlers ignore return values.');
      if (!req.writableFinished && !req.writableEnded) fail(new Error('Response stream is not finished.'));
    }
  } catch (err) {
    fail(err);
  }
  await responseDone;
  if (base[WAIT_FOR_EMPTY_LOOP]) {
    await new Promise((resolve) => {
      onEmptyLoop = () => setImmediate(resolve);
    });
  }
}

async function main() {
  patchConsole();
  const appRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
  let handler;
  let streaming = false;
  let highWaterMark;
  try {
    handler = await loadHandler(appRoot, process.env._HANDLER || '');
    const mode = handler[HANDLER_STREAMING];
    if (mode !== undefined && mode !== null && mode !== false) {
      if (mode !== STREAM_RESPONSE) throw new MalformedStreamingHandler('Only response streaming is supported.');
      streaming = true;
      const hwm = parseInt(handler[HANDLER_HIGHWATERMARK], 10);
      highWaterMark = Number.isNaN(hwm) ? undefined : hwm;
    }
    if (RUNTIME_MAJOR >= 24 && !streaming && handler.length >= 3) {
      throw new CallbackHandlerDeprecated(CALLBACK_DEPRECATED_MESSAGE);
    }
  } catch (err) {
    // Node.js 24's runtime client labels init failures "Init Error", the older ones
    // "Uncaught Exception".
    logError(RUNTIME_MAJOR >= 24 ? 'Init Error' : 'Uncaught Exception', err);
    const response = toRapidResponse(err);
    await client.post(
      '/2018-06-01/runtime/init/error',
      { 'Content-Type': 'application/json', 'Lambda-Runtime-Function-Error-Type': response.errorType },
      Buffer.from(JSON.stringify(response), 'utf8'),
    );
    process.exit(129);
  }
  for (;;) {
    const { headers, body } = await client.next();
    const id = headers['lambda-runtime-aws-request-id'];
    currentId = id;
    global[REQUEST_ID] = id;
    global[TENANT_ID] = headers['lambda-runtime-aws-tenant-id'];
    if (headers['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = headers['lambda-runtime-trace-id'];
    else delete process.env._X_AMZN_TRACE_ID;
    let event;
    try {
      event = JSON.parse(body.toString('utf8'));
    } catch (err) {
      logError('Invoke Error', err);
      await postError(id, err, true);
      continue;
    }
    if (streaming) await invokeStreaming(handler, headers, event, id, highWaterMark);
    else await invokeBuffered(handler, headers, event, id);
    currentId = null;
  }
}

main();
