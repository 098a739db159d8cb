import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createTestDatabase } from '@imv/test-support';
import type { TestDatabase } from '@imv/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, SqliteMessageStore, WorkerMessageStore } from '../src/index.js';
import type { MessageStore, NewMessage, StoredFrame } from '../src/index.js';
import { PostgresMessageStore } from '../src/store/postgres/postgres-store.js';
import { PG_MIGRATIONS } from '../src/store/postgres/postgres-migrations.js';
import type { CopyableStore } from '../src/store/store.js';

/*
 * One contract, every store: the SQLite file (on this thread and in its worker) and PostgreSQL
 * (a fresh imv_test_<random> database per test, dropped afterwards).
 */

/** Where one test's store lives; open() may be called again to reopen the same place. */
interface Place {
  open(nodeId?: string): Promise<MessageStore>;
  /** Writes a schema version newer than this server knows. */
  makeNewer(): Promise<void>;
  dispose(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function sqlitePlace(inWorker: boolean): Place {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'imv-store-test-'));
  return {
    open: () =>
      inWorker
        ? WorkerMessageStore.open(dataDir)
        : Promise.resolve().then(() => new SqliteMessageStore(dataDir)),
    makeNewer: () =>
      Promise.resolve().then(() => {
        const db = new Database(path.join(dataDir, 'imv.sqlite'));
        db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
        db.close();
      }),
    dispose: () => Promise.resolve().then(() => rmSync(dataDir, { recursive: true, force: true })),
  };
}

async function postgresPlace(): Promise<Place & { database: TestDatabase }> {
  const database = await createTestDatabase();
  return {
    database,
    open: (nodeId = 'node-a') => PostgresMessageStore.open(database.url, { nodeId }),
    makeNewer: async () => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      await client.query(
        'CREATE TABLE imv_schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
      );
      await client.query('INSERT INTO imv_schema_migrations (version) VALUES ($1)', [
        PG_MIGRATIONS.length + 1,
      ]);
      await client.end();
    },
    dispose: () => database.drop(),
  };
}

const implementations: [string, () => Promise<Place>][] = [
  ['SqliteMessageStore', () => Promise.resolve(sqlitePlace(false))],
  ['WorkerMessageStore', () => Promise.resolve(sqlitePlace(true))],
  ['PostgresMessageStore', postgresPlace],
];

const newMessage = (room = 'lobby'): NewMessage => ({
  room,
  streamId: 1,
  senderName: 'alice',
  startedAt: 1_700_000_000_000,
  encrypted: false,
  frameMs: 20,
});

const frame = (sequence: number, bytes = 3): StoredFrame => ({
  sequence,
  timestamp: sequence * 960,
  payload: new Uint8Array(bytes).fill(sequence),
});

