/**
 * The one audio format on the wire and in storage: Opus, 48 kHz, mono, one packet per frame of
 * 20 ms (the default) or 10 ms (low latency), fixed for a whole talk by `talk-start.frameMs`.
 */
export const SAMPLE_RATE_HZ = 48_000;
export const CHANNELS = 1;
/** Frame duration of a talk that names none (every talk before low latency existed). */
export const FRAME_MS = 20;
/** 48 kHz samples in one 20 ms frame. */
export const FRAME_SAMPLES = (SAMPLE_RATE_HZ * FRAME_MS) / 1000;
/** Low-latency frames: Opus' algorithmic delay drops from 26.5 ms to 16.5 ms (RFC 6716 §2). */
export const LOW_LATENCY_FRAME_MS = 10;
/** Every frame duration a talk may announce. */
export const FRAME_MS_VALUES = [LOW_LATENCY_FRAME_MS, FRAME_MS] as const;
export type FrameMs = (typeof FRAME_MS_VALUES)[number];
/** 48 kHz samples in one frame of `frameMs` (960 for 20 ms, 480 for 10 ms). */
export function frameSamplesOf(frameMs: FrameMs): number {
  return (SAMPLE_RATE_HZ * frameMs) / 1000;
}
/** libopus encoder lookahead at 48 kHz; RFC 7845 pre-skip for our streams. */
export const OPUS_PRE_SKIP = 312;
/** Default encoder bitrate for speech. */
export const DEFAULT_BITRATE_BPS = 24_000;
/**
 * Encoder bitrate of 10 ms talks. Twice the frames means twice the 16-byte headers (12.8 kbit/s at
 * 100 frames/s); 18 kbit/s of Opus keeps a talker at about 31 kbit/s of frames, under 32.
 */
export const LOW_LATENCY_BITRATE_BPS = 18_000;
/** Encoder bitrate for a talk of `frameMs` frames. */
export function bitrateBpsOf(frameMs: FrameMs): number {
  return frameMs === LOW_LATENCY_FRAME_MS ? LOW_LATENCY_BITRATE_BPS : DEFAULT_BITRATE_BPS;
}
