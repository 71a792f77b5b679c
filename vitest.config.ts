import { defineConfig } from 'vitest/config';

// The native addon is loaded once per worker process; forks isolate it from vitest's threads.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    // A temporary folder of the run's own, which must be empty at the end (test/support/tmp-guard.ts).
    globalSetup: ['test/support/tmp-guard.ts'],
    testTimeout: 60_000,
  },
});