describe.each(implementations)('%s', (_name, makePlace) => {
  async function place(): Promise<Place> {
    const p = await makePlace();
    cleanups.push(() => p.dispose());
    return p;
  }

  async function open(p: Place, nodeId?: string): Promise<MessageStore> {
    const store = await p.open(nodeId);
    cleanups.push(() => store.close());
    return store;
  }

  const openStore = async (): Promise<MessageStore> => open(await place());

  it('creates a recording message, ignores duplicate frames and derives totals from the stored frames', async () => {
    const store = await openStore();
    const created = await store.createMessage({ ...newMessage(), senderClientId: 'k1' });
    expect(created).toMatchObject({ status: 'recording', frameCount: 0, senderClientId: 'k1' });
    await store.appendFrames(created.id, [frame(2), frame(0, 5)]);
    await store.appendFrames(created.id, [frame(0, 9), frame(1)]);
    const done = await store.finishMessage(created.id, 'complete', [frame(3), frame(1)]);
    expect(done).toMatchObject({
      status: 'complete',
      frameCount: 4,
      durationMs: 80,
      bytes: 5 + 3 + 3 + 3,
    });
    const payloads = await store.readFrames(created.id);
    expect(payloads.map((p) => p[0])).toEqual([0, 1, 2, 3]);
    expect(payloads[0]).toHaveLength(5);
  });

  it("keeps a 10 ms talk's frame duration: durations count 10 ms per frame, listings carry frameMs", async () => {
    const store = await openStore();
    const short = await store.createMessage({ ...newMessage(), frameMs: 10 });
    const long = await store.createMessage({ ...newMessage(), streamId: 2 });
    expect(short.frameMs).toBe(10);
    const done = await store.finishMessage(short.id, 'complete', [frame(0), frame(1), frame(2)]);
    expect(done).toMatchObject({ frameMs: 10, frameCount: 3, durationMs: 30 });
    await store.finishMessage(long.id, 'complete', [frame(0), frame(1), frame(2)]);
    const page = await store.listMessages('lobby', { limit: 10 });
    expect(page.messages.map((m) => [m.frameMs, m.durationMs])).toEqual([
      [10, 30],
      [20, 60],
    ]);
    expect(await store.getMessage('lobby', short.id)).toMatchObject({
      frameMs: 10,
      durationMs: 30,
    });
  });

  it('reads back each frame with its sequence, timestamp and flags, and the stream id', async () => {
    const store = await openStore();
    const { id } = await store.createMessage({
      ...newMessage(),
      streamId: 0xfffffffe,
      encrypted: true,
      e2eSalt: 'c2FsdA',
      keyCheck: 'a2V5',
    });
    await store.appendFrames(id, [
      { sequence: 0xffffffff, timestamp: 0xfffffc40, payload: new Uint8Array([7]), flags: 2 },
    ]);
    await store.finishMessage(id, 'complete', [
      { sequence: 5, timestamp: 4800, payload: new Uint8Array([8, 9]), flags: 3 },
    ]);
    const { streamId, frames } = await store.readStoredFrames(id);
    expect(streamId).toBe(0xfffffffe);
    expect(frames.map((f) => ({ ...f, payload: [...f.payload] }))).toEqual([
      { sequence: 5, timestamp: 4800, flags: 3, payload: [8, 9] },
      { sequence: 0xffffffff, timestamp: 0xfffffc40, flags: 2, payload: [7] },
    ]);
    expect(await store.getMessage('lobby', id)).toMatchObject({
      encrypted: true,
      e2eSalt: 'c2FsdA',
      keyCheck: 'a2V5',
      startedAt: 1_700_000_000_000,
    });
  });

  it('pages newest-first by default, forwards with after, backwards with before, oldest first in each page', async () => {
    const store = await openStore();
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await store.createMessage(newMessage())).id);
    await store.createMessage(newMessage('other'));
    const pageIds = async (q: { after?: number; before?: number; limit: number }) => {
      const page = await store.listMessages('lobby', q);
      return [page.messages.map((m) => m.id), page.more];
    };
    expect(await pageIds({ limit: 3 })).toEqual([ids.slice(2), true]);
    expect(await pageIds({ limit: 3, before: ids[2] })).toEqual([ids.slice(0, 2), false]);
    expect(await pageIds({ limit: 2, after: ids[0] })).toEqual([ids.slice(1, 3), true]);
    expect(await pageIds({ limit: 10, after: ids[0], before: ids[4] })).toEqual([
      ids.slice(1, 4),
      false,
    ]);
    expect(await store.getMessage('other', ids[0]!)).toBeUndefined();
  });

  it('deletes a message with its frames, and a room except what is still recording', async () => {
    const store = await openStore();
    const a = await store.createMessage(newMessage());
    await store.finishMessage(a.id, 'complete', [frame(0)]);
    const b = await store.createMessage(newMessage());
    await store.finishMessage(b.id, 'partial', [frame(0)]);
    const live = await store.createMessage(newMessage());
    expect(await store.deleteMessage('other', a.id)).toBe(false);
    expect(await store.deleteMessage('lobby', a.id)).toBe(true);
    expect(await store.readFrames(a.id)).toEqual([]);
    await store.setRoomKeyHash('lobby', 'hash');
    expect(await store.deleteRoom('lobby')).toEqual([b.id]);
    expect(await store.getRoomKeyHash('lobby')).toBeUndefined();
    expect((await store.listMessages('lobby', { limit: 10 })).messages.map((m) => m.id)).toEqual([
      live.id,
    ]);
  });

  it('keeps room keys: a claim wins only for a room with no key and no messages', async () => {
    const store = await openStore();
    expect(await store.getRoomKeyHash('crew')).toBeUndefined();
    expect(await store.claimRoomKey('crew', 'h1')).toBe(true);
    expect(await store.claimRoomKey('crew', 'h2')).toBe(false);
    expect(await store.getRoomKeyHash('crew')).toBe('h1');
    await store.createMessage(newMessage('busy'));
    expect(await store.claimRoomKey('busy', 'h3')).toBe(false);
    await store.setRoomKeyHash('busy', 'h4');
    expect(await store.getRoomKeyHash('busy')).toBe('h4');
    await store.setRoomKeyHash('crew', undefined);
    expect(await store.getRoomKeyHash('crew')).toBeUndefined();
    await store.setRoomKeyHash('empty', 'h5');
    const rooms = await store.listRooms();
    expect(rooms).toEqual([
      { room: 'busy', messageCount: 1, keyed: true, lastMessageAt: 1_700_000_000_000 },
      { room: 'empty', messageCount: 0, keyed: true },
    ]);
  });

  it('gives one claim of the same room to one of two concurrent claimers', async () => {
    const store = await openStore();
    const results = await Promise.all([
      store.claimRoomKey('race', 'h1'),
      store.claimRoomKey('race', 'h2'),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.getRoomKeyHash('race')).toBe(results[0] ? 'h1' : 'h2');
  });

  it('recovers messages left recording by a crash as partial with their stored frames', async () => {
    const p = await place();
    const first = await p.open();
    const { id } = await first.createMessage(newMessage());
    await first.appendFrames(id, [frame(0), frame(1)]);
    await first.close();
    const second = await open(p);
    expect(await second.recoverInterrupted()).toBe(1);
    expect(await second.getMessage('lobby', id)).toMatchObject({
      status: 'partial',
      frameCount: 2,
      durationMs: 40,
    });
    expect(await second.recoverInterrupted()).toBe(0);
  });

  it('refuses a database written by a newer server', async () => {
    const p = await place();
    await p.makeNewer();
    await expect(p.open()).rejects.toThrow(/newer than this server/);
  });

  it('answers ping while open', async () => {
    const store = await openStore();
    await expect(store.ping()).resolves.toBeUndefined();
  });
});

