import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, SqliteMessageStore, WorkerMessageStore } from '../src/index.js';
import type { MessageStore, NewMessage, StoredFrame } from '../src/index.js';

type FileStore = MessageStore & { readonly file: string };
const dirs: string[] = [];
const stores: FileStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const implementations: [string, (dataDir: string) => Promise<FileStore>][] = [
  [
    'SqliteMessageStore',
    (dataDir) => Promise.resolve().then(() => new SqliteMessageStore(dataDir)),
  ],
  ['WorkerMessageStore', (dataDir) => WorkerMessageStore.open(dataDir)],
];

const newMessage = (room = 'lobby'): NewMessage => ({
  room,
  streamId: 1,
  senderName: 'alice',
  startedAt: 1_700_000_000_000,
  encrypted: false,
});

const frame = (sequence: number, bytes = 3): StoredFrame => ({
  sequence,
  timestamp: sequence * 960,
  payload: new Uint8Array(bytes).fill(sequence),
});

describe.each(implementations)('%s', (_name, open) => {
  async function openStore(dir?: string): Promise<FileStore> {
    const dataDir = dir ?? mkdtempSync(path.join(tmpdir(), 'imv-store-test-'));
    if (dir === undefined) dirs.push(dataDir);
    const store = await open(dataDir);
    stores.push(store);
    return store;
  }

  it('opens in WAL with synchronous=FULL and the schema at the latest migration', async () => {
    const store = await openStore();
    const db = new Database(store.file, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    } finally {
      db.close();
    }
  });

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

  it('recovers messages left recording by a crash as partial with their stored frames', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'imv-store-test-'));
    dirs.push(dataDir);
    const first = await openStore(dataDir);
    const { id } = await first.createMessage(newMessage());
    await first.appendFrames(id, [frame(0), frame(1)]);
    await first.close();
    const second = await openStore(dataDir);
    expect(await second.recoverInterrupted()).toBe(1);
    expect(await second.getMessage('lobby', id)).toMatchObject({
      status: 'partial',
      frameCount: 2,
      durationMs: 40,
    });
    expect(await second.recoverInterrupted()).toBe(0);
  });

  it('refuses a database written by a newer server', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'imv-store-test-'));
    dirs.push(dataDir);
    const db = new Database(path.join(dataDir, 'imv.sqlite'));
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    await expect(open(dataDir)).rejects.toThrow(/newer than this server/);
  });
});
