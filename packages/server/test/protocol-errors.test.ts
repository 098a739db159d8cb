import {
  CLOSE_CODES,
  FLAG_END,
  FRAME_HEADER_LEN,
  MAX_FRAME_BYTES,
  MAX_TEXT_BYTES,
  PROTOCOL_VERSION,
  encodeFrame,
} from '@imv/protocol';
import type { ErrorCode } from '@imv/protocol';
import { describe, expect, it } from 'vitest';
import { opusPacketsOf } from './helpers/opus-fixture.js';
import type { Received } from '@imv/test-support/server';
import { TestClient, serverFixture } from '@imv/test-support/server';

const { servers, joined, open } = serverFixture();

/** A talk of a few real packets from `talker`, heard by `listener`; returns the stored frame count. */
async function talkWorks(
  talker: TestClient,
  listener: TestClient,
  streamId: number,
): Promise<number> {
  const packets = opusPacketsOf('speech-fr-48k.wav').slice(0, 5);
  talker.send({ type: 'talk-start', streamId });
  talker.sendPackets(streamId, packets);
  const { messageId } = await talker.next('talk-started');
  const storedIs = (r: Received): boolean =>
    r.kind === 'text' && r.message.type === 'message-stored' && r.message.message.id === messageId;
  await listener.nextWhere(storedIs, 'message-stored');
  const ack = await talker.nextWhere(storedIs, 'message-stored');
  return ack.kind === 'text' && ack.message.type === 'message-stored'
    ? ack.message.message.frameCount
    : -1;
}

function header(fields: {
  version?: number;
  flags?: number;
  reserved?: number;
  streamId?: number;
}): Buffer {
  const bytes = Buffer.alloc(FRAME_HEADER_LEN + 10, 0xfc);
  bytes.writeUInt8(fields.version ?? 1, 0); // version
  bytes.writeUInt8(fields.flags ?? 0, 1); // flags
  bytes.writeUInt16BE(fields.reserved ?? 0, 2); // reserved
  bytes.writeUInt32BE(fields.streamId ?? 1, 4); // stream id
  bytes.writeUInt32BE(0, 8); // sequence
  bytes.writeUInt32BE(0, 12); // timestamp
  return bytes;
}

