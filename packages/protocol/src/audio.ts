/** The one audio format on the wire and in storage: Opus, 48 kHz, mono, 20 ms frames. */
export const SAMPLE_RATE_HZ = 48_000;
export const CHANNELS = 1;
export const FRAME_MS = 20;
/** 48 kHz samples in one 20 ms frame. */
export const FRAME_SAMPLES = (SAMPLE_RATE_HZ * FRAME_MS) / 1000;
/** libopus encoder lookahead at 48 kHz; RFC 7845 pre-skip for our streams. */
export const OPUS_PRE_SKIP = 312;
/** Default encoder bitrate for speech. */
export const DEFAULT_BITRATE_BPS = 24_000;
