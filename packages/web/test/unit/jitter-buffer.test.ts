import { describe, expect, it } from 'vitest';
import { JitterBuffer, stretchInto } from '../../src/engine/incoming/jitter-buffer.js';

const FRAME = 960;
const QUANTUM = 128; // AudioWorklet render quantum
const SAMPLE_RATE = 48_000;

/** A frame whose every sample is `value`, so the output tells which frame played. */
function frameOf(value: number): Float32Array {
  return new Float32Array(FRAME).fill(value);
}

/** Reads `frames` whole frames and returns the first sample of each (the frame's marker value). */
function readFrames(jb: JitterBuffer, frames: number): number[] {
  const out = new Float32Array(FRAME);
  const markers: number[] = [];
  for (let i = 0; i < frames; i++) {
    jb.read(out);
    markers.push(out[0]!);
  }
  return markers;
}

/** Deterministic PRNG (mulberry32), so simulated network jitter is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SimOptions {
  durationMs: number;
  /** Sender's frame interval as measured by the receiver's clock (20 = same clock). */
  senderFrameMs?: number;
  /** Extra network delay of each frame, in ms. */
  delayMs?: (seq: number) => number;
}

/** Runs the buffer against a simulated sender and a render loop of 128-sample quanta. */
function simulate(jb: JitterBuffer, opts: SimOptions): { depthMs: number[]; targetMs: number[] } {
  const senderFrameMs = opts.senderFrameMs ?? 20;
  const delay = opts.delayMs ?? (() => 0);
  const arrivals: { seq: number; at: number }[] = [];
  for (let seq = 0; seq * senderFrameMs < opts.durationMs; seq++) {
    arrivals.push({ seq, at: seq * senderFrameMs + delay(seq) });
  }
  arrivals.sort((a, b) => a.at - b.at);
  const out = new Float32Array(QUANTUM);
  const depthMs: number[] = [];
  const targetMs: number[] = [];
  let next = 0;
  for (let sample = 0; (sample * 1000) / SAMPLE_RATE < opts.durationMs + 500; sample += QUANTUM) {
    const nowMs = (sample * 1000) / SAMPLE_RATE;
    while (next < arrivals.length && arrivals[next]!.at <= nowMs) {
      const a = arrivals[next++]!;
      jb.push(a.seq, frameOf(0.1), a.at);
      if (next === arrivals.length) jb.end(); // talk-stopped follows the last frame
    }
    jb.read(out);
    const s = jb.stats();
    depthMs.push(s.depthMs);
    targetMs.push(s.targetMs);
  }
  return { depthMs, targetMs };
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

describe('JitterBuffer', () => {
  it('plays frames in sequence order whatever order they arrive in', () => {
    const jb = new JitterBuffer({ initialTargetMs: 80 });
    for (const seq of [0, 2, 1, 4, 3]) jb.push(seq, frameOf(seq + 1), seq * 20);
    jb.end();
    expect(readFrames(jb, 6)).toEqual([1, 2, 3, 4, 5, 0]);
    expect(jb.finished).toBe(true);
    expect(jb.stats()).toMatchObject({ played: 5, concealed: 0, lateDropped: 0, underruns: 0 });
  });

  it('accepts a frame older than the first one as long as nothing has played yet', () => {
    const jb = new JitterBuffer({ initialTargetMs: 60 });
    jb.push(5, frameOf(6), 0);
    jb.push(4, frameOf(5), 1);
    jb.push(6, frameOf(7), 2);
    expect(readFrames(jb, 3)).toEqual([5, 6, 7]);
  });

  it('waits for the target depth before it starts playing', () => {
    const jb = new JitterBuffer({ initialTargetMs: 60 });
    jb.push(0, frameOf(1), 0);
    jb.push(1, frameOf(2), 20);
    expect(readFrames(jb, 1)).toEqual([0]);
    expect(jb.started).toBe(false);
    jb.push(2, frameOf(3), 40);
    expect(readFrames(jb, 3)).toEqual([1, 2, 3]);
    expect(jb.started).toBe(true);
  });

  it('conceals a lost frame with a faded copy of the previous one and counts it', () => {
    const jb = new JitterBuffer({ initialTargetMs: 20 });
    for (const seq of [0, 1, 3, 4]) jb.push(seq, frameOf(0.5), seq * 20);
    jb.end();
    const out = new Float32Array(FRAME * 5);
    jb.read(out);
    // Frame 2 is the concealment: it starts at the previous frame's level and fades down.
    expect(out[FRAME * 2]).toBeCloseTo(0.5, 5);
    expect(out[FRAME * 3 - 1]!).toBeLessThan(0.35);
    expect(out[FRAME * 3]).toBeCloseTo(0.5, 5);
    expect(jb.stats()).toMatchObject({ played: 4, concealed: 1, lateDropped: 0 });
  });

  it('drops a frame that arrives after its turn was concealed', () => {
    const jb = new JitterBuffer({ initialTargetMs: 20 });
    for (const seq of [0, 2]) jb.push(seq, frameOf(seq + 1), seq * 20);
    readFrames(jb, 2); // plays 0, conceals 1
    expect(jb.push(1, frameOf(2), 45)).toBe('late');
    expect(jb.push(2, frameOf(3), 46)).toBe('duplicate');
    expect(jb.stats()).toMatchObject({ concealed: 1, lateDropped: 1, duplicates: 1 });
    expect(readFrames(jb, 1)).toEqual([3]);
  });

  it('counts an underrun and re-buffers when a live stream runs dry', () => {
    const jb = new JitterBuffer({ initialTargetMs: 20 });
    jb.push(0, frameOf(1), 0);
    expect(readFrames(jb, 2)).toEqual([1, 0]);
    expect(jb.stats().underruns).toBe(1);
    expect(jb.finished).toBe(false);
    jb.push(1, frameOf(2), 50);
    expect(readFrames(jb, 1)).toEqual([2]);
  });

  it('finishes without an underrun after end() and drops anything that comes later', () => {
    const jb = new JitterBuffer({ initialTargetMs: 100 });
    jb.push(0, frameOf(1), 0);
    jb.end(); // shorter than the target: plays at once
    expect(readFrames(jb, 2)).toEqual([1, 0]);
    expect(jb.finished).toBe(true);
    expect(jb.push(1, frameOf(2), 30)).toBe('late');
    expect(jb.stats().underruns).toBe(0);
  });

  it('keeps a shallow target on a steady network', () => {
    const jb = new JitterBuffer();
    const { targetMs } = simulate(jb, { durationMs: 5000, delayMs: () => 1 });
    expect(targetMs.at(-1)!).toBeLessThanOrEqual(30);
    expect(jb.stats()).toMatchObject({ underruns: 0, concealed: 0, lateDropped: 0 });
  });

  it('grows the target under jitter until playout stops running dry', () => {
    const random = rng(7);
    const jb = new JitterBuffer();
    // Up to 80 ms of extra delay per frame, uniformly spread.
    const { targetMs } = simulate(jb, { durationMs: 20_000, delayMs: () => random() * 80 });
    const stats = jb.stats();
    expect(stats.jitterMs).toBeGreaterThan(60);
    expect(targetMs.at(-1)!).toBeGreaterThan(80);
    expect(targetMs.at(-1)!).toBeLessThanOrEqual(200);
    // Frames may run dry while the target grows; once it has, they do not.
    expect(stats.underruns + stats.concealed).toBeLessThan(25);
    expect(stats.played).toBeGreaterThan(975);
  });

  it('drains a sender whose clock runs 0.5 % fast instead of growing without bound', () => {
    const jb = new JitterBuffer();
    const { depthMs } = simulate(jb, { durationMs: 60_000, senderFrameMs: 19.9 });
    const lastSecond = depthMs.slice(-375 - 190, -190); // before the 500 ms tail after the stream
    // Uncorrected, the buffer would be 300 ms deep after 60 s.
    expect(mean(lastSecond)).toBeLessThan(60);
    expect(jb.stats().driftDroppedSamples).toBeGreaterThan(10_000);
    expect(jb.stats().skipped).toBe(0);
  });

  it('drains depth left over from a burst once the network is steady again', () => {
    const jb = new JitterBuffer({ initialTargetMs: 20, minTargetMs: 20 });
    // 200 ms stall at 1 s: ten frames arrive at once, then the stream is steady.
    const { depthMs } = simulate(jb, {
      durationMs: 30_000,
      delayMs: (seq) => (seq >= 50 && seq < 60 ? (60 - seq) * 20 : 0),
    });
    expect(jb.stats().driftDroppedSamples).toBeGreaterThan(0);
    expect(mean(depthMs.slice(-375 - 190, -190))).toBeLessThan(60);
  });

  it('skips silent frames to drain a burst quickly, keeping every voiced frame', () => {
    const jb = new JitterBuffer({ initialTargetMs: 20, minTargetMs: 20 });
    const voiced = (seq: number) => seq % 10 < 5; // 100 ms of voice, 100 ms of pause
    const out = new Float32Array(QUANTUM);
    let next = 0;
    let voicedOut = 0;
    let depthAt4500Ms: number | undefined;
    for (let sample = 0; sample < 48_000 * 6; sample += QUANTUM) {
      const nowMs = (sample * 1000) / SAMPLE_RATE;
      // A 200 ms stall at 1 s: frames 50-59 arrive together at 1.2 s.
      const arrival = (seq: number) => (seq >= 50 && seq < 60 ? 1200 : seq * 20);
      while (next < 250 && arrival(next) <= nowMs) {
        jb.push(next, frameOf(voiced(next) ? 0.2 : 0), arrival(next));
        next++;
      }
      jb.read(out);
      for (const x of out) if (x > 0.1) voicedOut++;
      // The stall raised the target for the jitter window (1 s), then it falls at 50 ms/s.
      if (depthAt4500Ms === undefined && nowMs >= 4500) depthAt4500Ms = jb.stats().depthMs;
    }
    expect(depthAt4500Ms).toBeLessThanOrEqual(60);
    const stats = jb.stats();
    expect(stats.silentSkipped).toBeGreaterThan(0);
    // Every voiced frame was played whole (125 voiced frames × 960 samples, give or take drift stretching).
    expect(Math.abs(voicedOut - 125 * 960)).toBeLessThan(2000);
  });

  it('stretches frames for a sender whose clock runs 0.5 % slow', () => {
    const jb = new JitterBuffer({ initialTargetMs: 60, minTargetMs: 60 });
    simulate(jb, { durationMs: 60_000, senderFrameMs: 20.1 });
    const stats = jb.stats();
    expect(stats.driftInsertedSamples).toBeGreaterThan(0);
    expect(stats.underruns).toBe(0);
  });

  it('skips ahead when far more than maxBufferedMs is queued', () => {
    const jb = new JitterBuffer({ maxBufferedMs: 200, initialTargetMs: 40 });
    for (let seq = 0; seq < 30; seq++) jb.push(seq, frameOf(seq + 1), 0);
    expect(jb.stats().skipped).toBeGreaterThanOrEqual(20);
    expect(jb.stats().depthMs).toBeLessThanOrEqual(200);
  });
});

describe('stretchInto', () => {
  it('resamples a ramp to a shorter and a longer length, keeping both ends', () => {
    const ramp = Float32Array.from({ length: 961 }, (_, i) => i / 960);
    const shorter = new Float32Array(937);
    stretchInto(ramp, shorter, 937);
    expect(shorter[0]).toBe(0);
    expect(shorter[936]).toBeCloseTo(1, 6);
    expect(shorter[468]).toBeCloseTo(0.5, 3);
    const longer = new Float32Array(985);
    stretchInto(ramp, longer, 985);
    expect(longer[984]).toBeCloseTo(1, 6);
  });
});
