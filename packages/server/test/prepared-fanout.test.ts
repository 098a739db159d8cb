import { FLAG_END, encodeFrame } from '@imv/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { PreparedFrameCache, frameBinary } from '../src/ws/prepared-frame.js';
import { TestClient } from './helpers/test-client.js';
import { TestServers } from './helpers/test-server.js';

const servers = new TestServers();
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await servers.cleanup();
});

/** Records every byte the server sends to this client's TCP socket from now on, before ws parses it. */
function tapWire(client: TestClient): Buffer[] {
  const chunks: Buffer[] = [];
  (client.ws as unknown as { _socket: NodeJS.ReadableStream })._socket.on('data', (c: Buffer) =>
    chunks.push(c),
  );
  return chunks;
}

/** Splits a server-to-client byte stream into whole WebSocket frames (RFC 6455 §5.2, unmasked). */
function splitFrames(stream: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  let at = 0;
  while (at < stream.length) {
    const length7 = stream[at + 1]! & 0x7f;
    let headerLen = 2;
    let payloadLen = length7;
    if (length7 === 126) {
      headerLen = 4;
      payloadLen = stream.readUInt16BE(at + 2);
    } else if (length7 === 127) {
      headerLen = 10;
      payloadLen = Number(stream.readBigUInt64BE(at + 2));
    }
    frames.push(stream.subarray(at, at + headerLen + payloadLen));
    at += headerLen + payloadLen;
  }
  return frames;
}

const isBinaryFrame = (frame: Buffer): boolean => (frame[0]! & 0x0f) === 0x02;

describe('pre-framed fan-out', () => {
  it('frames a payload as one final unmasked binary WebSocket frame', () => {
    const short = Buffer.alloc(125, 0xab);
    expect([...frameBinary(short).subarray(0, 2)]).toEqual([
      0x82, // FIN + opcode 2 (binary)
      125, // unmasked, 7-bit length
    ]);
    const medium = Buffer.alloc(300, 0xcd);
    expect([...frameBinary(medium).subarray(0, 4)]).toEqual([
      0x82, // FIN + opcode 2 (binary)
      126, // unmasked, 16-bit length follows
      0x01, // 300 = 0x012c
      0x2c,
    ]);
    expect(frameBinary(medium).subarray(4).equals(medium)).toBe(true);
  });

  it('builds the frame once per payload Buffer and again for the next one', () => {
    const cache = new PreparedFrameCache();
    const first = Buffer.from([1, 2, 3]);
    const wire = cache.wireFor(first);
    expect(cache.wireFor(first)).toBe(wire);
    const second = Buffer.from([1, 2, 3]);
    const next = cache.wireFor(second);
    expect(next).not.toBe(wire);
    expect(next.equals(wire)).toBe(true);
  });

  it('sends every listener byte-identical frames, exactly as ws frames them', async () => {
    const server = await servers.start();
    const listeners: TestClient[] = [];
    const wires: Buffer[][] = [];
    for (const name of ['l1', 'l2', 'l3']) {
      const client = await TestClient.open(server.httpUrl);
      wires.push(tapWire(client));
      await client.hello(name);
      client.send({ type: 'join', room: 'lobby' });
      await client.next('joined');
      listeners.push(client);
    }
    const talker = await TestClient.joined(server.httpUrl, 'lobby', 'talker');
    clients.push(talker, ...listeners);
    talker.send({ type: 'talk-start', streamId: 9 });
    for (const l of listeners) await l.next('talk-started');

    // 100 B and 300 B payloads: frames under and over the 125-byte short-length limit.
    const sent = [
      encodeFrame({ flags: 0, streamId: 9, sequence: 0, timestamp: 0 }, Buffer.alloc(100, 0x11)),
      encodeFrame({ flags: 0, streamId: 9, sequence: 1, timestamp: 960 }, Buffer.alloc(300, 0x22)),
      encodeFrame({ flags: FLAG_END, streamId: 9, sequence: 2, timestamp: 1920 }, Buffer.alloc(0)),
    ];
    for (const frame of sent) talker.sendRaw(frame);
    for (const l of listeners) await l.next('message-stored');

    const expected = [
      Buffer.concat([Buffer.from([0x82, 116]), sent[0]!]), // 16 B header + 100 B
      Buffer.concat([Buffer.from([0x82, 126, 0x01, 0x3c]), sent[1]!]), // 316 B = 0x013c
      Buffer.concat([Buffer.from([0x82, 16]), sent[2]!]), // END frame, header only
    ];
    // Tapped after the upgrade and before hello, so each stream starts at a frame boundary.
    const binaryPerListener = wires.map((chunks) =>
      splitFrames(Buffer.concat(chunks)).filter(isBinaryFrame),
    );
    for (const frames of binaryPerListener) {
      expect(frames.map((f) => f.toString('hex'))).toEqual(expected.map((f) => f.toString('hex')));
    }
    expect(listeners.map((l) => l.binaries().length)).toEqual([3, 3, 3]);
  });
});
