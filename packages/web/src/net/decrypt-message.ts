/*
 * Stored end-to-end encrypted messages: the server only has sealed frames (`.frames`, docs/protocol.md),
 * so the page opens them with the room key and muxes the Opus packets into an Ogg Opus file. The
 * result plays, draws its waveform and downloads through the same paths as a plain message's .ogg.
 */
import {
  FRAME_SAMPLES,
  OPUS_PRE_SKIP,
  ProtocolError,
  decodeFrameHeader,
  deriveStreamKey,
  openFrame,
} from '@imv/protocol';
import type { RoomKey, VoiceMessage } from '@imv/protocol';
import { writeOggOpus } from '@imv/media';

/** Splits a `.frames` body (repeated [u16 BE length][frame bytes]) into frames. */
export function splitFrames(body: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let offset = 0;
  while (offset < body.byteLength) {
    if (offset + 2 > body.byteLength)
      throw new ProtocolError('BAD_MESSAGE', `.frames body ends inside a length at byte ${offset}`);
    const length = view.getUint16(offset);
    offset += 2;
    if (offset + length > body.byteLength)
      throw new ProtocolError('BAD_MESSAGE', `.frames body ends inside a ${length}-byte frame`);
    frames.push(body.subarray(offset, offset + length));
    offset += length;
  }
  return frames;
}

/**
 * Opens every frame of `message` (sorted by sequence) and returns an Ogg Opus file; throws
 * ProtocolError DECRYPT_FAILED without a key, with a key whose keyCheck is not the talker's, or
 * when any frame fails to open.
 */
export async function decryptFramesToOgg(
  roomKey: RoomKey | null,
  message: VoiceMessage,
  body: Uint8Array,
): Promise<Uint8Array> {
  if (roomKey === null)
    throw ProtocolError.decryptFailed(0, 'no end-to-end passphrase for this room');
  if (message.e2eSalt === undefined || message.keyCheck !== roomKey.keyCheck) {
    throw ProtocolError.decryptFailed(0, 'the message was recorded with another passphrase');
  }
  const streamKey = await deriveStreamKey(roomKey, message.e2eSalt);
  const frames = splitFrames(body).sort(
    (a, b) => decodeFrameHeader(a).sequence - decodeFrameHeader(b).sequence,
  );
  const packets: Uint8Array[] = [];
  for (const frame of frames) {
    const packet = await openFrame(streamKey, frame);
    if (packet.byteLength > 0) packets.push(packet); // an END frame may carry no audio
  }
  if (packets.length === 0) throw ProtocolError.decryptFailed(0, 'the message has no audio');
  // RFC 7845 §4.5: end trim so the file lasts frames × 20 ms after the 312-sample pre-skip.
  return writeOggOpus(packets, { sampleCount: packets.length * FRAME_SAMPLES - OPUS_PRE_SKIP });
}
