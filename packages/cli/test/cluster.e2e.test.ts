import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OPUS_PRE_SKIP, type Member } from '@imv/protocol';
import { OpusFrameDecoder } from '@imv/media/node';
import {
  PrivateNats,
  SHARED_NATS_URL,
  createTestDatabase,
  uniqueBusPrefix,
  type TestDatabase,
} from '@imv/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImvClient } from '../src/client/imv-client.js';
import { compareSamples, sox, soxSamples } from './helpers/audio.js';
import { fixture, runCli, spawnCli } from './helpers/cli.js';
import { startServe, type ServeProcess } from './helpers/server.js';

// Several real `imv serve` processes on one NATS. The three-node suite shares a fresh PostgreSQL
// database (one history); the outage suite keeps a SQLite store per node, as only the bus is at stake.

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function startNode(
  dataDir: string,
  bus: string,
  prefix: string,
  store?: string,
): Promise<ServeProcess> {
  return startServe(dataDir, {
    args: [
      '--no-https',
      '--bus',
      bus,
      '--bus-prefix',
      prefix,
      ...(store === undefined ? [] : ['--store', store]),
    ],
    timeoutMs: 90_000,
  });
}

/** A listener that keeps every frame and the room's latest member list. */
async function listener(server: string, room: string, name: string) {
  const client = await ImvClient.connect(server, { name, timeoutMs: 20_000 });
  const packets: Uint8Array[] = [];
  const state = { members: [] as Member[], packets, stored: 0 };
  client.on('frame', (frame) => packets.push(frame.payload.slice()));
  client.on('presence', (p) => (state.members = p.members));
  client.on('message-stored', () => state.stored++);
  const { joined } = await client.join(room);
  state.members = joined.members;
  return { client, state };
}

function decodeAll(packets: Uint8Array[]): Float32Array {
  const decoder = new OpusFrameDecoder();
  const pcm = packets.map((p) => decoder.decode(p));
  const joined = new Float32Array(pcm.reduce((n, p) => n + p.length, 0));
  pcm.reduce((at, p) => (joined.set(p, at), at + p.length), 0);
  return joined.subarray(OPUS_PRE_SKIP);
}

