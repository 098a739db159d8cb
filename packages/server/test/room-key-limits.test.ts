import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { once } from 'node:events';
import { PROTOCOL_VERSION } from '@imv/protocol';
import type { ServerMessage } from '@imv/protocol';
import { FairQueue } from '../src/store/fair-queue.js';
import { KeyAttemptLimiter } from '../src/store/key-attempts.js';
import type { ImvServer } from '../src/index.js';
import { TestClient } from './helpers/test-client.js';
import { TestServers } from './helpers/test-server.js';

const servers = new TestServers();
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await servers.cleanup();
});

const KEY = 'blue-heron-42';

/** A job the test finishes by hand, so turns are counted without any clock. */
function manualJob(): { promise: Promise<void>; finish: () => void } {
  let finish!: () => void;
  const promise = new Promise<void>((resolve) => (finish = resolve));
  return { promise, finish };
}

describe('FairQueue', () => {
  it("starts another client's job within two turns while one client has 150 queued", async () => {
    const queue = new FairQueue(2);
    const flood = Array.from({ length: 150 }, () => manualJob());
    const runs = flood.map((job) => queue.run('flooder', () => job.promise));
    let legitStartedAtTurn = -1;
    const legit = queue.run('legit', () => {
      legitStartedAtTurn = queue.started;
      return Promise.resolve('joined');
    });
    // Two flood jobs hold the slots; 148 wait, then the legitimate one.
    expect([queue.started, queue.pendingOf('flooder'), queue.pendingOf('legit')]).toEqual([
      2, 148, 1,
    ]);
    // Finishing jobs one at a time: the first freed slot goes to the flooder (its turn came first),
    // the next to the legitimate client, not to the flooder's 147 others.
    let finished = 0;
    while (legitStartedAtTurn < 0 && finished < flood.length) {
      flood[finished++]!.finish();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await legit).toBe('joined');
    expect(legitStartedAtTurn).toBe(4);
    expect(finished).toBe(2);
    for (const job of flood) job.finish();
    await Promise.all(runs);
    expect(queue.started).toBe(151);
  });
});

describe('KeyAttemptLimiter', () => {
  it('gives each address a burst of 5, then 1 per second, independently', () => {
    let nowMs = 0;
    const limiter = new KeyAttemptLimiter(5, 1, () => nowMs);
    const a = Array.from({ length: 8 }, () => limiter.take('10.0.0.2'));
    expect(a).toEqual([true, true, true, true, true, false, false, false]);
    expect(limiter.take('10.0.0.3')).toBe(true);
    nowMs += 1000;
    expect([limiter.take('10.0.0.2'), limiter.take('10.0.0.2')]).toEqual([true, false]);
  });
});

async function keyedRoom(server: ImvServer, room: string): Promise<TestClient> {
  const owner = await TestClient.open(server.httpUrl);
  clients.push(owner);
  await owner.hello('owner');
  owner.send({ type: 'join', room, key: KEY });
  expect((await owner.next('joined')).keyed).toBe(true);
  return owner;
}

/** A WebSocket join from its own loopback address (the limits count per address). */
async function joinFrom(
  server: ImvServer,
  localAddress: string,
  room: string,
  key: string,
): Promise<ServerMessage> {
  const ws = new WebSocket(`${server.httpUrl.replace(/^http/, 'ws')}/ws`, { localAddress });
  await once(ws, 'open');
  const answers: ServerMessage[] = [];
  ws.on('message', (data: Buffer) =>
    answers.push(JSON.parse(data.toString('utf8')) as ServerMessage),
  );
  ws.send(
    JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, client: 't', name: 'legit' }),
  );
  ws.send(JSON.stringify({ type: 'join', room, key }));
  while (!answers.some((m) => m.type === 'joined' || m.type === 'error')) await once(ws, 'message');
  ws.close();
  return answers.find((m) => m.type === 'joined' || m.type === 'error')!;
}

describe('room-key guessing', () => {
  it('limits REST key guesses per address; a correct-key join from elsewhere gets in during a 150-guess flood', async () => {
    const server = await servers.start();
    await keyedRoom(server, 'vault');
    const startMs = performance.now();
    // The flooder's 150 concurrent guesses, each a different wrong key (no cache can help).
    const flood = Array.from({ length: 150 }, (_, i) =>
      fetch(`${server.httpUrl}/api/rooms/vault/messages`, {
        headers: { 'X-Imv-Room-Key': `wrong-guess-${i}` },
      }).then(async (res) => [res.status, ((await res.json()) as { code: string }).code] as const),
    );
    const legit = joinFrom(server, '127.0.0.2', 'vault', KEY);
    const answers = await Promise.all(flood);
    const elapsedMs = performance.now() - startMs;
    expect((await legit).type).toBe('joined');
    const count = (status: number) => answers.filter(([s]) => s === status).length;
    // Only the burst (and one per second while the flood lasted) was hashed; the rest were refused
    // at once without a hash, so few hashing turns can come before the legitimate join's.
    expect(count(403)).toBeLessThanOrEqual(5 + Math.floor(elapsedMs / 1000));
    expect(count(403)).toBeGreaterThanOrEqual(1);
    expect(count(429) + count(403)).toBe(150);
    expect(answers.find(([s]) => s === 429)).toEqual([429, 'RATE_LIMITED']);
  });

  it('sends at most one RATE_LIMITED per second per connection for a burst of 200 wrong-key joins', async () => {
    const server = await servers.start();
    await keyedRoom(server, 'vault');
    const guesser = await TestClient.open(server.httpUrl);
    clients.push(guesser);
    await guesser.hello('guesser');
    const startMs = performance.now();
    for (let i = 0; i < 200; i++)
      guesser.send({ type: 'join', room: 'vault', key: `wrong-key-${i}` });
    // A marker once the control bucket has a token again: its answer comes after every join was
    // handled (one connection's messages are handled in order). On a loaded machine a hash takes
    // longer than the limiter's refill, so every join may get hashed; then 10 answers are enough.
    await new Promise((resolve) => setTimeout(resolve, 150));
    guesser.send({ type: 'get-history' });
    let wrongSeen = 0;
    await guesser.nextWhere(
      (r) =>
        r.kind === 'text' &&
        r.message.type === 'error' &&
        (r.message.ref === 'get-history' ||
          (r.message.code === 'ROOM_KEY_WRONG' && ++wrongSeen >= 10)),
      'the marker or 10 hashed guesses',
      60_000,
    );
    const elapsedMs = performance.now() - startMs;
    const errors = guesser.texts().filter((m) => m.type === 'error');
    const limited = errors.filter((m) => m.code === 'RATE_LIMITED');
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(limited.length).toBeLessThanOrEqual(1 + Math.floor(elapsedMs / 1000));
    // Guesses that were hashed: the burst of 5 and one per second after.
    const wrong = errors.filter((m) => m.code === 'ROOM_KEY_WRONG');
    expect(wrong.length).toBeGreaterThanOrEqual(1);
    expect(wrong.length).toBeLessThanOrEqual(5 + Math.ceil(elapsedMs / 1000));
  });
});
