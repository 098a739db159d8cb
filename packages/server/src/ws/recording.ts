import type { MessageStatus, VoiceMessage } from '@imv/protocol';
import type { Logger } from 'pino';
import type { MessageStore, StoredFrame } from '../store/store.js';

/** A batch is written when it reaches this many frames (0.5 s of audio)… */
export const FLUSH_FRAMES = 25;
/** …or this long after its first frame arrived, whichever comes first. A crash loses at most this. */
export const FLUSH_MS = 250;

/**
 * The frames of one live message on their way to the store: batched so that one transaction
 * (and one fsync) covers many frames, and written in order through a promise chain.
 */
export class Recording {
  /** Frames received (with payload), including any the store later ignores as duplicates. */
  frameCount = 0;
  private pending: StoredFrame[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: MessageStore,
    readonly messageId: number,
    private readonly log: Logger,
  ) {}

  add(seq: number, ts: number, payload: Uint8Array, flags = 0): void {
    this.pending.push({ sequence: seq, timestamp: ts, payload, flags });
    this.frameCount++;
    if (this.pending.length >= FLUSH_FRAMES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.writes = this.writes.then(() =>
      this.store.appendFrames(this.messageId, batch).catch((err: unknown) => {
        // Keep the frames: the final transaction in finish() tries them again.
        this.pending.unshift(...batch);
        this.log.error(
          { err, messageId: this.messageId, frames: batch.length },
          'frame batch write failed',
        );
      }),
    );
  }

  /** Writes what is left and the final status in one transaction; resolves once committed. */
  async finish(status: Exclude<MessageStatus, 'recording'>): Promise<VoiceMessage> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writes;
    const last = this.pending;
    this.pending = [];
    return this.store.finishMessage(this.messageId, status, last);
  }
}
