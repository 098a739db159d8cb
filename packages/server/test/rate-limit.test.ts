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

  it('counts audio time: a 10 ms talker (half a token a frame) gets 100 frames/s and twice the burst', () => {
    let nowMs = 0;
    const bucket = new TokenBucket(DEFAULTS.framesPerSecond, DEFAULTS.frameBurst, () => nowMs);
    let refused = 0;
    for (let i = 0; i < 6000; i++, nowMs += 10) if (!bucket.take(0.5)) refused++;
    expect(refused).toBe(0);
    // Three times real time for 10 s: twice the burst in 10 ms frames, then 100 frames/s.
    let passed = 0;
    for (let i = 0; i < 3000; i++, nowMs += 10 / 3) if (bucket.take(0.5)) passed++;
    const perSecond10Ms = DEFAULTS.framesPerSecond * 2;
    expect(perSecond10Ms).toBe(100);
    expect(passed).toBeGreaterThanOrEqual(perSecond10Ms * 10 + 2 * DEFAULTS.frameBurst - 1);
    expect(passed).toBeLessThanOrEqual(perSecond10Ms * 10 + 2 * DEFAULTS.frameBurst + 1);
  });
});

describe('per-talk frame rate by frame duration', () => {
  /** The room's message-stored for `streamId` (each client also hears the other's). */
  async function storedOf(client: TestClient, streamId: number) {
    const got = await client.nextWhere(
      (r) =>
        r.kind === 'text' && r.message.type === 'message-stored' && r.message.streamId === streamId,
      `message-stored of stream ${streamId}`,
    );
    if (got.kind !== 'text' || got.message.type !== 'message-stored')
      throw new Error('unreachable');
    return got.message.message;
  }

  /** Starts a talk of `frameMs` and waits for its talk-started. */
  async function talking(client: TestClient, streamId: number, frameMs: 10 | 20) {
    client.send({ type: 'talk-start', streamId, frameMs });
    const started = await client.nextWhere(
      (r) =>
        r.kind === 'text' && r.message.type === 'talk-started' && r.message.streamId === streamId,
      `talk-started of stream ${streamId}`,
    );
    expect(started.kind === 'text' && started.message).toMatchObject({ streamId, frameMs });
  }

  it('lets a flood through up to the burst in audio time: twice as many 10 ms frames as 20 ms ones', async () => {
    const burst = 50;
    const server = await servers.start({ frameBurst: burst });
    const quick = await joined(server, 'flood', 'quick');
    const plain = await joined(server, 'flood', 'plain');
    expect(quick.texts().find((m) => m.type === 'welcome')).toMatchObject({
      frameMs: [10, 20],
      limits: { framesPerSecond: 50, frameBurst: burst },
    });
    await talking(quick, 1, 10);
    await talking(plain, 2, 20);
    const flood = 6 * burst;
    const packets10 = opusPacketsOf('speech-en-48k.wav', 10);
    const packets20 = opusPacketsOf('speech-en-48k.wav', 20);
    for (let i = 0; i < flood; i++) {
      quick.sendFrame(1, i, packets10[i]!);
      plain.sendFrame(2, i, packets20[i]!);
    }
    quick.send({ type: 'talk-stop', streamId: 1 });
    plain.send({ type: 'talk-stop', streamId: 2 });
    const quickStored = await storedOf(quick, 1);
    const plainStored = await storedOf(plain, 2);
    // The burst, plus what trickled in while the flood was being read (well under another burst).
    expect(quickStored.frameCount).toBeGreaterThanOrEqual(2 * burst);
    expect(quickStored.frameCount).toBeLessThan(3 * burst);
    expect(plainStored.frameCount).toBeGreaterThanOrEqual(burst);
    expect(plainStored.frameCount).toBeLessThan(2 * burst);
    expect(quickStored).toMatchObject({ frameMs: 10, durationMs: quickStored.frameCount * 10 });
    expect(plainStored).toMatchObject({ frameMs: 20, durationMs: plainStored.frameCount * 20 });
    expect(errorsOf(quick, 'RATE_LIMITED')[0]).toMatchObject({
      ref: 'frame',
      message: `frames faster than 100/s (burst ${2 * burst}): the extra ones are dropped`,
    });
    expect(errorsOf(plain, 'RATE_LIMITED')[0]).toMatchObject({
      ref: 'frame',
      message: `frames faster than 50/s (burst ${burst}): the extra ones are dropped`,
    });
    expect(quick.closeCode).toBeUndefined();
  });

  it('passes a 10 ms talker at 100 frames/s whole, and holds a 20 ms talker at that pace to 50 frames/s', async () => {
    // A small burst (0.4 s of audio) so the sustained rate decides; it still absorbs timer jitter.
    const server = await servers.start({ frameBurst: 20 });
    const quick = await joined(server, 'paced', 'quick');
    const plain = await joined(server, 'paced', 'plain');
    await talking(quick, 1, 10);
    await talking(plain, 2, 20);
    const packets10 = opusPacketsOf('speech-en-48k.wav', 10);
    const packets20 = opusPacketsOf('speech-en-48k.wav', 20);
    const frames = 200; // 2 s at 100 frames/s
    const startMs = performance.now();
    for (let i = 0; i < frames; i++) {
      const waitMs = startMs + i * 10 - performance.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      quick.sendFrame(1, i, packets10[i]!);
      plain.sendFrame(2, i, packets20[i]!);
    }
    quick.send({ type: 'talk-stop', streamId: 1 });
    plain.send({ type: 'talk-stop', streamId: 2 });
    expect((await storedOf(quick, 1)).frameCount).toBe(frames);
    expect(errorsOf(quick, 'RATE_LIMITED')).toHaveLength(0);
    // Twice real time for 2 s: the 20 ms talk keeps about 2 s × 50 + its burst of 20.
    const plainStored = await storedOf(plain, 2);
    expect(plainStored.frameCount).toBeLessThan(frames * 0.75);
    expect(errorsOf(plain, 'RATE_LIMITED').length).toBeGreaterThanOrEqual(1);
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
