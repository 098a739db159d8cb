import {
  FRAME_SAMPLES,
  OPUS_PRE_SKIP,
  ProtocolError,
  deriveRoomKey,
  deriveStreamKey,
  newStreamSalt,
  sealFrame,
} from '@imv/protocol';
import type { RoomKey, VoiceMessage } from '@imv/protocol';
import { readOggOpus } from '@imv/media';
import { beforeAll, describe, expect, it } from 'vitest';
import { decryptFramesToOgg, splitFrames } from '../../src/net/decrypt-message.js';
import { fragmentFor, readFragment, roomInviteUrl } from '../../src/ui/settings.js';

/*
 * Stored end-to-end encrypted messages as the page opens them: the `.frames` body (repeated
 * [u16 BE length][frame]) of sealed frames -> Ogg Opus, or DECRYPT_FAILED and nothing else.
 */

const ROOM = 'vault';
let roomKey: RoomKey;
let otherKey: RoomKey;

beforeAll(async () => {
  [roomKey, otherKey] = await Promise.all([
    deriveRoomKey('correct horse', ROOM),
    deriveRoomKey('wrong horse', ROOM),
  ]);
});

/** 20 ms CELT fullband mono packets (TOC 0xF8: config 31, code 0) with distinct bodies. */
function packets(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => Uint8Array.from([0xf8, i, i ^ 0x5a, 7]));
}

function framesBody(frames: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + 2 + f.byteLength, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const f of frames) {
    view.setUint16(at, f.byteLength);
    out.set(f, at + 2);
    at += 2 + f.byteLength;
  }
  return out;
}

async function sealedMessage(
  key: RoomKey,
  opus: Uint8Array[],
): Promise<{ message: VoiceMessage; body: Uint8Array; frames: Uint8Array[] }> {
  const e2eSalt = newStreamSalt();
  const streamKey = await deriveStreamKey(key, e2eSalt);
  const frames: Uint8Array[] = [];
  for (const [sequence, packet] of opus.entries()) {
    frames.push(
      await sealFrame(
        streamKey,
        { flags: 0, streamId: 77, sequence, timestamp: sequence * FRAME_SAMPLES },
        packet,
      ),
    );
  }
  const message: VoiceMessage = {
    id: 5,
    room: ROOM,
    senderName: 'Ann',
    startedAt: 0,
    durationMs: opus.length * 20,
    frameCount: opus.length,
    bytes: 0,
    status: 'complete',
    encrypted: true,
    e2eSalt,
    keyCheck: key.keyCheck,
  };
  return { message, body: framesBody(frames), frames };
}

describe('decryptFramesToOgg', () => {
  it('opens every frame, in sequence order, into an Ogg Opus file of frames x 20 ms', async () => {
    const opus = packets(12);
    const { message, frames } = await sealedMessage(roomKey, opus);
    const shuffled = framesBody([...frames].reverse()); // stored order need not be sequence order
    const file = readOggOpus(await decryptFramesToOgg(roomKey, message, shuffled));
    expect(file.packets).toEqual(opus);
    expect(file.sampleCount).toBe(12 * FRAME_SAMPLES - OPUS_PRE_SKIP);
    expect(file.warnings).toEqual([]);
  });

  it('refuses without a passphrase, with another passphrase, and when a frame was altered', async () => {
    const { message, body } = await sealedMessage(roomKey, packets(4));
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'opened',
        (e: unknown) => (e instanceof ProtocolError ? e.code : String(e)),
      );
    expect(await code(decryptFramesToOgg(null, message, body))).toBe('DECRYPT_FAILED');
    expect(await code(decryptFramesToOgg(otherKey, message, body))).toBe('DECRYPT_FAILED');
    const altered = body.slice();
    altered[altered.length - 1]! ^= 1;
    expect(await code(decryptFramesToOgg(roomKey, message, altered))).toBe('DECRYPT_FAILED');
    // A talker who claims our keyCheck but sealed with another key still fails to open.
    const forged = await sealedMessage(otherKey, packets(2));
    expect(
      await code(
        decryptFramesToOgg(roomKey, { ...forged.message, keyCheck: roomKey.keyCheck }, forged.body),
      ),
    ).toBe('DECRYPT_FAILED');
  });

  it('splits a .frames body and rejects one cut inside a frame', () => {
    const body = framesBody([Uint8Array.of(1, 2, 3), Uint8Array.of(4)]);
    expect(splitFrames(body)).toEqual([Uint8Array.of(1, 2, 3), Uint8Array.of(4)]);
    expect(() => splitFrames(body.subarray(0, 4))).toThrow(/ends inside a 3-byte frame/);
  });
});

describe('invite fragments', () => {
  it('reads #key= and #e2e= percent-decoded, and writes them back only into the fragment', () => {
    expect(readFragment('#key=door%20key%2F1&e2e=correct+horse')).toEqual({
      key: 'door key/1',
      passphrase: 'correct horse',
    });
    expect(readFragment('')).toEqual({ key: undefined, passphrase: undefined });
    expect(fragmentFor({})).toBe('');
    const url = roomInviteUrl('https://10.0.0.5:8443', 'crew', {
      key: 'door key/1',
      passphrase: 'p&q',
    });
    expect(url.startsWith('https://10.0.0.5:8443/?room=crew#')).toBe(true);
    expect(readFragment(new URL(url).hash)).toEqual({ key: 'door key/1', passphrase: 'p&q' });
  });
});
