import { ProtocolError } from './errors.js';
import {
  FLAG_END,
  FRAME_HEADER_LEN,
  FRAME_VERSION,
  KNOWN_FLAGS,
  MAX_FRAME_BYTES,
  MAX_FRAME_PAYLOAD_BYTES,
  OFFSET_FLAGS,
  OFFSET_RESERVED,
  OFFSET_SEQUENCE,
  OFFSET_STREAM_ID,
  OFFSET_TIMESTAMP,
  OFFSET_VERSION,
} from './frame-layout.js';

export {
  FLAG_END,
  FLAG_ENCRYPTED,
  FRAME_HEADER_LEN,
  FRAME_VERSION,
  MAX_FRAME_BYTES,
  MAX_FRAME_PAYLOAD_BYTES,
} from './frame-layout.js';

/*
 * Encoding and decoding of the binary frame laid out in frame-layout.ts. Hand-written rather than a
 * schema library: this runs once per frame per listener on the relay hot path, and reading four
 * integers through a DataView allocates nothing (bench/frame-codec.ts).
 */

export interface FrameHeader {
  flags: number;
  streamId: number;
  sequence: number;
  /** 48 kHz samples since the start of the stream. */
  timestamp: number;
}

export interface Frame extends FrameHeader {
  /** A view into the input bytes, not a copy. */
  payload: Uint8Array;
}

function viewOf(bytes: Uint8Array): DataView {
  // ws hands out Buffers that are views into a larger pooled ArrayBuffer: keep the offsets.
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads and checks a frame's header without touching the payload. Throws ProtocolError. */
export function decodeFrameHeader(bytes: Uint8Array): FrameHeader {
  if (bytes.byteLength < FRAME_HEADER_LEN) throw ProtocolError.frameTooShort(bytes.byteLength);
  if (bytes.byteLength > MAX_FRAME_BYTES) throw ProtocolError.frameTooLarge(bytes.byteLength);
  const view = viewOf(bytes);
  const version = view.getUint8(OFFSET_VERSION);
  if (version !== FRAME_VERSION) throw ProtocolError.frameVersion(version);
  const flags = view.getUint8(OFFSET_FLAGS);
  if ((flags & ~KNOWN_FLAGS) !== 0 || view.getUint16(OFFSET_RESERVED) !== 0) {
    throw ProtocolError.frameReservedBits(flags);
  }
  const header: FrameHeader = {
    flags,
    streamId: view.getUint32(OFFSET_STREAM_ID),
    sequence: view.getUint32(OFFSET_SEQUENCE),
    timestamp: view.getUint32(OFFSET_TIMESTAMP),
  };
  if (bytes.byteLength === FRAME_HEADER_LEN && (flags & FLAG_END) === 0) {
    throw ProtocolError.frameEmpty();
  }
  return header;
}

/** Decodes a whole frame; the payload is a view into `bytes`. */
export function decodeFrame(bytes: Uint8Array): Frame {
  const header = decodeFrameHeader(bytes);
  return { ...header, payload: bytes.subarray(FRAME_HEADER_LEN) };
}

/** Writes a header into the first FRAME_HEADER_LEN bytes of `target`. */
export function writeFrameHeader(target: Uint8Array, header: FrameHeader): void {
  if (target.byteLength < FRAME_HEADER_LEN) throw ProtocolError.frameTooShort(target.byteLength);
  const view = viewOf(target);
  view.setUint8(OFFSET_VERSION, FRAME_VERSION);
  view.setUint8(OFFSET_FLAGS, header.flags);
  view.setUint16(OFFSET_RESERVED, 0);
  view.setUint32(OFFSET_STREAM_ID, header.streamId >>> 0);
  view.setUint32(OFFSET_SEQUENCE, header.sequence >>> 0);
  view.setUint32(OFFSET_TIMESTAMP, header.timestamp >>> 0);
}

/** Encodes a frame into a new buffer: header + payload. */
export function encodeFrame(header: FrameHeader, payload: Uint8Array): Uint8Array {
  if (payload.byteLength > MAX_FRAME_PAYLOAD_BYTES) {
    throw ProtocolError.frameTooLarge(FRAME_HEADER_LEN + payload.byteLength);
  }
  const out = new Uint8Array(FRAME_HEADER_LEN + payload.byteLength);
  writeFrameHeader(out, header);
  out.set(payload, FRAME_HEADER_LEN);
  return out;
}

/** The bytes of the header, for use as AES-GCM associated data. */
export function frameHeaderBytes(frame: Uint8Array): Uint8Array {
  return frame.subarray(0, FRAME_HEADER_LEN);
}
