import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    // Integration and browser tests start real servers and Chromium; the CI machine has 2 cores.
    // `npm test` runs the page's real-time browser tests in a second pass, one file at a time
    // (test:browser), so live audio never competes with another test file for the CPU.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
