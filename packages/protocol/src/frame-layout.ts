/*
 * Binary audio frame: one WebSocket binary message = one frame = a fixed 16-byte header + one Opus packet.
 * All integers are big-endian.
 *
 *   0       1       2       3
 *  +-------+-------+-------+-------+
 *  |version| flags |   reserved(0) |  version = FRAME_VERSION; flags: bit 0 END, bit 1 ENCRYPTED
 *  +-------+-------+-------+-------+
 *  |           stream id           |  u32, chosen by the talker in talk-start, unique in the room while live
 *  +-------------------------------+
 *  |            sequence           |  u32, 0 for the first frame of a stream, +1 per frame
 *  +-------------------------------+
 *  |           timestamp           |  u32, 48 kHz samples since the start of the stream
 *  +-------------------------------+
 *  |  payload: one Opus packet (may be empty only when END is set)  ...
 *
 * Only constants here, so that errors.ts and zod-free contexts can import them; frame.ts reads and
 * writes frames.
 */

export const FRAME_VERSION = 1;
export const FRAME_HEADER_LEN = 16;
/** RFC 6716 §3.4: a single-frame Opus packet is at most 1275 bytes; room for a few frames, plus AES-GCM's 16-byte tag. */
export const MAX_FRAME_PAYLOAD_BYTES = 4000;
export const MAX_FRAME_BYTES = FRAME_HEADER_LEN + MAX_FRAME_PAYLOAD_BYTES;

/** Last frame of a stream; the talker stops after it (same as talk-stop). */
export const FLAG_END = 0x01;
/** Payload is sealed end-to-end (AES-GCM) and the relay cannot read it. */
export const FLAG_ENCRYPTED = 0x02;
export const KNOWN_FLAGS = FLAG_END | FLAG_ENCRYPTED;

export const OFFSET_VERSION = 0;
export const OFFSET_FLAGS = 1;
export const OFFSET_RESERVED = 2;
export const OFFSET_STREAM_ID = 4;
export const OFFSET_SEQUENCE = 8;
export const OFFSET_TIMESTAMP = 12;
