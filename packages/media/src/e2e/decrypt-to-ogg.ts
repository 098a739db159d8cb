import { ProtocolError, decodeFrameHeader, deriveStreamKey, openFrame } from '@imv/protocol';
import type { RoomKey, VoiceMessage } from '@imv/protocol';
import { writeOggOpus } from '../ogg/ogg-writer.js';

/**
 * Opens the sealed frames of an end-to-end encrypted stored message (from its `.frames` download
 * or captured live), in sequence order, and muxes the Opus packets into an Ogg Opus file. Throws
 * ProtocolError DECRYPT_FAILED, before producing anything, when the talker's keyCheck is not the
 * room key's, when any frame fails to open, or when there is no audio. The CLI and the web page
 * both call this.
 */
export async function decryptFramesToOgg(
  roomKey: RoomKey,
  message: Pick<VoiceMessage, 'id' | 'e2eSalt' | 'keyCheck'>,
  frames: readonly Uint8Array[],
): Promise<Uint8Array> {
  if (message.e2eSalt === undefined || message.keyCheck !== roomKey.keyCheck) {
    throw ProtocolError.decryptFailed(0, 'the message was recorded with another passphrase');
  }
  const streamKey = await deriveStreamKey(roomKey, message.e2eSalt);
  const ordered = [...frames].sort(
    (a, b) => decodeFrameHeader(a).sequence - decodeFrameHeader(b).sequence,
  );
  const packets: Uint8Array[] = [];
  for (const frame of ordered) {
    const packet = await openFrame(streamKey, frame);
    // An END frame may carry no audio.
    if (packet.byteLength > 0) packets.push(packet);
  }
  if (packets.length === 0) throw ProtocolError.decryptFailed(0, 'the message has no audio');
  // RFC 7845 §4.5: the end trim keeps the file at its packets' samples (10 or 20 ms each, by their TOC)
  // after the 312-sample pre-skip, the writer's default.
  return writeOggOpus(packets);
}
