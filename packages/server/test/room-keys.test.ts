import path from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, SqliteMessageStore } from '../src/index.js';
import type { ImvServer } from '../src/index.js';
import { opusPacketsOf } from './helpers/opus-fixture.js';
import { TestClient, serverFixture } from '@imv/test-support/server';

const { servers, clients } = serverFixture();

const KEY = 'blue-heron-42';

async function helloed(server: ImvServer, name: string): Promise<TestClient> {
  const client = await TestClient.open(server.httpUrl);
  clients.push(client);
  await client.hello(name);
  return client;
}

/** Sends a join and returns what answered it: `joined`, or the error's code. */
async function join(client: TestClient, room: string, key?: string): Promise<string> {
  client.send({ type: 'join', room, ...(key === undefined ? {} : { key }) });
  const answer = await client.nextWhere(
    (r) => r.kind === 'text' && (r.message.type === 'joined' || r.message.type === 'error'),
    'joined or error',
  );
  if (answer.kind !== 'text') throw new Error('unreachable');
  return answer.message.type === 'error' ? answer.message.code : answer.message.type;
}

async function get(server: ImvServer, path: string, key?: string) {
  const res = await fetch(`${server.httpUrl}${path}`, {
    headers: key === undefined ? {} : { 'X-Imv-Room-Key': key },
  });
  return { status: res.status, body: (await res.json()) as { code?: string } };
}

