// `node scripts/bench-sea.mjs`, after `npm run build`: the size and cold start of the standalone
// executable (docs/performance.md, "Standalone executable"), with and without V8's code cache,
// against the npm build (bin/dify.js) and `node -e 0`. It builds both executables itself, under
// dist/. Timings are medians of runs alternated between the commands, so that all see the same
// machine load, in wall-clock time and, with GNU time at /usr/bin/time, in CPU time (user + system),
// which drifts less on a busy machine; PATH is empty, so no Python is started and the figures are
// the CLI's own.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const exe = (dir) => path.join(dir, process.platform === 'win32' ? 'dify.exe' : 'dify');
const withCache = path.join('dist', 'sea');
const withoutCache = path.join('dist', 'sea-no-code-cache');

for (const args of [[], ['--no-code-cache', '--out', withoutCache]]) {
  const r = spawnSync(process.execPath, ['scripts/build-sea.mjs', ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
}

const work = mkdtempSync(path.join(tmpdir(), 'dify-bench-sea-'));
const env = { ...process.env, NO_COLOR: '1', PATH: '', XDG_CACHE_HOME: work };

const GNU_TIME = '/usr/bin/time';
const cpuToo = existsSync(GNU_TIME);

/** Wall and CPU milliseconds of one run (CPU NaN without GNU time). */
function timeOnce(argv) {
  const [command, ...args] = cpuToo ? [GNU_TIME, '-f', '%U %S', ...argv] : argv;
  const start = process.hrtime.bigint();
  const r = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  const [user, sys] = cpuToo ? r.stderr.trim().split('\n').at(-1).split(' ').map(Number) : [NaN, NaN];
  return { wall, cpu: (user + sys) * 1000 };
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
    const wall = times.map((t) => mid(t.map((x) => x.wall)));
    const cpu = times.map((t) => mid(t.map((x) => x.cpu)));
    console.log(`\n${name} (median wall ms, × node -e 0; CPU ms, ×)`);
    runs.forEach(([way], j) => {
      const ratio = (xs) => `${xs[j].toFixed(0).padStart(5)} ${(xs[j] / xs[0]).toFixed(2)}×`;
      console.log(`  ${way.padEnd(30)} ${ratio(wall)}   ${ratio(cpu)}`);
    });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
