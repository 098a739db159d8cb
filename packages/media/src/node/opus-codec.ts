import { Decoder, Encoder } from '@evan/opus';
import {
  FRAME_MS,
  OPUS_PRE_SKIP,
  SAMPLE_RATE_HZ,
  bitrateBpsOf,
  frameSamplesOf,
} from '@imv/protocol';
import type { FrameMs } from '@imv/protocol';
import { readOggOpus } from '../ogg/ogg-reader.js';
import { writeOggOpus } from '../ogg/ogg-writer.js';

/** libopus OPUS_GET_LOOKAHEAD_REQUEST (opus_defines.h); @evan/opus' `lookhead` getter is broken (NOTES.md). */
const OPUS_GET_LOOKAHEAD = 4027;

function floatToS16(pcm: Float32Array, out: Int16Array): void {
  for (let i = 0; i < pcm.length; i++) {
    const v = Math.round(pcm[i]! * 32768);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
}

/**
 * Mono 48 kHz Opus encoder producing 20 ms packets, or 10 ms ones with `frameMs: 10` (libopus through @evan/opus, native with a WASM fallback).
 * `push` is the streaming form; `flush` zero-pads the last frame and adds frames until the encoder lookahead
 * (312 samples) has come out, so the packets decode to at least every input sample.
 */
export class OpusFrameEncoder {
  /** Input samples pushed since the last flush (the exact length to give writeOggOpus as sampleCount). */
  sampleCount = 0;
  /** 48 kHz samples the decoder must skip at the start: the libopus lookahead. */
  readonly preSkip: number;
  /** 48 kHz samples per packet: 960 (20 ms) or 480 (10 ms). */
  readonly frameSamples: number;
  private readonly encoder: Encoder;
  private readonly pending: Float32Array;
  private pendingLength = 0;
  private readonly s16: Int16Array;
  private packetSamples = 0;

  /** `bitrateBps` defaults to the frame duration's bitrate (audio.ts: 24 kbit/s at 20 ms, 18 at 10 ms). */
  constructor(opts: { bitrateBps?: number; frameMs?: FrameMs } = {}) {
    const frameMs = opts.frameMs ?? FRAME_MS;
    this.frameSamples = frameSamplesOf(frameMs);
    this.pending = new Float32Array(this.frameSamples);
    this.s16 = new Int16Array(this.frameSamples);
    // channels defaults to 2 in @evan/opus (NOTES.md); our streams are mono.
    this.encoder = new Encoder({ channels: 1, sample_rate: SAMPLE_RATE_HZ, application: 'audio' });
    this.encoder.bitrate = opts.bitrateBps ?? bitrateBpsOf(frameMs);
    this.preSkip = this.encoder.ctl(OPUS_GET_LOOKAHEAD);
    if (this.preSkip !== OPUS_PRE_SKIP) {
      throw new Error(
        `libopus lookahead is ${this.preSkip} samples, imv streams assume ${OPUS_PRE_SKIP}`,
      );
    }
  }

  /** Encodes a whole buffer: push + flush. The encoder is ready for a new stream afterwards. */
  encode(pcm48k: Float32Array): Uint8Array[] {
    return [...this.push(pcm48k), ...this.flush()];
  }

  /** Feeds mono 48 kHz samples (any length); returns the packets for every complete frame. */
  push(pcm48k: Float32Array): Uint8Array[] {
    const packets: Uint8Array[] = [];
    let pos = 0;
    this.sampleCount += pcm48k.length;
    while (pos < pcm48k.length) {
      const take = Math.min(this.frameSamples - this.pendingLength, pcm48k.length - pos);
      this.pending.set(pcm48k.subarray(pos, pos + take), this.pendingLength);
      this.pendingLength += take;
      pos += take;
      if (this.pendingLength === this.frameSamples) packets.push(this.encodePending());
    }
    return packets;
  }

  /** Ends the stream (see the class comment) and resets the encoder for the next one. */
  flush(): Uint8Array[] {
    const packets: Uint8Array[] = [];
    const needed = this.sampleCount + this.preSkip;
    while (this.packetSamples < needed) {
      this.pending.fill(0, this.pendingLength);
      this.pendingLength = this.frameSamples;
      packets.push(this.encodePending());
    }
    this.encoder.reset();
    this.packetSamples = 0;
    this.pendingLength = 0;
    this.sampleCount = 0;
    return packets;
  }

  private encodePending(): Uint8Array {
    floatToS16(this.pending, this.s16);
    this.pendingLength = 0;
    this.packetSamples += this.frameSamples;
    // Copy: the native binding may return a view of a buffer it reuses.
    return new Uint8Array(this.encoder.encode(this.s16));
  }
}

/** Mono Opus packet decoder; raw output (pre-skip is not trimmed). */
export class OpusFrameDecoder {
  private readonly decoder = new Decoder({ channels: 1, sample_rate: SAMPLE_RATE_HZ });

  /** Decodes one packet to 48 kHz mono float samples (a stereo packet is down-mixed by libopus). */
  decode(packet: Uint8Array): Float32Array {
    const bytes = this.decoder.decode(packet);
    const s16 = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1);
    const out = new Float32Array(s16.length);
    for (let i = 0; i < s16.length; i++) out[i] = s16[i]! / 32768;
    return out;
  }

  /** Clears decoder state before an unrelated stream. */
  reset(): void {
    this.decoder.reset();
  }
}

/** Decodes a whole Ogg Opus file to mono 48 kHz samples, pre-skip and end trim applied (exact length). */
export function decodeOggOpus(bytes: Uint8Array): Float32Array {
  const file = readOggOpus(bytes);
  const decoder = new OpusFrameDecoder();
  const decoded = file.packets.map((packet) => decoder.decode(packet));
  const all = new Float32Array(decoded.reduce((n, d) => n + d.length, 0));
  let pos = 0;
  for (const d of decoded) {
    all.set(d, pos);
    pos += d.length;
  }
  const out = all.slice(file.head.preSkip, file.head.preSkip + file.sampleCount);
  if (file.head.outputGainQ8 !== 0) {
    // RFC 7845 §5.1: output gain is Q7.8 dB, applied after decoding.
    const gain = 10 ** (file.head.outputGainQ8 / (20 * 256));
    for (let i = 0; i < out.length; i++) out[i]! *= gain;
  }
  return out;
}

/** Encodes mono 48 kHz samples into a complete Ogg Opus file whose decoded length is exactly pcm48k.length. */
export function encodeOggOpus(
  pcm48k: Float32Array,
  opts: {
    bitrateBps?: number;
    frameMs?: FrameMs;
    tags?: Record<string, string>;
    serial?: number;
  } = {},
): Uint8Array {
  const encoder = new OpusFrameEncoder({ bitrateBps: opts.bitrateBps, frameMs: opts.frameMs });
  const packets = encoder.encode(pcm48k);
  return writeOggOpus(packets, {
    preSkip: encoder.preSkip,
    sampleCount: pcm48k.length,
    tags: opts.tags,
    serial: opts.serial,
  });
}
