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
      const waitMs =
        startMs + (i < burst ? 0 : i - burst + (burst > 0 ? 1 : 0)) * options.frameMs - clock.now();
      if (waitMs > 1) await clock.sleep(waitMs, options.signal);
    }
    await send(i);
  }
}

/** Rejects with the signal's reason when it aborts; never settles otherwise. */
function abortion(signal: AbortSignal | undefined): Promise<never> {
  const reason = (s: AbortSignal): Error =>
    s.reason instanceof Error ? s.reason : new Error('aborted');
  return new Promise((_, reject) => {
    if (signal === undefined) return;
    if (signal.aborted) reject(reason(signal));
    else signal.addEventListener('abort', () => reject(reason(signal)), { once: true });
  });
}

/**
 * sendPaced for packets that are still being produced (a live stdin): each packet goes out as soon as it exists
 * and its slot on the same schedule as sendPaced has come, so a source faster than real time is paced like a file
 * and a real-time source goes out as it arrives. A source that stalls does not earn a burst afterwards beyond
 * `maxLagFrames` (the schedule is moved on). One packet is held back so the last can carry END: `send(packet,
 * index, last)`. Returns the number of packets sent.
 */
export async function sendPacedStream(
  packets: AsyncIterable<Uint8Array>,
  send: (packet: Uint8Array, index: number, last: boolean) => Promise<void>,
  options: {
    frameMs?: number;
    burstFrames?: number;
    maxLagFrames?: number;
    signal?: AbortSignal;
    clock?: PaceClock;
  } = {},
): Promise<number> {
  const clock = options.clock ?? realClock;
  const aborted = abortion(options.signal);
  aborted.catch(() => undefined);
  const iterator = packets[Symbol.asyncIterator]();
  let startMs: number | undefined;
  let index = 0;
  let held: Uint8Array | undefined;
  const sendHeld = async (last: boolean): Promise<void> => {
    options.signal?.throwIfAborted();
    startMs ??= clock.now();
    if (options.frameMs !== undefined) {
      const burst = options.burstFrames ?? 0;
      const slot = index < burst ? 0 : index - burst + (burst > 0 ? 1 : 0);
      let waitMs = startMs + slot * options.frameMs - clock.now();
      const maxLagMs = (options.maxLagFrames ?? 50) * options.frameMs;
      if (waitMs < -maxLagMs) {
        startMs += -maxLagMs - waitMs;
        waitMs = -maxLagMs;
      }
      if (waitMs > 1) await clock.sleep(waitMs, options.signal);
    }
    await send(held!, index, last);
    index++;
  };
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done === true) break;
      if (held !== undefined) await sendHeld(false);
      held = next.value;
    }
    if (held !== undefined) await sendHeld(true);
  } finally {
    // Ends the producer (e.g. stops reading stdin) when sending stops early.
    void iterator.return?.();
  }
  return index;
}