// What `imv store copy` uses: the stores it opens directly (SQLite on the calling thread, PostgreSQL).
describe.each(implementations.filter(([name]) => name !== 'WorkerMessageStore'))(
  '%s as a copy source and target',
  (_name, makePlace) => {
    async function place(): Promise<Place> {
      const p = await makePlace();
      cleanups.push(() => p.dispose());
      return p;
    }

    it('exports and imports a message under its id, once; later messages get higher ids', async () => {
      const from = (await (await place()).open()) as CopyableStore;
      cleanups.push(() => from.close());
      const to = (await (await place()).open()) as CopyableStore;
      cleanups.push(() => to.close());
      for (let i = 0; i < 3; i++) {
        const { id } = await from.createMessage({ ...newMessage(), senderClientId: `c${i}` });
        await from.finishMessage(id, 'complete', [frame(0, 4), { ...frame(1), flags: 1 }]);
      }
      const ids = await from.listMessageIds(0, 10);
      expect(ids).toHaveLength(3);
      const last = (await from.exportMessage(ids[2]!))!;
      expect(await to.importMessage(last)).toBe('copied');
      expect(await to.importMessage(last)).toBe('exists');
      expect(await to.getMessage('lobby', last.message.id)).toEqual(last.message);
      expect(await to.readStoredFrames(last.message.id)).toEqual({
        streamId: last.streamId,
        frames: last.frames,
      });
      expect(await to.counts()).toEqual({ messages: 1, frames: 2, keyedRooms: 0 });
      const next = await to.createMessage(newMessage());
      expect(next.id).toBeGreaterThan(last.message.id);
      const other = (await from.exportMessage(ids[0]!))!;
      await expect(
        to.importMessage({
          ...other,
          message: { ...other.message, id: next.id, senderName: 'bob' },
        }),
      ).rejects.toThrow(/already used by a different message/);
    });
  },
);

