/*
 * Jitter buffer for one live stream of decoded frames (20 ms, or 10 ms for a low-latency talk). Pure TypeScript with no audio APIs, so it
 * runs in the playback AudioWorklet and in Node unit tests alike. The caller pushes decoded frames as
 * they arrive (with an arrival time on any monotonic millisecond clock) and pulls samples at the output
 * rate with read().
 *
 * - Reorder: frames are keyed by sequence and played in sequence order.
 * - Adaptive depth: playout starts (and restarts after an underrun) once `targetMs` of audio is queued.
 *   The target follows the spread of relative arrival delays (arrival - sequence × frameMs) over the
 *   last `jitterWindowFrames` frames (to its 90th percentile), plus one frame and a margin, within
 *   [minTargetMs, maxTargetMs].
 *   It rises at once and falls slowly, so one burst of late frames keeps the buffer deep for a while.
 * - Loss: a missing frame whose successors are already queued is concealed (the last frame repeated
 *   with a decaying gain) rather than waited for. Opus PLC is not reachable through WebCodecs.
 * - Late: a frame whose sequence was already played or concealed is dropped and counted.
 * - Drift: when the buffer's low-water mark over a 0.5 s window stays above the target (sender clock
 *   faster, or depth left over from a burst), the excess is drained by skipping whole frames that
 *   are pauses (RMS under -46 dBFS); speech pauses often, and a skipped pause is inaudible. With no
 *   pause for 2 s, frames are time-compressed by a few samples each instead; when the low-water
 *   mark stays well below the target, frames are stretched. Linear interpolation over one frame, at
 *   most 8 samples per 960 (0.8 %, a 14-cent pitch change): inaudible in speech, unlike dropping or
 *   repeating whole 20 ms frames, and still 80 times the drift of two real sound-card clocks
 *   (~100 ppm). Sudden jitter is not absorbed by stretching: it ends in an underrun, and playout
 *   restarts at the new, deeper target, leaving the audio intact.
 * - END: end() marks the stream finished; it plays out what is queued and then reports `finished`.
 * - Frame size: the defaults marked "per frame" scale with `frameSamples`, so a 10 ms stream waits for
 *   two 10 ms frames at first (not 40 ms), may go down to one frame, measures its jitter over the same
 *   second of audio and drains or stretches at the same 0.8 %.
 */

export interface JitterBufferOptions {
  /** Samples per frame. */
  frameSamples?: number;
  sampleRateHz?: number;
  /** Per frame: default two frames (40 ms at 20 ms frames, 20 ms at 10 ms). */
  initialTargetMs?: number;
  /** Per frame: default one frame. */
  minTargetMs?: number;
  maxTargetMs?: number;
  /** Frames over which the arrival-delay spread is measured. Per frame: default 1 s of them. */
  jitterWindowFrames?: number;
  /** Added to one frame + the delay spread to form the target. */
  safetyMarginMs?: number;
  /** Output samples between two drift decisions. */
  driftWindowSamples?: number;
  /** Low-water mark may exceed the ideal by this much before the buffer is drained. */
  driftToleranceMs?: number;
  /** Most samples removed from or added to one frame by a drift correction. Per frame: default 0.83 %. */
  driftStepSamples?: number;
  /** Queued audio beyond this is skipped at once (the listener fell far behind). */
  maxBufferedMs?: number;
}

export interface JitterBufferStats {
  /** Audio queued ahead of the playhead, contiguous from the next sequence. */
  depthMs: number;
  targetMs: number;
  /** Spread of relative arrival delays over the jitter window. */
  jitterMs: number;
  /** Times playout ran dry while the stream was still live (it then re-buffers to the target). */
  underruns: number;
  /** Frames synthesised because they were missing when their turn came. */
  concealed: number;
  /** Frames that arrived after their turn and were dropped. */
  lateDropped: number;
  duplicates: number;
  /** Frames played from real audio. */
  played: number;
  driftDroppedSamples: number;
  driftInsertedSamples: number;
  /** Frames skipped because the buffer grew beyond maxBufferedMs. */
  skipped: number;
  /** Silent frames skipped to bring the depth back to the target. */
  silentSkipped: number;
}

export type PushResult = 'queued' | 'late' | 'duplicate';

type State = 'buffering' | 'playing' | 'finished';

const DEFAULTS = {
  frameSamples: 960,
  sampleRateHz: 48_000,
  maxTargetMs: 200,
  safetyMarginMs: 6,
  driftWindowSamples: 24_000,
  driftToleranceMs: 5,
  maxBufferedMs: 600,
};

