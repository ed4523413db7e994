#!/usr/bin/env node
// Launcher: runs the bundled CLI (dist/dify.cjs) through V8's code cache, which Node 20 offers no
// other way to use for start-up. A missing or stale cache (another Node version) is rebuilt after
// the run; a read-only install simply runs without one. CommonJS (bin/package.json says so): an
// ES module entry point costs a few milliseconds more to start.
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS file */
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

// zlib.crc32 (ZIP entries) arrived in 20.15; say so plainly rather than fail midway.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 15)) {
  process.stderr.write(`error: dify-plugin-cli needs Node.js 20.15 or newer; this is ${process.version}\n`);
  process.exit(1);
}

const bundle = path.join(__dirname, '..', 'dist', 'dify.cjs');
const cacheFile = `${bundle}.cache`;
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // no cache yet
}
let code;
try {
  // esbuild escapes every non-ASCII character, so the bundle is ASCII and latin1 reads it
  // exactly, several times faster than UTF-8 decoding.
  code = readFileSync(bundle, 'latin1');
} catch {
  process.stderr.write(`error: ${bundle} is missing; run \`npm run build\` in the checkout first\n`);
  process.exit(1);
}
const source = `(function (exports, require, module, __filename, __dirname) {${code}\n})`;
const script = new vm.Script(source, { filename: bundle, cachedData });
const cli = { exports: {} };
script.runInThisContext()(cli.exports, createRequire(bundle), cli, bundle, path.dirname(bundle));

if (cachedData === undefined || script.cachedDataRejected) {
  process.once('exit', () => {
    try {
      const tmp = `${cacheFile}.${process.pid}`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    } catch {
      // not writable: run without a cache
    }
  });
}
cli.exports.run(process.argv).then((exitCode) => {
  process.exitCode = exitCode;
});
