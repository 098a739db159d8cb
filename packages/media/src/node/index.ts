// Node-only API (libopus through @evan/opus). Re-exports the browser-safe API for convenience.
export * from '../index.js';
export * from './opus-codec.js';
