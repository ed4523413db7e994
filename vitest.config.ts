import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Files that replace modules with `vi.mock` (node:fs as on Windows, the key generator) get a fresh
 * module registry of their own, so that a mock never reaches another file nor misses a module
 * another file loaded first. Found by reading the files, so a new one cannot be forgotten.
 */
const MOCKING = readdirSync(path.join(import.meta.dirname, 'test'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => path.posix.join('test', f.split(path.sep).join('/')))
  .filter((f) => /\bvi\.(do)?mock\(/i.test(readFileSync(path.join(import.meta.dirname, f), 'utf8')));
/**
 * Files whose daemon, in the test's own process, drops a session that misses heartbeats for
 * 400 ms: a fresh process, with a small heap, is held up less by garbage collection and by copying
 * its memory map for each process it starts than one that ran many files before.
 */
const TIMING = ['test/unit/session.test.ts'];
const ISOLATED = [...MOCKING, ...TIMING];

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    // Runs before each file, shared modules or not: removes the file's temporary directories.
    setupFiles: ['test/helpers/setup-file.ts'],
    // The JSON report feeds the plain "N passed, N failed" line of .ci/run.
    reporters: ['default', ['json', { outputFile: '.vitest-report.json' }]],
    // Vitest's default (cores − 1) runs one file at a time on two cores, yet the slow files wait
    // on sockets and child processes, not on the CPU: four at a time keep both cores busy.
    maxWorkers: 4,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: 'isolated', include: ISOLATED },
      },
      {
        extends: true,
        // Loading src/ (schemas, validators, the CLI) once per worker instead of once per file
        // saves about a quarter of the suite's CPU time on two cores. Each file still gets its own
        // test state; what src/ keeps between calls must not depend on the test that made it.
        test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: ISOLATED, isolate: false },
      },
    ],
  },
});
