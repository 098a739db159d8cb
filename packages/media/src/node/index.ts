// Node-only API (native/WASM Opus through @evan/opus). Re-exports the browser-safe API for convenience.
export * from '../index.js';
