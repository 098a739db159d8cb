/*
 * Figures of one echo test, from per-frame timestamps (performance.now() milliseconds). Pure
 * functions, so the arithmetic is unit-tested apart from the browser.
 */

/** One test frame's times; undefined until it happened. */
export interface FrameTimes {
  /** The first sample of the frame's 20 ms block entered the AudioContext. */
  capturedAt: number;
  /** The frame left for the server. */
  sentAt: number;
  /** It came back from the server. */
  echoedAt?: number;
  /** Its echo was decoded here (ready to play). */
  decodedAt?: number;
}

export interface EchoSummary {
  framesSent: number;
  framesBack: number;
  lossPercent: number;
  /** Median send → echo arrival: the network and the server, there and back. */
  networkRttMs: number;
  /** RFC 3550 §6.4.1 interarrival jitter of the echoes, from their round-trip times. */
  jitterMs: number;
  /** Median capture of a block's first sample → its echo decoded on this device. */
  soundRoundTripMs: number;
  /** Median capture → sent (block filling plus encoding). */
  captureToSendMs: number;
  /** Median echo arrival → decoded. */
  decodeMs: number;
}

/** Median of the finite values; NaN when there are none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** RFC 3550 §6.4.1: J += (|D| - J) / 16, D the change in transit time between consecutive packets. */
export function interarrivalJitter(transitMs: readonly number[]): number {
  let jitter = 0;
  for (let i = 1; i < transitMs.length; i++)
    jitter += (Math.abs(transitMs[i]! - transitMs[i - 1]!) - jitter) / 16;
  return jitter;
}

export function summarize(frames: readonly FrameTimes[]): EchoSummary {
  const back = frames.filter((f) => f.echoedAt !== undefined);
  const rtts = back.map((f) => f.echoedAt! - f.sentAt);
  const decoded = back.filter((f) => f.decodedAt !== undefined);
  return {
    framesSent: frames.length,
    framesBack: back.length,
    lossPercent: frames.length === 0 ? 0 : (100 * (frames.length - back.length)) / frames.length,
    networkRttMs: median(rtts),
    jitterMs: interarrivalJitter(rtts),
    soundRoundTripMs: median(decoded.map((f) => f.decodedAt! - f.capturedAt)),
    captureToSendMs: median(frames.map((f) => f.sentAt - f.capturedAt)),
    decodeMs: median(decoded.map((f) => f.decodedAt! - f.echoedAt!)),
  };
}

/**
 * Mouth-to-ear for a live talk between two devices like this one on this network: the talker's
 * input latency, block and encoding, half the round trip, the listener's jitter buffer (the engine
 * starts playout at `playoutBufferMs`, or twice the jitter if that is more), decoding and output.
 */
export function mouthToEarMs(
  summary: EchoSummary,
  device: { inputLatencyMs: number; baseLatencyMs: number; outputLatencyMs: number },
  playoutBufferMs: number,
): number {
  return (
    device.inputLatencyMs +
    summary.captureToSendMs +
    summary.networkRttMs / 2 +
    Math.max(playoutBufferMs, 2 * summary.jitterMs) +
    summary.decodeMs +
    device.baseLatencyMs +
    device.outputLatencyMs
  );
}
