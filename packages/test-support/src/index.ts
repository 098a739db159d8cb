export * from './fixtures.js';
export * from './postgres-database.js';
