import { describe, expect, it } from 'vitest';
import { sendPaced } from '../src/outgoing/pace.js';
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
    await sendPaced(5, (_i) => Promise.resolve(void sentAt.push(clock.now() - 1000)), { frameMs: 20, clock });
    expect(sentAt).toEqual([0, 20, 40, 60, 80]);
  });

  it('sends the first burstFrames at once, then one every frameMs (a rate-limited --fast send)', async () => {
    const clock = virtualClock();
    const sentAt: number[] = [];
    await sendPaced(6, (_i) => Promise.resolve(void sentAt.push(clock.now() - 1000)), { frameMs: 10, burstFrames: 3, clock });
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
