/*
 * Hands-free by headset: a Bluetooth headset's button (and a keyboard's media key, a lock screen's
 * play/pause) reaches the page as a Media Session "play" or "pause" action; either one toggles
 * hands-free talk, since a one-button headset cannot tell which the browser will send. The session
 * metadata says who is talking (title) in which room (artist), and playbackState is 'playing' while
 * this page talks. Browsers only route these actions to a page whose media is playing, so after the
 * first gesture a silent looping <audio> element keeps the session active. Where the Media Session
 * API is missing (older Safari, Firefox on some systems), none of this runs and nothing else changes.
 */
import { writeWav } from '@imv/media';
import type { Member } from '@imv/protocol';
import type { VoiceClient } from '../voice-client-api.js';

/** Low rate and long enough (some systems ignore media under 5 s) for a small silent file. */
const KEEPER_RATE_HZ = 8000;
const KEEPER_SEC = 6;

export class HeadsetControl {
  private readonly session: MediaSession | undefined;
  private readonly talkers = new Map<number, string>();
  private you: Member | undefined;
  private selfTalking = false;
  private keeper: HTMLAudioElement | undefined;

  constructor(
    private readonly room: string,
    private readonly name: string,
    client: VoiceClient,
    /** Start or stop hands-free talk. */
    toggle: () => void,
  ) {
    this.session = 'mediaSession' in navigator ? navigator.mediaSession : undefined;
    if (this.session === undefined) return;
    for (const action of ['play', 'pause'] as const) {
      try {
        this.session.setActionHandler(action, () => toggle());
      } catch {
        // An action this browser does not know: the other one may still work.
      }
    }
    client.on('joined', ({ you, live }) => {
      this.you = you;
      this.talkers.clear();
      for (const s of live) if (s.from.id !== you.id) this.talkers.set(s.streamId, s.from.name);
      this.render();
    });
    client.on('talk-started', ({ streamId, from }) => {
      if (from.id === this.you?.id) return;
      this.talkers.set(streamId, from.name);
      this.render();
    });
    client.on('talk-stopped', ({ streamId }) => {
      if (this.talkers.delete(streamId)) this.render();
    });
    this.render();
  }

  /** This page started or stopped talking. */
  setSelfTalking(talking: boolean): void {
    this.selfTalking = talking;
    this.render();
  }

  /**
   * Call from a user gesture: starts the silent element that keeps the session active, so the
   * headset button reaches the page while nothing else plays.
   */
  keepActive(): void {
    if (this.session === undefined || this.keeper?.paused === false) return;
    if (this.keeper === undefined) {
      const silence = writeWav(new Float32Array(KEEPER_RATE_HZ * KEEPER_SEC), KEEPER_RATE_HZ);
      this.keeper = document.createElement('audio');
      this.keeper.id = 'imv-headset-keeper';
      this.keeper.loop = true;
      this.keeper.src = URL.createObjectURL(new Blob([silence], { type: 'audio/wav' }));
    }
    this.keeper.play().catch(() => undefined); // refused (no gesture yet): the next gesture retries
  }

  private render(): void {
    const session = this.session;
    if (session === undefined) return;
    const talker = this.selfTalking ? this.name : this.talkers.values().next().value;
    try {
      session.metadata = new MediaMetadata({
        title: talker ?? 'Nobody is talking',
        artist: `#${this.room}`,
        album: 'imv',
      });
    } catch {
      // MediaMetadata missing while mediaSession exists (partial implementations): skip the text.
    }
    session.playbackState = this.selfTalking ? 'playing' : 'paused';
  }
}
