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
    // .ci/run reads the counts from a JSON report.
    ...(json ? { reporters: ['default', 'json'], outputFile: { json } } : {}),
  },
});
