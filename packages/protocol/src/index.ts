export * from './version.js';
export * from './audio.js';
export * from './frame.js';
export * from './e2e.js';
export * from './errors.js';
export * from './names.js';
export * from './messages.js';
export * from './parse.js';
