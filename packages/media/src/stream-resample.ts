import { SAMPLE_RATE_HZ } from '@imv/protocol';
import { checkRate, loadLibSampleRate } from './resample.js';

/** Zeros fed per step at the end of a stream to push libsamplerate's filter delay out. */
const TAIL_CHUNK_SAMPLES = 256;

/**
 * Resamples a mono stream piece by piece with libsamplerate's `full` API, which keeps the filter state between
 * calls (the output equals one `simple` call over the whole input). `end` pushes the filter's delay out with zeros
 * and trims to round(inputSamples × ratio), so no sample is lost or invented at either end.
 */
export class StreamResampler {
  private inputSamples = 0;
  private outputSamples = 0;

  private constructor(
    readonly fromRateHz: number,
    readonly toRateHz: number,
    private readonly src: { full(dataIn: Float32Array): Float32Array; destroy(): void } | undefined,
  ) {}

  /** Creates a resampler (loads the WASM module); identity when the rates are equal. */
  static async create(
    fromRateHz: number,
    toRateHz: number = SAMPLE_RATE_HZ,
  ): Promise<StreamResampler> {
    if (fromRateHz === toRateHz) return new StreamResampler(fromRateHz, toRateHz, undefined);
    checkRate(fromRateHz, 'from');
    checkRate(toRateHz, 'to');
    const lib = await loadLibSampleRate();
    const src = await lib.create(1, fromRateHz, toRateHz, {
      converterType: lib.ConverterType.SRC_SINC_MEDIUM_QUALITY,
    });
    return new StreamResampler(fromRateHz, toRateHz, src);
  }

  /** Resamples the next piece; returns what the filter has produced so far (it lags by its delay). */
  push(samples: Float32Array): Float32Array {
    this.inputSamples += samples.length;
    if (this.src === undefined || samples.length === 0)
      return this.src === undefined ? samples : new Float32Array(0);
    // Copy: the WASM glue may hand back a view of memory it reuses.
    const out = this.src.full(samples).slice();
    this.outputSamples += out.length;
    return out;
  }

  /** Ends the stream: the rest of the output, trimmed to the exact length. Frees the WASM state. */
  end(): Float32Array {
    if (this.src === undefined) return new Float32Array(0);
    const expected = Math.round((this.inputSamples * this.toRateHz) / this.fromRateHz);
    const tail: Float32Array[] = [];
    let have = this.outputSamples;
    const zeros = new Float32Array(TAIL_CHUNK_SAMPLES);
    // The filter delay is a few hundred samples at most; the bound only guards against a library that never drains.
    for (let step = 0; have < expected && step < 1000; step++) {
      const out = this.src.full(zeros).slice();
      tail.push(out);
      have += out.length;
    }
    this.src.destroy();
    const need = Math.max(0, expected - this.outputSamples);
    const result = new Float32Array(need);
    let pos = 0;
    for (const piece of tail) {
      if (pos >= need) break;
      const take = Math.min(piece.length, need - pos);
      result.set(piece.subarray(0, take), pos);
      pos += take;
    }
    this.outputSamples += pos;
    return pos === need ? result : result.subarray(0, pos);
  }
}
