/**
 * Token bucket: `ratePerSecond` tokens flow in continuously up to `burst`; each event takes one.
 * The clock is injectable so tests can drive it; the default is performance.now().
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.lastMs = nowMs();
  }

  /** Takes `cost` tokens (one by default); false (and nothing taken) when fewer are left. */
  take(cost = 1): boolean {
    const now = this.nowMs();
    this.tokens = Math.min(
      this.burst,
      this.tokens + ((now - this.lastMs) * this.ratePerSecond) / 1000,
    );
    this.lastMs = now;
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }
}

/** Sustained control messages per second per connection. */
export const CONTROL_PER_SECOND = 20;
export const CONTROL_BURST = 50;
/** A rate-limited connection hears RATE_LIMITED at most this often, not once per dropped message. */
export const RATE_LIMIT_ERROR_INTERVAL_MS = 1_000;
