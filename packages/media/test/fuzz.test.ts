import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MediaError, readAudioFile, readOggOpus, readWav } from '../src/index.js';
import { encodeOggOpus } from '../src/node/index.js';
import { SPEECH_EN, readFixture } from './helpers.js';

/** Deterministic PRNG so a failure reproduces. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

function mutate(source: Uint8Array, random: () => number): Uint8Array {
  const out = source.slice(0, Math.max(1, Math.floor(random() * source.length * 1.1)));
  const flips = 1 + Math.floor(random() * 8);
  for (let i = 0; i < flips; i++) {
    // Bias towards the headers, where the interesting fields are.
    const at = Math.floor((random() < 0.7 ? random() * 128 : random()) * out.length);
    out[at] = Math.floor(random() * 256);
  }
  return out;
}

describe('damaged files', () => {
  const wav = readFileSync(SPEECH_EN).subarray(0, 44 + 4000);
  const ogg = encodeOggOpus(readFixture().subarray(0, 9600), { serial: 9 });

  it.each([
    ['WAV', wav, readWav],
    ['Ogg Opus', ogg, readOggOpus],
  ] as const)('a damaged %s file either reads or throws a MediaError', (_name, source, read) => {
    const random = prng(1234);
    for (let i = 0; i < 500; i++) {
      const bytes = mutate(source, random);
      try {
        read(bytes);
      } catch (err) {
        if (!(err instanceof MediaError)) {
          throw new Error(`case ${i}: ${String(err)}`, { cause: err });
        }
        expect(err.message.length).toBeGreaterThan(10);
      }
    }
  });

  it('readAudioFile refuses damaged input only with MediaError', async () => {
    const random = prng(99);
    for (let i = 0; i < 200; i++) {
      const bytes = mutate(i % 2 === 0 ? wav : ogg, random);
      await readAudioFile(bytes).catch((err: unknown) => {
        expect(err).toBeInstanceOf(MediaError);
      });
    }
  });
});
