// `npm run bench` (or `node scripts/bench-install.mjs` after `npm run build`): the install figures
// of docs/performance.md for the npm package. Packs this checkout, installs the tarball globally
// into a temporary prefix (offline: the package has no dependencies), and times the installed CLI
// against `node -e 0`, cold (an empty code cache directory every run) and warm.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const work = mkdtempSync(path.join(tmpdir(), 'dify-bench-install-'));

function files(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? e.path, e.name));
}
const bytes = (list) => list.reduce((n, f) => n + statSync(f).size, 0);
const mb = (n) => `${(n / 1048576).toFixed(2)} MB`;
const mid = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const npm = (args) => execFileSync('npm', args, { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  );
  const prefix = path.join(work, 'prefix');
  const tarball = path.join(work, packed.filename);
  npm(['install', '-g', '--prefix', prefix, '--offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball]);
  const installed = files(prefix);
  console.log(`node ${process.version}, npm ${npm(['--version']).trim()}`);
  console.log(`tarball: ${mb(packed.size)} packed, ${mb(packed.unpackedSize)} unpacked, ${packed.entryCount} files`);
  console.log(`npm install -g into an empty prefix: ${mb(bytes(installed))} in ${installed.length} files\n`);

  // The installed bin run by this Node, as the `dify` shim would; without Python or uv on PATH, so
  // that the check times the CLI alone (the local Python compile is measured in performance.md).
  const bin = path.join(prefix, 'lib', 'node_modules', 'dify-plugin-cli', 'bin', 'dify.js');
  const warmCache = path.join(work, 'cache');
  let coldRun = 0;
  const env = { ...process.env, PATH: '', UV_PATH: '', NO_COLOR: '1' };
  const check = ['plugin', 'package', '--check', path.join(root, 'examples', 'hello-world')];
  const cases = [
    ['node -e 0', ['-e', '0'], () => env],
    ['dify version, cold', [bin, 'version'], () => ({ ...env, XDG_CACHE_HOME: path.join(work, `cold${coldRun++}`) })],
    ['dify version, warm', [bin, 'version'], () => ({ ...env, XDG_CACHE_HOME: warmCache })],
    ['dify version, no cache', [bin, 'version'], () => ({ ...env, DIFY_PLUGIN_CLI_NO_CACHE: '1' })],
    [
      'package --check hello-world, cold',
      [bin, ...check],
      () => ({ ...env, XDG_CACHE_HOME: path.join(work, `cold${coldRun++}`) }),
    ],
    ['package --check hello-world, warm', [bin, ...check], () => ({ ...env, XDG_CACHE_HOME: warmCache })],
  ];
  // npx as a user without the CLI installed runs it, its npm cache holding the package after the
  // first run (offline: nothing to fetch); npm itself starts with it.
  const npxCache = path.join(work, 'npm-cache');
  const npxCli = path.join(path.dirname(process.execPath), 'npx');
  const viaNpx = [npxCli, '--yes', '--offline', `file:${tarball}`, 'version'];
  cases.push([
    'npx dify-plugin-cli version, warm',
    viaNpx,
    () => ({
      ...env,
      XDG_CACHE_HOME: warmCache,
      npm_config_cache: npxCache,
      PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`,
    }),
  ]);
  const timeOnce = ([, args, envOf]) => {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { stdio: 'ignore', env: envOf() });
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  // The warm cache holds what a user's would after `version` and a check; each case is run once
  // first to bring the files into the page cache. Runs alternate so that all see the same load.
  cases.forEach(timeOnce);
  const times = cases.map(() => []);
  for (let i = 0; i < RUNS; i++) cases.forEach((c, j) => times[j].push(timeOnce(c)));
  const base = mid(times[0]);
  console.log(`median of ${RUNS} runs, alternated`);
  cases.forEach(([name], j) => {
    const ms = mid(times[j]);
    console.log(`${name.padEnd(36)} ${ms.toFixed(0).padStart(5)} ms  ${(ms / base).toFixed(2)}x node -e 0`);
  });
  const cacheFiles = files(warmCache);
  console.log(`\ncode cache after a version and a check: ${mb(bytes(cacheFiles))} (${cacheFiles.length} file)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
