/*
 * The zod-free entry point, `@imv/protocol/wire`: the audio format, the binary frame layout and
 * end-to-end sealing. The audio worklets and the engine worker import this instead of the package
 * root, whose control-message schemas would bundle zod into the audio thread.
 * test/wire.test.ts checks that nothing reachable from here imports zod.
 */
export * from './audio.js';
export * from './frame.js';
export * from './e2e.js';
export { ProtocolError } from './errors.js';
export type { ErrorCode } from './errors.js';
