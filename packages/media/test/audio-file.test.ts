import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MediaError, correlate, readAudioFile } from '../src/index.js';
import { encodeOggOpus } from '../src/node/index.js';
import { SPEECH_EN, caught, makeTempDir, readFixture, run } from './helpers.js';

const temp = makeTempDir();
afterAll(() => temp.cleanup());

describe('readAudioFile', () => {
  it('reads a 44.1 kHz stereo WAV as 48 kHz mono PCM', async () => {
    const wavPath = path.join(temp.dir, 'stereo.wav');
    run('sox', [SPEECH_EN, '-r', '44100', '-c', '2', '-b', '24', wavPath, 'trim', '0', '2']);
    const file = await readAudioFile(readFileSync(wavPath));
    if (file.kind !== 'pcm') throw new Error(`expected pcm, got ${file.kind}`);
    expect(file.source).toEqual({
      sampleRate: 44_100,
      channels: 2,
      bitsPerSample: 24,
      format: 'pcm-int',
    });
    expect(file.samples48k.length).toBe(96_000);
    expect(
      correlate(readFixture().subarray(0, 96_000), file.samples48k).correlation,
    ).toBeGreaterThan(0.999);
  });

  it('reads an Ogg Opus file as packets, with pre-skip and exact length', async () => {
    const speech = readFixture().subarray(0, 48_000);
    const file = await readAudioFile(encodeOggOpus(speech));
    expect(file).toMatchObject({ kind: 'opus', preSkip: 312, sampleCount: 48_000, warnings: [] });
    if (file.kind !== 'opus') throw new Error('expected opus');
    expect(file.packets.length).toBe(Math.ceil((48_000 + 312) / 960));
  });

  it.each([
    [Uint8Array.from([]), 'the file is empty'],
    [
      new TextEncoder().encode('fLaC\x00\x00\x00\x10'),
      'it starts with 66 4c 61 43 00 00 00 10 ("fLaC...."), which looks like FLAC',
    ],
    [
      Uint8Array.from([0x9e, 0x12, 0xfe, 0x01, 0x20, 0x7f, 0x00, 0xaa, 0xbb]),
      'it starts with 9e 12 fe 01 20 7f 00 aa (".... ...")',
    ],
  ])(
    'refuses other files with UNSUPPORTED_FILE describing their first bytes',
    async (bytes, description) => {
      const err = await caught(() => readAudioFile(bytes));
      expect(err).toBeInstanceOf(MediaError);
      expect(err.code).toBe('UNSUPPORTED_FILE');
      expect(err.message).toBe(
        `unsupported audio file: expected WAV ('RIFF') or Ogg Opus ('OggS'), but ${description}`,
      );
    },
  );

  it('passes WAV and Ogg errors through with their own codes', async () => {
    expect(
      (await caught(() => readAudioFile(new TextEncoder().encode('RIFF\x04\x00\x00\x00AVI '))))
        .code,
    ).toBe('NOT_WAVE');
    expect((await caught(() => readAudioFile(new TextEncoder().encode('OggS\x00\x02')))).code).toBe(
      'OGG_TRUNCATED',
    );
  });
});
