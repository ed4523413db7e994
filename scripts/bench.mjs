// `npm run bench`: start-up and throughput figures for docs/performance.md.
// Timings are medians of repeated wall-clock runs of the built CLI on this machine.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeLargePlugin } from './make-large-plugin.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const realFixtures = path.join(root, 'test', 'fixtures', 'real');
const bin = path.join(root, 'bin', 'dify.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const PACK_RUNS = Number(process.env.BENCH_PACK_RUNS ?? 7);

const work = mkdtempSync(path.join(tmpdir(), 'dify-bench-'));
// The CLI's code cache (bin/dify.js) of this run, filled below by a check of every kind of plugin,
// so that the figures do not depend on what the user's own cache has seen.
const env = { ...process.env, NO_COLOR: '1', XDG_CACHE_HOME: path.join(work, 'cache') };

function timeOnce(args) {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const mid = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Wall time and peak resident memory (GNU time's %M, in KB) of one run. */
function peak(command, args, options) {
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', command, ...args], {
    ...options,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, kb: Number(r.stderr.trim().split('\n').at(-1)) };
}

function dirSize(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .reduce((n, e) => n + statSync(path.join(e.parentPath ?? e.path, e.name)).size, 0);
}

function countFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).length;
}

/**
 * Median wall time of each command, measured in alternation so that both see the same machine
 * load (this matters on shared machines, where load drifts over seconds).
 */
function medians(commands, runs = RUNS) {
  for (const args of commands) timeOnce(args); // warm the file-system cache
  const times = commands.map(() => []);
  for (let i = 0; i < runs; i++) commands.forEach((args, j) => times[j].push(timeOnce(args)));
  return times.map(mid);
}

try {
  const fixtures = readdirSync(realFixtures, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => path.join(realFixtures, e.name))
    .sort();
  timeOnce([bin, 'plugin', 'package', '--check', path.join(root, 'examples', 'hello-world'), ...fixtures]);
  const rows = [];

  let worst = { ratio: 0, name: '' };
  // The target is set on the largest fixture (by bytes on disk); the worst one is shown as well.
  const sizes = new Map(fixtures.map((dir) => [dir, dirSize(dir)]));
  const largest = fixtures.reduce((a, b) => (sizes.get(b) > sizes.get(a) ? b : a));
  let largestRatio = 0;
  for (const dir of fixtures) {
    const [node, ms] = medians([
      ['-e', '0'],
      [bin, 'plugin', 'package', '--check', dir],
    ]);
    const ratio = ms / node;
    if (ratio > worst.ratio) worst = { ratio, name: path.basename(dir) };
    if (dir === largest) largestRatio = ratio;
    rows.push([`package --check ${path.basename(dir)}`, ms, `${ratio.toFixed(2)}x node -e 0 (${node.toFixed(0)} ms)`]);
  }

  // 100 plugin directories in one call: per-plugin cost after start-up.
  const many = [];
  for (let i = 0; i < 100; i++) {
    const dest = path.join(work, `p${i}`);
    cpSync(fixtures[i % fixtures.length], dest, { recursive: true });
    many.push(dest);
  }
  const [one, hundred] = medians(
    [
      [bin, 'plugin', 'package', '--check', many[0]],
      [bin, 'plugin', 'package', '--check', ...many],
    ],
    7,
  );
  const perPlugin = (hundred - one) / 99;
  rows.push([
    'package --check, 100 plugins in one call',
    hundred,
    `${perPlugin.toFixed(2)} ms per plugin after start-up`,
  ]);

  // Packing a ~50 MB plugin against `zip -r -q -6` on the same tree, alternated (zip is
  // Info-ZIP, one thread; Deflate level 6 as here). The packages are written to the same
  // temporary directory as zip's archive.
  const large = path.join(work, 'large');
  makeLargePlugin(path.join(root, 'examples', 'hello-world'), large);
  const out = path.join(work, 'large.difypkg');
  const zipOut = path.join(work, 'large.zip');
  const packArgs = [bin, 'plugin', 'package', large, '-o', out];
  const zipCmd = ['zip', ['-r', '-q', '-6', zipOut, '.'], { cwd: large }];
  const packs = [];
  const zips = [];
  for (let i = 0; i < PACK_RUNS; i++) {
    packs.push(peak(process.execPath, packArgs, { env }));
    rmSync(zipOut, { force: true });
    zips.push(peak(...zipCmd));
  }
  const pack = { ms: mid(packs.map((p) => p.ms)), kb: Math.max(...packs.map((p) => p.kb)) };
  const zip = { ms: mid(zips.map((p) => p.ms)), kb: Math.max(...zips.map((p) => p.kb)) };
  rows.push([
    `package, ${(dirSize(large) / 1048576).toFixed(0)} MB plugin (${countFiles(large)} files)`,
    pack.ms,
    `peak ${(pack.kb / 1024).toFixed(0)} MB; zip -r -q -6: ${zip.ms.toFixed(0)} ms, median of ${PACK_RUNS}`,
  ]);

  console.log(`node ${process.version}, median of ${RUNS} runs, alternated with node -e 0\n`);
  for (const [name, ms, note] of rows) console.log(`${name.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms   ${note}`);
  const verdict = (ok) => (ok ? 'PASS' : 'MISS');
  console.log(`\ncold check of the largest plugin: ${largestRatio.toFixed(2)}x node -e 0 (${path.basename(largest)})`);
  console.log(
    `worst cold check: ${worst.ratio.toFixed(2)}x node -e 0 (${worst.name}; target <= 1.5x): ${verdict(worst.ratio <= 1.5)}`,
  );
  console.log(`per plugin after start-up: ${perPlugin.toFixed(2)} ms (target < 10 ms): ${verdict(perPlugin < 10)}`);
  const packRatio = pack.ms / zip.ms;
  console.log(
    `packing: ${packRatio.toFixed(2)}x zip's wall time (target <= 0.9x): ${verdict(packRatio <= 0.9)}; ` +
      `peak ${(pack.kb / 1024).toFixed(0)} MB (target <= 150 MB): ${verdict(pack.kb / 1024 <= 150)}`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
