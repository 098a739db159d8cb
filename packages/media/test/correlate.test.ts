import { describe, expect, it } from 'vitest';
import { correlate, rms } from '../src/index.js';
import { readFixture } from './helpers.js';

const speech = readFixture().subarray(0, 48_000 * 3);

function delayed(source: Float32Array, lag: number, gain: number): Float32Array {
  const out = new Float32Array(source.length);
  for (let i = 0; i < source.length; i++) {
    const j = i - lag;
    out[i] = j >= 0 && j < source.length ? source[j]! * gain : 0;
  }
  return out;
}

describe('correlate', () => {
  it('finds a known delay and gain', () => {
    const result = correlate(speech, delayed(speech, 1234, 0.5));
    expect(result.lagSamples).toBe(1234);
    expect(result.correlation).toBeGreaterThan(0.999);
    expect(result.gain).toBeCloseTo(0.5, 3);
  });

  it('finds a candidate that starts early (negative lag)', () => {
    const result = correlate(speech, delayed(speech, -4800, 2));
    expect(result.lagSamples).toBe(-4800);
    expect(result.gain).toBeCloseTo(2, 3);
  });

  it('reports an inverted copy with a negative correlation', () => {
    const result = correlate(speech, delayed(speech, 10, -1));
    expect(result.lagSamples).toBe(10);
    expect(result.correlation).toBeLessThan(-0.999);
  });

  it('stays low for unrelated signals', () => {
    const noise = new Float32Array(speech.length);
    let seed = 1;
    for (let i = 0; i < noise.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      noise[i] = seed / 0x80000000 - 1;
    }
    expect(Math.abs(correlate(speech, noise).correlation)).toBeLessThan(0.1);
  });

  it('does not search past maxLagSamples', () => {
    const result = correlate(speech, delayed(speech, 2000, 1), { maxLagSamples: 1000 });
    expect(Math.abs(result.lagSamples)).toBeLessThanOrEqual(1000);
    expect(result.correlation).toBeLessThan(0.9);
  });

  it('handles 10 s of 48 kHz audio against a different length', () => {
    const long = readFixture('clicks-1s-48k.wav');
    expect(long.length).toBeGreaterThanOrEqual(480_000);
    const result = correlate(long, delayed(long, 333, 0.8).subarray(0, 400_000));
    expect(result).toMatchObject({ lagSamples: 333 });
    expect(result.correlation).toBeGreaterThan(0.999);
  });

  it('returns zeros for empty or silent input', () => {
    expect(correlate(new Float32Array(0), speech)).toEqual({
      correlation: 0,
      lagSamples: 0,
      gain: 0,
    });
    expect(correlate(new Float32Array(1000), new Float32Array(1000)).correlation).toBe(0);
  });

  it('computes rms', () => {
    expect(rms(new Float32Array(0))).toBe(0);
    expect(rms(Float32Array.from([3, -3, 3, -3]))).toBe(3);
  });
});
