import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FLAG_END, FRAME_SAMPLES, MAX_FRAME_BYTES, PROTOCOL_VERSION } from '@imv/protocol';
import type { Frame } from '@imv/protocol';
import { startServer } from '@imv/server';
import type { ImvServer } from '@imv/server';
import { ImvClient } from '../src/client/imv-client.js';
import { ImvClientError } from '../src/client/client-error.js';

describe('ImvClient against a real server', () => {
  let tmp: string;
  let server: ImvServer;
  const clients: ImvClient[] = [];

  async function connect(name: string): Promise<ImvClient> {
    const client = await ImvClient.connect(server.httpUrl, { name });
    clients.push(client);
    return client;
  }

  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'imv-client-'));
    server = await startServer({ host: '127.0.0.1', port: 0, dataDir: tmp, logLevel: 'silent' });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('says hello and resolves with the welcome', async () => {
    const client = await connect('alice');
    expect(client.welcome.protocol).toBe(PROTOCOL_VERSION);
    expect(client.welcome.limits.maxFrameBytes).toBe(MAX_FRAME_BYTES);
    expect(client.url).toBe(`${server.httpUrl.replace('http', 'ws')}/ws`);
  });

  it('rejects with UNREACHABLE and the URL as given when nothing listens', async () => {
    const error = await ImvClient.connect('http://127.0.0.1:9', { name: 'x' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ImvClientError);
    expect(error).toMatchObject({
      code: 'UNREACHABLE',
      message: 'cannot reach imv server at http://127.0.0.1:9 (ECONNREFUSED)',
    });
  });

  it('rejects with NOT_IMV when the URL answers HTTP but not the WebSocket upgrade', async () => {
    const error = await ImvClient.connect(`${server.httpUrl}/nothing-here`, { name: 'x' }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'NOT_IMV' });
    expect((error as Error).message).toMatch(/did not accept a WebSocket \(HTTP 404\)/);
  });

  it('turns a server error into ImvClientError with its code, and the connection stays usable', async () => {
    const client = await connect('alice');
    const error = await client.getHistory().catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'NOT_IN_ROOM',
      message: 'get-history: join a room first (NOT_IN_ROOM)',
    });
    const { joined } = await client.join('crew');
    expect(joined.you.name).toBe('alice');
    expect((await client.getHistory()).messages).toEqual([]);
  });

  it('relays frames from a talker to a listener and acks the stored message', async () => {
    const listener = await connect('bob');
    const talker = await connect('alice');
    await listener.join('crew');
    await talker.join('crew');
    const frames: Frame[] = [];
    listener.on('frame', (frame) => frames.push({ ...frame, payload: frame.payload.slice() }));
    const storedForListener = listener.expect('message-stored');

    const talk = talker.startTalk(42);
    // Opus TOC 0xf8 (CELT FB 20 ms, one frame) followed by filler: the relay does not decode.
    const payloads = [1, 2, 3].map((n) => Uint8Array.of(0xf8, n, n, n));
    for (const [i, payload] of payloads.entries())
      await talk.sendFrame(payload, { end: i === payloads.length - 1 });
    const ack = await talk.stored();

    expect(ack.message).toMatchObject({
      room: 'crew',
      senderName: 'alice',
      frameCount: 3,
      durationMs: 60,
      status: 'complete',
    });
    expect((await storedForListener).message.id).toBe(ack.message.id);
    expect(
      frames.map((f) => [f.streamId, f.sequence, f.timestamp, f.flags, [...f.payload]]),
    ).toEqual(payloads.map((p, i) => [42, i, i * FRAME_SAMPLES, i === 2 ? FLAG_END : 0, [...p]]));
  });

  it('rejects a second talk on the same connection with ALREADY_TALKING while the first goes on', async () => {
    const talker = await connect('alice');
    await talker.join('crew');
    const first = talker.startTalk(1);
    await first.started;
    const second = talker.startTalk(2);
    await expect(second.started).rejects.toMatchObject({ code: 'ALREADY_TALKING' });
    await expect(second.sendFrame(Uint8Array.of(0xf8))).rejects.toMatchObject({
      code: 'ALREADY_TALKING',
    });
    await first.sendFrame(Uint8Array.of(0xf8, 1), { end: true });
    expect((await first.stored()).message.frameCount).toBe(1);
  });

  it('reports a lost connection to waiters and on the close event', async () => {
    const client = await connect('alice');
    await client.join('crew');
    const closed = new Promise<ImvClientError | undefined>((resolve) =>
      client.on('close', resolve),
    );
    const pending = client.expect('history').catch((e: unknown) => e);
    await server.close();
    expect(await pending).toMatchObject({ code: 'SERVER_SHUTTING_DOWN' });
    expect(await closed).toMatchObject({ code: 'SERVER_SHUTTING_DOWN' });
    expect(client.isOpen).toBe(false);
  });

  it("rejects requests after the server closed with the server's reason, and leaves no unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const client = await connect('alice');
      await client.join('crew');
      const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
      await server.close();
      await closed;
      // Each request registers its reply waiter before sending; the send fails, and neither
      // rejection may escape (the CLI listener printed an unhandled "the client was closed").
      await expect(client.getHistory({ limit: 1 })).rejects.toMatchObject({
        code: 'SERVER_SHUTTING_DOWN',
      });
      await expect(client.join('crew', 'all')).rejects.toMatchObject({
        code: 'SERVER_SHUTTING_DOWN',
      });
      await client.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