async function health(
  node: ServeProcess,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${node.url}/api/health`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('three imv serve processes on one NATS and one PostgreSQL database', () => {
  let tmp: string;
  let excerpt: string;
  let database: TestDatabase | undefined;
  const nodes: ServeProcess[] = [];
  const clients: ImvClient[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'imv-cluster-'));
    excerpt = path.join(tmp, 'excerpt.wav');
    sox([fixture('speech-fr-48k.wav'), excerpt, 'trim', '0', '2']);
    database = await createTestDatabase();
    const prefix = uniqueBusPrefix('cluster');
    nodes.push(
      ...(await Promise.all(
        ['a', 'b', 'c'].map((n) =>
          startNode(path.join(tmp, n), SHARED_NATS_URL, prefix, database!.url),
        ),
      )),
    );
  }, 180_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(nodes.map((n) => n.stop()));
    await database?.drop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('a talker on node A is heard live on nodes B and C', async () => {
    const [a, b, c] = nodes as [ServeProcess, ServeProcess, ServeProcess];
    const onB = await listener(b.url, 'crew', 'ear-b');
    const onC = await listener(c.url, 'crew', 'ear-c');
    clients.push(onB.client, onC.client);
    // Both listeners are in the room as node A sees it, so their subscriptions are in place.
    const tokenA = await readFile(path.join(tmp, 'a', 'admin-token'), 'utf8');
    await until(
      'node A to see the listeners of B and C',
      async () => {
        const res = await fetch(`${a.url}/api/admin/rooms`, {
          headers: { authorization: `Bearer ${tokenA.trim()}` },
        });
        const { rooms } = (await res.json()) as { rooms: { room: string; online: number }[] };
        return rooms.find((r) => r.room === 'crew')?.online === 2;
      },
      10_000,
    );

    let sendRunningAtFirstFrame: Record<string, boolean> = {};
    const sender = spawnCli(['send', excerpt, '--room', 'crew', '--server', a.url]);
    for (const [name, ear] of [
      ['b', onB],
      ['c', onC],
    ] as const) {
      ear.client.once('frame', () => {
        sendRunningAtFirstFrame = { ...sendRunningAtFirstFrame, [name]: sender.running };
      });
    }
    const result = await sender.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(sendRunningAtFirstFrame).toEqual({ b: true, c: true });

    // One history: node C lists the message node A stored, and it is in order and whole.
    const sentId = Number(/^sent message (\d+)/m.exec(result.stdout)?.[1]);
    const history = await runCli([
      'listen',
      '--room',
      'crew',
      '--since',
      'all',
      '--count',
      '1',
      '--json',
      '--server',
      c.url,
    ]);
    expect(history.code, history.stderr).toBe(0);
    expect(JSON.parse(history.stdout) as unknown).toMatchObject({
      id: sentId,
      room: 'crew',
      status: 'complete',
    });

    const source = soxSamples(excerpt);
    for (const ear of [onB, onC]) {
      await until('every frame', () => ear.state.packets.length >= 100, 5_000);
      expect(
        compareSamples(source, decodeAll(ear.state.packets)).correlation,
      ).toBeGreaterThanOrEqual(0.9);
    }
    // An admin delete on node C reaches the members of node B too.
    const deletedOnB = new Promise((resolve) => onB.client.once('message-deleted', resolve));
    const tokenC = (await readFile(path.join(tmp, 'c', 'admin-token'), 'utf8')).trim();
    const res = await fetch(`${c.url}/api/rooms/crew/messages/${sentId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${tokenC}` },
    });
    expect(res.ok).toBe(true);
    expect(await deletedOnB).toEqual({ type: 'message-deleted', room: 'crew', id: sentId });
  });

  it('a room key set through one node holds on every node', async () => {
    const [a, b] = nodes as [ServeProcess, ServeProcess, ServeProcess];
    const tokenA = (await readFile(path.join(tmp, 'a', 'admin-token'), 'utf8')).trim();
    const res = await fetch(`${a.url}/api/rooms/vault/key`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${tokenA}`, 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'correct-horse-1' }),
    });
    expect(res.ok).toBe(true);
    const client = await ImvClient.connect(b.url, { name: 'guest', timeoutMs: 20_000 });
    clients.push(client);
    await expect(client.join('vault')).rejects.toMatchObject({ code: 'ROOM_KEY_REQUIRED' });
    const { joined } = await client.join('vault', undefined, { key: 'correct-horse-1' });
    expect(joined.room).toBe('vault');
  });

  it('shows members of every node in presence, and a SIGKILLed node’s members leave within 10 s', async () => {
    const [a, b, c] = nodes as [ServeProcess, ServeProcess, ServeProcess];
    const onA = await listener(a.url, 'presence', 'ana');
    const onB = await listener(b.url, 'presence', 'bo');
    const onC = await listener(c.url, 'presence', 'cy');
    clients.push(onA.client, onB.client, onC.client);
    const names = (members: Member[]): string[] => members.map((m) => m.name).sort();
    for (const ear of [onA, onB, onC]) {
      await until(
        'all three members',
        () => names(ear.state.members).join() === 'ana,bo,cy',
        10_000,
      );
    }
    // Member ids stay unique across nodes.
    expect(new Set(onA.state.members.map((m) => m.id)).size).toBe(3);

    const { body } = await health(a);
    expect(body).toMatchObject({ ok: true, bus: { kind: 'nats', reachable: true } });

    const killedAt = Date.now();
    await c.stop('SIGKILL');
    for (const ear of [onA, onB]) {
      await until('cy to leave', () => names(ear.state.members).join() === 'ana,bo', 10_000);
    }
    expect(Date.now() - killedAt).toBeLessThan(10_000);
  });

  it('imv listen --reconnect moves to another node when its node is SIGKILLed, with no message lost or repeated', async () => {
    const [a, b] = nodes as [ServeProcess, ServeProcess, ServeProcess];
    // The welcome lists node A as a failover target (node C is dead by now).
    const probe = await ImvClient.connect(b.url, { name: 'probe', timeoutMs: 20_000 });
    expect(probe.welcome.nodes?.map((n) => n.urls)).toEqual([[a.url]]);
    await probe.close();

    const listen = spawnCli([
      'listen',
      '--room',
      'failover',
      '--reconnect',
      '--json',
      '--server',
      b.url,
    ]);
    const printed = (): { id: number; room: string; status: string }[] =>
      listen.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { id: number; room: string; status: string });
    const sendOnA = async (): Promise<number> => {
      const sent = await runCli(['send', excerpt, '--room', 'failover', '--server', a.url]);
      expect(sent.code, sent.stderr).toBe(0);
      return Number(/^sent message (\d+)/m.exec(sent.stdout)?.[1]);
    };
    try {
      const onA = await listener(a.url, 'failover', 'watcher');
      clients.push(onA.client);
      await until(
        'the listener to join through node B',
        () => onA.state.members.length === 2,
        20_000,
      );
      const first = await sendOnA();
      await until('the listener to print the first message', () => printed().length === 1, 20_000);

      await b.stop('SIGKILL');
      await listen.waitForStderr(
        new RegExp(`reconnected to ${a.url.replace(/\./g, '\\.')}`),
        30_000,
      );
      const second = await sendOnA();
      await until('the listener to print the second message', () => printed().length >= 2, 20_000);
      // Give a duplicate (a replay of the first, or the second twice) the time to show up.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(printed().map((m) => [m.id, m.room, m.status])).toEqual([
        [first, 'failover', 'complete'],
        [second, 'failover', 'complete'],
      ]);
    } finally {
      await listen.stop();
    }
  });
});

