import { CHANNELS, DEFAULT_BITRATE_BPS, FRAME_MS, SAMPLE_RATE_HZ } from '@imv/protocol/wire';
import type { OpusWasm } from './opus-wasm.js';

/**
 * WebCodecs encoder settings: 48 kHz mono 20 ms frames at 24 kbps. Not usedtx: with DTX Chromium
 * drops the silent frames yet keeps output timestamps contiguous, so silences would vanish from
 * both the live stream and the stored message (see NOTES.md, "usedtx gotcha").
 */
export const ENCODER_CONFIG: AudioEncoderConfig = {
  codec: 'opus',
  sampleRate: SAMPLE_RATE_HZ,
  numberOfChannels: CHANNELS,
  bitrate: DEFAULT_BITRATE_BPS,
  opus: { frameDuration: FRAME_MS * 1000, usedtx: false },
};

export const DECODER_CONFIG: AudioDecoderConfig = {
  codec: 'opus',
  sampleRate: SAMPLE_RATE_HZ,
  numberOfChannels: CHANNELS,
  // No description (OpusHead): the decoder then keeps the pre-skip samples, so every output is
  // exactly one 960-sample frame and lines up with its packet's sequence number.
};

/** Frame duration in microseconds, WebCodecs' time unit. */
export const FRAME_US = FRAME_MS * 1000;

/** Whether this context's WebCodecs can encode and decode our Opus configuration. */
export async function detectWebCodecsOpus(): Promise<{ encoder: boolean; decoder: boolean }> {
  const encoder =
    typeof AudioEncoder !== 'undefined' &&
    (await AudioEncoder.isConfigSupported(ENCODER_CONFIG).catch(() => ({ supported: false })))
      .supported === true;
  const decoder =
    typeof AudioDecoder !== 'undefined' &&
    (await AudioDecoder.isConfigSupported(DECODER_CONFIG).catch(() => ({ supported: false })))
      .supported === true;
  return { encoder, decoder };
}

/** Which Opus implementation one direction uses. */
export type CodecKind = 'webcodecs' | 'wasm' | 'none';

/** One direction's implementation, with the WASM module when that is the one. */
export interface CodecPick {
  kind: CodecKind;
  wasm: OpusWasm | null;
}