/** The options with every default filled in, the per-frame ones from the frame duration. */
function withDefaults(options: JitterBufferOptions): Required<JitterBufferOptions> {
  const base = { ...DEFAULTS, ...options };
  const frameMs = (base.frameSamples * 1000) / base.sampleRateHz;
  return {
    initialTargetMs: 2 * frameMs,
    minTargetMs: frameMs,
    jitterWindowFrames: Math.round(1000 / frameMs),
    driftStepSamples: Math.max(1, Math.round(base.frameSamples / 120)),
    ...base,
  };
}

/** Gain applied per concealed frame in a row; after a few frames the concealment is silent. */
const CONCEAL_DECAY = 0.6;
/** Arrival samples needed before the measured spread replaces the initial target. */
const MIN_JITTER_SAMPLES = 10;
/** How fast the target may fall, in ms per second of arriving audio. */
const TARGET_FALL_MS_PER_SECOND = 50;
/** Quantile of the relative arrival delays that the target covers. */
const JITTER_QUANTILE = 0.9;
/** A frame quieter than this (RMS, about -46 dBFS) is a pause that may be skipped to drain the buffer. */
const SILENT_RMS = 0.005;

/** How long to wait for a pause to skip before draining by time-compression instead. */
const STRETCH_AFTER_MS = 2000;

function isSilent(frame: Float32Array): boolean {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += frame[i]! * frame[i]!;
  return sum < SILENT_RMS * SILENT_RMS * frame.length;
}

export class JitterBuffer {
  private readonly opts: Required<JitterBufferOptions>;
  private readonly frameMs: number;
  private readonly frames = new Map<number, Float32Array>();
  private state: State = 'buffering';
  private ended = false;
  /** Sequence of the next frame to play; undefined until the first frame arrives. */
  private nextSeq: number | undefined;
  private current: Float32Array | null = null;
  private currentPos = 0;
  private currentLen = 0;
  private lastFrame: Float32Array | null = null;
  private concealRun = 0;
  private readonly scratch: Float32Array;
  private readonly concealBuf: Float32Array;
  // arrival-delay window (ring buffer)
  private readonly delays: Float64Array;
  private readonly sortedDelays: Float64Array;
  private delayCount = 0;
  private delayIndex = 0;
  private targetMs: number;
  private jitterMs = 0;
  // drift control
  private windowSamples = 0;
  private windowMinDepthSamples = Infinity;
  private pendingDriftSamples = 0;
  /** Frames played while too deep without a pause to skip. */
  private drainWaitFrames = 0;
  private everStarted = false;
  /** Once a frame was played or concealed, earlier sequences are late. */
  private playheadMoved = false;

  private readonly counters = {
    underruns: 0,
    concealed: 0,
    lateDropped: 0,
    duplicates: 0,
    played: 0,
    driftDroppedSamples: 0,
    driftInsertedSamples: 0,
    skipped: 0,
    silentSkipped: 0,
  };

  constructor(options: JitterBufferOptions = {}) {
    this.opts = withDefaults(options);
    this.frameMs = (this.opts.frameSamples * 1000) / this.opts.sampleRateHz;
    this.targetMs = clamp(this.opts.initialTargetMs, this.opts.minTargetMs, this.opts.maxTargetMs);
    this.delays = new Float64Array(this.opts.jitterWindowFrames);
    this.sortedDelays = new Float64Array(this.opts.jitterWindowFrames);
    this.scratch = new Float32Array(this.opts.frameSamples + this.opts.driftStepSamples);
    this.concealBuf = new Float32Array(this.opts.frameSamples);
  }

  /** True once the first sample of real audio has been output. */
  get started(): boolean {
    return this.everStarted;
  }

  /** True after end() once everything queued has been played. */
  get finished(): boolean {
    return this.state === 'finished';
  }

  /** Queues a decoded frame. `pcm` is kept (not copied): the caller must not reuse it. */
  push(sequence: number, pcm: Float32Array, arrivalMs: number): PushResult {
    if (this.state === 'finished') {
      this.counters.lateDropped++;
      return 'late';
    }
    if (this.nextSeq !== undefined && sequence < this.nextSeq && this.playheadMoved) {
      this.counters.lateDropped++;
      return 'late';
    }
    if (this.frames.has(sequence)) {
      this.counters.duplicates++;
      return 'duplicate';
    }
    this.recordArrival(sequence, arrivalMs);
    this.frames.set(sequence, pcm);
    if (this.nextSeq === undefined || sequence < this.nextSeq) {
      this.nextSeq = sequence;
    }
    this.skipIfFarBehind();
    if (this.state === 'buffering') {
      const queuedMs = this.queuedMs();
      if (queuedMs >= this.targetMs) {
        this.state = 'playing';
        // Frames held up by a stall arrive together: start at once and drain the excess fast
        // rather than carry it as latency.
        this.pendingDriftSamples = Math.round(
          ((queuedMs - this.targetMs) * this.opts.sampleRateHz) / 1000,
        );
      }
    }
    return 'queued';
  }

