import { fftInPlace } from './fft.js';

export interface CorrelateOptions {
  /** Largest |lag| searched, in samples. Default 48000 (1 s at 48 kHz). */
  maxLagSamples?: number;
}

export interface Correlation {
  /** Normalised cross-correlation at the best lag, -1..1 (sign kept: -1 is an inverted copy). */
  correlation: number;
  /** The candidate lags the reference by this many samples: candidate[i + lag] ~ reference[i]. */
  lagSamples: number;
  /** Least-squares gain of the candidate relative to the reference over the overlap. */
  gain: number;
}

/** Root mean square of the samples (0 for an empty array). */
export function rms(samples: Float32Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  return Math.sqrt(sum / samples.length);
}

function prefixSquares(x: Float32Array): Float64Array {
  const out = new Float64Array(x.length + 1);
  for (let i = 0; i < x.length; i++) out[i + 1] = out[i]! + x[i]! * x[i]!;
  return out;
}

/**
 * Best normalised cross-correlation between two signals over lags in ±maxLagSamples, each lag scored over the
 * part where both signals overlap. The dot products for all lags come from one FFT pass (O(N log N)), so 10 s
 * of 48 kHz audio takes tens of milliseconds; lags whose overlap is under half the shorter signal are ignored
 * so a few coincident samples at the edges cannot win.
 */
export function correlate(
  reference: Float32Array,
  candidate: Float32Array,
  options: CorrelateOptions = {},
): Correlation {
  const n = reference.length;
  const m = candidate.length;
  const maxLag = options.maxLagSamples ?? 48_000;
  const none: Correlation = { correlation: 0, lagSamples: 0, gain: 0 };
  if (n === 0 || m === 0) return none;
  const minOverlap = Math.max(1, Math.floor(Math.min(n, m) / 2));
  const lagLow = Math.max(-maxLag, -(n - minOverlap));
  const lagHigh = Math.min(maxLag, m - minOverlap);
  if (lagLow > lagHigh) return none;

  // No circular wrap-around for lags in [lagLow, lagHigh] when size >= max(n, m) + max |lag|.
  let size = 1;
  while (size < Math.max(n, m) + Math.max(-lagLow, lagHigh) + 1) size <<= 1;
  // Both real signals ride in one complex FFT: z = reference + i * candidate.
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  for (let i = 0; i < n; i++) re[i] = reference[i]!;
  for (let i = 0; i < m; i++) im[i] = candidate[i]!;
  fftInPlace(re, im, false);
  // Separate R = (Z[k] + conj Z[-k]) / 2 and C = (Z[k] - conj Z[-k]) / 2i, then form conj(R) * C.
  const pr = new Float64Array(size);
  const pi = new Float64Array(size);
  for (let k = 0; k < size; k++) {
    const j = (size - k) & (size - 1);
    const ar = re[k]!;
    const ai = im[k]!;
    const br = re[j]!;
    const bi = im[j]!;
    const rr = (ar + br) / 2;
    const ri = (ai - bi) / 2;
    const cr = (ai + bi) / 2;
    const ci = (br - ar) / 2;
    pr[k] = rr * cr + ri * ci;
    pi[k] = rr * ci - ri * cr;
  }
  fftInPlace(pr, pi, true);
  // pr[lag mod size] * size = sum_i reference[i] * candidate[i + lag].

  const refEnergy = prefixSquares(reference);
  const candEnergy = prefixSquares(candidate);
  const floor = 1e-12 * Math.max(refEnergy[n]!, candEnergy[m]!);
  let best = none;
  let bestAbs = -1;
  for (let lag = lagLow; lag <= lagHigh; lag++) {
    const refStart = Math.max(0, -lag);
    const refEnd = Math.min(n, m - lag);
    const er = refEnergy[refEnd]! - refEnergy[refStart]!;
    const ec = candEnergy[refEnd + lag]! - candEnergy[refStart + lag]!;
    if (er <= floor || ec <= floor) continue;
    const dot = pr[lag < 0 ? lag + size : lag]! / size;
    const corr = dot / Math.sqrt(er * ec);
    if (Math.abs(corr) > bestAbs) {
      bestAbs = Math.abs(corr);
      best = { correlation: Math.max(-1, Math.min(1, corr)), lagSamples: lag, gain: dot / er };
    }
  }
  return best;
}
