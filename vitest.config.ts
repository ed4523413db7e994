import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // The JSON report feeds the plain "N passed, N failed" line of .ci/run.
    reporters: ['default', ['json', { outputFile: '.vitest-report.json' }]],
    // Vitest's default (cores − 1) runs one file at a time on two cores, yet the slow files wait
    // on sockets and child processes, not on the CPU: four at a time keep both cores busy.
    maxWorkers: 4,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
