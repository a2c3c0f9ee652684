// wisp local coldstart (node): loads a function's handler module as wisp's bootstrap does
// (CommonJS first, then ES modules), under `node --cpu-prof`; prints how long it took.
'use strict';
const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');

function typeModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const pj = path.join(folder, 'package.json');
  if (fs.existsSync(pj)) {
    try {
      return JSON.parse(fs.readFileSync(pj)).type === 'module';
    } catch (e) {
      return false;
    }
  }
  return folder === '/' ? false : typeModule(path.resolve(folder, '..'));
}

async function load(appRoot, handler) {
  const name = path.basename(handler);
  const moduleRoot = handler.substring(0, handler.indexOf(name));
  const moduleName = name.split('.')[0];
  const base = path.resolve(appRoot, moduleRoot, moduleName);
  const esm = typeModule(path.dirname(base));
  for (const [file, how] of [
    [base, 'require'],
    [base + '.js', esm ? 'import' : 'require'],
    [base + '.mjs', 'import'],
    [base + '.cjs', 'require'],
  ]) {
    if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) continue;
    return how === 'require' ? require(file) : await import(pathToFileURL(file).href);
  }
  return require(require.resolve(moduleName, { paths: [appRoot, path.resolve(appRoot, moduleRoot)] }));
}

const [appRoot, handler] = process.argv.slice(2);
// On the CPU profile's clock (monotonic, microseconds): only samples in between count.
const start = process.hrtime.bigint();
load(appRoot, handler).then(
  () => finish(''),
  (e) => finish(String((e && e.stack) || e).split('\n')[0]),
);

function finish(error) {
  const end = process.hrtime.bigint();
  const ms = Number(end - start) / 1e6;
  const startUs = Number(start / 1000n);
  const endUs = Number(end / 1000n);
  process.stdout.write(JSON.stringify({ loadMs: ms, error, startUs, endUs }) + '\n');
  process.exit(0); // the profile is written on exit; timers the module left do not hold it
}
