/*
 * The walkie-talkie cue for hands-free talk: a short tone when talking starts (rising) and stops
 * (falling, the "roger beep"). It is made in the page's AudioContext and goes to the page's output
 * only; the microphone path never sees it, so the other side does not hear it.
 */

/** Start cue: two rising tones; stop cue: the same, falling. */
export const ROGER_TONES_HZ = { start: [1200, 1600], stop: [1600, 1200] } as const;
const TONE_SEC = 0.07;
const LEVEL = 0.25;
/** Fade in/out per tone, so the tone starts and ends without a click. */
const RAMP_SEC = 0.005;

export function playRogerBeep(
  context: AudioContext,
  output: AudioNode,
  kind: 'start' | 'stop',
): void {
  if (context.state !== 'running') return; // no sound allowed yet: a cue nobody hears is fine
  let at = context.currentTime + 0.01;
  for (const hz of ROGER_TONES_HZ[kind]) {
    const tone = new OscillatorNode(context, { type: 'sine', frequency: hz });
    const gain = new GainNode(context, { gain: 0 });
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(LEVEL, at + RAMP_SEC);
    gain.gain.setValueAtTime(LEVEL, at + TONE_SEC - RAMP_SEC);
    gain.gain.linearRampToValueAtTime(0, at + TONE_SEC);
    tone.connect(gain).connect(output);
    tone.start(at);
    tone.stop(at + TONE_SEC);
    tone.addEventListener('ended', () => gain.disconnect());
    at += TONE_SEC;
  }
}
