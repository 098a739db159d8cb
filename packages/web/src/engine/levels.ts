/** Meter range: -60 dBFS shows as 0, 0 dBFS as 1, linear in dB in between (speech sits around 0.5-0.8). */
const METER_FLOOR_DB = -60;

/** Root mean square of `samples[0..length)`. */
export function rms(samples: Float32Array, length = samples.length): number {
  let sum = 0;
  for (let i = 0; i < length; i++) {
    const s = samples[i]!;
    sum += s * s;
  }
  return length > 0 ? Math.sqrt(sum / length) : 0;
}

/** Maps an RMS amplitude to the 0..1 meter level used by the mic-level and live-level events. */
export function meterLevel(rmsAmplitude: number): number {
  if (rmsAmplitude <= 0) return 0;
  const db = 20 * Math.log10(rmsAmplitude);
  return Math.min(1, Math.max(0, (db - METER_FLOOR_DB) / -METER_FLOOR_DB));
}

/**
 * Soft clipper for the mix of several talkers: linear up to the knee, then a tanh curve that meets
 * it with the same slope and never exceeds ±1, so two loud talkers saturate instead of wrapping.
 */
const KNEE = 0.6;
export function softClip(x: number): number {
  const a = Math.abs(x);
  if (a <= KNEE) return x;
  const y = KNEE + (1 - KNEE) * Math.tanh((a - KNEE) / (1 - KNEE));
  return x < 0 ? -y : y;
}