describe('a node whose NATS goes away', () => {
  let tmp: string;
  let excerpt: string;
  let nats: PrivateNats;
  const nodes: ServeProcess[] = [];
  const clients: ImvClient[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'imv-cluster-outage-'));
    excerpt = path.join(tmp, 'excerpt.wav');
    sox([fixture('speech-fr-48k.wav'), excerpt, 'trim', '0', '1']);
    // A NATS of this test's own: stopping the shared one would disturb every other test.
    nats = await PrivateNats.start();
    const prefix = uniqueBusPrefix('outage');
    nodes.push(
      ...(await Promise.all(['a', 'b'].map((n) => startNode(path.join(tmp, n), nats.url, prefix)))),
    );
  }, 180_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(nodes.map((n) => n.stop()));
    await nats?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('keeps its own room talking, answers 503 on /api/health, and relays to other nodes again once NATS is back', async () => {
    const [a, b] = nodes as [ServeProcess, ServeProcess];
    const localEar = await listener(a.url, 'crew', 'local');
    const remoteEar = await listener(b.url, 'crew', 'remote');
    clients.push(localEar.client, remoteEar.client);
    await until('both members everywhere', () => remoteEar.state.members.length === 2, 10_000);

    await nats.stop();
    await until(
      'node A to report the bus down',
      async () => (await health(a)).status === 503,
      15_000,
    );
    expect((await health(a)).body).toMatchObject({
      ok: false,
      bus: { kind: 'nats', reachable: false },
      store: { reachable: true },
    });
    await a.process.waitForStdout(/bus disconnected/);

    const during = await runCli(['send', excerpt, '--room', 'crew', '--server', a.url]);
    expect(during.code, during.stderr).toBe(0);
    expect(localEar.state.stored).toBe(1);
    expect(localEar.state.packets.length).toBeGreaterThanOrEqual(50);
    expect(remoteEar.state.packets).toEqual([]);

    await nats.start();
    for (const node of [a, b]) {
      await until('the bus to come back', async () => (await health(node)).status === 200, 30_000);
    }
    await until(
      'both members everywhere again',
      () => remoteEar.state.members.length === 2,
      10_000,
    );
    const after = await runCli(['send', excerpt, '--room', 'crew', '--server', a.url]);
    expect(after.code, after.stderr).toBe(0);
    await until(
      'the remote listener to hear the talker',
      () => remoteEar.state.packets.length >= 50,
      5_000,
    );
    const source = soxSamples(excerpt);
    expect(
      compareSamples(source, decodeAll(remoteEar.state.packets)).correlation,
    ).toBeGreaterThanOrEqual(0.9);
  });
});

describe('imv serve --bus', () => {
  it('exits with a one-line error naming the URL when the bus is wrong or out of reach', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'imv-cluster-bad-'));
    try {
      const base = ['serve', '--host', '127.0.0.1', '--port', '0', '--no-https', '--data', tmp];
      const unreachable = await runCli([...base, '--bus', 'nats://127.0.0.1:1']);
      expect(unreachable.code).toBe(1);
      expect(unreachable.stderr).toMatch(
        /^imv: cannot connect to the bus nats:\/\/127\.0\.0\.1:1: .+\n$/,
      );
      const wrong = await runCli([...base, '--bus', 'redis://imv:pw@127.0.0.1']);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toBe(
        'imv: bus URL redis://imv:***@127.0.0.1 is not "memory" or nats://host:port[,host:port…]\n',
      );
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