  /** The stream ended: play out what is queued, then finish. */
  end(): void {
    this.ended = true;
    if (this.state === 'buffering') {
      this.state = this.frames.size > 0 || this.current !== null ? 'playing' : 'finished';
    }
  }

  /** Fills `out` with the next samples (zeros while buffering or after the end). */
  read(out: Float32Array): void {
    let written = 0;
    while (written < out.length) {
      if (this.state !== 'playing') {
        out.fill(0, written);
        break;
      }
      if (this.current === null || this.currentPos >= this.currentLen) {
        if (!this.advance()) continue; // state changed: loop writes zeros or finishes
      }
      const cur = this.current!;
      const n = Math.min(out.length - written, this.currentLen - this.currentPos);
      out.set(cur.subarray(this.currentPos, this.currentPos + n), written);
      this.currentPos += n;
      written += n;
    }
    this.trackDrift(out.length);
  }

  stats(): JitterBufferStats {
    return {
      depthMs: (this.depthSamples() * 1000) / this.opts.sampleRateHz,
      targetMs: this.targetMs,
      jitterMs: this.jitterMs,
      ...this.counters,
    };
  }

  /** Moves to the next frame; returns false when playout stopped (underrun or finished). */
  private advance(): boolean {
    const seq = this.nextSeq;
    if (seq === undefined || this.frames.size === 0) {
      this.current = null;
      if (this.ended) {
        this.state = 'finished';
      } else {
        this.counters.underruns++;
        this.state = 'buffering';
      }
      return false;
    }
    this.playheadMoved = true;
    const frame = this.frames.get(seq);
    if (
      frame !== undefined &&
      this.pendingDriftSamples >= frame.length &&
      this.frames.has(seq + 1) &&
      isSilent(frame)
    ) {
      // Too deep and this frame is a pause: skipping it costs nothing audible, unlike stretching.
      this.frames.delete(seq);
      this.nextSeq = seq + 1;
      this.pendingDriftSamples -= frame.length;
      this.drainWaitFrames = 0;
      this.counters.driftDroppedSamples += frame.length;
      this.counters.silentSkipped++;
      return this.advance();
    }
    if (frame !== undefined) {
      this.frames.delete(seq);
      this.counters.played++;
      this.concealRun = 0;
      this.lastFrame = frame;
      this.everStarted = true;
      this.setCurrent(frame);
    } else {
      // Later frames are queued, so this one is lost or too late to wait for.
      this.counters.concealed++;
      this.setCurrent(this.conceal());
    }
    this.nextSeq = seq + 1;
    return true;
  }

  private setCurrent(frame: Float32Array): void {
    const maxStep = this.opts.driftStepSamples;
    let step = Math.max(-maxStep, Math.min(maxStep, this.pendingDriftSamples));
    if (step <= 0) this.drainWaitFrames = 0;
    else if (++this.drainWaitFrames * this.frameMs < STRETCH_AFTER_MS) step = 0; // a pause may come first
    if (step === 0) {
      this.current = frame;
      this.currentLen = frame.length;
    } else {
      const len = frame.length - step;
      stretchInto(frame, this.scratch, len);
      this.current = this.scratch;
      this.currentLen = len;
      if (step > 0) this.counters.driftDroppedSamples += step;
      else this.counters.driftInsertedSamples -= step;
      this.pendingDriftSamples -= step;
    }
    this.currentPos = 0;
  }

  private conceal(): Float32Array {
    const out = this.concealBuf;
    const last = this.lastFrame;
    if (last === null) {
      out.fill(0);
    } else {
      // Linear ramp from this frame's gain to the next one's, so repeats do not click at the seams.
      const g0 = CONCEAL_DECAY ** this.concealRun;
      const g1 = g0 * CONCEAL_DECAY;
      const n = out.length;
      for (let i = 0; i < n; i++) out[i] = (last[i] ?? 0) * (g0 + ((g1 - g0) * i) / n);
    }
    this.concealRun++;
    return out;
  }

