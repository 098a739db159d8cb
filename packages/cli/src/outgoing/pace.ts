import { setTimeout as sleepMs } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';

/** Time source for sendPaced; tests pass a virtual one. */
export interface PaceClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const realClock: PaceClock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleepMs(ms, undefined, { signal }),
};

/**
 * Runs `send(i)` for i = 0..count-1, frame i no earlier than `start + i * frameMs` on the
 * monotonic clock. Deadlines are absolute, so timer lateness or a slow send never accumulates into
 * drift: a late frame is followed by the next one at once. The first `burstFrames` frames go at
 * once (a server's rate-limit burst). Without `frameMs` (fast mode) it only
 * awaits `send`, which carries the socket's backpressure.
 */
export async function sendPaced(
  count: number,
  send: (index: number) => Promise<void>,
  options: { frameMs?: number; burstFrames?: number; signal?: AbortSignal; clock?: PaceClock } = {},
): Promise<void> {
  const clock = options.clock ?? realClock;
  const startMs = clock.now();
  for (let i = 0; i < count; i++) {
    options.signal?.throwIfAborted();
    if (options.frameMs !== undefined) {
      const burst = options.burstFrames ?? 0;
      const waitMs = startMs + (i < burst ? 0 : i - burst + (burst > 0 ? 1 : 0)) * options.frameMs - clock.now();
      if (waitMs > 1) await clock.sleep(waitMs, options.signal);
    }
    await send(i);
  }
}
