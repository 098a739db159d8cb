import { describe, expect, it } from 'vitest';
import { MediaError, correlate, resample, resampleTo48k } from '../src/index.js';
import { caught, readFixture, sine, tonePower } from './helpers.js';

describe('resampleTo48k', () => {
  it('returns the same array at 48 kHz', async () => {
    const samples = new Float32Array(10);
    expect(await resampleTo48k(samples, 48_000)).toBe(samples);
  });

  it.each([8000, 44_100])(
    'keeps a 1 kHz sine at 1 kHz from %i Hz, with no aliases',
    async (rateHz) => {
      const out = await resampleTo48k(sine(1000, rateHz, 1), rateHz);
      expect(out.length).toBe(48_000);
      const body = out.subarray(4800, 43_200); // away from the filter's edge effects
      expect(tonePower(body, 48_000, 1000)).toBeCloseTo(0.125, 2); // amplitude 0.5 -> power 0.125
      // Images of the tone at rateHz ± 1 kHz would show up here with a naive (zero-order) resampler.
      for (const ghostHz of [rateHz - 1000, rateHz + 1000, 2000, 3000]) {
        if (ghostHz < 24_000) expect(tonePower(body, 48_000, ghostHz)).toBeLessThan(1e-6);
      }
    },
  );

  it('round-trips speech 48k -> 44.1k -> 48k at correlation >= 0.98', async () => {
    const speech = readFixture();
    const at44k = await resample(speech, 48_000, 44_100);
    expect(at44k.length).toBe(Math.round((speech.length * 44_100) / 48_000));
    const back = await resampleTo48k(at44k, 44_100);
    const result = correlate(speech, back, { maxLagSamples: 480 });
    expect(result.correlation).toBeGreaterThanOrEqual(0.98);
    expect(result.lagSamples).toBe(0);
  });

  it('refuses a rate it cannot convert with BAD_FORMAT', async () => {
    const err = await caught(() => resampleTo48k(new Float32Array(10), 100));
    expect(err).toBeInstanceOf(MediaError);
    expect(err.code).toBe('BAD_FORMAT');
    expect(err.message).toBe(
      'cannot resample from 100 Hz; rates from 188 to 192000 Hz are supported',
    );
  });
});
