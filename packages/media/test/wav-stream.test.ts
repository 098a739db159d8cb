import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MediaError, StreamResampler, WavStreamDecoder, readWav, resample } from '../src/index.js';
import { SPEECH_EN, caught, sine } from './helpers.js';

/** Feeds `bytes` to a decoder in pieces of `step` bytes and joins what comes out. */
function decodeInPieces(
  bytes: Uint8Array,
  step: number,
): { decoder: WavStreamDecoder; samples: Float32Array } {
  const decoder = new WavStreamDecoder();
  const pieces: Float32Array[] = [];
  for (let at = 0; at < bytes.length; at += step)
    pieces.push(decoder.push(bytes.subarray(at, at + step)));
  decoder.end();
  const samples = new Float32Array(pieces.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of pieces) {
    samples.set(p, pos);
    pos += p.length;
  }
  return { decoder, samples };
}

function withDataSize(wav: Uint8Array, size: number): Uint8Array {
  const copy = wav.slice();
  new DataView(copy.buffer).setUint32(40, size, true); // the fixture is a plain 44-byte-header WAV
  return copy;
}

describe('WavStreamDecoder', () => {
  const wav = new Uint8Array(readFileSync(SPEECH_EN));
  const whole = readWav(wav).samples;

  it.each([1, 7, 4410])(
    'decodes a WAV fed %i bytes at a time to exactly what readWav reads',
    (step) => {
      const sliced = wav.subarray(0, 44 + 2 * 9600); // 0.2 s keeps the 1-byte case quick
      const { decoder, samples } = decodeInPieces(sliced, step);
      expect(decoder.format).toEqual({ sampleRate: 48_000, channels: 1, blockAlign: 2 });
      expect(samples).toEqual(readWav(sliced).samples);
    },
  );

  it.each([0, 0xffffffff, 1000])(
    'reads to the end of the stream when the data size is %i',
    (size) => {
      const { samples } = decodeInPieces(withDataSize(wav, size), 4096);
      expect(samples).toEqual(whole);
    },
  );

  it('stops at the declared data size when a chunk follows the audio', () => {
    const list = new Uint8Array([...Buffer.from('LIST'), 4, 0, 0, 0, ...Buffer.from('INFO')]);
    const withList = new Uint8Array(wav.length + list.length);
    withList.set(wav);
    withList.set(list, wav.length);
    expect(decodeInPieces(withList, 4096).samples).toEqual(whole);
  });

  it('throws readWav errors as soon as the header is known to be bad', async () => {
    const bad = wav.slice(0, 100);
    new DataView(bad.buffer).setUint16(22, 0, true); // 0 channels
    const error = await caught(() => new WavStreamDecoder().push(bad));
    expect(error).toBeInstanceOf(MediaError);
    expect((error as MediaError).code).toBe('BAD_FORMAT');
    expect(await caught(() => new WavStreamDecoder().push(Buffer.from('OggS0000')))).toMatchObject({
      code: 'NOT_RIFF',
    });
  });

  it('says why at the end of a stream cut before its data chunk', async () => {
    const decoder = new WavStreamDecoder();
    expect(decoder.push(wav.subarray(0, 30))).toHaveLength(0);
    expect(await caught(() => decoder.end())).toMatchObject({ code: 'BAD_FORMAT' });
  });
});

describe('StreamResampler', () => {
  it('resamples 44.1 kHz in pieces to exactly what one resample call gives, end included', async () => {
    const input = sine(440, 44_100, 1);
    const once = await resample(input, 44_100, 48_000);
    const resampler = await StreamResampler.create(44_100);
    const pieces: Float32Array[] = [];
    for (let at = 0; at < input.length; at += 4410)
      pieces.push(resampler.push(input.subarray(at, at + 4410)));
    pieces.push(resampler.end());
    const out = new Float32Array(pieces.reduce((n, p) => n + p.length, 0));
    let pos = 0;
    for (const p of pieces) {
      out.set(p, pos);
      pos += p.length;
    }
    expect(out.length).toBe(48_000);
    expect(out.length).toBe(once.length);
    let maxDiff = 0;
    for (let i = 0; i < out.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i]! - once[i]!));
    expect(maxDiff).toBeLessThan(1e-3);
  });

  it('passes 48 kHz through unchanged', async () => {
    const resampler = await StreamResampler.create(48_000);
    const input = sine(440, 48_000, 0.1);
    expect(resampler.push(input)).toBe(input);
    expect(resampler.end()).toHaveLength(0);
  });
});
