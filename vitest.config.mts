import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', '.local-data/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // End-to-end suites start real processes on fixed-per-suite ports; keep files from starving each other on 2 cores.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
