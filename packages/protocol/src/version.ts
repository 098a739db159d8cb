/**
 * Wire protocol major version. A peer with a version outside OLDEST_PROTOCOL_VERSION..PROTOCOL_VERSION
 * is refused with VERSION_MISMATCH. Version 2: presence changes go out as `member-joined` /
 * `member-left` deltas instead of the whole member list to everyone. Version 3: the deltas of a
 * room are batched into `members-changed`, at most one per room every PRESENCE_BATCH_MS.
 */
export const PROTOCOL_VERSION = 3;
/**
 * Protocol 3: a room's presence changes go out at most this often (the first change after a quiet
 * spell at once), or every PRESENCE_BATCH_MS_PER_MEMBER × members in a bigger room: each batch costs
 * one write per member, so a room's presence costs at most about 1,000 writes a second whatever its
 * size (a room of 1,000 hears about joins once a second).
 */
export const PRESENCE_BATCH_MS = 100;
export const PRESENCE_BATCH_MS_PER_MEMBER = 1;
/** The oldest version a server still serves; protocol 1 clients get the whole list in `presence`. */
export const OLDEST_PROTOCOL_VERSION = 1;

/** WebSocket path on the server. */
export const WS_PATH = '/ws';
