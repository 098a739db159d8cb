import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';

/**
 * Runs `send(i)` for i = 0..count-1, frame i no earlier than `startMs + i * frameMs` on the
 * monotonic clock. Deadlines are absolute, so timer lateness never accumulates into drift: a late
 * frame is followed by the next one at once. Without `frameMs` (fast mode) it only awaits `send`,
 * which carries the socket's backpressure.
 */
export async function sendPaced(
  count: number,
  send: (index: number) => Promise<void>,
  options: { frameMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const startMs = performance.now();
  for (let i = 0; i < count; i++) {
    options.signal?.throwIfAborted();
    if (options.frameMs !== undefined) {
      const waitMs = startMs + i * options.frameMs - performance.now();
      if (waitMs > 1) await sleep(waitMs, undefined, { signal: options.signal });
    }
    await send(i);
  }
}
