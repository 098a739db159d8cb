/*
 * Live talk and catch-up share one output. When someone starts talking live while a message
 * auto-plays, the message pauses where it is and the live talk plays; once every live stream has
 * played out on this page (not just stopped: the jitter buffer still holds its tail), auto-play
 * resumes that message from there. A message the user started by hand keeps playing, and live talk
 * is muted meanwhile (it then counts as unheard and auto-plays later).
 */
import type { AutoPlay } from '../messages/auto-play.js';
import type { MessagePlayer } from '../messages/player.js';
import type { VoiceClient } from '../voice-client-api.js';

export class LiveHandover {
  /** Streams between talk-started and talk-stopped. */
  private readonly live = new Set<number>();
  /** Streams whose audio is playing here: first sample .. last sample. */
  private readonly playingOut = new Set<number>();
  private muted = false;

  constructor(
    private readonly client: VoiceClient,
    private readonly player: MessagePlayer,
    private readonly autoPlay: AutoPlay,
  ) {
    player.on('change', () => this.syncMute());
    client.on('live-playout', (streamId, playing) => {
      if (playing) this.playingOut.add(streamId);
      else this.playingOut.delete(streamId);
      this.update();
    });
  }

  /** After a (re)join: the streams live right now. */
  joined(streamIds: readonly number[]): void {
    this.live.clear();
    for (const id of streamIds) this.live.add(id);
    this.update();
  }

  started(streamId: number): void {
    this.live.add(streamId);
    this.update();
  }

  stopped(streamId: number): void {
    this.live.delete(streamId);
    this.update();
  }

  private update(): void {
    if (this.live.size > 0 || this.playingOut.size > 0) this.autoPlay.hold('live');
    else this.autoPlay.release('live');
    // The hold paused an auto-played message: unmute now, before the live stream's first sample.
    this.syncMute();
  }

  /** Live talk is muted exactly while a message plays, so the two never mix. */
  private syncMute(): void {
    if (this.player.playing === this.muted) return;
    this.muted = this.player.playing;
    this.client.setLiveMuted(this.muted);
  }
}
