import { beforeAll, describe, expect, it } from 'vitest';
import {
  FRAME_SAMPLES,
  OPUS_PRE_SKIP,
  deriveRoomKey,
  deriveStreamKey,
  newStreamSalt,
  sealFrame,
} from '@imv/protocol';
import type { RoomKey, VoiceMessage } from '@imv/protocol';
import { readOggOpus } from '@imv/media';
import {
  UndecryptableError,
  decryptMessageToOgg,
  isCompleteCapture,
} from '../src/e2e/decrypt-message.js';

/** Three tiny Opus packets (TOC 0xf8: CELT FB 20 ms mono, then filler), sealed as a talker would. */
const PACKETS = [
  new Uint8Array([0xf8, 1, 2]),
  new Uint8Array([0xf8, 3, 4]),
  new Uint8Array([0xf8, 5, 6]),
];

let roomKey: RoomKey;

beforeAll(async () => {
  roomKey = await deriveRoomKey('correct horse battery staple', 'vault');
});

async function sealed(key: RoomKey): Promise<{ message: VoiceMessage; frames: Uint8Array[] }> {
  const e2eSalt = newStreamSalt();
  const streamKey = await deriveStreamKey(key, e2eSalt);
  const frames: Uint8Array[] = [];
  for (const [sequence, packet] of PACKETS.entries()) {
    const flags = sequence === PACKETS.length - 1 ? 0x01 : 0; // END on the last
    frames.push(
      await sealFrame(
        streamKey,
        { flags, streamId: 7, sequence, timestamp: sequence * FRAME_SAMPLES },
        packet,
      ),
    );
  }
  const message: VoiceMessage = {
    id: 1,
    room: 'vault',
    senderName: 'alice',
    startedAt: 0,
    durationMs: 60,
    frameCount: 3,
    bytes: 0,
    status: 'complete',
    encrypted: true,
    e2eSalt,
    keyCheck: key.keyCheck,
  };
  return { message, frames };
}

describe('decryptMessageToOgg', () => {
  it('opens the sealed frames, in sequence order, into an Ogg Opus file of frames × 960 − 312 samples', async () => {
    const { message, frames } = await sealed(roomKey);
    const ogg = readOggOpus(
      await decryptMessageToOgg(roomKey, message, [frames[2]!, frames[0]!, frames[1]!]),
    );
    expect(ogg.packets.map((p) => [...p])).toEqual(PACKETS.map((p) => [...p]));
    expect(ogg.sampleCount).toBe(3 * FRAME_SAMPLES - OPUS_PRE_SKIP);
  });

  it('refuses a frame altered on the way with DECRYPT_FAILED', async () => {
    const { message, frames } = await sealed(roomKey);
    frames[1]![frames[1]!.length - 1]! ^= 0x01;
    await expect(decryptMessageToOgg(roomKey, message, frames)).rejects.toMatchObject({
      reason: 'DECRYPT_FAILED',
      message: "message 1: cannot decrypt this room's audio — check the passphrase",
    });
  });

  it('refuses a talker whose keyCheck is not ours before opening anything', async () => {
    const { message, frames } = await sealed(roomKey);
    const error = await decryptMessageToOgg(
      roomKey,
      { ...message, keyCheck: 'A'.repeat(22) },
      frames,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UndecryptableError);
  });

  it('tells a complete live capture from one that joined mid-talk', async () => {
    const { frames } = await sealed(roomKey);
    expect(isCompleteCapture(frames, 3)).toBe(true);
    expect(isCompleteCapture(frames.slice(1), 3)).toBe(false);
    expect(isCompleteCapture([], 0)).toBe(false);
  });
});
