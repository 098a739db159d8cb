/**
 * Wire protocol major version. A peer with a version outside OLDEST_PROTOCOL_VERSION..PROTOCOL_VERSION
 * is refused with VERSION_MISMATCH. Version 2: presence changes go out as `member-joined` /
 * `member-left` deltas instead of the whole member list to everyone.
 */
export const PROTOCOL_VERSION = 2;
/** The oldest version a server still serves; protocol 1 clients get the whole list in `presence`. */
export const OLDEST_PROTOCOL_VERSION = 1;

/** WebSocket path on the server. */
export const WS_PATH = '/ws';
