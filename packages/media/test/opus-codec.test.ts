import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '@imv/protocol';
import { correlate, opusPacketSamples, readOggOpus } from '../src/index.js';
import {
  OpusFrameDecoder,
  OpusFrameEncoder,
  decodeOggOpus,
  encodeOggOpus,
} from '../src/node/index.js';
import { readFixture } from './helpers.js';

const speech = readFixture().subarray(0, 48_000 * 3 + 123); // not a whole number of frames on purpose

describe('OpusFrameEncoder / OpusFrameDecoder', () => {
  it('encodes 20 ms packets and flushes the 312-sample lookahead', () => {
    const packets = new OpusFrameEncoder().encode(speech);
    expect(packets.every((p) => opusPacketSamples(p) === FRAME_SAMPLES)).toBe(true);
    expect(packets.length).toBe(Math.ceil((speech.length + 312) / FRAME_SAMPLES));
  });

  it('round-trips raw packets at correlation >= 0.95, delayed by the pre-skip', () => {
    const encoder = new OpusFrameEncoder({ bitrateBps: 24_000 });
    const decoder = new OpusFrameDecoder();
    const decoded = encoder.encode(speech).map((p) => decoder.decode(p));
    const all = new Float32Array(decoded.reduce((n, d) => n + d.length, 0));
    decoded.reduce((pos, d) => (all.set(d, pos), pos + d.length), 0);
    const result = correlate(speech, all, { maxLagSamples: 1000 });
    expect(result.correlation).toBeGreaterThan(0.95);
    expect(Math.abs(result.lagSamples - 312)).toBeLessThanOrEqual(4);
  });

  it('gives the same packets pushed in pieces as in one buffer', () => {
    const whole = new OpusFrameEncoder().encode(speech);
    const encoder = new OpusFrameEncoder();
    const pieces: Uint8Array[] = [];
    for (let pos = 0; pos < speech.length; pos += 441)
      pieces.push(...encoder.push(speech.subarray(pos, pos + 441)));
    expect(encoder.sampleCount).toBe(speech.length);
    pieces.push(...encoder.flush());
    expect(pieces).toEqual(whole);
    // flush resets: the next stream starts clean and gives the same packets again.
    expect(encoder.encode(speech)).toEqual(whole);
  });

  it('decodeOggOpus returns exactly the encoded length, correlating with the source', () => {
    const file = encodeOggOpus(speech, { serial: 3 });
    expect(readOggOpus(file).sampleCount).toBe(speech.length);
    const decoded = decodeOggOpus(file);
    expect(decoded.length).toBe(speech.length);
    const result = correlate(speech, decoded, { maxLagSamples: 1000 });
    expect(result.correlation).toBeGreaterThan(0.95);
    expect(Math.abs(result.lagSamples)).toBeLessThanOrEqual(4);
  });

  it('keeps the length of a message shorter than one frame', () => {
    const short = speech.subarray(10_000, 10_100);
    expect(decodeOggOpus(encodeOggOpus(short)).length).toBe(100);
    expect(decodeOggOpus(encodeOggOpus(new Float32Array(0))).length).toBe(0);
  });
});
