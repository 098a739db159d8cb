import { describe, expect, it } from 'vitest';
import {
  FLAG_END,
  FRAME_HEADER_LEN,
  MAX_FRAME_BYTES,
  ProtocolError,
  decodeFrame,
  encodeFrame,
} from '../src/index.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return (err as ProtocolError).code;
  }
  throw new Error('expected a ProtocolError');
}

describe('audio frame', () => {
  it('encodes the header byte for byte', () => {
    const bytes = encodeFrame(
      { flags: FLAG_END, streamId: 0x01020304, sequence: 0x0a0b0c0d, timestamp: 960 },
      new Uint8Array([0xfc, 0xff]),
    );
    expect([...bytes]).toEqual([
      0x01, // version
      0x01, // flags: END
      0x00,
      0x00, // reserved
      0x01,
      0x02,
      0x03,
      0x04, // stream id
      0x0a,
      0x0b,
      0x0c,
      0x0d, // sequence
      0x00,
      0x00,
      0x03,
      0xc0, // timestamp 960
      0xfc,
      0xff, // Opus payload
    ]);
  });

  it('round-trips through a view at an offset inside a larger buffer', () => {
    const frame = encodeFrame(
      { flags: 0, streamId: 7, sequence: 4_000_000_000, timestamp: 123_456 },
      new Uint8Array([1, 2, 3]),
    );
    const pool = new Uint8Array(100);
    pool.set(frame, 37);
    const decoded = decodeFrame(pool.subarray(37, 37 + frame.length));
    expect(decoded).toMatchObject({
      flags: 0,
      streamId: 7,
      sequence: 4_000_000_000,
      timestamp: 123_456,
    });
    expect([...decoded.payload]).toEqual([1, 2, 3]);
  });

  it('rejects a frame shorter than the header with FRAME_TOO_SHORT', () => {
    expect(codeOf(() => decodeFrame(new Uint8Array(FRAME_HEADER_LEN - 1)))).toBe('FRAME_TOO_SHORT');
  });

  it('rejects a frame over the maximum with FRAME_TOO_LARGE', () => {
    const big = new Uint8Array(MAX_FRAME_BYTES + 1);
    big[0] = 1;
    expect(codeOf(() => decodeFrame(big))).toBe('FRAME_TOO_LARGE');
  });

  it('rejects another frame version with FRAME_VERSION', () => {
    const bytes = encodeFrame(
      { flags: 0, streamId: 1, sequence: 0, timestamp: 0 },
      new Uint8Array([1]),
    );
    bytes[0] = 2;
    expect(codeOf(() => decodeFrame(bytes))).toBe('FRAME_VERSION');
  });

  it('rejects unknown flags and reserved bits with FRAME_RESERVED_BITS', () => {
    const bytes = encodeFrame(
      { flags: 0, streamId: 1, sequence: 0, timestamp: 0 },
      new Uint8Array([1]),
    );
    bytes[1] = 0x80;
    expect(codeOf(() => decodeFrame(bytes))).toBe('FRAME_RESERVED_BITS');
    bytes[1] = 0;
    bytes[3] = 1;
    expect(codeOf(() => decodeFrame(bytes))).toBe('FRAME_RESERVED_BITS');
  });

  it('accepts an empty payload only on an END frame', () => {
    const empty = encodeFrame(
      { flags: 0, streamId: 1, sequence: 0, timestamp: 0 },
      new Uint8Array(0),
    );
    expect(codeOf(() => decodeFrame(empty))).toBe('FRAME_EMPTY');
    const end = encodeFrame(
      { flags: FLAG_END, streamId: 1, sequence: 5, timestamp: 4800 },
      new Uint8Array(0),
    );
    expect(decodeFrame(end).payload.length).toBe(0);
  });
});