describe('PostgresMessageStore in a cluster', () => {
  async function database(): Promise<TestDatabase> {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    return db;
  }
  async function open(url: string, nodeId: string): Promise<PostgresMessageStore> {
    const store = await PostgresMessageStore.open(url, { nodeId });
    cleanups.push(() => store.close());
    return store;
  }

  it('migrates an empty database once when several nodes start at the same moment', async () => {
    const db = await database();
    const stores = await Promise.all(['a', 'b', 'c', 'd'].map((node) => open(db.url, node)));
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query<{ version: number }>(
      'SELECT version FROM imv_schema_migrations ORDER BY version',
    );
    await client.end();
    expect(rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((_m, i) => i + 1));
    // Every node sees the others' ids: one sequence for all.
    const ids = await Promise.all(
      stores.map(async (s) => (await s.createMessage(newMessage())).id),
    );
    expect(new Set(ids).size).toBe(4);
  });

  it("finalises a dead node's recording messages as partial, once, on another node", async () => {
    const db = await database();
    const a = await open(db.url, 'node-a');
    const b = await open(db.url, 'node-b');
    const c = await open(db.url, 'node-c');
    const orphan = await a.createMessage(newMessage());
    await a.appendFrames(orphan.id, [frame(0), frame(1), frame(2)]);
    const live = await b.createMessage(newMessage());
    // Leases are fresh: nothing to recover, whatever the sweeper.
    expect(await b.recoverOrphans(60_000)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await b.heartbeat();
    await c.heartbeat();
    // node-a's lease is now older than 200 ms; b's and c's were just renewed.
    const swept = await Promise.all([b.recoverOrphans(200), c.recoverOrphans(200)]);
    const recovered = swept.flat();
    expect(recovered).toHaveLength(1);
    expect(recovered[0]).toMatchObject({
      streamId: 1,
      message: { id: orphan.id, status: 'partial', frameCount: 3, durationMs: 60 },
    });
    expect(await c.getMessage('lobby', live.id)).toMatchObject({ status: 'recording' });
  });

  it('treats a node that closed as gone at once', async () => {
    const db = await database();
    const a = await PostgresMessageStore.open(db.url, { nodeId: 'node-a' });
    const b = await open(db.url, 'node-b');
    const { id } = await a.createMessage(newMessage());
    await a.close();
    const recovered = await b.recoverOrphans(60_000);
    expect(recovered.map((r) => r.message.id)).toEqual([id]);
  });

  it('stores a 5-minute message and reads it back in one query', async () => {
    const db = await database();
    const store = await open(db.url, 'node-a');
    const { id } = await store.createMessage(newMessage());
    const frames = Array.from({ length: 15_000 }, (_v, seq) => frame(seq, 60));
    for (let i = 0; i < frames.length; i += 25)
      await store.appendFrames(id, frames.slice(i, i + 25));
    const done = await store.finishMessage(id, 'complete');
    expect(done).toMatchObject({ frameCount: 15_000, durationMs: 300_000, bytes: 15_000 * 60 });
    const { frames: back } = await store.readStoredFrames(id);
    expect(back.map((f) => f.sequence)).toEqual(frames.map((f) => f.sequence));
  });
});
