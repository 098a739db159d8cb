/*
 * The parts of a fan-out run that bench/relay-fanout.ts and bench/cluster.ts share: one talker
 * sending paced frames, the listener processes' delays gathered, every child closed.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type WebSocket from 'ws';
import { encodeFrame } from '@imv/protocol';
import { monotonicMs } from './bench-client.js';
import { nextMessage, sleep } from './bench-process.js';

export const FRAME_INTERVAL_MS = 20;
export const PAYLOAD_BYTES = 60; // a typical 24 kbps Opus packet
/** Frames sent before measuring, so the servers run JIT-compiled code when the clock starts. */
export const WARMUP_FRAMES = 50;

/** The value at percentile `p` of an ascending array (NaN when empty). */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Sends WARMUP_FRAMES + `seconds` of frames on `talker`, each carrying its send time, and calls
 * `onWarm` as the warm-up ends. Returns the number of frames sent.
 */
export async function sendPacedFrames(
  talker: WebSocket,
  streamId: number,
  seconds: number,
  onWarm: () => void,
): Promise<number> {
  const frameCount = WARMUP_FRAMES + Math.round((seconds * 1000) / FRAME_INTERVAL_MS);
  const payload = new Uint8Array(PAYLOAD_BYTES).fill(0x55);
  const payloadView = new DataView(payload.buffer);
  const start = performance.now();
  for (let seq = 0; seq < frameCount; seq++) {
    // Paced against the start time, not the previous tick, so timer lateness does not accumulate.
    const wait = start + seq * FRAME_INTERVAL_MS - performance.now();
    if (wait > 0) await sleep(wait);
    if (seq === WARMUP_FRAMES) onWarm();
    payloadView.setFloat64(0, monotonicMs());
    talker.send(encodeFrame({ flags: 0, streamId, sequence: seq, timestamp: seq * 960 }, payload));
  }
  return frameCount;
}

/** Frames the listener processes received after the warm-up, and their delays in ascending order. */
export async function gatherDelays(
  groups: ChildProcess[],
): Promise<{ delivered: number; delays: Float64Array }> {
  let delivered = 0;
  const parts: Float64Array[] = [];
  for (const child of groups) {
    const stats = nextMessage<{ type: string; received: number; delaysMs: Float64Array }>(
      child,
      'stats',
    );
    child.send({ type: 'stats' });
    const { received, delaysMs } = await stats;
    delivered += received;
    parts.push(delaysMs);
  }
  const delays = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (delays.set(p, at), at + p.length), 0);
  delays.sort();
  return { delivered, delays };
}

/** Tells the listener processes and the servers to close, and waits until every one has exited. */
export async function closeAll(servers: ChildProcess[], groups: ChildProcess[]): Promise<void> {
  for (const child of groups) child.send({ type: 'close' });
  for (const server of servers) server.send('close');
  await Promise.all(
    [...servers, ...groups].map((c) =>
      c.exitCode === null ? once(c, 'exit').then(() => undefined) : Promise.resolve(),
    ),
  );
}
