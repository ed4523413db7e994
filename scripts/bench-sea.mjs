// `node scripts/bench-sea.mjs`, after `npm run build`: the size and cold start of the standalone
// executable (docs/performance.md, "Standalone executable"), with and without V8's code cache,
// against the npm build (bin/dify.js) and `node -e 0`. It builds both executables itself, under
// dist/. Timings are medians of runs alternated between the commands, so that all see the same
// machine load (BENCH_RUNS of them, default 21); with BENCH_CALLGRIND=1, the instructions each
// executes too (valgrind), which a busy machine hardly changes. PATH is empty, so no Python is
// started and the figures are the CLI's own.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const CALLGRIND = process.env.BENCH_CALLGRIND === '1';
const exe = (dir) => path.join(dir, process.platform === 'win32' ? 'dify.exe' : 'dify');
const withCache = path.join('dist', 'sea');
const withoutCache = path.join('dist', 'sea-no-code-cache');

/** Where `valgrind` is on this process's PATH (the runs get none). */
const VALGRIND = (process.env.PATH ?? '')
  .split(path.delimiter)
  .map((dir) => path.join(dir, 'valgrind'))
  .find((p) => existsSync(p));

if (CALLGRIND && !VALGRIND) throw new Error('BENCH_CALLGRIND=1 needs valgrind on PATH');
for (const args of [[], ['--no-code-cache', '--out', withoutCache]]) {
  const r = spawnSync(process.execPath, ['scripts/build-sea.mjs', ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
}

const work = mkdtempSync(path.join(tmpdir(), 'dify-bench-sea-'));
const env = { ...process.env, NO_COLOR: '1', PATH: '', XDG_CACHE_HOME: work };

/** Wall milliseconds of one run. */
function timeOnce([command, ...args]) {
  const start = process.hrtime.bigint();
  const r = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return wall;
}

/** Instructions executed by one run, all threads (valgrind's callgrind), which load hardly moves. */
function instructions(argv) {
  const r = spawnSync(VALGRIND, ['--tool=callgrind', '--callgrind-out-file=/dev/null', ...argv], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
    encoding: 'utf8',
  });
  const m = /Collected : (\d+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`valgrind ${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return Number(m[1]);
}

const mid = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const ways = {
  'node -e 0': [process.execPath, '-e', '0'],
  'npm build (node bin/dify.js)': [process.execPath, 'bin/dify.js'],
  'executable, code cache': [path.resolve(exe(withCache))],
  'executable, no code cache': [path.resolve(exe(withoutCache))],
};
const commands = {
  version: ['version'],
  'plugin package --check examples/hello-world': ['plugin', 'package', '--check', 'examples/hello-world'],
};

try {
  console.log(
    `executable: ${(statSync(exe(withCache)).size / 1e6).toFixed(1)} MB (node itself: ${(statSync(process.execPath).size / 1e6).toFixed(1)} MB), Node ${process.version}, ${RUNS} runs`,
  );
  for (const [name, args] of Object.entries(commands)) {
    const runs = Object.entries(ways).map(([way, argv]) => [way, way === 'node -e 0' ? argv : [...argv, ...args]]);
    for (const [, argv] of runs) timeOnce(argv); // warm the file-system cache (and the npm build's code cache)
    const times = runs.map(() => []);
    for (let i = 0; i < RUNS; i++) runs.forEach(([, argv], j) => times[j].push(timeOnce(argv)));
    const wall = times.map(mid);
    const counts = CALLGRIND ? runs.map(([, argv]) => instructions(argv)) : undefined;
    console.log(`\n${name}: median wall ms, × node -e 0${counts ? '; million instructions, ×' : ''}`);
    runs.forEach(([way], j) => {
      const ratio = (xs, unit) => `${(xs[j] / unit).toFixed(0).padStart(5)} ${(xs[j] / xs[0]).toFixed(2)}×`;
      console.log(`  ${way.padEnd(30)} ${ratio(wall, 1)}${counts ? `   ${ratio(counts, 1e6)}` : ''}`);
    });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
