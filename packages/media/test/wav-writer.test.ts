import { describe, expect, it } from 'vitest';
import { readWav, writeWav } from '../src/index.js';

describe('writeWav', () => {
  it('writes 16-bit mono PCM that readWav reads back, clipping out-of-range samples', () => {
    const samples = Float32Array.from([0, 0.5, -0.5, 1, -1, 2, -2]);
    const bytes = writeWav(samples, 48_000);
    expect(bytes.length).toBe(44 + samples.length * 2);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('RIFF');
    const wav = readWav(bytes);
    expect(wav.sampleRate).toBe(48_000);
    expect(wav.channels).toBe(1);
    expect(wav.bitsPerSample).toBe(16);
    const back = Array.from(wav.samples, (s) => Math.round(s * 32768));
    expect(back).toEqual([0, 16384, -16383, 32767, -32767, 32767, -32767]);
  });
});
