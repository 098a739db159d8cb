// The light entry point: fixtures only. Scaffolding with heavier imports has its own entry point:
// @imv/test-support/cli, /chromium, /netns, /netns-server and /server.
export * from './fixtures.js';
export { SOURCE_CONDITION_FLAG, repoRoot, tsxCommand } from './repo.js';
