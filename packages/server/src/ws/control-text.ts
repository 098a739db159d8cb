import type { Joined, Member, RoomKeyMessage, ServerMessage } from '@imv/protocol';

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

/** Each member's JSON, kept while the member object lives (rooms hold the same object throughout). */
const memberJson = new WeakMap<Member, string>();

function jsonOf(member: Member): string {
  let json = memberJson.get(member);
  if (json === undefined) {
    json = JSON.stringify(member);
    memberJson.set(member, json);
  }
  return json;
}

/**
 * `joined` for a newcomer. Its member list is the one part that grows with the room, and every
 * newcomer gets it: built from each member's kept JSON rather than serialized whole each time.
 */
export function joinedText(joined: Joined): string {
  const { members, ...rest } = joined;
  // `members` goes last, so the text ends with `"members":[]}`.
  const head = controlText({ ...rest, members: [] });
  return `${head.slice(0, -3)}[${members.map(jsonOf).join(',')}]}`;
}
