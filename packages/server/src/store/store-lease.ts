import type { Logger } from 'pino';
import type { MessageStore, RecoveredMessage } from './store.js';

/** How often a node renews its lease in a shared store. */
export const LEASE_HEARTBEAT_MS = 2_000;
/** A node whose lease is this old is taken as dead: its 'recording' messages are finalised as partial. */
export const LEASE_STALE_MS = 10_000;

export interface StoreLeaseOptions {
  heartbeatMs?: number;
  staleMs?: number;
  log: Logger;
  /** Messages of a dead node this node finalised (each reported by one node only). */
  onRecovered(messages: RecoveredMessage[]): void;
  /** The store answered (true) or failed (false) a heartbeat; called on changes only. */
  onReachability?(reachable: boolean): void;
}

/**
 * The node's lease in a shared store, and the sweep that finalises what dead nodes left
 * 'recording'. Both run on the database clock (store.heartbeat / recoverOrphans), so nodes with
 * skewed clocks still agree on who is dead. Does nothing useful (and costs nothing) on SQLite.
 */
export class StoreLease {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private reachable = true;
  private readonly heartbeatMs: number;
  private readonly staleMs: number;

  constructor(
    private readonly store: MessageStore,
    private readonly options: StoreLeaseOptions,
  ) {
    this.heartbeatMs = options.heartbeatMs ?? LEASE_HEARTBEAT_MS;
    this.staleMs = options.staleMs ?? LEASE_STALE_MS;
  }

  start(): void {
    if (this.store.kind === 'sqlite' || this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.tick());
    }, this.heartbeatMs);
    this.timer.unref();
    this.running = this.running.then(() => this.tick());
  }

  /** One heartbeat and one sweep; never rejects. */
  async tick(): Promise<void> {
    try {
      await this.store.heartbeat();
      const recovered = await this.store.recoverOrphans(this.staleMs);
      this.setReachable(true);
      if (recovered.length > 0) {
        this.options.log.warn(
          { messages: recovered.map((r) => r.message.id) },
          'messages left recording by a node that is gone marked partial',
        );
        this.options.onRecovered(recovered);
      }
    } catch (err) {
      if (this.reachable) this.options.log.error({ err }, 'store lease heartbeat failed');
      this.setReachable(false);
    }
  }

  private setReachable(reachable: boolean): void {
    if (reachable === this.reachable) return;
    this.reachable = reachable;
    if (reachable) this.options.log.info('store reachable again');
    this.options.onReachability?.(reachable);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
