/** Wire protocol major version. A peer with another major version is refused with VERSION_MISMATCH. */
export const PROTOCOL_VERSION = 1;

/** WebSocket path on the server. */
export const WS_PATH = '/ws';
