import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Decoder, Encoder } from '@evan/opus';
import { fixturePath } from '@imv/test-support';
import { launchChromium } from '@imv/test-support/chromium';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeFrame,
  deriveRoomKey,
  deriveStreamKey,
  E2E_TOKEN_PATTERN,
  FLAG_ENCRYPTED,
  FLAG_END,
  FRAME_HEADER_LEN,
  newStreamSalt,
  openFrame,
  ProtocolError,
  sealFrame,
  talkStartSchema,
  type RoomKey,
} from '../src/index.js';
import type * as e2e from '../src/e2e.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SPEECH_WAV = fixturePath('speech-en-48k.wav');
const FRAME_SAMPLES = 960;
/** NOTES.md: libopus round trip lines up with the source 310 samples later (pre-skip not trimmed). */
const OPUS_LAG_SAMPLES = 310;

/** 16-bit mono PCM of a WAV file, found by walking the RIFF chunks. */
function readWavPcm16(file: string): Int16Array {
  const buf = readFileSync(file);
  let offset = 12;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    if (id === 'data') {
      const pcm = new Int16Array(size / 2);
      for (let i = 0; i < pcm.length; i++) pcm[i] = buf.readInt16LE(offset + 8 + i * 2);
      return pcm;
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error(`${file} has no data chunk`);
}

function encodeOpus(pcm: Int16Array): Uint8Array[] {
  const encoder = new Encoder({ channels: 1, sample_rate: 48000, application: 'audio' });
  encoder.bitrate = 24000;
  const packets: Uint8Array[] = [];
  for (let start = 0; start + FRAME_SAMPLES <= pcm.length; start += FRAME_SAMPLES) {
    packets.push(encoder.encode(pcm.subarray(start, start + FRAME_SAMPLES)).slice());
  }
  return packets;
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>, lag: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i + lag < b.length && i < a.length; i++) {
    const x = a[i]!;
    const y = b[i + lag]!;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

async function expectDecryptFailed(promise: Promise<unknown>): Promise<ProtocolError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProtocolError);
  expect((err as ProtocolError).code).toBe('DECRYPT_FAILED');
  expect((err as ProtocolError).message).toMatch(
    /^cannot decrypt stream \d+: .*; check the room passphrase$/,
  );
  return err as ProtocolError;
}

let roomKey: RoomKey;
let samePassphraseKey: RoomKey;
let wrongPassphraseKey: RoomKey;
let otherRoomKey: RoomKey;
let speech: Int16Array;
let packets: Uint8Array[];

beforeAll(async () => {
  [roomKey, samePassphraseKey, wrongPassphraseKey, otherRoomKey] = await Promise.all([
    deriveRoomKey('correct horse battery staple', 'kitchen'),
    deriveRoomKey('correct horse battery staple', 'kitchen'),
    deriveRoomKey('correct horse battery stapler', 'kitchen'),
    deriveRoomKey('correct horse battery staple', 'garage'),
  ]);
  speech = readWavPcm16(SPEECH_WAV);
  packets = encodeOpus(speech);
});

describe('deriveRoomKey', () => {
  it('gives every member with the same passphrase and room the same keyCheck, and others a different one', () => {
    expect(roomKey.keyCheck).toMatch(E2E_TOKEN_PATTERN);
    expect(samePassphraseKey.keyCheck).toBe(roomKey.keyCheck);
    expect(wrongPassphraseKey.keyCheck).not.toBe(roomKey.keyCheck);
    expect(otherRoomKey.keyCheck).not.toBe(roomKey.keyCheck);
  });

  it('refuses an empty passphrase', async () => {
    await expect(deriveRoomKey('', 'kitchen')).rejects.toThrow('passphrase must not be empty');
  });
});

