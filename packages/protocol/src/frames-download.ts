import { ProtocolError } from './errors.js';
import { FRAME_HEADER_LEN } from './frame-layout.js';
import { writeFrameHeader, type FrameHeader } from './frame.js';

/*
 * The `.frames` download (GET /api/rooms/:room/messages/:id.frames): a message's stored frames in
 * sequence order, each with its rebuilt 16-byte header and preceded by its length:
 *
 *   [u16 big-endian length][frame: header + payload] … until the end of the body
 *
 * A client holding the passphrase can open sealed frames with it (the header is AES-GCM's
 * associated data) and mux the audio itself.
 */

/** Bytes before each frame in a `.frames` body. */
export const FRAMES_DOWNLOAD_LENGTH_BYTES = 2;

/** One stored frame: its header fields except the stream id (shared by the message) and its payload. */
export interface DownloadFrame extends Omit<FrameHeader, 'streamId' | 'flags'> {
  /** END and ENCRYPTED as received; 0 when absent. */
  flags?: number;
  payload: Uint8Array;
}

/** Writes a `.frames` body for the frames of stream `streamId`. */
export function packFramesDownload(streamId: number, frames: readonly DownloadFrame[]): Uint8Array {
  let total = 0;
  for (const frame of frames)
    total += FRAMES_DOWNLOAD_LENGTH_BYTES + FRAME_HEADER_LEN + frame.payload.byteLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const frame of frames) {
    const length = FRAME_HEADER_LEN + frame.payload.byteLength;
    view.setUint16(pos, length);
    pos += FRAMES_DOWNLOAD_LENGTH_BYTES;
    writeFrameHeader(out.subarray(pos), { ...frame, flags: frame.flags ?? 0, streamId });
    out.set(frame.payload, pos + FRAME_HEADER_LEN);
    pos += length;
  }
  return out;
}

/** Splits a `.frames` body into its frames (views into `body`); a truncated body is BAD_MESSAGE. */
export function splitFramesDownload(body: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let offset = 0;
  while (offset < body.byteLength) {
    if (offset + FRAMES_DOWNLOAD_LENGTH_BYTES > body.byteLength)
      throw ProtocolError.badMessage(`.frames body ends inside a length at byte ${offset}`);
    const length = view.getUint16(offset);
    offset += FRAMES_DOWNLOAD_LENGTH_BYTES;
    if (offset + length > body.byteLength) {
      throw ProtocolError.badMessage(
        `.frames body ends inside a ${length}-byte frame at byte ${offset}`,
      );
    }
    frames.push(body.subarray(offset, offset + length));
    offset += length;
  }
  return frames;
}
