import { MediaError } from '../errors.js';

/** RFC 7845 §5.1 identification header. */
export interface OpusHead {
  version: number;
  channels: number;
  /** 48 kHz samples to discard at the start of the decoded stream. */
  preSkip: number;
  /** Informational only (RFC 7845 §5.1): the decoder always runs at 48 kHz. */
  inputSampleRateHz: number;
  /** Q7.8 dB gain to apply on output. */
  outputGainQ8: number;
  mappingFamily: number;
  /** Present only when mappingFamily is not 0. */
  mapping?: { streamCount: number; coupledCount: number; channelMapping: Uint8Array };
}

/** RFC 7845 §5.2 comment header. */
export interface OpusTags {
  vendor: string;
  /** Comments in file order as `[KEY, value]`; keys are case-insensitive per the spec. */
  comments: Array<[string, string]>;
}

const OPUS_HEAD_MAGIC = 'OpusHead';
const OPUS_TAGS_MAGIC = 'OpusTags';
/** Family-0 OpusHead length: magic 8 + version + channels + pre-skip 2 + rate 4 + gain 2 + family. */
export const OPUS_HEAD_LEN = 19;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: false });

function startsWithAscii(bytes: Uint8Array, magic: string): boolean {
  if (bytes.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic.charCodeAt(i)) return false;
  return true;
}

/** True if the packet is an OpusHead (used to recognise an Opus stream in Ogg). */
export function isOpusHead(packet: Uint8Array): boolean {
  return startsWithAscii(packet, OPUS_HEAD_MAGIC);
}

/** Builds the 19-byte mono/stereo OpusHead (channel mapping family 0). */
export function buildOpusHead(options: {
  channels?: number;
  preSkip: number;
  inputSampleRateHz?: number;
  outputGainQ8?: number;
}): Uint8Array {
  const channels = options.channels ?? 1;
  if (channels !== 1 && channels !== 2) {
    throw new RangeError(`options.channels must be 1 or 2 for mapping family 0, got ${channels}`);
  }
  if (!Number.isInteger(options.preSkip) || options.preSkip < 0 || options.preSkip > 0xffff) {
    throw new RangeError(`options.preSkip must be an integer in 0..65535, got ${options.preSkip}`);
  }
  const out = new Uint8Array(OPUS_HEAD_LEN);
  const view = new DataView(out.buffer);
  out.set(textEncoder.encode(OPUS_HEAD_MAGIC), 0);
  view.setUint8(8, 1); // version
  view.setUint8(9, channels); // output channel count
  view.setUint16(10, options.preSkip, true); // pre-skip
  view.setUint32(12, options.inputSampleRateHz ?? 48_000, true); // input sample rate
  view.setInt16(16, options.outputGainQ8 ?? 0, true); // output gain, Q7.8 dB
  view.setUint8(18, 0); // channel mapping family 0: mono or stereo, no table
  return out;
}

/** Parses an OpusHead packet; throws MediaError NOT_OPUS when it is not one. */
export function parseOpusHead(packet: Uint8Array): OpusHead {
  if (!isOpusHead(packet)) {
    throw new MediaError('NOT_OPUS', 'first packet is not an OpusHead (no "OpusHead" magic)');
  }
  if (packet.length < OPUS_HEAD_LEN) {
    throw new MediaError(
      'NOT_OPUS',
      `OpusHead is ${packet.length} B, at least ${OPUS_HEAD_LEN} B are needed`,
    );
  }
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const version = view.getUint8(8);
  // RFC 7845 §5.1: the major version is the high nibble; only 0 is defined.
  if (version >> 4 !== 0) {
    throw new MediaError(
      'NOT_OPUS',
      `OpusHead version ${version} is not supported (major version must be 0)`,
    );
  }
  const head: OpusHead = {
    version,
    channels: view.getUint8(9),
    preSkip: view.getUint16(10, true),
    inputSampleRateHz: view.getUint32(12, true),
    outputGainQ8: view.getInt16(16, true),
    mappingFamily: view.getUint8(18),
  };
  if (head.channels === 0) throw new MediaError('NOT_OPUS', 'OpusHead says 0 channels');
  if (head.mappingFamily !== 0) {
    const tableEnd = OPUS_HEAD_LEN + 2 + head.channels;
    if (packet.length < tableEnd) {
      throw new MediaError(
        'NOT_OPUS',
        `OpusHead is ${packet.length} B, its channel mapping table needs ${tableEnd} B`,
      );
    }
    head.mapping = {
      streamCount: view.getUint8(19),
      coupledCount: view.getUint8(20),
      channelMapping: packet.slice(21, tableEnd),
    };
  }
  return head;
}