  private recordArrival(sequence: number, arrivalMs: number): void {
    const w = this.delays.length;
    this.delays[this.delayIndex] = arrivalMs - sequence * this.frameMs;
    this.delayIndex = (this.delayIndex + 1) % w;
    if (this.delayCount < w) this.delayCount++;
    if (this.delayCount < MIN_JITTER_SAMPLES) return;
    // Spread from the smallest delay to the JITTER_QUANTILE one: a single stall (one late frame and
    // the burst behind it) is left to an underrun rather than keeping the whole stream deep.
    const sorted = this.sortedDelays;
    for (let i = 0; i < this.delayCount; i++) sorted[i] = this.delays[i]!;
    const view = sorted.subarray(0, this.delayCount).sort();
    const high =
      view[Math.min(this.delayCount - 1, Math.floor(this.delayCount * JITTER_QUANTILE))]!;
    this.jitterMs = high - view[0]!;
    const wanted = clamp(
      this.frameMs + this.jitterMs + this.opts.safetyMarginMs,
      this.opts.minTargetMs,
      this.opts.maxTargetMs,
    );
    this.targetMs =
      wanted >= this.targetMs
        ? wanted
        : Math.max(wanted, this.targetMs - (TARGET_FALL_MS_PER_SECOND * this.frameMs) / 1000);
  }

  /** Samples queued contiguously from the playhead. */
  private depthSamples(): number {
    let samples = this.current !== null ? this.currentLen - this.currentPos : 0;
    if (this.nextSeq === undefined) return samples;
    for (let s = this.nextSeq; this.frames.has(s); s++) samples += this.frames.get(s)!.length;
    return samples;
  }

  /** Audio queued in frames, counting gaps that will be concealed (used to decide when to start). */
  private queuedMs(): number {
    if (this.nextSeq === undefined || this.frames.size === 0) return 0;
    let maxSeq = this.nextSeq;
    for (const s of this.frames.keys()) if (s > maxSeq) maxSeq = s;
    const current =
      this.current !== null
        ? ((this.currentLen - this.currentPos) / this.opts.sampleRateHz) * 1000
        : 0;
    return (maxSeq - this.nextSeq + 1) * this.frameMs + current;
  }

  private skipIfFarBehind(): void {
    if (this.nextSeq === undefined) return;
    const maxFrames = Math.ceil(this.opts.maxBufferedMs / this.frameMs);
    const keepFrames = Math.max(1, Math.ceil(this.targetMs / this.frameMs));
    let maxSeq = this.nextSeq;
    for (const s of this.frames.keys()) if (s > maxSeq) maxSeq = s;
    if (maxSeq - this.nextSeq + 1 <= maxFrames) return;
    const newNext = maxSeq - keepFrames + 1;
    for (let s = this.nextSeq; s < newNext; s++) {
      if (this.frames.delete(s)) this.counters.skipped++;
    }
    this.nextSeq = newNext;
  }

  private trackDrift(samples: number): void {
    if (this.state !== 'playing') {
      this.windowSamples = 0;
      this.windowMinDepthSamples = Infinity;
      return;
    }
    const depth = this.depthSamples();
    if (depth < this.windowMinDepthSamples) this.windowMinDepthSamples = depth;
    this.windowSamples += samples;
    if (this.windowSamples < this.opts.driftWindowSamples) return;
    // Depth sawtooths by one frame as frames arrive, so its low-water mark should sit one frame
    // below the target.
    const lowWaterMs = (this.windowMinDepthSamples * 1000) / this.opts.sampleRateHz;
    const idealMs = Math.max(0, this.targetMs - this.frameMs);
    // The correction is spread over the following frames, at most driftStepSamples per frame.
    const msToSamples = this.opts.sampleRateHz / 1000;
    if (lowWaterMs > idealMs + this.opts.driftToleranceMs) {
      this.pendingDriftSamples = Math.round((lowWaterMs - idealMs) * msToSamples);
    } else if (lowWaterMs < idealMs - 3 * this.opts.driftToleranceMs && !this.ended) {
      this.pendingDriftSamples = -Math.round((idealMs - lowWaterMs) * msToSamples);
    } else {
      this.pendingDriftSamples = 0;
    }
    this.windowSamples = 0;
    this.windowMinDepthSamples = Infinity;
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Resamples `src` into the first `length` samples of `dst` by linear interpolation. */
export function stretchInto(src: Float32Array, dst: Float32Array, length: number): void {
  const last = src.length - 1;
  const ratio = length > 1 ? last / (length - 1) : 0;
  for (let i = 0; i < length; i++) {
    const x = i * ratio;
    const i0 = Math.floor(x);
    const i1 = Math.min(i0 + 1, last);
    const f = x - i0;
    dst[i] = src[i0]! * (1 - f) + src[i1]! * f;
  }
}

/** The defaults live playback runs with (the audio doctor's mouth-to-ear estimate reads them). */
export const JITTER_BUFFER_DEFAULTS: Readonly<Required<JitterBufferOptions>> = withDefaults({});
