import type { Member, MemberJoined, MemberLeft, Presence } from '@imv/protocol';
import type { RoomSubscriber } from '../bus/bus.js';
import { controlText } from './control-text.js';
import type { Hub } from './hub.js';

/*
 * Presence (protocol 2): the newcomer gets the whole member list in `joined`; everyone else gets a
 * delta of one member. A join then costs O(n) bytes (one list) plus n small deltas, instead of the
 * whole list to all n members (O(n²) per join, O(n³) for a room filling up). bench/presence.ts
 * measures both on the real server.
 */

const DELTA_PREFIX = '{"type":"member-';

/** Tells the room's other members that `member` joined. */
export function announceJoin(
  hub: Hub,
  room: string,
  member: Member,
  newcomer: RoomSubscriber,
): void {
  const joined: MemberJoined = { type: 'member-joined', room, member };
  hub.bus.publishControl(room, controlText(joined), newcomer);
}

/** Tells the room's members that `member` left. */
export function announceLeave(hub: Hub, room: string, member: Member): void {
  const left: MemberLeft = { type: 'member-left', room, member };
  hub.bus.publishControl(room, controlText(left));
}

/**
 * Protocol 1 clients know only `presence` with the whole list: a delta on its way to one becomes
 * that list. Every member of the room gets the same delta text in one loop, so the list is
 * serialized once per change (a one-entry cache on the delta), as protocol 1 servers did.
 */
class LegacyPresence {
  private delta: string | undefined;
  private full = '';

  constructor(private readonly hub: Hub) {}

  /** The `presence` text to send instead of `text`, or undefined when `text` is no delta. */
  replace(room: string, text: string): string | undefined {
    if (!text.startsWith(DELTA_PREFIX)) return undefined;
    if (text !== this.delta) {
      const presence: Presence = { type: 'presence', room, members: this.hub.rooms.members(room) };
      this.full = controlText(presence);
      this.delta = text;
    }
    return this.full;
  }
}

const legacyByHub = new WeakMap<Hub, LegacyPresence>();

/** The hub's LegacyPresence (one per server, shared by its connections). */
export function legacyPresence(hub: Hub): LegacyPresence {
  let legacy = legacyByHub.get(hub);
  if (legacy === undefined) {
    legacy = new LegacyPresence(hub);
    legacyByHub.set(hub, legacy);
  }
  return legacy;
}
