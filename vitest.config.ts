import { defineConfig } from 'vitest/config';

// Tests run the TypeScript sources: the workspace packages' `imv-source` export condition points at
// src/*.ts, where plain Node (the compiled `imv`) takes dist/*.js.
const SOURCE_CONDITION = 'imv-source';

export default defineConfig({
  // Vite's default lists, with ours first.
  resolve: { conditions: [SOURCE_CONDITION, 'module', 'browser', 'development|production'] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION, 'module', 'node', 'development|production'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    // Integration and browser tests start real servers and Chromium; the CI machine has 2 cores.
    // `npm test` runs the page's real-time browser tests in a second pass, one file at a time
    // (test:browser), so live audio never competes with another test file for the CPU.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['scripts/vitest-build.js'],
  },
});
