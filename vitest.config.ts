import { defineConfig } from 'vitest/config';

/**
 * Files that replace modules with `vi.mock` (node:fs as on Windows, the key generator): they get a
 * fresh module registry of their own, so a mock never reaches another file nor misses a module
 * another file loaded first. The e2e folder spawns the CLI and loads little: no gain in sharing.
 */
const ISOLATED = [
  'test/e2e/**/*.test.ts',
  'test/unit/windows-paths.test.ts',
  'test/commands/signature.test.ts',
  'test/unit/doc-commands.test.ts',
];

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
