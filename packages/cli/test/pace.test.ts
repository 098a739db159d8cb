import { describe, expect, it } from 'vitest';
import { sendPaced, sendPacedStream } from '../src/outgoing/pace.js';
import type { PaceClock } from '../src/outgoing/pace.js';

/** A virtual clock: sleeping and slow sends move time forward, nothing waits for real. */
function virtualClock(): PaceClock & { advance(ms: number): void } {
  let nowMs = 1000;
  return {
    now: () => nowMs,
    sleep: (ms) => {
      nowMs += ms;
      return Promise.resolve();
    },
    advance: (ms) => {
      nowMs += ms;
    },
  };
}

describe('sendPaced', () => {
  it('sends frame i at start + i × 20 ms', async () => {
    const clock = virtualClock();
    const sentAt: number[] = [];
    await sendPaced(5, (_i) => Promise.resolve(void sentAt.push(clock.now() - 1000)), {
      frameMs: 20,
      clock,
    });
    expect(sentAt).toEqual([0, 20, 40, 60, 80]);
  });

  it('sends the first burstFrames at once, then one every frameMs (a rate-limited --fast send)', async () => {
    const clock = virtualClock();
    const sentAt: number[] = [];
    await sendPaced(6, (_i) => Promise.resolve(void sentAt.push(clock.now() - 1000)), {
      frameMs: 10,
      burstFrames: 3,
      clock,
    });
    expect(sentAt).toEqual([0, 0, 0, 10, 20, 30]);
  });

  it('catches up after a slow send instead of drifting', async () => {
    const clock = virtualClock();
    const sentAt: number[] = [];
    await sendPaced(
      6,
      (i) => {
        sentAt.push(clock.now() - 1000);
        // Frame 1 blocks for 50 ms (a stalled socket, a GC pause).
        if (i === 1) clock.advance(50);
        return Promise.resolve();
      },
      { frameMs: 20, clock },
    );
    // Frames 2 and 3 are late and go at once; from frame 4 on the original schedule holds.
    expect(sentAt).toEqual([0, 20, 70, 70, 80, 100]);
  });

  it('does not wait between frames in fast mode', async () => {
    const clock = virtualClock();
    const sentAt: number[] = [];
    await sendPaced(3, (_i) => Promise.resolve(void sentAt.push(clock.now() - 1000)), { clock });
    expect(sentAt).toEqual([0, 0, 0]);
  });

  it('stops before the next frame when aborted', async () => {
    const controller = new AbortController();
    const sent: number[] = [];
    const run = sendPaced(
      10,
      (i) => {
        sent.push(i);
        if (i === 2) controller.abort();
        return Promise.resolve();
      },
      { frameMs: 20, clock: virtualClock(), signal: controller.signal },
    );
    await expect(run).rejects.toThrow();
    expect(sent).toEqual([0, 1, 2]);
  });
});

async function* packetsAt(
  clock: ReturnType<typeof virtualClock>,
  arrivalMs: number[],
): AsyncGenerator<Uint8Array> {
  for (const [i, atMs] of arrivalMs.entries()) {
    const waitMs = 1000 + atMs - clock.now();
    if (waitMs > 0) clock.advance(waitMs);
    await Promise.resolve(); // a source hands packets over asynchronously
    yield new Uint8Array([i]);
  }
}

describe('sendPacedStream', () => {
  it('paces packets that arrive faster than real time like sendPaced, and marks only the last', async () => {
    const clock = virtualClock();
    const sent: [number, number, boolean][] = [];
    const count = await sendPacedStream(
      packetsAt(clock, [0, 0, 0, 0, 0]),
      (packet, i, last) => Promise.resolve(void sent.push([clock.now() - 1000, packet[0]!, last])),
      { frameMs: 20, clock },
    );
    expect(count).toBe(5);
    expect(sent).toEqual([
      [0, 0, false],
      [20, 1, false],
      [40, 2, false],
      [60, 3, false],
      [80, 4, true],
    ]);
  });

  it('sends packets that arrive in real time as they arrive (one held back for END)', async () => {
    const clock = virtualClock();
    const sentAt: number[] = [];
    await sendPacedStream(
      packetsAt(clock, [0, 20, 40, 60]),
      () => Promise.resolve(void sentAt.push(clock.now() - 1000)),
      { frameMs: 20, clock },
    );
    // Packet i goes when packet i + 1 exists (the schedule starts there); the last in its own slot.
    expect(sentAt).toEqual([20, 40, 60, 80]);
  });

  it('does not burst more than maxLagFrames after the source stalls', async () => {
    const clock = virtualClock();
    const sentAt: number[] = [];
    await sendPacedStream(
      packetsAt(clock, [0, 20, 40, 1000, 1000, 1000, 1000]),
      () => Promise.resolve(void sentAt.push(clock.now() - 1000)),
      { frameMs: 20, maxLagFrames: 2, clock },
    );
    // After a 1 s stall the frame due now and at most 2 late ones go at once (not all 4), then one per 20 ms.
    expect(sentAt).toEqual([20, 40, 1000, 1000, 1000, 1020, 1040]);
  });

  it('stops when the signal aborts while waiting for the source', async () => {
    const abort = new AbortController();
    async function* never(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(1);
      await new Promise(() => undefined);
    }
    const sending = sendPacedStream(never(), () => Promise.resolve(), { signal: abort.signal });
    abort.abort(new Error('stop'));
    await expect(sending).rejects.toThrow('stop');
  });
});
