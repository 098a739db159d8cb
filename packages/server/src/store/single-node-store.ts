import type { RecoveredMessage } from './store.js';

/** The lease half of MessageStore for a store that only one node (this process) ever opens. */
export abstract class SingleNodeStore {
  /** A single-node store has no leases. */
  heartbeat(): Promise<void> {
    return Promise.resolve();
  }

  /** The only node is this one; recoverInterrupted covers its crashes. */
  recoverOrphans(): Promise<RecoveredMessage[]> {
    return Promise.resolve([]);
  }
}
