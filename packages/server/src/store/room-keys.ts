import type { MessageStore } from './store.js';
import { VerifiedKeyCache, hashRoomKey, verifyRoomKey } from './room-key-hash.js';

/** Outcome of presenting a key (or none) for a room. */
export type RoomAccess = 'open' | 'ok' | 'claimed' | 'required' | 'wrong';

/** Checks and sets room keys against the store's slow hashes. */
export class RoomKeys {
  private readonly verified = new VerifiedKeyCache();

  constructor(private readonly store: MessageStore) {}

  /** REST and re-checks: is `key` (maybe absent) good enough for `room`? Never changes the room. */
  async check(room: string, key: string | undefined): Promise<RoomAccess> {
    const record = await this.store.getRoomKeyHash(room);
    if (record === undefined) return 'open';
    if (key === undefined) return 'required';
    return (await this.matches(room, key, record)) ? 'ok' : 'wrong';
  }

  /**
   * WebSocket join: like check, but the first join carrying a key into a room with no key and no
   * stored messages gives the room that key ('claimed'). A key offered to an open room that already
   * has messages is ignored ('open'): only an admin can lock an existing room.
   */
  async join(room: string, key: string | undefined): Promise<RoomAccess> {
    const access = await this.check(room, key);
    if (access !== 'open' || key === undefined) return access;
    // Cheap test first: hashing a key that cannot be claimed would waste a scrypt.
    if ((await this.store.listMessages(room, { limit: 1 })).messages.length > 0) return 'open';
    const record = await hashRoomKey(key);
    if (await this.store.claimRoomKey(room, record)) {
      this.verified.add(room, key, record);
      return 'claimed';
    }
    // Another join claimed the room meanwhile, or it has messages: decide against what is stored.
    return this.check(room, key);
  }

  /** Admin: sets (or with undefined, removes) the room's key. */
  async set(room: string, key: string | undefined): Promise<void> {
    await this.store.setRoomKeyHash(room, key === undefined ? undefined : await hashRoomKey(key));
  }

  private async matches(room: string, key: string, record: string): Promise<boolean> {
    if (this.verified.has(room, key, record)) return true;
    const ok = await verifyRoomKey(key, record);
    if (ok) this.verified.add(room, key, record);
    return ok;
  }
}
