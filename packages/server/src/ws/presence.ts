import { PRESENCE_BATCH_MS, PRESENCE_BATCH_MS_PER_MEMBER } from '@imv/protocol';
import type { Member, MemberJoined, MemberLeft, MembersChanged, Presence } from '@imv/protocol';
import { PRESENCE_DELTA_PREFIX, controlText } from './control-text.js';
import type { Hub } from './hub.js';

/*
 * Presence (protocol 3): the newcomer gets the whole member list in `joined`; the room's changes
 * are batched into one `members-changed` per room, sent at the next tick after a quiet spell and then
 * at most every PRESENCE_BATCH_MS (longer in rooms of over 100 members). Each batch is serialized once and the same text goes to every
 * member. Sending is what costs (one socket write per member), so a room filling up with n members
 * costs n writes per batch instead of n per join: 1,000 joins take tens of batches, not 1,000
 * (bench/presence.ts measures it against protocol 2's one delta per join on the real server).
 * Older clients get what they understand, translated per connection (LegacyPresence).
 */

/** One room's changes since its last batch. A member who joins and leaves in between cancels out. */
interface PendingRoom {
  joined: Map<string, Member>;
  left: Map<string, Member>;
  /** A flush is scheduled (next tick or at the end of the interval). */
  scheduled: boolean;
}

class PresenceBatcher {
  private readonly rooms = new Map<string, PendingRoom>();

  constructor(
    private readonly hub: Hub,
    private readonly legacy: LegacyPresence,
  ) {}

  joined(room: string, member: Member): void {
    this.pending(room).joined.set(member.id, member);
  }

  left(room: string, member: Member): void {
    const pending = this.pending(room);
    // Joined and left within one batch: the others never knew.
    if (!pending.joined.delete(member.id)) pending.left.set(member.id, member);
  }

  private pending(room: string): PendingRoom {
    let pending = this.rooms.get(room);
    if (pending === undefined) {
      pending = { joined: new Map(), left: new Map(), scheduled: true };
      this.rooms.set(room, pending);
      // The first change after a quiet spell goes out at the next tick, with whatever else this
      // tick brings.
      setImmediate(() => this.flush(room));
    }
    return pending;
  }

  /** Sends the room's batch, if any, and keeps the room throttled for one more interval. */
  private flush(room: string): void {
    const pending = this.rooms.get(room);
    if (pending === undefined) return;
    if (this.hub.shuttingDown) {
      this.rooms.delete(room);
      return;
    }
    if (pending.joined.size === 0 && pending.left.size === 0) {
      // A quiet interval: the next change is sent at once again.
      this.rooms.delete(room);
      return;
    }
    const batch: MembersChanged = {
      type: 'members-changed',
      room,
      joined: [...pending.joined.values()],
      left: [...pending.left.values()],
    };
    pending.joined.clear();
    pending.left.clear();
    const text = controlText(batch);
    this.legacy.noteBatch(text, batch);
    // Local members only: other nodes derive their members' presence from this node's room state.
    this.hub.bus.deliverLocalControl(room, text);
    const members = this.hub.rooms.members(room).length;
    const intervalMs = Math.max(PRESENCE_BATCH_MS, members * PRESENCE_BATCH_MS_PER_MEMBER);
    setTimeout(() => this.flush(room), intervalMs).unref();
  }
}

/**
 * Older clients in a protocol 3 room: protocol 2 gets a `member-joined` / `member-left` per member
 * of a batch (not its own join, which its `joined` had), protocol 1 the whole list in `presence`.
 * Every member of the room gets the same batch text in one loop, so each translation is built once
 * per batch (a one-entry cache on the text), not once per recipient.
 */
class LegacyPresence {
  private batchText: string | undefined;
  private batch: MembersChanged | undefined;
  private deltas: { id: string; text: string }[] | undefined;
  private fullFor: string | undefined;
  private full = '';

  constructor(private readonly hub: Hub) {}

  noteBatch(text: string, batch: MembersChanged): void {
    this.batchText = text;
    this.batch = batch;
    this.deltas = undefined;
  }

  /** What to send instead of `text` to a client of `protocol`, or undefined to send it as it is. */
  replace(protocol: number, room: string, text: string, selfId: string): string[] | undefined {
    if (!text.startsWith(PRESENCE_DELTA_PREFIX)) return undefined;
    const batch = text === this.batchText ? this.batch : undefined;
    // Older servers told nobody about their own join: it is in their joined list already.
    if (
      batch !== undefined &&
      batch.left.length === 0 &&
      batch.joined.every((m) => m.id === selfId)
    )
      return [];
    if (protocol === 1) {
      if (text !== this.fullFor) {
        const presence: Presence = {
          type: 'presence',
          room,
          members: this.hub.rooms.members(room),
        };
        this.full = controlText(presence);
        this.fullFor = text;
      }
      return [this.full];
    }
    // Protocol 2 understands member-joined / member-left (the cluster's deltas are those already).
    if (batch === undefined) return undefined;
    this.deltas ??= protocol2Deltas(batch);
    return this.deltas.filter((d) => d.id !== selfId).map((d) => d.text);
  }
}

function protocol2Deltas(batch: MembersChanged): { id: string; text: string }[] {
  const { room } = batch;
  return [
    ...batch.left.map((member) => {
      const left: MemberLeft = { type: 'member-left', room, member };
      return { id: member.id, text: controlText(left) };
    }),
    ...batch.joined.map((member) => {
      const joined: MemberJoined = { type: 'member-joined', room, member };
      return { id: member.id, text: controlText(joined) };
    }),
  ];
}

interface HubPresence {
  batcher: PresenceBatcher;
  legacy: LegacyPresence;
}

const presenceByHub = new WeakMap<Hub, HubPresence>();

function presenceOf(hub: Hub): HubPresence {
  let presence = presenceByHub.get(hub);
  if (presence === undefined) {
    const legacy = new LegacyPresence(hub);
    presence = { batcher: new PresenceBatcher(hub, legacy), legacy };
    presenceByHub.set(hub, presence);
  }
  return presence;
}

/** Tells the room's members, in the next batch, that `member` joined. */
export function announceJoin(hub: Hub, room: string, member: Member): void {
  presenceOf(hub).batcher.joined(room, member);
}

/** Tells the room's members, in the next batch, that `member` left. */
export function announceLeave(hub: Hub, room: string, member: Member): void {
  presenceOf(hub).batcher.left(room, member);
}

/** The hub's translator of presence texts for protocol 1 and 2 clients. */
export function legacyPresence(hub: Hub): LegacyPresence {
  return presenceOf(hub).legacy;
}
