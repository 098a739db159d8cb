import { afterEach, describe, expect, it } from 'vitest';
import { FLAG_END } from '@imv/protocol';
import type { VoiceMessage } from '@imv/protocol';
import { PrivatePostgres, createTestDatabase } from '@imv/test-support';
import type { TestDatabase } from '@imv/test-support';
import { opusPacketsOf } from './helpers/opus-fixture.js';
import { ServerProcess } from './helpers/server-process.js';
import { TestClient } from './helpers/test-client.js';
import { TestServers } from './helpers/test-server.js';

const servers = new TestServers();
const clients: TestClient[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await servers.cleanup();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function joined(url: string, room: string, name: string): Promise<TestClient> {
  const client = await TestClient.joined(url, room, name);
  clients.push(client);
  return client;
}

async function listRoom(url: string, room: string): Promise<VoiceMessage[]> {
  const res = await fetch(`${url}/api/rooms/${room}/messages`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: VoiceMessage[] }).messages;
}

/** Polls `probe` every 200 ms until it returns true, for at most `timeoutMs`. */
async function until(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The next message-stored for message `id` this client receives. */
async function storedMessage(
  client: TestClient,
  id: number,
  timeoutMs: number,
): Promise<VoiceMessage> {
  const received = await client.nextWhere(
    (r) => r.kind === 'text' && r.message.type === 'message-stored' && r.message.message.id === id,
    `message-stored ${id}`,
    timeoutMs,
  );
  return (received as { message: { message: VoiceMessage } }).message.message;
}

const packets = opusPacketsOf('speech-fr-48k.wav');

describe('PostgreSQL store faults', () => {
  it('while PostgreSQL is down: live audio flows, the talker gets STORE_UNAVAILABLE instead of an ack, health is 503; then it recovers by itself', async () => {
    const postgres = await PrivatePostgres.create();
    cleanups.push(() => postgres.dispose());
    const server = await servers.start({ store: `${postgres.serverUrl}/postgres` });
    const talker = await joined(server.httpUrl, 'crew', 'alice');
    const listener = await joined(server.httpUrl, 'crew', 'bob');

    talker.send({ type: 'talk-start', streamId: 1 });
    talker.sendPackets(1, packets.slice(0, 20));
    const acked = (await talker.next('message-stored')).message;

    // A message in flight when the database goes away.
    talker.send({ type: 'talk-start', streamId: 2 });
    const { messageId: inFlight } = await talker.next('talk-started');
    talker.sendPackets(2, packets.slice(0, 10), false);
    for (let i = 0; i < 10; i++) await listener.nextBinary();
    postgres.stop();
    for (let i = 10; i < 20; i++) talker.sendFrame(2, i, packets[i]!);
    talker.sendFrame(2, 20, new Uint8Array(0), FLAG_END);
    for (let i = 0; i < 10; i++) await listener.nextBinary();
    expect(await talker.next('error')).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      streamId: 2,
      message: `message ${inFlight} could not be stored: the message store is unreachable`,
    });
    expect(talker.texts().filter((m) => m.type === 'message-stored')).toHaveLength(1);

    const health = await fetch(`${server.httpUrl}/api/health`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { store: unknown }).store).toEqual({
      kind: 'postgres',
      reachable: false,
    });
    const rest = await fetch(`${server.httpUrl}/api/rooms/crew/messages`);
    expect(rest.status).toBe(503);
    expect(await rest.json()).toMatchObject({ code: 'STORE_UNAVAILABLE', statusCode: 503 });
    talker.send({ type: 'talk-start', streamId: 3 });
    expect(await talker.next('error')).toMatchObject({ code: 'STORE_UNAVAILABLE', streamId: 3 });

    postgres.start();
    await until(
      async () => (await fetch(`${server.httpUrl}/api/health`)).status === 200,
      20_000,
      'health 200',
    );
    // The message whose final write failed is stored as partial with every frame, and the room is told.
    const late = await storedMessage(listener, inFlight, 20_000);
    expect(late).toMatchObject({ status: 'partial', frameCount: 20 });
    talker.send({ type: 'talk-start', streamId: 4 });
    const { messageId: afterId } = await talker.next('talk-started');
    talker.sendPackets(4, packets.slice(0, 15));
    const after = await storedMessage(talker, afterId, 10_000);
    expect(await listRoom(server.httpUrl, 'crew')).toEqual([acked, late, after]);
  }, 120_000);

  it('a node SIGKILLed mid-message: another node on the same PostgreSQL finalises it as partial and tells the room; acked messages are intact', async () => {
    const database: TestDatabase = await createTestDatabase();
    cleanups.push(() => database.drop());
    const nodeA = await ServerProcess.start(servers.tempDir(), database.url);
    cleanups.push(() => nodeA.kill('SIGKILL').then(() => undefined));
    const nodeB = await servers.start({ store: database.url });
    const talker = await joined(nodeA.httpUrl, 'crew', 'alice');
    const listenerOnB = await joined(nodeB.httpUrl, 'crew', 'bob');

    talker.send({ type: 'talk-start', streamId: 1 });
    talker.sendPackets(1, packets.slice(0, 50));
    const acked = (await talker.next('message-stored')).message;
    talker.send({ type: 'talk-start', streamId: 2 });
    const { messageId: inFlight } = await talker.next('talk-started');
    talker.sendPackets(2, packets.slice(0, 40), false);
    // Frames reach the store in 250 ms batches: wait until some are there before the kill.
    await until(
      async () => {
        const res = await fetch(`${nodeB.httpUrl}/api/rooms/crew/messages/${inFlight}`);
        return res.status === 200 && ((await res.json()) as VoiceMessage).status === 'recording';
      },
      10_000,
      'the in-flight message',
    );
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await nodeA.kill('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });

    const partial = await storedMessage(listenerOnB, inFlight, 30_000);
    expect(partial.status).toBe('partial');
    expect(partial.frameCount).toBeGreaterThan(0);
    expect(partial.frameCount).toBeLessThanOrEqual(40);
    expect(listenerOnB.texts().find((m) => m.type === 'talk-stopped')).toMatchObject({
      streamId: 2,
      messageId: inFlight,
    });
    expect(await listRoom(nodeB.httpUrl, 'crew')).toEqual([acked, partial]);
  }, 120_000);
});
