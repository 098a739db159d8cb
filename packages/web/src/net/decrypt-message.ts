/*
 * Stored end-to-end encrypted messages: the server only has sealed frames (`.frames`, docs/protocol.md),
 * so the page opens them with the room key and muxes the Opus packets into an Ogg Opus file. The
 * result plays, draws its waveform and downloads through the same paths as a plain message's .ogg.
 */
import { ProtocolError, splitFramesDownload } from '@imv/protocol';
import type { RoomKey, VoiceMessage } from '@imv/protocol';
import { decryptFramesToOgg as decryptToOgg } from '@imv/media';

export { splitFramesDownload as splitFrames } from '@imv/protocol';

/**
 * Opens every frame of `message`'s `.frames` body and returns an Ogg Opus file; throws
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
  return decryptToOgg(roomKey, message, splitFramesDownload(body));
}
