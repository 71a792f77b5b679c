import { defineConfig } from 'vitest/config';

// The native addon is loaded once per worker process; forks isolate it from vitest's threads.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
