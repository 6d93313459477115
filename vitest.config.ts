import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // The fault suite loads the machine on purpose: it runs alone (npm run test:fault, vitest.fault.config.ts).
    exclude: [...configDefaults.exclude, 'test/fault/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