describe('sealFrame / openFrame', () => {
  it('round-trips the speech fixture: a member with the same passphrase gets every packet back', async () => {
    const salt = newStreamSalt();
    const talker = await deriveStreamKey(roomKey, salt);
    const listener = await deriveStreamKey(samePassphraseKey, salt);
    for (let sequence = 0; sequence < packets.length; sequence++) {
      const packet = packets[sequence]!;
      const header = { flags: 0, streamId: 7, sequence, timestamp: sequence * FRAME_SAMPLES };
      const frame = await sealFrame(talker, header, packet);
      const decoded = decodeFrame(frame);
      expect(decoded.flags).toBe(FLAG_ENCRYPTED);
      expect(decoded.streamId).toBe(7);
      expect(decoded.sequence).toBe(sequence);
      expect(decoded.payload.byteLength).toBe(packet.byteLength + 16);
      expect(await openFrame(listener, frame)).toEqual(packet);
    }
  });

  it('seals an empty END frame and opens it to an empty packet', async () => {
    const key = await deriveStreamKey(roomKey, newStreamSalt());
    const frame = await sealFrame(
      key,
      { flags: FLAG_END, streamId: 1, sequence: 3, timestamp: 2880 },
      new Uint8Array(0),
    );
    expect(decodeFrame(frame).flags).toBe(FLAG_END | FLAG_ENCRYPTED);
    expect(await openFrame(key, frame)).toEqual(new Uint8Array(0));
  });

  it('fails with DECRYPT_FAILED for a wrong passphrase, another room or another stream salt', async () => {
    const salt = newStreamSalt();
    const frame = await sealFrame(
      await deriveStreamKey(roomKey, salt),
      { flags: 0, streamId: 9, sequence: 0, timestamp: 0 },
      packets[0]!,
    );
    const err = await expectDecryptFailed(
      openFrame(await deriveStreamKey(wrongPassphraseKey, salt), frame),
    );
    expect(err.message).toBe(
      'cannot decrypt stream 9: wrong passphrase, or the frame was altered; check the room passphrase',
    );
    await expectDecryptFailed(openFrame(await deriveStreamKey(otherRoomKey, salt), frame));
    await expectDecryptFailed(openFrame(await deriveStreamKey(roomKey, newStreamSalt()), frame));
  });

  it('fails with DECRYPT_FAILED when any header field or payload byte is altered', async () => {
    const key = await deriveStreamKey(roomKey, newStreamSalt());
    const frame = await sealFrame(
      key,
      { flags: 0, streamId: 0x01020304, sequence: 5, timestamp: 4800 },
      packets[5]!,
    );
    // Bytes 4-15: stream id, sequence, timestamp; then a payload byte and a tag byte.
    for (const index of [4, 7, 8, 11, 12, 15, FRAME_HEADER_LEN, frame.byteLength - 1]) {
      const tampered = frame.slice();
      tampered[index] = tampered[index]! ^ 0x01;
      await expectDecryptFailed(openFrame(key, tampered));
    }
    const endAdded = frame.slice();
    endAdded[1] = endAdded[1]! | FLAG_END;
    await expectDecryptFailed(openFrame(key, endAdded));
    const cleared = frame.slice();
    cleared[1] = 0;
    const err = await expectDecryptFailed(openFrame(key, cleared));
    expect(err.message).toContain('the frame is not encrypted');
    // The untouched frame still opens: nothing above changed the key's state.
    expect(await openFrame(key, frame)).toEqual(packets[5]);
  });

  it('refuses to seal a sequence number twice (it would reuse the AES-GCM nonce)', async () => {
    const key = await deriveStreamKey(roomKey, newStreamSalt());
    await sealFrame(key, { flags: 0, streamId: 1, sequence: 4, timestamp: 0 }, packets[0]!);
    await expect(
      sealFrame(key, { flags: 0, streamId: 1, sequence: 4, timestamp: 0 }, packets[1]!),
    ).rejects.toThrow(
      'sealFrame: sequence 4 is not above 4; reusing it would reuse an AES-GCM nonce',
    );
  });

  it('never repeats a (key, nonce) pair over 10,000 frames in each of two streams with the same stream id', async () => {
    // Same plaintext in every frame: equal ciphertexts would mean an equal key and nonce.
    const packet = new Uint8Array(40);
    const seen = new Set<string>();
    for (let stream = 0; stream < 2; stream++) {
      const key = await deriveStreamKey(roomKey, newStreamSalt());
      for (let sequence = 0; sequence < 10_000; sequence++) {
        const frame = await sealFrame(
          key,
          { flags: 0, streamId: 42, sequence, timestamp: 0 },
          packet,
        );
        seen.add(
          Buffer.from(frame.subarray(FRAME_HEADER_LEN, FRAME_HEADER_LEN + 16)).toString('hex'),
        );
      }
    }
    expect(seen.size).toBe(20_000);
  });

  it('hides the audio: the sealed payloads played as Opus do not sound like the speech', async () => {
    const key = await deriveStreamKey(roomKey, newStreamSalt());
    const decodeAll = (inputs: Uint8Array[]): { pcm: Int16Array; errors: number } => {
      const decoder = new Decoder({ channels: 1, sample_rate: 48000 });
      const out = new Int16Array(inputs.length * FRAME_SAMPLES);
      let errors = 0;
      inputs.forEach((input, i) => {
        try {
          const s16 = decoder.decode(input);
          out.set(
            new Int16Array(s16.buffer, s16.byteOffset, Math.min(FRAME_SAMPLES, s16.byteLength / 2)),
            i * FRAME_SAMPLES,
          );
        } catch {
          errors++;
        }
      });
      return { pcm: out, errors };
    };
    const ciphertexts: Uint8Array[] = [];
    const opened: Uint8Array[] = [];
    for (let sequence = 0; sequence < packets.length; sequence++) {
      const frame = await sealFrame(
        key,
        { flags: 0, streamId: 3, sequence, timestamp: sequence * FRAME_SAMPLES },
        packets[sequence]!,
      );
      // Same length as the Opus packet: the tag is left off, as a relay that ignored FLAG_ENCRYPTED might.
      ciphertexts.push(frame.slice(FRAME_HEADER_LEN, frame.byteLength - 16));
      opened.push(await openFrame(key, frame));
    }
    const clear = decodeAll(opened);
    const garbled = decodeAll(ciphertexts);
    expect(clear.errors).toBe(0);
    expect(correlation(speech, clear.pcm, OPUS_LAG_SAMPLES)).toBeGreaterThan(0.95);
    for (let lag = OPUS_LAG_SAMPLES - 20; lag <= OPUS_LAG_SAMPLES + 20; lag++) {
      expect(Math.abs(correlation(speech, garbled.pcm, lag))).toBeLessThan(0.1);
    }
    expect(Math.abs(correlation(clear.pcm, garbled.pcm, 0))).toBeLessThan(0.1);
  });
});

