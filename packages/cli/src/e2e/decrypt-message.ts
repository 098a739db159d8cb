import { ProtocolError, decodeFrameHeader } from '@imv/protocol';
import type { RoomKey, VoiceMessage } from '@imv/protocol';
import { decryptFramesToOgg } from '@imv/media';
import { CliError } from '../cli-error.js';

/** What a listener sees for a message it cannot open: never a file of noise. */
export const CANNOT_DECRYPT = "cannot decrypt this room's audio — check the passphrase";
/** What a listener without a passphrase sees for an encrypted message. */
export const NEEDS_PASSPHRASE = 'end-to-end encrypted: pass --passphrase to decrypt it';

/** A message this client cannot decrypt (wrong passphrase, altered frames, or no passphrase). */
export class UndecryptableError extends CliError {
  constructor(
    readonly messageId: number,
    readonly reason: 'DECRYPT_FAILED' | 'PASSPHRASE_REQUIRED',
    options?: { cause?: unknown },
  ) {
    super(
      `message ${messageId}: ${reason === 'DECRYPT_FAILED' ? CANNOT_DECRYPT : NEEDS_PASSPHRASE}`,
      undefined,
      options,
    );
  }
}

/**
 * Opens the sealed frames of an end-to-end encrypted message and muxes the Opus packets into an
 * Ogg Opus file. Throws UndecryptableError before writing anything when the talker's keyCheck is
 * not ours or any frame fails to open.
 */
export async function decryptMessageToOgg(
  roomKey: RoomKey,
  message: VoiceMessage,
  frames: readonly Uint8Array[],
): Promise<Uint8Array> {
  try {
    return await decryptFramesToOgg(roomKey, message, frames);
  } catch (error) {
    if (error instanceof ProtocolError)
      throw new UndecryptableError(message.id, 'DECRYPT_FAILED', { cause: error });
    throw error;
  }
}

/** True when `frames` are sequences 0..count-1 with nothing missing (a complete live capture). */
export function isCompleteCapture(frames: readonly Uint8Array[], frameCount: number): boolean {
  if (frames.length < frameCount || frameCount === 0) return false;
  const seen = new Set(frames.map((f) => decodeFrameHeader(f).sequence));
  for (let i = 0; i < frameCount; i++) if (!seen.has(i)) return false;
  return true;
}
