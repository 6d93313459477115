import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';
import { SERIAL_TESTS } from './vitest.fault.config.js';

const json = process.env.SECUREFLOW_TEST_JSON;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Loads and timings: run alone afterwards (npm test runs both; vitest.fault.config.ts).
    exclude: [...configDefaults.exclude, ...SERIAL_TESTS],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default is one fewer than the cores: on a 2-core machine, one file at a time, while most files
    // wait on the processes they spawn. Two at a time took the main suite from 570 to 375 s there, all passing.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // .ci/run reads the counts from a JSON report.
    ...(json ? { reporters: ['default', 'json'], outputFile: { json } } : {}),
  },
});
