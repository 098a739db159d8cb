import path from 'node:path';
import Database from 'better-sqlite3';
import {
  FLAG_ENCRYPTED,
  FLAG_END,
  FRAME_HEADER_LEN,
  ProtocolError,
  decodeFrameHeader,
  deriveRoomKey,
  deriveStreamKey,
  encodeFrame,
  newStreamSalt,
  openFrame,
  sealFrame,
} from '@imv/protocol';
import type { StreamKey } from '@imv/protocol';
import { OpusFrameDecoder, OpusFrameEncoder, correlate } from '@imv/media/node';
import { describe, expect, it } from 'vitest';
import { fixturePath, readWavMono } from './helpers/opus-fixture.js';
import { serverFixture } from '@imv/test-support/server';

const { servers, joined } = serverFixture();

/** Splits a `.frames` download: repeated [u16 BE length][frame]. */
function splitFrames(body: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let pos = 0; pos < body.byteLength;) {
    const length = view.getUint16(pos);
    frames.push(body.subarray(pos + 2, pos + 2 + length));
    pos += 2 + length;
  }
  return frames;
}

/** Decodes packets one after another; a packet libopus refuses counts as 20 ms of silence. */
function decodeAll(packets: readonly Uint8Array[]): Float32Array {
  const decoder = new OpusFrameDecoder();
  const parts = packets.map((p) => {
    try {
      return decoder.decode(p);
    } catch {
      return new Float32Array(960);
    }
  });
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

async function openAll(key: StreamKey, frames: readonly Uint8Array[]): Promise<Uint8Array[]> {
  return Promise.all(frames.map((f) => openFrame(key, f)));
}

describe('end-to-end encrypted rooms', () => {
  const source = readWavMono(fixturePath('speech-en-48k.wav'));
  const packets = new OpusFrameEncoder().encode(source);
  const passphrase = 'correct horse battery staple';

  it('relays and stores only ciphertext that the passphrase opens and nothing else can play', async () => {
    const dataDir = servers.tempDir();
    const server = await servers.start({ dataDir });
    const talker = await joined(server, 'sealed', 'ana');
    const listener = await joined(server, 'sealed', 'bo');

    const talkerRoomKey = await deriveRoomKey(passphrase, 'sealed');
    const e2eSalt = newStreamSalt();
    const sealKey = await deriveStreamKey(talkerRoomKey, e2eSalt);
    talker.send({
      type: 'talk-start',
      streamId: 9,
      encrypted: true,
      e2eSalt,
      keyCheck: talkerRoomKey.keyCheck,
    });
    const started = await listener.next('talk-started');
    expect(started).toMatchObject({ encrypted: true, e2eSalt, keyCheck: talkerRoomKey.keyCheck });

    const sent: Uint8Array[] = [];
    for (let i = 0; i < packets.length; i++) {
      // The last frame carries END, so the stored header differs from the others.
      const flags = i === packets.length - 1 ? FLAG_END : 0;
      const frame = await sealFrame(
        sealKey,
        { flags, streamId: 9, sequence: i, timestamp: i * 960 },
        packets[i]!,
      );
      sent.push(frame);
      talker.sendRaw(frame);
    }
    const stored = (await talker.next('message-stored')).message;
    expect(stored).toMatchObject({ encrypted: true, frameCount: packets.length, e2eSalt });

    // Live: the listener derives its own keys from the passphrase and talk-started.
    const listenerRoomKey = await deriveRoomKey(passphrase, 'sealed');
    expect(listenerRoomKey.keyCheck).toBe(started.keyCheck);
    const openKey = await deriveStreamKey(listenerRoomKey, started.e2eSalt!);
    await listener.next('message-stored');
    const live = listener.binaries();
    expect(live).toHaveLength(packets.length);
    const heard = decodeAll(await openAll(openKey, live));
    expect(correlate(source, heard).correlation).toBeGreaterThanOrEqual(0.9);

    // Download: the exact frames that were sent, headers included.
    const url = `${server.httpUrl}/api/rooms/sealed/messages/${stored.id}`;
    const res = await fetch(`${url}.frames`);
    expect([res.status, res.headers.get('content-type')]).toEqual([
      200,
      'application/octet-stream',
    ]);
    const downloaded = splitFrames(new Uint8Array(await res.arrayBuffer()));
    expect(downloaded.map((f) => Buffer.from(f))).toEqual(sent.map((f) => Buffer.from(f)));
    expect(decodeFrameHeader(downloaded.at(-1)!).flags).toBe(FLAG_END | FLAG_ENCRYPTED);
    const fromDownload = decodeAll(await openAll(openKey, downloaded));
    expect(correlate(source, fromDownload).correlation).toBeGreaterThanOrEqual(0.9);
    expect((await fetch(`${url}.ogg`)).status).toBe(409);

    // Without the passphrase: neither the download nor the database holds playable speech.
    const asOpus = decodeAll(downloaded.map((f) => f.subarray(FRAME_HEADER_LEN)));
    expect(Math.abs(correlate(source, asOpus).correlation)).toBeLessThan(0.2);
    await server.close();
    const db = new Database(path.join(dataDir, 'imv.sqlite'), { readonly: true });
    const payloads = db
      .prepare('SELECT payload FROM frames ORDER BY seq')
      .pluck()
      .all() as Buffer[];
    db.close();
    expect(payloads).toHaveLength(packets.length);
    expect(Math.abs(correlate(source, decodeAll(payloads)).correlation)).toBeLessThan(0.2);

    // A wrong passphrase gives another keyCheck and cannot open a single frame.
    const wrongRoomKey = await deriveRoomKey('wrong horse battery staple', 'sealed');
    expect(wrongRoomKey.keyCheck).not.toBe(started.keyCheck);
    const wrongKey = await deriveStreamKey(wrongRoomKey, started.e2eSalt!);
    const failure = await openFrame(wrongKey, downloaded[0]!).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ProtocolError);
    expect((failure as ProtocolError).code).toBe('DECRYPT_FAILED');
  });

  it('drops frames whose ENCRYPTED flag contradicts talk-start with ENCRYPTION_MISMATCH and keeps the connection', async () => {
    const server = await servers.start();
    const talker = await joined(server, 'mixed', 'ana');
    const listener = await joined(server, 'mixed', 'bo');

    talker.send({ type: 'talk-start', streamId: 1 });
    await talker.next('talk-started');
    const plain = [0, 1, 2].map((i) =>
      encodeFrame({ flags: 0, streamId: 1, sequence: i, timestamp: i * 960 }, packets[i]!),
    );
    talker.sendRaw(plain[0]!);
    talker.sendRaw(
      encodeFrame({ flags: FLAG_ENCRYPTED, streamId: 1, sequence: 1, timestamp: 960 }, packets[1]!),
    );
    const error = await talker.next('error');
    expect(error).toMatchObject({ code: 'ENCRYPTION_MISMATCH', ref: 'frame', streamId: 1 });
    talker.sendRaw(plain[1]!);
    talker.sendRaw(plain[2]!);
    talker.send({ type: 'talk-stop', streamId: 1 });
    const stored = (await talker.next('message-stored')).message;
    expect(stored.frameCount).toBe(3);
    await listener.next('message-stored');
    expect(listener.binaries().map((b) => Buffer.from(b))).toEqual(
      plain.map((f) => Buffer.from(f)),
    );
    // An unencrypted message downloads as frames too, byte for byte.
    const res = await fetch(`${server.httpUrl}/api/rooms/mixed/messages/${stored.id}.frames`);
    const frames = splitFrames(new Uint8Array(await res.arrayBuffer()));
    expect(frames.map((f) => Buffer.from(f))).toEqual(plain.map((f) => Buffer.from(f)));

    const roomKey = await deriveRoomKey(passphrase, 'mixed');
    const e2eSalt = newStreamSalt();
    talker.send({
      type: 'talk-start',
      streamId: 2,
      encrypted: true,
      e2eSalt,
      keyCheck: roomKey.keyCheck,
    });
    await talker.next('talk-started');
    talker.sendRaw(encodeFrame({ flags: 0, streamId: 2, sequence: 0, timestamp: 0 }, packets[0]!));
    expect(await talker.next('error')).toMatchObject({ code: 'ENCRYPTION_MISMATCH', streamId: 2 });
    const key = await deriveStreamKey(roomKey, e2eSalt);
    talker.sendRaw(
      await sealFrame(
        key,
        { flags: FLAG_END, streamId: 2, sequence: 0, timestamp: 0 },
        packets[0]!,
      ),
    );
    expect((await talker.next('message-stored')).message).toMatchObject({
      encrypted: true,
      frameCount: 1,
    });
  });
});
