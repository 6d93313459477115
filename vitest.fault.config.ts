import { defineConfig } from 'vitest/config';

/**
 * Tests that load the machine on purpose or measure latency under load: one file at a time, after the main suite,
 * so that one's load is never another's timing noise. Besides the fault suite (test/fault: the built daemon under
 * load while its database, Redis and the network fail), the attack regression tests of the daemon.
 */
export const SERIAL_TESTS = [
  'test/fault/**/*.test.ts',
  'test/daemon/overload.test.ts',
  'test/cli/auth-flood.test.ts',
  'test/cli/login-timing.test.ts',
  'test/storage/sqlite-lock.test.ts',
  'test/storage/pg-terminate.test.ts',
  'test/storage/group-commit.test.ts',
];

const json = process.env.SECUREFLOW_SERIAL_JSON;

export default defineConfig({
  test: {
    include: SERIAL_TESTS,
    testTimeout: 90_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    // .ci/run reads the counts from a JSON report.
    ...(json ? { reporters: ['default', 'json'], outputFile: { json } } : {}),
  },
});
