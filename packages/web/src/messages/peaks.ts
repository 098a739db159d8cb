/** Bars drawn per waveform, whatever the message length. */
export const WAVEFORM_BARS = 48;
/** Smallest bar height, so silence still shows as a line and the slider has something to click. */
export const MIN_PEAK = 0.04;

/**
 * Splits samples into `bars` equal buckets and keeps each bucket's peak |amplitude|, scaled so the
 * loudest bar is 1. Done once per message; the result is cached, never recomputed per render.
 */
export function computePeaks(samples: Float32Array, bars = WAVEFORM_BARS): number[] {
  const peaks = new Array<number>(bars).fill(0);
  if (samples.length === 0 || bars <= 0) return peaks.fill(MIN_PEAK);
  for (let bar = 0; bar < bars; bar++) {
    const start = Math.floor((bar * samples.length) / bars);
    const end = Math.max(start + 1, Math.floor(((bar + 1) * samples.length) / bars));
    let peak = 0;
    for (let i = start; i < end && i < samples.length; i++) {
      const v = Math.abs(samples[i]!);
      if (v > peak) peak = v;
    }
    peaks[bar] = peak;
  }
  const loudest = Math.max(...peaks);
  return peaks.map((p) => (loudest > 0 ? Math.max(MIN_PEAK, round3(p / loudest)) : MIN_PEAK));
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
