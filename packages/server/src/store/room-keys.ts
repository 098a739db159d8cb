import type { Member } from '@imv/protocol';
import { FairQueue } from './fair-queue.js';
import { KeyAttemptLimiter } from './key-attempts.js';
import { VerifiedKeyCache, hashRoomKey, verifyRoomKey } from './room-key-hash.js';
import type { MessageStore } from './store.js';

/**
 * Outcome of presenting a key (or none) for a room. 'limited': the client (IP address) has used up
 * its key attempts for now; nothing was checked.
 */
export type RoomAccess = 'open' | 'ok' | 'claimed' | 'required' | 'wrong' | 'limited';

/** Outcome of a member's set-room-key. */
export type KeySetResult = 'set' | 'already-keyed' | 'limited';

/** A room's key was set or removed: members inside are told (and given the key: they stay). */
export type KeyChangeListener = (room: string, key: string | undefined, setBy?: Member) => void;

/**
 * scrypt runs on libuv's pool (4 threads, shared with file and DNS work): at most this many at once,
 * so a flood of key guesses queues instead of starving everything else.
 */
const MAX_CONCURRENT_HASHES = 2;

/** Who the admin is to the hashing queue. */
const ADMIN_CLIENT = 'admin';

/**
 * Room keys: checks (REST, join), the first join's claim, a member's explicit set, and the admin's.
 * Every check that needs a scrypt hash costs the client one attempt (KeyAttemptLimiter) and waits
 * its turn in a queue that is fair between clients (FairQueue); a key verified before is free.
 *
 * A key is set only by someone entitled to it (key squatting): the first join into a room that is
 * fresh (no key, no stored message, nobody in it, nothing live), a member already inside
 * (set-room-key), or the admin. A key offered by a newcomer to an occupied open room is ignored.
 */
export class RoomKeys {
  private readonly verified = new VerifiedKeyCache();
  private readonly listeners: KeyChangeListener[] = [];
  /** Rooms a member's set-room-key is hashing for now. */
  private readonly settingBy = new Set<string>();

  constructor(
    private readonly store: MessageStore,
    readonly queue = new FairQueue(MAX_CONCURRENT_HASHES),
    readonly limiter = new KeyAttemptLimiter(),
  ) {}

  /** Called after every key change (admin or member); the server tells the room's members. */
  onChange(listener: KeyChangeListener): void {
    this.listeners.push(listener);
  }

  /** REST and re-checks: is `key` (maybe absent) good enough for `room`? Never changes the room. */
  async check(room: string, key: string | undefined, client: string): Promise<RoomAccess> {
    const record = await this.store.getRoomKeyHash(room);
    if (record === undefined) return 'open';
    if (key === undefined) return 'required';
    if (this.verified.has(room, key, record)) return 'ok';
    if (!this.limiter.take(client)) return 'limited';
    const ok = await this.queue.run(client, () => verifyRoomKey(key, record));
    if (ok) this.verified.add(room, key, record);
    return ok ? 'ok' : 'wrong';
  }

  /**
   * WebSocket join: like check, but the first join carrying a key into a fresh room gives the room
   * that key ('claimed'). `occupied` says whether anyone is in the room or talking there now; a key
   * offered to an open room that is occupied or has messages is ignored ('open').
   */
  async join(
    room: string,
    key: string | undefined,
    client: string,
    occupied: () => boolean,
  ): Promise<RoomAccess> {
    const access = await this.check(room, key, client);
    if (access !== 'open' || key === undefined) return access;
    // Cheap tests first: hashing a key that cannot be claimed would waste a scrypt.
    if (occupied() || (await this.hasMessages(room))) return 'open';
    if (!this.limiter.take(client)) return 'limited';
    const record = await this.queue.run(client, () => hashRoomKey(key));
    // Someone may have come in while the key was hashed: then it is theirs to decide (set-room-key).
    if (occupied()) return 'open';
    if (await this.store.claimRoomKey(room, record)) {
      this.verified.add(room, key, record);
      return 'claimed';
    }
    // Another join claimed the room meanwhile, or it has messages: decide against what is stored.
    return this.check(room, key, client);
  }

  /**
   * A member inside the room locks it (set-room-key): only while it has no key. Two members setting
   * at once on this node: the first wins (the store has no "set if unset" across nodes; the second
   * re-reads the key after hashing, which narrows that race to the write itself).
   */
  async setByMember(
    room: string,
    key: string,
    client: string,
    member: Member,
  ): Promise<KeySetResult> {
    if (this.settingBy.has(room)) return 'already-keyed';
    if ((await this.store.getRoomKeyHash(room)) !== undefined) return 'already-keyed';
    if (this.settingBy.has(room)) return 'already-keyed';
    if (!this.limiter.take(client)) return 'limited';
    this.settingBy.add(room);
    try {
      const record = await this.queue.run(client, () => hashRoomKey(key));
      if ((await this.store.getRoomKeyHash(room)) !== undefined) return 'already-keyed';
      await this.store.setRoomKeyHash(room, record);
      this.verified.add(room, key, record);
    } finally {
      this.settingBy.delete(room);
    }
    this.changed(room, key, member);
    return 'set';
  }

  /** Admin: sets (or with undefined, removes) the room's key. */
  async set(room: string, key: string | undefined): Promise<void> {
    const record =
      key === undefined ? undefined : await this.queue.run(ADMIN_CLIENT, () => hashRoomKey(key));
    await this.store.setRoomKeyHash(room, record);
    this.changed(room, key);
  }

  private changed(room: string, key: string | undefined, setBy?: Member): void {
    for (const listener of this.listeners) listener(room, key, setBy);
  }

  private async hasMessages(room: string): Promise<boolean> {
    return (await this.store.listMessages(room, { limit: 1 })).messages.length > 0;
  }
}
