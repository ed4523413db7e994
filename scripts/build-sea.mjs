// Builds the standalone executable, dist/sea/dify (dify.exe on Windows): a Node single executable
// application (https://nodejs.org/api/single-executable-applications.html) made of a copy of the
// running `node` with the bundled CLI injected, so that a machine without Node can run dify.
// Run `npm run build` first: the executable runs the same dist/dify.cjs the npm package runs.
// `--no-code-cache --out <dir>` builds one without V8's code cache elsewhere, for
// scripts/bench-sea.mjs to measure what the cache saves.
//
// The npm package reads package.json, templates/ and data/ from its directory; an executable has
// none beside it, so those files are embedded as SEA assets under their package paths and
// src/package-files.ts reads them from there (with a list of their names: assets cannot be listed).
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

/** What src/package-files.ts reads, and the asset holding their names (its SEA_FILE_LIST). */
const PACKAGE_FILES = ['package.json', 'data', 'templates'];
const FILE_LIST = 'package-files.json';
/** The fuse postject flips so that Node looks for the blob (the value in Node's docs). */
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function fail(message) {
  process.stderr.write(`build:sea: ${message}\n`);
  process.exit(1);
}

/**
 * Without NODE_OPTIONS: V8 options there would go into the code cache, which V8 would then turn
 * down in every run without them.
 */
const CLEAN_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS'));

/** Runs a build tool; its output is shown only when it fails (postject's is noisy on ELF). */
function tool(command, args) {
  const r = spawnSync(command, args, { encoding: 'utf8', env: CLEAN_ENV });
  if (r.error) fail(`${command}: ${r.error.message}`);
  if (r.status !== 0) fail(`${command} ${args.join(' ')} exited ${r.status}\n${r.stdout}${r.stderr}`);
}

/** The files below `dir`, `/`-separated. */
function filesBelow(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return filesBelow(rel);
    return e.isFile() ? [rel] : [];
  });
}

// Assets need Node 20.12; the executable is the Node that runs this script.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 12)) fail(`needs Node.js 20.12 or newer; this is ${process.version}`);
if (!existsSync('dist/dify.cjs')) fail('dist/dify.cjs is missing; run `npm run build` first');

const { values: flags } = parseArgs({
  options: { 'no-code-cache': { type: 'boolean' }, out: { type: 'string', default: path.join('dist', 'sea') } },
});
const out = flags.out;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// The main script is the bundle followed by what bin/dify.js does with it. A SEA's main script is
// compiled by Node itself (with the code cache below), not through bin/dify.js's vm.Script, and
// can require built-in modules only, which is all the bundle requires.
//
// A V8 option in NODE_OPTIONS (--max-old-space-size, say) changes the flags V8 checks the code cache
// against: the cache is turned down and Node prints "Warning: Code cache data rejected." (Node's
// lib/internal/main/embedding.js emits it synchronously, before this script runs, so it cannot be
// filtered here; docs/performance.md says so).
const START = `module.exports.run(process.argv).then((code) => {
  process.exitCode = code;
});
`;
const bundle = readFileSync('dist/dify.cjs', 'latin1').replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n');
const main = path.join(out, 'main.cjs');
writeFileSync(main, `${bundle}${START}`, 'latin1');

const names = PACKAGE_FILES.flatMap((p) => (statSync(p).isDirectory() ? filesBelow(p) : [p])).sort();
const fileList = path.join(out, FILE_LIST);
writeFileSync(fileList, JSON.stringify(names));
const assets = Object.fromEntries([...names.map((n) => [n, path.resolve(n)]), [FILE_LIST, path.resolve(fileList)]]);

const blob = path.join(out, 'dify.blob');
const config = path.join(out, 'sea-config.json');
writeFileSync(
  config,
  JSON.stringify(
    {
      main,
      output: blob,
      // V8's compiled code for the main script, made here by the same Node the executable runs.
      useCodeCache: !flags['no-code-cache'],
      // Node 20 and 22 otherwise print an ExperimentalWarning on stderr at every run.
      disableExperimentalSEAWarning: true,
      assets,
    },
    null,
    2,
  ),
);
tool(process.execPath, ['--experimental-sea-config', config]);

const exe = path.join(out, process.platform === 'win32' ? 'dify.exe' : 'dify');
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
// node's own signature would be invalid once the blob is in: macOS refuses to run such a binary,
// so it is removed now and an ad-hoc one made afterwards. (On Windows the signature is only
// invalidated, and the executable runs unsigned; signing it is the release's business.)
if (process.platform === 'darwin') tool('codesign', ['--remove-signature', exe]);
tool(process.execPath, [
  path.join('node_modules', 'postject', 'dist', 'cli.js'),
  exe,
  'NODE_SEA_BLOB',
  blob,
  '--sentinel-fuse',
  SENTINEL_FUSE,
  ...(process.platform === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : []),
]);
if (process.platform === 'darwin') tool('codesign', ['--sign', '-', exe]);

rmSync(blob);

// A `node` that keeps its code in a shared library (some distributions' packages) has the fuse
// there, not in the executable, and the copy would run as plain Node: make sure it is the CLI.
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const self = spawnSync(exe, ['version'], { encoding: 'utf8', env: CLEAN_ENV });
if (self.stdout !== `${version}\n` || self.stderr !== '')
  fail(`${exe} version printed ${JSON.stringify(self.stdout + self.stderr)}, not ${version}`);
process.stdout.write(`build:sea: ${exe} (${names.length} package files embedded)\n`);
