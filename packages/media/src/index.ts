// Browser-safe API: no Node built-ins, no native modules. Node-only codecs live in '@imv/media/node'.
export * from './errors.js';
export * from './bytes.js';
export * from './opus/opus-head.js';
export * from './opus/opus-toc.js';
export * from './ogg/ogg-crc.js';
export * from './ogg/ogg-page.js';
export * from './ogg/ogg-writer.js';
export * from './ogg/ogg-reader.js';
export * from './wav/wav-reader.js';
export * from './wav/wav-stream.js';
export * from './wav/wav-writer.js';
export * from './resample.js';
export * from './stream-resample.js';
export * from './audio-file.js';
export * from './analysis/correlate.js';
export * from './e2e/decrypt-to-ogg.js';
