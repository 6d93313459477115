import { defineConfig } from 'vitest/config';

// The fault suite (test/fault): the built daemon under load while its database, Redis and network fail.
// One file at a time: each scenario loads the machine on purpose, and its timings must not be another's noise.
export default defineConfig({
  test: {
    include: ['test/fault/**/*.test.ts'],
    testTimeout: 90_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
  },
});