describe('room keys', () => {
  it('gives a new room the key of its first join, then refuses joins without it or with a wrong one', async () => {
    let logs = '';
    const server = await servers.start({
      logLevel: 'info',
      logDestination: new Writable({
        write(chunk: Buffer, _enc, done) {
          logs += chunk.toString('utf8');
          done();
        },
      }),
    });
    const owner = await helloed(server, 'ana');
    expect(await join(owner, 'secret-room', KEY)).toBe('joined');

    const guest = await helloed(server, 'bo');
    expect(await join(guest, 'secret-room')).toBe('ROOM_KEY_REQUIRED');
    expect(await join(guest, 'secret-room', 'not-the-key')).toBe('ROOM_KEY_WRONG');
    // A refused join leaves no trace in the room, and the connection may retry.
    const joinedNames = owner
      .texts()
      .flatMap((m) => (m.type === 'members-changed' ? m.joined.map((j) => j.name) : []));
    expect(joinedNames).not.toContain('bo');
    expect(await join(guest, 'secret-room', KEY)).toBe('joined');
    await owner.nextMembersChange('bo');
    // A keyless room stays open to everyone.
    expect(await join(await helloed(server, 'cy'), 'open-room')).toBe('joined');
    expect(logs).toContain('ROOM_KEY_WRONG');
    expect(logs).not.toContain(KEY);
  });

  it('does not let a join lock a room that already has messages', async () => {
    const server = await servers.start();
    const talker = await helloed(server, 'ana');
    expect(await join(talker, 'busy')).toBe('joined');
    talker.send({ type: 'talk-start', streamId: 1 });
    talker.sendPackets(1, opusPacketsOf('speech-fr-48k.wav').slice(0, 5));
    await talker.next('message-stored');

    expect(await join(await helloed(server, 'mallory'), 'busy', KEY)).toBe('joined');
    expect(await join(await helloed(server, 'bo'), 'busy')).toBe('joined');
  });

  it('guards REST history and downloads of a keyed room with the X-Imv-Room-Key header, across restarts', async () => {
    const dataDir = servers.tempDir();
    let server = await servers.start({ dataDir });
    const talker = await helloed(server, 'ana');
    expect(await join(talker, 'vault', KEY)).toBe('joined');
    talker.send({ type: 'talk-start', streamId: 3 });
    talker.sendPackets(3, opusPacketsOf('speech-fr-48k.wav').slice(0, 20));
    const id = (await talker.next('message-stored')).message.id;
    await talker.close();
    await server.close();
    server = await servers.start({ dataDir });

    for (const path of [
      '/api/rooms/vault/messages',
      `/api/rooms/vault/messages/${id}`,
      `/api/rooms/vault/messages/${id}.ogg`,
      `/api/rooms/vault/messages/${id}.frames`,
    ]) {
      expect([(await get(server, path)).status, (await get(server, path)).body.code], path).toEqual(
        [401, 'ROOM_KEY_REQUIRED'],
      );
      const wrong = await get(server, path, 'wrong-key-123');
      expect([wrong.status, wrong.body.code], path).toEqual([403, 'ROOM_KEY_WRONG']);
    }
    const list = await get(server, '/api/rooms/vault/messages', KEY);
    expect(list.status).toBe(200);
    expect((list.body as { messages: { id: number }[] }).messages.map((m) => m.id)).toEqual([id]);
    const ogg = await fetch(`${server.httpUrl}/api/rooms/vault/messages/${id}.ogg`, {
      headers: { 'X-Imv-Room-Key': KEY },
    });
    expect([ogg.status, ogg.headers.get('content-type')]).toEqual([200, 'audio/ogg']);
    // The WebSocket side survived the restart too.
    expect(await join(await helloed(server, 'bo'), 'vault')).toBe('ROOM_KEY_REQUIRED');
  });

  it('upgrades a database from before room keys: old frames read back with flags 0, no room is keyed', async () => {
    const dir = servers.tempDir();
    const db = new Database(path.join(dir, 'imv.sqlite'));
    for (let version = 0; version < 2; version++) {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }
    db.prepare(
      "INSERT INTO messages (room, stream_id, sender_name, started_at, status) VALUES ('old', 5, 'x', 1, 'complete')",
    ).run();
    db.prepare("INSERT INTO frames (message_id, seq, ts, payload) VALUES (1, 0, 0, x'0102')").run();
    db.close();
    const store = new SqliteMessageStore(dir);
    try {
      const { streamId, frames } = await store.readStoredFrames(1);
      expect(streamId).toBe(5);
      expect(frames.map((f) => ({ ...f, payload: [...f.payload] }))).toEqual([
        { sequence: 0, timestamp: 0, flags: 0, payload: [1, 2] },
      ]);
      expect(await store.listRooms()).toEqual([
        { room: 'old', messageCount: 1, keyed: false, lastMessageAt: 1 },
      ]);
      expect(await store.getRoomKeyHash('old')).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});

describe('room-key squatting', () => {
  it("ignores a newcomer's key for a room with members online, so they are not locked out", async () => {
    const server = await servers.start();
    const ana = await helloed(server, 'ana');
    expect(await join(ana, 'kitchen')).toBe('joined');
    const mallory = await helloed(server, 'mallory');
    mallory.send({ type: 'join', room: 'kitchen', key: KEY });
    expect((await mallory.next('joined')).keyed).toBe(false);
    // Ana reconnects without a key and gets in: the room stayed open.
    await ana.close();
    expect(await join(await helloed(server, 'ana'), 'kitchen')).toBe('joined');
    expect(ana.texts().some((m) => m.type === 'room-key')).toBe(false);
  });

  it('lets a member inside key the room with set-room-key; everyone inside is told, newcomers need the key', async () => {
    const server = await servers.start();
    const ana = await helloed(server, 'ana');
    const bo = await helloed(server, 'bo');
    bo.send({ type: 'set-room-key', key: KEY });
    expect((await bo.next('error')).code).toBe('NOT_IN_ROOM');
    expect(await join(ana, 'kitchen')).toBe('joined');
    expect(await join(bo, 'kitchen')).toBe('joined');
    ana.send({ type: 'set-room-key', key: KEY });
    for (const member of [ana, bo]) {
      expect(await member.next('room-key')).toEqual({
        type: 'room-key',
        room: 'kitchen',
        keyed: true,
        key: KEY,
        setBy: { id: expect.any(String) as string, name: 'ana' },
      });
    }
    // Only the admin changes a key once set.
    bo.send({ type: 'set-room-key', key: 'another-key-99' });
    expect((await bo.next('error')).code).toBe('ROOM_ALREADY_KEYED');
    const cy = await helloed(server, 'cy');
    expect(await join(cy, 'kitchen')).toBe('ROOM_KEY_REQUIRED');
    cy.send({ type: 'join', room: 'kitchen', key: KEY });
    expect((await cy.next('joined')).keyed).toBe(true);
  });

  it("tells the members inside when the admin sets or removes the room's key", async () => {
    const server = await servers.start();
    const ana = await helloed(server, 'ana');
    expect(await join(ana, 'kitchen')).toBe('joined');
    const admin = (method: string, body?: object) =>
      fetch(`${server.httpUrl}/api/rooms/kitchen/key`, {
        method,
        headers: {
          authorization: `Bearer ${server.adminToken}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    expect((await admin('PUT', { key: KEY })).status).toBe(200);
    expect(await ana.next('room-key')).toEqual({
      type: 'room-key',
      room: 'kitchen',
      keyed: true,
      key: KEY,
    });
    expect((await admin('DELETE')).status).toBe(200);
    expect(await ana.next('room-key')).toEqual({ type: 'room-key', room: 'kitchen', keyed: false });
  });
});
