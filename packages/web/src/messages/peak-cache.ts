/**
 * Waveform peaks per message, kept in memory and in IndexedDB so a message is decoded once per
 * browser, not once per visit. IndexedDB failures (private mode, quota) fall back to memory only.
 */
const DB_NAME = 'imv-waveforms';
const STORE = 'peaks';

export class PeakCache {
  private readonly memory = new Map<string, number[]>();
  private db: Promise<IDBDatabase | undefined> | undefined;

  async get(key: string): Promise<number[] | undefined> {
    const hit = this.memory.get(key);
    if (hit) return hit;
    const db = await this.open();
    if (!db) return undefined;
    const stored = await request<unknown>(db.transaction(STORE).objectStore(STORE).get(key)).catch(
      () => undefined,
    );
    if (Array.isArray(stored) && stored.every((v) => typeof v === 'number')) {
      this.memory.set(key, stored);
      return stored;
    }
    return undefined;
  }

  async set(key: string, peaks: number[]): Promise<void> {
    this.memory.set(key, peaks);
    const db = await this.open();
    if (!db) return;
    await request(db.transaction(STORE, 'readwrite').objectStore(STORE).put(peaks, key)).catch(
      () => undefined,
    );
  }

  private open(): Promise<IDBDatabase | undefined> {
    this.db ??= new Promise((resolve) => {
      if (typeof indexedDB === 'undefined') {
        resolve(undefined);
        return;
      }
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => resolve(undefined);
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
