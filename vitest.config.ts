import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['shared/**/*.test.ts', 'control/src/**/*.test.ts', 'gateway/src/**/*.test.ts', 'web/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real services and real browsers on a 2-core machine: one file at a time.
    fileParallelism: false,
    pool: 'forks',
  },
});
