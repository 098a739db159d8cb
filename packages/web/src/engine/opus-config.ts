import { CHANNELS, FRAME_MS, SAMPLE_RATE_HZ, bitrateBpsOf } from '@imv/protocol/wire';
import type { FrameMs } from '@imv/protocol/wire';
import type { OpusWasm } from './opus-wasm.js';

/**
 * WebCodecs encoder settings: 48 kHz mono, 20 ms frames at 24 kbps or 10 ms frames at 18 kbps
 * (audio.ts). Not usedtx: with DTX Chromium drops the silent frames yet keeps output timestamps
 * contiguous, so silences would vanish from both the live stream and the stored message (see
 * NOTES.md, "usedtx gotcha").
 */
export function encoderConfig(frameMs: FrameMs = FRAME_MS): AudioEncoderConfig {
  return {
    codec: 'opus',
    sampleRate: SAMPLE_RATE_HZ,
    numberOfChannels: CHANNELS,
    bitrate: bitrateBpsOf(frameMs),
    opus: { frameDuration: frameMs * 1000, usedtx: false },
  };
}

export const DECODER_CONFIG: AudioDecoderConfig = {
  codec: 'opus',
  sampleRate: SAMPLE_RATE_HZ,
  numberOfChannels: CHANNELS,
  // No description (OpusHead): the decoder then keeps the pre-skip samples, so every output is
  // exactly one frame (960 or 480 samples) and lines up with its packet's sequence number.
};

/**
 * WebCodecs' time unit per sequence number: timestamps carry a frame's sequence through the codec
 * (sequence × FRAME_US), whatever the frame's real duration.
 */
export const FRAME_US = FRAME_MS * 1000;

/** Whether this context's WebCodecs can encode and decode our Opus configuration. */
export async function detectWebCodecsOpus(): Promise<{ encoder: boolean; decoder: boolean }> {
  const encoder =
    typeof AudioEncoder !== 'undefined' &&
    (await AudioEncoder.isConfigSupported(encoderConfig()).catch(() => ({ supported: false })))
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
