import { SAMPLE_RATE_HZ } from '@imv/protocol';
import { MediaError } from './errors.js';

/** libsamplerate-js accepts 1..192000 Hz, and libsamplerate itself a ratio of at most 256. */
export const MIN_RESAMPLE_RATE_HZ = Math.ceil(SAMPLE_RATE_HZ / 256);
export const MAX_RESAMPLE_RATE_HZ = 192_000;

type LibSampleRate = typeof import('@alexanderolsen/libsamplerate-js');

export async function loadLibSampleRate(): Promise<LibSampleRate> {
  // Lazy, so browser bundles that never resample do not carry its 2 MB of WASM. The package is CommonJS (UMD):
  // Node's ESM loader puts it on `default`, while tsx and some bundlers hand over module.exports itself.
  const ns = await import('@alexanderolsen/libsamplerate-js');
  return typeof ns.create === 'function' ? ns : ns.default;
}

export function checkRate(rateHz: number, what: string): void {
  if (!Number.isInteger(rateHz) || rateHz < MIN_RESAMPLE_RATE_HZ || rateHz > MAX_RESAMPLE_RATE_HZ) {
    throw new MediaError(
      'BAD_FORMAT',
      `cannot resample ${what} ${rateHz} Hz; rates from ${MIN_RESAMPLE_RATE_HZ} to ${MAX_RESAMPLE_RATE_HZ} Hz are supported`,
    );
  }
}

/**
 * Resamples mono audio with libsamplerate (WASM; SRC_SINC_MEDIUM_QUALITY: 97 dB SNR, 90 % bandwidth).
 * Async because the WASM module loads asynchronously. Returns the same array when the rates are equal.
 */
export async function resample(
  samples: Float32Array,
  fromRateHz: number,
  toRateHz: number,
): Promise<Float32Array> {
  if (fromRateHz === toRateHz) return samples;
  checkRate(fromRateHz, 'from');
  checkRate(toRateHz, 'to');
  if (samples.length === 0) return new Float32Array(0);
  const lib = await loadLibSampleRate();
  const src = await lib.create(1, fromRateHz, toRateHz, {
    converterType: lib.ConverterType.SRC_SINC_MEDIUM_QUALITY,
  });
  try {
    return src.simple(samples);
  } finally {
    src.destroy();
  }
}

/** Resamples mono audio to 48 kHz, the only rate on imv's wire (identity at 48 kHz). */
export function resampleTo48k(samples: Float32Array, fromRateHz: number): Promise<Float32Array> {
  return resample(samples, fromRateHz, SAMPLE_RATE_HZ);
}
