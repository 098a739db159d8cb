export * from './fixtures.js';
export * from './nats.js';
export * from './postgres-database.js';
export * from './private-postgres.js';
