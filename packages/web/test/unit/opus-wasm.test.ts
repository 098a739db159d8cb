import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { correlate, readWav } from '@imv/media';
import { FIXTURES_DIR as fixtures } from '@imv/test-support';
import { describe, expect, it } from 'vitest';
import { loadOpusWasm } from '../../src/engine/opus-wasm.js';

const require = createRequire(import.meta.url);

async function opus() {
  return loadOpusWasm(await readFile(require.resolve('@evan/opus/wasm/opus.wasm')));
}

describe('WASM Opus fallback (libopus from @evan/opus, our loader)', () => {
  it('round-trips speech through 20 ms packets at 24 kbps', async () => {
    const wasm = await opus();
    const source = readWav(
      new Uint8Array(await readFile(path.join(fixtures, 'speech-en-48k.wav'))),
    ).samples;
    const encoder = wasm.createEncoder({ sampleRateHz: 48_000, bitrateBps: 24_000 });
    const decoder = wasm.createDecoder({ sampleRateHz: 48_000, frameSamples: 960 });
    const frames = Math.floor(source.length / 960);
    const decoded = new Float32Array(frames * 960);
    let bytes = 0;
    for (let i = 0; i < frames; i++) {
      const packet = encoder.encode(source.slice(i * 960, (i + 1) * 960));
      bytes += packet.length;
      const pcm = decoder.decode(packet);
      expect(pcm.length).toBe(960);
      decoded.set(pcm, i * 960);
    }
    encoder.destroy();
    decoder.destroy();
    // 24 kbps VBR averages ~57 B per 20 ms packet on this speech (NOTES.md: libopus and WebCodecs agree).
    expect(bytes / frames).toBeGreaterThan(45);
    expect(bytes / frames).toBeLessThan(70);
    const match = correlate(source, decoded, { maxLagSamples: 1000 });
    expect(match.correlation).toBeGreaterThan(0.97);
    // libopus' lookahead: the decoded speech trails the input by the 312-sample pre-skip (± resampler).
    expect(Math.abs(match.lagSamples - 312)).toBeLessThanOrEqual(4);
  });

  it('conceals a lost packet with libopus PLC: 960 samples that continue the signal', async () => {
    const wasm = await opus();
    const encoder = wasm.createEncoder({ sampleRateHz: 48_000, bitrateBps: 24_000 });
    const decoder = wasm.createDecoder({ sampleRateHz: 48_000, frameSamples: 960 });
    const tone = (i: number) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 48_000);
    for (let f = 0; f < 10; f++)
      decoder.decode(
        encoder.encode(Float32Array.from({ length: 960 }, (_, i) => tone(f * 960 + i))),
      );
    const concealed = decoder.decode(null);
    expect(concealed.length).toBe(960);
    const rmsOf = (x: Float32Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);
    expect(rmsOf(concealed)).toBeGreaterThan(0.05); // not silence: the tone goes on
  });

  it('rejects an oversized packet with a clear error', async () => {
    const decoder = (await opus()).createDecoder({ sampleRateHz: 48_000, frameSamples: 960 });
    expect(() => decoder.decode(new Uint8Array(5000))).toThrow(
      'opus packet is 5000 B, at most 4000 B',
    );
  });
});
