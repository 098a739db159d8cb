/*
 * Sound unlock (browser autoplay rules): live audio needs a running AudioContext, and voice messages
 * (an <audio> element) need a user activation too. Until both hold, the status area offers "Tap to
 * enable sound" and auto-play waits; the first tap or key anywhere counts as the gesture.
 */
import type { AutoPlay } from '../messages/auto-play.js';
import type { VoiceClient } from '../voice-client-api.js';
import type { StatusArea } from './status-area.js';

export interface SoundUnlock {
  /** Resumes the AudioContext if needed (call from a gesture) and updates the banner and auto-play. */
  enable(): Promise<void>;
  /** Re-checks the state, e.g. after the player was blocked. */
  update(): void;
}

export function setUpSoundUnlock(
  client: VoiceClient,
  status: StatusArea,
  autoPlay: () => AutoPlay,
): SoundUnlock {
  const activation = (navigator as Navigator & { userActivation?: { hasBeenActive: boolean } })
    .userActivation;
  // Media elements need a user activation as well as a running AudioContext in most browsers.
  const soundReady = () => client.audio.unlocked && (activation?.hasBeenActive ?? true);
  const update = () => {
    const ready = soundReady();
    status.setSoundNeeded(!ready);
    if (ready) autoPlay().release('locked');
    else autoPlay().hold('locked');
  };
  async function enable(): Promise<void> {
    // The gesture itself may be what made soundReady() true (user activation), so always update.
    if (!client.audio.unlocked) await client.audio.unlock();
    update();
  }
  // Capture phase, so nothing can swallow the gesture.
  for (const type of ['pointerdown', 'keydown'] as const) {
    window.addEventListener(type, () => void enable(), { capture: true });
  }
  client.audio.context.addEventListener('statechange', update);
  // Browsers do not announce every change of user activation; re-check while sound is still locked.
  setInterval(() => {
    if (autoPlay().held('locked')) update();
  }, 1000);
  return { enable, update };
}
