import { defineConfig } from 'vitest/config';

// `npm test`: every test file but the long-only ones (*.long.test.ts: packing and installing the
// package, typedoc), with the property tests at their quick counts (test/property-options.ts).
// The native addon is loaded once per worker process; forks isolate it from vitest's threads.
export default defineConfig({
  test: {
    pool: 'forks',
    setupFiles: ['test/support/yield-between-tests.ts'],
    include: ['test/**/*.test.ts'],
    exclude: ['test/**/*.long.test.ts', '**/node_modules/**'],
    // A temporary folder of the run's own, which must be empty at the end (test/support/tmp-guard.ts).
    globalSetup: ['test/support/tmp-guard.ts'],
    testTimeout: 60_000,
  },
});
