import type { VoiceMessage } from '@imv/protocol';

/*
 * The last N voice messages of each room, kept in IndexedDB so the installed app can play them with
 * no server reachable. What is kept is exactly the body the server sent: the `.ogg` of a plain
 * message, the `.frames` of an end-to-end encrypted one. Encrypted messages therefore stay
 * encrypted at rest and are opened with the passphrase at play time, as online. Storage failures
 * (private mode, quota exceeded) are reported once through onProblem and the app goes on without.
 */

/** Messages kept per room unless the user chose otherwise (`?offline=N`, remembered). */
export const DEFAULT_OFFLINE_MESSAGES = 20;
/** Upper bound for the setting: about 1 MB per minute of Opus at 24 kbps, times this. */
export const MAX_OFFLINE_MESSAGES = 200;

const DB_NAME = 'imv-offline';
const STORE = 'messages';
const BY_ROOM = 'room';

interface KeptMessage {
  room: string;
  id: number;
  message: VoiceMessage;
  kind: 'ogg' | 'frames';
  body: Blob;
}

/** Reads the setting: `?offline=N` in the URL (remembered in storage), else storage, else the default. */
export function offlineMessageCount(
  search: string,
  storage: Pick<Storage, 'getItem' | 'setItem'>,
  prefix: string,
): number {
  const key = `${prefix}offlineMessages`;
  const fromUrl = new URLSearchParams(search).get('offline');
  if (fromUrl !== null && /^\d+$/.test(fromUrl)) storage.setItem(key, fromUrl);
  const saved = storage.getItem(key);
  const n = saved !== null && /^\d+$/.test(saved) ? Number(saved) : DEFAULT_OFFLINE_MESSAGES;
  return Math.min(n, MAX_OFFLINE_MESSAGES);
}

export class OfflineMessages {
  private db: Promise<IDBDatabase | undefined> | undefined;
  private problemShown = false;

  constructor(
    private readonly room: string,
    /** Messages kept in this room; 0 keeps none. */
    readonly keep: number,
    private readonly onProblem: (text: string) => void = () => undefined,
  ) {}

  /** The kept messages of the room, oldest first. */
  async list(): Promise<VoiceMessage[]> {
    const db = await this.open();
    if (!db) return [];
    const kept = await request<KeptMessage[]>(
      db.transaction(STORE).objectStore(STORE).index(BY_ROOM).getAll(this.room),
    ).catch(() => []);
    return kept.sort((a, b) => a.id - b.id).map((k) => k.message);
  }

  async has(id: number): Promise<boolean> {
    const db = await this.open();
    if (!db) return true; // nothing can be kept: do not fetch for it
    const key = await request<IDBValidKey | undefined>(
      db.transaction(STORE).objectStore(STORE).getKey([this.room, id]),
    ).catch(() => undefined);
    return key !== undefined;
  }

  /** The body kept for a message, or undefined. */
  async get(message: VoiceMessage, kind: 'ogg' | 'frames'): Promise<Uint8Array | undefined> {
    const db = await this.open();
    if (!db) return undefined;
    const kept = await request<KeptMessage | undefined>(
      db.transaction(STORE).objectStore(STORE).get([this.room, message.id]),
    ).catch(() => undefined);
    if (kept?.kind !== kind) return undefined;
    return new Uint8Array(await kept.body.arrayBuffer());
  }

  /** Keeps a message's body if it is among the room's newest `keep`, then drops older ones. */
  async put(message: VoiceMessage, kind: 'ogg' | 'frames', body: Uint8Array): Promise<void> {
    if (this.keep === 0 || message.room !== this.room) return;
    const db = await this.open();
    if (!db) return;
    try {
      const record: KeptMessage = {
        room: this.room,
        id: message.id,
        message,
        kind,
        body: new Blob([body as Uint8Array<ArrayBuffer>]),
      };
      const tx = db.transaction(STORE, 'readwrite');
      const store = tx.objectStore(STORE);
      store.put(record);
      const keys = await request<[string, number][]>(store.index(BY_ROOM).getAllKeys(this.room));
      const ids = keys.map(([, id]) => id).sort((a, b) => b - a);
      for (const old of ids.slice(this.keep)) store.delete([this.room, old]);
      await done(tx);
    } catch (error) {
      this.problem(error);
    }
  }

  async remove(id: number): Promise<void> {
    const db = await this.open();
    if (!db) return;
    const tx = db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).delete([this.room, id]);
    await done(tx).catch(() => undefined);
  }

  private problem(error: unknown): void {
    if (this.problemShown) return;
    this.problemShown = true;
    const quota = error instanceof DOMException && error.name === 'QuotaExceededError';
    this.onProblem(
      quota
        ? 'This browser has no room left to keep voice messages for offline use. They still play while the server is reachable.'
        : 'Voice messages cannot be kept for offline use in this browser (storage unavailable). They still play while the server is reachable.',
    );
  }

  private open(): Promise<IDBDatabase | undefined> {
    this.db ??= new Promise((resolve) => {
      if (typeof indexedDB === 'undefined' || this.keep === 0) {
        resolve(undefined);
        return;
      }
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        const store = req.result.createObjectStore(STORE, { keyPath: ['room', 'id'] });
        store.createIndex(BY_ROOM, 'room');
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => {
        this.problem(req.error);
        resolve(undefined);
      };
      req.onblocked = () => resolve(undefined);
    });
    return this.db;
  }
}

function request<T>(req: IDBRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result as T);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}