describe('connection handshake', () => {
  it('answers hello with welcome carrying the limits', async () => {
    const server = await servers.start({ maxMessageMs: 60_000 });
    const client = await open(server);
    const welcome = await client.hello('alice');
    expect(welcome).toMatchObject({
      protocol: PROTOCOL_VERSION,
      server: expect.stringMatching(/^imv-server\//) as unknown,
      limits: {
        maxFrameBytes: MAX_FRAME_BYTES,
        maxTextBytes: MAX_TEXT_BYTES,
        maxMessageMs: 60_000,
      },
    });
  });

  it('refuses another protocol major with VERSION_MISMATCH and close code 4001', async () => {
    const server = await servers.start();
    const client = await open(server);
    client.send({
      type: 'hello',
      protocol: PROTOCOL_VERSION + 1,
      client: 'future/9',
      name: 'alice',
    });
    expect(await client.next('error')).toMatchObject({ code: 'VERSION_MISMATCH', ref: 'hello' });
    expect(await client.closed).toBe(CLOSE_CODES.VERSION_MISMATCH);
  });

  it('answers anything before hello with HELLO_REQUIRED and still accepts hello afterwards', async () => {
    const server = await servers.start();
    const client = await open(server);
    client.send({ type: 'join', room: 'lobby' });
    expect(await client.next('error')).toMatchObject({ code: 'HELLO_REQUIRED', ref: 'join' });
    client.sendRaw(
      encodeFrame({ flags: 0, streamId: 1, sequence: 0, timestamp: 0 }, new Uint8Array([1])),
    );
    expect(await client.next('error')).toMatchObject({ code: 'HELLO_REQUIRED', ref: 'frame' });
    await client.hello();
  });

  it('closes a socket that sends no hello in time with 4002', async () => {
    const server = await servers.start({ helloTimeoutMs: 100 });
    const client = await open(server);
    expect(await client.closed).toBe(CLOSE_CODES.HELLO_TIMEOUT);
  });
});

describe('bad input gets its code and changes nothing else', () => {
  const textCases: [string, string, ErrorCode][] = [
    ['invalid JSON', '{"type": "join", ', 'BAD_JSON'],
    ['a JSON array', '[1, 2]', 'BAD_MESSAGE'],
    ['an unknown type', '{"type":"dance"}', 'UNKNOWN_TYPE'],
    ['a schema failure', '{"type":"join","room":"Not A Room!"}', 'BAD_MESSAGE'],
    [
      'a text frame over MAX_TEXT_BYTES',
      JSON.stringify({ type: 'join', room: 'x'.repeat(MAX_TEXT_BYTES) }),
      'TEXT_TOO_LARGE',
    ],
  ];
  for (const [what, text, code] of textCases) {
    it(`answers ${what} with ${code}`, async () => {
      const server = await servers.start();
      const talker = await joined(server, 'lobby', 'alice');
      const listener = await joined(server, 'lobby', 'bob');
      talker.sendRaw(text);
      const error = await talker.next('error');
      expect(error.code).toBe(code);
      expect(error.message.length).toBeGreaterThan(10);
      expect(await talkWorks(talker, listener, 1)).toBe(5);
      expect(listener.texts().some((m) => m.type === 'error')).toBe(false);
    });
  }

  const frameCases: [string, Buffer, ErrorCode][] = [
    ['a frame shorter than the header', Buffer.from([1, 0, 0, 0, 0, 0, 0, 1]), 'FRAME_TOO_SHORT'],
    [
      'a frame over MAX_FRAME_BYTES',
      Buffer.concat([header({}), Buffer.alloc(MAX_FRAME_BYTES)]),
      'FRAME_TOO_LARGE',
    ],
    ['a frame of another version', header({ version: 9 }), 'FRAME_VERSION'],
    ['a frame with reserved bits set', header({ reserved: 1 }), 'FRAME_RESERVED_BITS'],
    ['a frame with unknown flags', header({ flags: 0x80 }), 'FRAME_RESERVED_BITS'],
    ['a frame without payload or END', header({}).subarray(0, FRAME_HEADER_LEN), 'FRAME_EMPTY'],
    [
      'a frame for a stream this connection did not start',
      header({ streamId: 77 }),
      'UNKNOWN_STREAM',
    ],
  ];
  for (const [what, bytes, code] of frameCases) {
    it(`answers ${what} with ${code} (ref frame)`, async () => {
      const server = await servers.start();
      const talker = await joined(server, 'lobby', 'alice');
      const listener = await joined(server, 'lobby', 'bob');
      talker.sendRaw(bytes);
      expect(await talker.next('error')).toMatchObject({ code, ref: 'frame' });
      expect(await talkWorks(talker, listener, 2)).toBe(5);
      expect(listener.binaries().every((b) => b.readUInt32BE(4) === 2)).toBe(true);
    });
  }

  it('closes with 1009 on a message over 64 KiB; other clients and new connections keep working', async () => {
    const server = await servers.start();
    const bad = await joined(server, 'lobby', 'mallory');
    const talker = await joined(server, 'lobby', 'alice');
    const listener = await joined(server, 'lobby', 'bob');
    bad.sendRaw(Buffer.alloc(64 * 1024 + 1));
    expect(await bad.closed).toBe(1009);
    expect(await talkWorks(talker, listener, 3)).toBe(5);
    const again = await joined(server, 'lobby', 'mallory');
    expect(await talkWorks(again, listener, 4)).toBe(5);
  });

  it('enforces room and stream rules: NOT_IN_ROOM, ALREADY_TALKING, STREAM_IN_USE, UNKNOWN_STREAM on talk-stop', async () => {
    const server = await servers.start();
    const loner = await open(server);
    await loner.hello('loner');
    loner.send({ type: 'talk-start', streamId: 1 });
    expect(await loner.next('error')).toMatchObject({ code: 'NOT_IN_ROOM', ref: 'talk-start' });
    loner.send({ type: 'get-history' });
    expect(await loner.next('error')).toMatchObject({ code: 'NOT_IN_ROOM', ref: 'get-history' });

    const alice = await joined(server, 'lobby', 'alice');
    const bob = await joined(server, 'lobby', 'bob');
    alice.send({ type: 'talk-start', streamId: 5 });
    await alice.next('talk-started');
    alice.send({ type: 'talk-start', streamId: 6 });
    expect(await alice.next('error')).toMatchObject({ code: 'ALREADY_TALKING', streamId: 6 });
    bob.send({ type: 'talk-start', streamId: 5 });
    expect(await bob.next('error')).toMatchObject({ code: 'STREAM_IN_USE', streamId: 5 });
    bob.send({ type: 'talk-stop', streamId: 5 });
    expect(await bob.next('error')).toMatchObject({ code: 'UNKNOWN_STREAM', ref: 'talk-stop' });
    // Bob's own frames on alice's stream id are refused and never reach alice.
    bob.sendRaw(header({ streamId: 5 }));
    expect(await bob.next('error')).toMatchObject({ code: 'UNKNOWN_STREAM', ref: 'frame' });
    alice.sendFrame(5, 0, new Uint8Array(0), FLAG_END);
    expect((await alice.next('message-stored')).message.status).toBe('complete');
    expect(alice.binaries()).toHaveLength(0);
    expect(await talkWorks(bob, alice, 5)).toBe(5);
  });
});
