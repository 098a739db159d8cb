import { ECHO_MAX_FRAMES, ECHO_SESSIONS_PER_MINUTE, FLAG_END, encodeFrame } from '@imv/protocol';
import { describe, expect, it } from 'vitest';
import { serverFixture } from '@imv/test-support/server';
import { opusPacketsOf } from './helpers/opus-fixture.js';

const { servers, joined, open } = serverFixture();

describe('audio doctor echo (echo-start)', () => {
  it('sends the frames back byte for byte, to the sender only, and stores nothing', async () => {
    const server = await servers.start();
    const doctor = await joined(server, 'crew', 'doc');
    const listener = await joined(server, 'crew', 'bo');
    const packets = opusPacketsOf('speech-en-48k.wav').slice(0, 40);
    doctor.send({ type: 'echo-start', streamId: 77 });
    expect(await doctor.next('echo-ready')).toEqual({
      type: 'echo-ready',
      streamId: 77,
      maxFrames: ECHO_MAX_FRAMES,
    });
    const sent = packets.map((p, i) =>
      encodeFrame({ flags: 0, streamId: 77, sequence: i, timestamp: i * 960 }, p),
    );
    sent.push(
      encodeFrame(
        { flags: FLAG_END, streamId: 77, sequence: 40, timestamp: 40 * 960 },
        new Uint8Array(0),
      ),
    );
    for (const frame of sent) doctor.sendRaw(frame);
    const echoed: Buffer[] = [];
    for (let i = 0; i < sent.length; i++) echoed.push(await doctor.nextBinary());
    expect(echoed.map((b) => Buffer.from(b).toString('hex'))).toEqual(
      sent.map((b) => Buffer.from(b).toString('hex')),
    );
    expect(await doctor.next('echo-stopped')).toEqual({
      type: 'echo-stopped',
      streamId: 77,
      frames: sent.length,
      reason: 'end-frame',
    });
    // Not relayed to the room, not stored.
    expect(listener.binaries()).toHaveLength(0);
    expect(listener.texts().map((m) => m.type)).not.toContain('talk-started');
    const history = (await (await fetch(`${server.httpUrl}/api/rooms/crew/messages`)).json()) as {
      messages: unknown[];
    };
    expect(history.messages).toEqual([]);
  });

  it('works before any join (the doctor page is in no room)', async () => {
    const server = await servers.start();
    const doctor = await open(server);
    await doctor.hello('doc');
    doctor.send({ type: 'echo-start', streamId: 5 });
    await doctor.next('echo-ready');
    const frame = encodeFrame(
      { flags: 0, streamId: 5, sequence: 0, timestamp: 0 },
      Uint8Array.of(1, 2, 3),
    );
    doctor.sendRaw(frame);
    expect(Buffer.from(await doctor.nextBinary()).equals(Buffer.from(frame))).toBe(true);
  });

  it(`refuses more than ${ECHO_SESSIONS_PER_MINUTE} echo sessions a minute with ECHO_LIMITED`, async () => {
    const server = await servers.start();
    const doctor = await open(server);
    await doctor.hello('doc');
    for (let i = 1; i <= ECHO_SESSIONS_PER_MINUTE; i++) {
      doctor.send({ type: 'echo-start', streamId: i });
      expect((await doctor.next('echo-ready')).streamId).toBe(i);
    }
    doctor.send({ type: 'echo-start', streamId: 99 });
    const error = await doctor.next('error');
    expect(error).toMatchObject({ code: 'ECHO_LIMITED', ref: 'echo-start', streamId: 99 });
    // The refused stream is not echoed; the connection keeps working.
    doctor.sendRaw(
      encodeFrame({ flags: 0, streamId: 99, sequence: 0, timestamp: 0 }, Uint8Array.of(9)),
    );
    expect((await doctor.next('error')).code).toBe('UNKNOWN_STREAM');
    expect(doctor.binaries()).toHaveLength(0);
    // Each new session replaced the previous one.
    const stopped = doctor.texts().filter((m) => m.type === 'echo-stopped');
    expect(stopped.map((m) => m.type === 'echo-stopped' && m.reason)).toEqual([
      'replaced',
      'replaced',
    ]);
  });

  it(`stops echoing after ${ECHO_MAX_FRAMES} frames`, async () => {
    const server = await servers.start({ framesPerSecond: 10_000, frameBurst: 10_000 });
    const doctor = await open(server);
    await doctor.hello('doc');
    doctor.send({ type: 'echo-start', streamId: 8 });
    await doctor.next('echo-ready');
    for (let i = 0; i < ECHO_MAX_FRAMES + 5; i++)
      doctor.sendRaw(
        encodeFrame(
          { flags: 0, streamId: 8, sequence: i, timestamp: i * 960 },
          Uint8Array.of(i & 0xff),
        ),
      );
    expect(await doctor.next('echo-stopped')).toMatchObject({
      frames: ECHO_MAX_FRAMES,
      reason: 'max-frames',
    });
    await doctor.next('error'); // the frames after the limit belong to no stream
    expect(doctor.binaries()).toHaveLength(ECHO_MAX_FRAMES);
  });
});