/** Builds an OpusTags packet; `tags` become `KEY=value` comments in insertion order. */
export function buildOpusTags(vendor: string, tags: Record<string, string> = {}): Uint8Array {
  const vendorBytes = textEncoder.encode(vendor);
  const comments = Object.entries(tags).map(([key, value]) => {
    if (key.length === 0 || [...key].some((ch) => ch < ' ' || ch > '}' || ch === '=')) {
      // RFC 7845 §5.2 defers to Vorbis comments: field names are printable ASCII 0x20-0x7D except '='.
      throw new RangeError(`tag name ${JSON.stringify(key)} must be printable ASCII without '='`);
    }
    return textEncoder.encode(`${key}=${value}`);
  });
  const total = 8 + 4 + vendorBytes.length + 4 + comments.reduce((n, c) => n + 4 + c.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(textEncoder.encode(OPUS_TAGS_MAGIC), 0);
  let pos = 8;
  view.setUint32(pos, vendorBytes.length, true);
  out.set(vendorBytes, pos + 4);
  pos += 4 + vendorBytes.length;
  view.setUint32(pos, comments.length, true);
  pos += 4;
  for (const comment of comments) {
    view.setUint32(pos, comment.length, true);
    out.set(comment, pos + 4);
    pos += 4 + comment.length;
  }
  return out;
}

/** Parses an OpusTags packet; throws MediaError NOT_OPUS when it is malformed. */
export function parseOpusTags(packet: Uint8Array): OpusTags {
  if (!startsWithAscii(packet, OPUS_TAGS_MAGIC)) {
    throw new MediaError('NOT_OPUS', 'second packet is not OpusTags (no "OpusTags" magic)');
  }
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  let pos = 8;
  const readLength = (what: string): number => {
    if (pos + 4 > packet.length)
      throw new MediaError('NOT_OPUS', `OpusTags ends before the ${what} length`);
    const len = view.getUint32(pos, true);
    pos += 4;
    if (pos + len > packet.length) {
      throw new MediaError(
        'NOT_OPUS',
        `OpusTags ${what} is ${len} B but only ${packet.length - pos} B remain`,
      );
    }
    return len;
  };
  const vendorLen = readLength('vendor string');
  const vendor = textDecoder.decode(packet.subarray(pos, pos + vendorLen));
  pos += vendorLen;
  if (pos + 4 > packet.length)
    throw new MediaError('NOT_OPUS', 'OpusTags ends before the comment count');
  const count = view.getUint32(pos, true);
  pos += 4;
  // Each comment takes at least its 4-byte length, so a larger count is corrupt, not just big.
  if (count * 4 > packet.length - pos) {
    throw new MediaError(
      'NOT_OPUS',
      `OpusTags claims ${count} comments but only ${packet.length - pos} B remain`,
    );
  }
  const comments: Array<[string, string]> = [];
  for (let i = 0; i < count; i++) {
    const len = readLength(`comment ${i}`);
    const text = textDecoder.decode(packet.subarray(pos, pos + len));
    pos += len;
    const eq = text.indexOf('=');
    comments.push(eq < 0 ? [text, ''] : [text.slice(0, eq), text.slice(eq + 1)]);
  }
  return { vendor, comments };
}
