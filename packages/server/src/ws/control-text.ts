import type { ServerMessage } from '@imv/protocol';

/**
 * A server control message as it goes on the wire. Every message the server sends or publishes to a
 * room is built as a typed ServerMessage and serialized here, once per fan-out.
 */
export function controlText(message: ServerMessage): string {
  return JSON.stringify(message);
}
