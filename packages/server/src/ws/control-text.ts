import type { Member, RoomKeyMessage, ServerMessage } from '@imv/protocol';

/** What every presence delta's text starts with (member-joined, member-left, members-changed). */
export const PRESENCE_DELTA_PREFIX = '{"type":"member';

/**
 * A server control message as it goes on the wire. Every message the server sends or publishes to a
 * room is built as a typed ServerMessage and serialized here, once per fan-out.
 */
export function controlText(message: ServerMessage): string {
  return JSON.stringify(message);
}

/** `room-key` for the members of `room`: the key they need to come back, or keyed false when removed. */
export function roomKeyText(room: string, key: string | undefined, setBy?: Member): string {
  const message: RoomKeyMessage = { type: 'room-key', room, keyed: key !== undefined };
  if (key !== undefined) message.key = key;
  if (setBy !== undefined) message.setBy = setBy;
  return controlText(message);
}
