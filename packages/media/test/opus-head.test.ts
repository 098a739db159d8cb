import { describe, expect, it } from 'vitest';
import {
  MediaError,
  buildOpusHead,
  buildOpusTags,
  opusPacketSamples,
  parseOpusHead,
  parseOpusTags,
} from '../src/index.js';

describe('OpusHead', () => {
  it('builds the 19-byte identification header byte for byte', () => {
    // prettier-ignore
    expect(Array.from(buildOpusHead({ preSkip: 312 }))).toEqual([
      ...Array.from('OpusHead', (c) => c.charCodeAt(0)), // magic signature
      0x01, // version 1
      0x01, // 1 channel
      0x38, 0x01, // pre-skip 312, little-endian
      0x80, 0xbb, 0x00, 0x00, // input sample rate 48000
      0x00, 0x00, // output gain 0 dB
      0x00, // channel mapping family 0
    ]);
  });

  it('round-trips through parseOpusHead', () => {
    const head = parseOpusHead(
      buildOpusHead({ channels: 2, preSkip: 3840, inputSampleRateHz: 44100, outputGainQ8: -256 }),
    );
    expect(head).toEqual({
      version: 1,
      channels: 2,
      preSkip: 3840,
      inputSampleRateHz: 44100,
      outputGainQ8: -256,
      mappingFamily: 0,
    });
  });

  it('rejects a packet that is not an OpusHead with NOT_OPUS', () => {
    expect(() => parseOpusHead(new TextEncoder().encode('\x01vorbis....................'))).toThrow(
      MediaError,
    );
    expect(() => parseOpusHead(buildOpusHead({ preSkip: 0 }).subarray(0, 12))).toThrow(
      'OpusHead is 12 B',
    );
  });
});

describe('OpusTags', () => {
  it('round-trips vendor and comments', () => {
    const packet = buildOpusTags('imv 0.1', { TITLE: 'hello', ARTIST: 'Zoë' });
    expect(parseOpusTags(packet)).toEqual({
      vendor: 'imv 0.1',
      comments: [
        ['TITLE', 'hello'],
        ['ARTIST', 'Zoë'],
      ],
    });
  });

  it('refuses a tag name with "="', () => {
    expect(() => buildOpusTags('imv', { 'A=B': 'x' })).toThrow(/tag name "A=B"/);
  });

  it('rejects a comment length past the end of the packet', () => {
    const packet = buildOpusTags('imv', { A: 'b' });
    expect(() => parseOpusTags(packet.subarray(0, packet.length - 1))).toThrow(
      /comment 0 is 3 B but only 2 B remain/,
    );
  });
});

describe('opusPacketSamples', () => {
  it.each([
    [0x78, 960, 'config 15 hybrid FB 20 ms'],
    [0xf8, 960, 'config 31 CELT FB 20 ms'],
    [0x08, 960, 'config 1 SILK NB 20 ms'],
    [0x18, 2880, 'config 3 SILK NB 60 ms'],
    [0x80, 120, 'config 16 CELT NB 2.5 ms'],
    [0x60, 480, 'config 12 hybrid SWB 10 ms'],
  ])('TOC 0x%s gives %i samples for one frame (%s)', (toc, samples) => {
    expect(opusPacketSamples(Uint8Array.from([toc, 0, 0]))).toBe(samples);
  });

  it('counts two frames for codes 1 and 2 and M frames for code 3', () => {
    expect(opusPacketSamples(Uint8Array.from([0xf9, 1, 2]))).toBe(1920); // code 1, equal halves
    expect(opusPacketSamples(Uint8Array.from([0xfa, 1, 2, 3]))).toBe(1920); // code 2
    expect(opusPacketSamples(Uint8Array.from([0xfb, 0x05]))).toBe(4800); // code 3, 5 x 20 ms
  });

  it.each([
    [[], 'Opus packet is empty'],
    [[0xf9, 1, 2, 3], 'odd payload of 3 B'],
    [[0xfa], 'code 2 packet ends before the first frame length'],
    [[0xfb], 'code 3 packet ends before the frame count byte'],
    [[0xfb, 0x00], 'declares 0 frames'],
    [[0xfb, 0x07], 'holds 140 ms of audio, at most 120 ms'],
  ])('rejects %j with BAD_OPUS_PACKET', (bytes, message) => {
    let error: unknown;
    try {
      opusPacketSamples(Uint8Array.from(bytes));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MediaError);
    expect((error as MediaError).code).toBe('BAD_OPUS_PACKET');
    expect((error as MediaError).message).toContain(message);
  });
});
