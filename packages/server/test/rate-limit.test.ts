import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/index.js';
import { TokenBucket } from '../src/ws/token-bucket.js';
import { opusPacketsOf } from './helpers/opus-fixture.js';
import type { Received } from '@imv/test-support/server';
import { TestClient, serverFixture } from '@imv/test-support/server';

const { servers, joined } = serverFixture();

const errorsOf = (client: TestClient, code: string) =>
  client.texts().filter((m) => m.type === 'error' && m.code === code);

describe('TokenBucket', () => {
  it('lets a real-time talker through for a minute and holds a faster one to the rate', () => {
    let nowMs = 0;
    const bucket = new TokenBucket(DEFAULTS.framesPerSecond, DEFAULTS.frameBurst, () => nowMs);
    let refused = 0;
    for (let i = 0; i < 3000; i++, nowMs += 20) if (!bucket.take()) refused++;
    expect(refused).toBe(0);
    // Three times the limit for 10 s: the burst, then the sustained rate.
    let passed = 0;
    for (let i = 0; i < 3000; i++, nowMs += 10 / 3) if (bucket.take()) passed++;
    expect(passed).toBeGreaterThanOrEqual(DEFAULTS.framesPerSecond * 10 + DEFAULTS.frameBurst - 1);
    expect(passed).toBeLessThanOrEqual(DEFAULTS.framesPerSecond * 10 + DEFAULTS.frameBurst + 1);
  });
});

describe('per-connection rate limits', () => {
  it('drops a flood of frames with few RATE_LIMITED errors while another talker in the room is served', async () => {
    const server = await servers.start({ frameBurst: DEFAULTS.frameBurst });
    const packets = opusPacketsOf('speech-en-48k.wav');
    const flooder = await joined(server, 'busy', 'flood');
    const talker = await joined(server, 'busy', 'ana');
    const listener = await joined(server, 'busy', 'bo');

    flooder.send({ type: 'talk-start', streamId: 1 });
    talker.send({ type: 'talk-start', streamId: 2 });
    await listener.next('talk-started');
    await listener.next('talk-started');
    const flood = 3 * DEFAULTS.frameBurst;
    for (let i = 0; i < flood; i++) flooder.sendFrame(1, i, packets[i % packets.length]!);
    flooder.send({ type: 'talk-stop', streamId: 1 });
    const flooded = (await flooder.next('message-stored')).message;
    const limited = errorsOf(flooder, 'RATE_LIMITED');
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(limited[0]).toMatchObject({ ref: 'frame' });
    // Most of the flood was dropped, yet it produced a handful of errors, not one per frame.
    expect(flooded.frameCount).toBeGreaterThanOrEqual(DEFAULTS.frameBurst);
    expect(flooded.frameCount).toBeLessThan(flood - DEFAULTS.frameBurst);
    expect(limited.length).toBeLessThan(10);

    talker.sendPackets(2, packets.slice(0, 50));
    const storedOf = (r: Received) =>
      r.kind === 'text' && r.message.type === 'message-stored' && r.message.streamId === 2;
    const ack = await talker.nextWhere(storedOf, 'message-stored of stream 2');
    expect(
      ack.kind === 'text' &&
        ack.message.type === 'message-stored' &&
        ack.message.message.frameCount,
    ).toBe(50);
    await listener.nextWhere(storedOf, 'message-stored of stream 2');
    const fromTalker = listener.binaries().filter((b) => b.readUInt32BE(4) === 2);
    expect(fromTalker).toHaveLength(51);
    expect(errorsOf(talker, 'RATE_LIMITED')).toHaveLength(0);
  });

  it('drops control messages beyond the burst with RATE_LIMITED and keeps the connection', async () => {
    const server = await servers.start();
    const client = await joined(server, 'chatty', 'ana');
    for (let i = 0; i < 120; i++) client.send({ type: 'get-history', limit: 1 });
    // Bursts are 50 control messages: hello and join used 2 of them.
    for (let i = 0; i < 48; i++) await client.next('history');
    // Give the dropped ones time to show up if they were not dropped.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const answered = client.texts().filter((m) => m.type === 'history').length;
    expect(answered).toBeGreaterThanOrEqual(48);
    expect(answered).toBeLessThan(120);
    const limited = errorsOf(client, 'RATE_LIMITED');
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(limited.length).toBeLessThan(5);
    expect(client.closeCode).toBeUndefined();
  });
});
