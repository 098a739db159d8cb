// The light entry point: fixtures, services and paths. Scaffolding with heavier imports has its own
// entry point: @imv/test-support/cli, /chromium, /netns, /netns-server and /server.
export * from './fixtures.js';
export * from './nats.js';
export * from './postgres-database.js';
export * from './private-postgres.js';
export { SOURCE_CONDITION_FLAG, repoRoot, tsxCommand } from './repo.js';