describe('talk-start e2e fields', () => {
  it('accepts e2eSalt and keyCheck and refuses a malformed salt', () => {
    const ok = talkStartSchema.safeParse({
      type: 'talk-start',
      streamId: 1,
      encrypted: true,
      e2eSalt: newStreamSalt(),
      keyCheck: roomKey.keyCheck,
    });
    expect(ok.success).toBe(true);
    const bad = talkStartSchema.safeParse({
      type: 'talk-start',
      streamId: 1,
      encrypted: true,
      e2eSalt: 'abc',
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toBe('must be 16 bytes in base64url (22 characters)');
  });

  it('refuses a malformed salt when deriving a stream key', async () => {
    await expect(deriveStreamKey(roomKey, 'not a salt')).rejects.toMatchObject({
      code: 'BAD_MESSAGE',
    });
  });
});

describe('in Chromium', () => {
  // The page runs the same e2e.ts, bundled; an http://127.0.0.1 page is a secure context, which
  // crypto.subtle needs.
  let server: Server;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [path.resolve(repoRoot, 'packages/protocol/src/e2e.ts')],
      bundle: true,
      format: 'iife',
      globalName: 'imvE2e',
      write: false,
    });
    const script = bundle.outputFiles[0]!.text;
    server = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><script>${script}</script>`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('opens what Node sealed and seals what Node opens, with the same keyCheck', async () => {
    const salt = newStreamSalt();
    const nodeKey = await deriveStreamKey(roomKey, salt);
    const sealedInNode: number[][] = [];
    for (let sequence = 0; sequence < 5; sequence++) {
      const frame = await sealFrame(
        nodeKey,
        { flags: 0, streamId: 11, sequence, timestamp: sequence * FRAME_SAMPLES },
        packets[sequence]!,
      );
      sealedInNode.push([...frame]);
    }
    type Api = typeof e2e;
    const result = await page.evaluate(
      async ({ salt, frames, packet }) => {
        const api = (globalThis as unknown as { imvE2e: Api }).imvE2e;
        const room = await api.deriveRoomKey('correct horse battery staple', 'kitchen');
        const key = await api.deriveStreamKey(room, salt);
        const opened: number[][] = [];
        for (const frame of frames)
          opened.push([...(await api.openFrame(key, new Uint8Array(frame)))]);
        const ownKey = await api.deriveStreamKey(room, salt);
        ownKey.lastSealedSequence = 99;
        const sealed = await api.sealFrame(
          ownKey,
          { flags: 0, streamId: 11, sequence: 100, timestamp: 96_000 },
          new Uint8Array(packet),
        );
        let wrong = '';
        try {
          const wrongRoom = await api.deriveRoomKey('not the passphrase', 'kitchen');
          await api.openFrame(
            await api.deriveStreamKey(wrongRoom, salt),
            new Uint8Array(frames[0]!),
          );
        } catch (err) {
          wrong = (err as { code: string }).code;
        }
        return { keyCheck: room.keyCheck, opened, sealed: [...sealed], wrong };
      },
      { salt, frames: sealedInNode, packet: [...packets[7]!] },
    );
    expect(result.keyCheck).toBe(roomKey.keyCheck);
    expect(result.opened.map((p) => new Uint8Array(p))).toEqual(packets.slice(0, 5));
    expect(result.wrong).toBe('DECRYPT_FAILED');
    const listener = await deriveStreamKey(samePassphraseKey, salt);
    expect(await openFrame(listener, new Uint8Array(result.sealed))).toEqual(packets[7]);
  });
});
