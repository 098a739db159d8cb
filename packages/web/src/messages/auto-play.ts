import type { VoiceMessage } from '@imv/protocol';
import type { HeardStore } from './heard-store.js';
import { nextUnheard, type MessageStore } from './message-store.js';
import type { MessagePlayer } from './player.js';

/** Why auto-play waits: sound not unlocked yet, the user is talking, someone is talking live. */
export type HoldReason = 'locked' | 'talking' | 'live';

/**
 * Plays unheard messages one after another, oldest first. It waits while anything holds it; a
 * message cut short by a hold (the user starts talking, someone talks live) resumes where it was
 * once every hold has ended. Pausing by hand stops the chain until the user plays something again.
 */
export class AutoPlay {
  private readonly holds = new Set<HoldReason>();
  private pausedByHold: VoiceMessage | undefined;
  private stoppedByUser = false;
  private readonly failed = new Set<number>();

  constructor(
    private readonly player: MessagePlayer,
    private readonly store: MessageStore,
    private readonly heard: HeardStore,
    private readonly onHeard: (message: VoiceMessage) => void,
    /** The page has the room's passphrase: end-to-end encrypted messages auto-play too. */
    private readonly playEncrypted = false,
  ) {
    player.on('ended', (message, auto) => {
      const wasUnheard = !heard.has(message.id);
      this.markHeard(message);
      if (auto || wasUnheard) this.poke();
    });
    player.on('error', (message, problem) => {
      if (problem === 'blocked') this.hold('locked');
      else this.failed.add(message.id);
      this.poke();
    });
  }

  /** A message that cannot be played (undecryptable) is skipped from now on. */
  skip(id: number): void {
    this.failed.add(id);
  }

  hold(reason: HoldReason): void {
    this.holds.add(reason);
    if (this.player.playing && this.player.auto) {
      this.pausedByHold = this.store.get(this.player.currentId ?? -1);
      this.player.pause();
    }
  }

  release(reason: HoldReason): void {
    if (!this.holds.delete(reason)) return;
    this.poke();
  }

  held(reason: HoldReason): boolean {
    return this.holds.has(reason);
  }

  /** The user paused or played something by hand. */
  userAction(kind: 'pause' | 'play'): void {
    this.pausedByHold = undefined;
    this.stoppedByUser = kind === 'pause';
  }

  markHeard(message: VoiceMessage): void {
    if (this.heard.add(message.id)) this.onHeard(message);
  }

  /** Starts the next unheard message when nothing holds auto-play. */
  poke(): void {
    if (this.holds.size > 0 || this.player.playing || this.stoppedByUser) return;
    const resume = this.pausedByHold;
    this.pausedByHold = undefined;
    if (resume && !this.heard.has(resume.id) && this.store.get(resume.id) !== undefined) {
      void this.player.play(resume, { auto: true });
      return;
    }
    const next = nextUnheard(
      this.store.all(),
      (id) => this.heard.has(id),
      this.failed,
      this.playEncrypted,
    );
    if (next) void this.player.play(next, { auto: true });
  }
}
