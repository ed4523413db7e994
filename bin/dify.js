#!/usr/bin/env node
// Launcher: runs the bundled CLI (dist/dify.cjs) through V8's code cache, which Node 20 offers no
// other way to use for start-up. The cache is made on this machine by this Node and kept in the
// user's cache directory, never in the installed package (which may be read-only, and is shared).
// CommonJS (bin/package.json says so): an ES module entry point costs a few milliseconds more.
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS file */
const fs = require('node:fs');
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
let code;
try {
  // esbuild escapes every non-ASCII character, so the bundle is ASCII and latin1 reads it
  // exactly, several times faster than UTF-8 decoding.
  code = fs.readFileSync(bundle, 'latin1');
} catch {
  process.stderr.write(`error: ${bundle} is missing; run \`npm run build\` in the checkout first\n`);
  process.exit(1);
}

/** Where this user's caches go: $XDG_CACHE_HOME, else the platform's place for them. */
function cacheDir(env) {
  // The XDG base directory spec says to ignore a relative XDG_CACHE_HOME.
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME))
    return path.join(env.XDG_CACHE_HOME, 'dify-plugin-cli');
  if (process.platform === 'win32') {
    return env.LOCALAPPDATA && path.isAbsolute(env.LOCALAPPDATA)
      ? path.join(env.LOCALAPPDATA, 'dify-plugin-cli', 'Cache')
      : undefined;
  }
  let home = env.HOME;
  try {
    home ||= require('node:os').homedir();
  } catch {
    return undefined; // no home directory: no cache
  }
  return home && path.join(home, process.platform === 'darwin' ? 'Library/Caches' : '.cache', 'dify-plugin-cli');
}

/**
 * The cache file for this bundle on this Node, or undefined for none. V8 checks its own version
 * and flags but not the source text (only its length), so the name carries the build id that
 * scripts/bundle.mjs writes into the bundle's first line, a hash of the bundle read for free.
 */
function cacheFile() {
  const off = process.env.DIFY_PLUGIN_CLI_NO_CACHE;
  if (off && off !== '0') return undefined;
  const build = /^\/\*dify-plugin-cli ([\w.+-]{1,40}) build ([0-9a-f]{16})\*\//.exec(code.slice(0, 100));
  const dir = build && cacheDir(process.env);
  return dir && path.join(dir, `${build[1]}-${build[2]}-node${process.versions.node}-${process.arch}.v8cache`);
}

/**
 * Code in the cache runs as this user, so a cache is used only in a directory no one else can
 * write to and from a file of this user (POSIX; on Windows LOCALAPPDATA is the user's own).
 */
function ownedPrivately(stat) {
  return !process.getuid || (stat.uid === process.getuid() && (stat.mode & 0o022) === 0);
}

// The file's first line names the commands whose code it holds: a run of another command
// compiles code the cache lacks, so it rewrites the cache with that code added (a run of `dify
// version` first would otherwise leave every later check compiling the checks).
const MAGIC = 'dify-code-cache 1 ';
const MAX_COMMANDS = 12;
const words = [];
for (const arg of process.argv.slice(2, 4)) {
  if (!/^[a-z][a-z-]{0,30}$/.test(arg)) break;
  words.push(arg);
}
const command = words.join(' ');

const file = cacheFile();
let cachedFor = [];
let cachedData;
if (file) {
  let fd;
  try {
    if (!ownedPrivately(fs.statSync(path.dirname(file)))) throw new Error('not private');
    fd = fs.openSync(file, 'r');
    if (!ownedPrivately(fs.fstatSync(fd))) throw new Error('not private');
    const data = fs.readFileSync(fd);
    const eol = data.indexOf(10);
    const head = eol > 0 && eol < 1024 ? data.toString('latin1', 0, eol) : '';
    if (head.startsWith(MAGIC)) {
      cachedFor = head.slice(MAGIC.length).split(',');
      cachedData = data.subarray(eol + 1);
    }
  } catch {
    // no cache yet, or not one to trust
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

const source = `(function (exports, require, module, __filename, __dirname) {${code}\n})`;
const script = new vm.Script(source, { filename: bundle, cachedData });
const cli = { exports: {} };
script.runInThisContext()(cli.exports, createRequire(bundle), cli, bundle, path.dirname(bundle));

const accepted = cachedData !== undefined && !script.cachedDataRejected;
if (file && (!accepted || (!cachedFor.includes(command) && cachedFor.length < MAX_COMMANDS))) {
  process.once('exit', () => writeCache(file, accepted ? [...cachedFor, command] : [command]));
}
cli.exports.run(process.argv).then((exitCode) => {
  process.exitCode = exitCode;
});

/**
 * Replaces the cache in one rename, from a new file that O_EXCL refuses to open through a link,
 * in a directory made private; then removes what other builds left over a day ago. Any failure
 * (read-only home, full disk) leaves the run as it is.
 */
function writeCache(file, commands) {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${process.pid}-${Date.now()}.tmp`);
  let fd;
  try {
    // Directories are made only under one of this user's own: `sudo dify` with the user's HOME
    // must not leave a root-owned ~/.cache behind that the user's other tools cannot write to.
    let existing = dir;
    while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
    if (process.getuid && fs.statSync(existing).uid !== process.getuid()) return;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!ownedPrivately(fs.statSync(dir))) return;
    fd = fs.openSync(tmp, 'wx', 0o600);
    fs.writeFileSync(fd, `${MAGIC}${commands.join(',')}\n`);
    fs.writeFileSync(fd, script.createCachedData());
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
    const dayAgo = Date.now() - 86_400_000;
    for (const name of fs.readdirSync(dir)) {
      const old = path.join(dir, name);
      if (/\.(v8cache|tmp)$/.test(name) && old !== file && fs.lstatSync(old).mtimeMs < dayAgo) fs.rmSync(old);
    }
  } catch {
    try {
      if (fd !== undefined) fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing more to do
    }
  }
}
