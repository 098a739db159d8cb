import { TokenBucket } from '../ws/token-bucket.js';

/** Room-key checks that need a scrypt hash, per client IP address: a burst, then a steady rate. */
export const KEY_ATTEMPT_BURST = 5;
export const KEY_ATTEMPTS_PER_SECOND = 1;
/** One client per address: '::ffff:10.0.0.2' (IPv4 on a dual-stack socket) and '10.0.0.2' are the same. */
export function addressKey(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:(?=\d+\.)/i, '');
}

/** Above this many tracked addresses, idle ones (bucket full again) are forgotten. */
const MAX_TRACKED = 4096;

/**
 * Limits room-key guesses per client address, over REST and WebSocket alike. Only checks that cost
 * a hash count: a key the server already verified (VerifiedKeyCache) is free, so a household that
 * knows the key never meets the limit.
 */
export class KeyAttemptLimiter {
  private readonly buckets = new Map<string, { bucket: TokenBucket; lastMs: number }>();

  constructor(
    readonly burst = KEY_ATTEMPT_BURST,
    readonly ratePerSecond = KEY_ATTEMPTS_PER_SECOND,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** Takes one attempt for `client`; false when it has none left. */
  take(client: string): boolean {
    const now = this.nowMs();
    let entry = this.buckets.get(client);
    if (entry === undefined) {
      if (this.buckets.size >= MAX_TRACKED) this.forgetIdle(now);
      entry = { bucket: new TokenBucket(this.ratePerSecond, this.burst, this.nowMs), lastMs: now };
      this.buckets.set(client, entry);
    }
    entry.lastMs = now;
    return entry.bucket.take();
  }

  private forgetIdle(now: number): void {
    const refillMs = (this.burst / this.ratePerSecond) * 1000;
    for (const [client, entry] of this.buckets)
      if (now - entry.lastMs >= refillMs) this.buckets.delete(client);
  }
}
