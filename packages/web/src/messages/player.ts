import type { VoiceMessage } from '@imv/protocol';
import type { MessageAudio } from './message-audio.js';

export const PLAYBACK_RATES = [1, 1.5, 2] as const;
export type PlaybackRate = (typeof PLAYBACK_RATES)[number];

export interface PlayerEvents {
  /** Something about playback changed (message, playing, position, rate): redraw. */
  change: () => void;
  /** The message played to its end. */
  ended: (message: VoiceMessage, auto: boolean) => void;
  /** The browser refused to play (autoplay policy) or the file failed. */
  error: (message: VoiceMessage, problem: 'blocked' | 'failed', detail: string) => void;
}

/**
 * Plays stored messages through one <audio> element routed into the client's Web Audio graph
 * (createMediaElementSource -> audio.output), so messages and live talk share one output that tests
 * can tap. The element keeps `preservesPitch`, so 1.5x and 2x speed up speech without a chipmunk voice.
 */
export class MessagePlayer {
  readonly element: HTMLAudioElement;
  private message: VoiceMessage | undefined;
  private objectUrl: string | undefined;
  private autoPlay = false;
  private readonly positionsSec = new Map<number, number>();
  private readonly listeners: { [E in keyof PlayerEvents]: Set<PlayerEvents[E]> } = {
    change: new Set(),
    ended: new Set(),
    error: new Set(),
  };
  private rateValue: PlaybackRate = 1;
  private frame = 0;
  private loadToken = 0;

  constructor(
    context: AudioContext,
    output: AudioNode,
    private readonly files: MessageAudio,
  ) {
    this.element = document.createElement('audio');
    this.element.id = 'imv-player';
    this.element.preload = 'auto';
    keepPitch(this.element);
    // Once routed into Web Audio the element is silent on its own; sound only leaves via `output`.
    context.createMediaElementSource(this.element).connect(output);
    this.element.addEventListener('ended', () => this.onEnded());
    this.element.addEventListener('play', () => this.onPlayState());
    this.element.addEventListener('pause', () => this.onPlayState());
    this.element.addEventListener('ratechange', () => this.emit('change'));
    this.element.addEventListener('loadedmetadata', () => this.emit('change'));
  }

  on<E extends keyof PlayerEvents>(event: E, listener: PlayerEvents[E]): () => void {
    this.listeners[event].add(listener);
    return () => this.listeners[event].delete(listener);
  }

  get currentId(): number | undefined {
    return this.message?.id;
  }

  get playing(): boolean {
    return this.message !== undefined && !this.element.paused && !this.element.ended;
  }

  /** True while the message playing was started by auto-play (not by the user). */
  get auto(): boolean {
    return this.autoPlay;
  }

  get rate(): PlaybackRate {
    return this.rateValue;
  }

  set rate(rate: PlaybackRate) {
    this.rateValue = rate;
    this.element.defaultPlaybackRate = rate;
    this.element.playbackRate = rate;
    keepPitch(this.element);
    this.emit('change');
  }

  /** Where a message is, 0..1 (the current one live, others where they were left). */
  progress(message: VoiceMessage): number {
    const durationSec = this.durationSec(message);
    const atSec =
      message.id === this.message?.id
        ? this.element.currentTime
        : (this.positionsSec.get(message.id) ?? 0);
    return durationSec > 0 ? Math.min(1, Math.max(0, atSec / durationSec)) : 0;
  }

  durationSec(message: VoiceMessage): number {
    const fromElement = message.id === this.message?.id ? this.element.duration : NaN;
    return Number.isFinite(fromElement) && fromElement > 0
      ? fromElement
      : message.durationMs / 1000;
  }

  /** Starts (or resumes) a message; `auto` marks auto-play, which pauses for talking and chains on. */
  async play(message: VoiceMessage, options: { auto?: boolean } = {}): Promise<void> {
    this.autoPlay = options.auto ?? false;
    if (message.id !== this.message?.id || !this.objectUrl) {
      const loaded = await this.load(message);
      if (!loaded) return;
    }
    if (this.element.ended) this.element.currentTime = 0;
    this.element.playbackRate = this.rateValue;
    keepPitch(this.element);
    try {
      await this.element.play();
    } catch (error) {
      const name = error instanceof DOMException ? error.name : '';
      if (name === 'AbortError') return; // a newer load or pause replaced this play
      this.emit(
        'error',
        message,
        name === 'NotAllowedError' ? 'blocked' : 'failed',
        error instanceof Error ? error.message : String(error),
      );
    }
  }

  pause(): void {
    this.element.pause();
  }

  /** Moves a message's position; the current one jumps, others start there when played. */
  async seek(message: VoiceMessage, fraction: number): Promise<void> {
    const clamped = Math.min(1, Math.max(0, fraction));
    if (message.id !== this.message?.id) {
      this.positionsSec.set(message.id, clamped * this.durationSec(message));
      const wasPlaying = this.playing;
      if (wasPlaying) {
        await this.play(message);
        return;
      }
      this.emit('change');
      return;
    }
    const atSec = clamped * this.durationSec(message);
    this.element.currentTime = atSec;
    this.positionsSec.set(message.id, atSec);
    this.emit('change');
  }

  private async load(message: VoiceMessage): Promise<boolean> {
    const token = ++this.loadToken;
    if (this.message) this.positionsSec.set(this.message.id, this.element.currentTime);
    this.element.pause();
    this.message = message;
    this.emit('change');
    let blob: Blob;
    try {
      blob = await this.files.fetch(message);
    } catch (error) {
      if (token === this.loadToken) {
        this.message = undefined;
        this.emit(
          'error',
          message,
          'failed',
          error instanceof Error ? error.message : String(error),
        );
        this.emit('change');
      }
      return false;
    }
    if (token !== this.loadToken) return false;
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = URL.createObjectURL(blob);
    this.element.src = this.objectUrl;
    const startSec = this.positionsSec.get(message.id) ?? 0;
    const durationSec = message.durationMs / 1000;
    // A message left at its very end starts again from the top.
    this.element.currentTime = startSec < durationSec - 0.05 ? startSec : 0;
    return true;
  }

  private onEnded(): void {
    const message = this.message;
    if (!message) return;
    this.positionsSec.delete(message.id);
    const auto = this.autoPlay;
    this.autoPlay = false;
    this.onPlayState();
    this.emit('ended', message, auto);
  }

  private onPlayState(): void {
    cancelAnimationFrame(this.frame);
    if (this.playing) {
      // Redraw progress each frame while playing; timeupdate alone fires only ~4 times a second.
      const tick = () => {
        this.emit('change');
        if (this.playing) this.frame = requestAnimationFrame(tick);
      };
      this.frame = requestAnimationFrame(tick);
    }
    if (this.message && !this.playing && !this.element.ended) {
      this.positionsSec.set(this.message.id, this.element.currentTime);
    }
    this.emit('change');
  }

  private emit<E extends keyof PlayerEvents>(event: E, ...args: Parameters<PlayerEvents[E]>): void {
    for (const listener of this.listeners[event]) {
      (listener as (...a: Parameters<PlayerEvents[E]>) => void)(...args);
    }
  }
}

/** Faster playback without raising the pitch (Safari before 17 knows only the prefixed property). */
function keepPitch(element: HTMLMediaElement): void {
  element.preservesPitch = true;
  (element as HTMLMediaElement & { webkitPreservesPitch?: boolean }).webkitPreservesPitch = true;
}
