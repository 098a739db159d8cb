import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaError, correlate, readWav, resampleTo48k } from '../src/index.js';
import { SPEECH_EN, caught, makeTempDir, run } from './helpers.js';

const temp = makeTempDir();
afterAll(() => temp.cleanup());

const excerptPath = path.join(temp.dir, 'excerpt.wav');
let excerpt: Float32Array;
beforeAll(() => {
  // 1.5 s of speech keeps each sox run and correlation short.
  run('sox', [SPEECH_EN, excerptPath, 'trim', '1', '1.5']);
  excerpt = readWav(readFileSync(excerptPath)).samples;
});

/** Converts the excerpt with sox (`args` go before the output name) and returns the file's bytes. */
function soxWav(name: string, args: string[]): Uint8Array {
  const out = path.join(temp.dir, `${name}.wav`);
  run('sox', [excerptPath, ...args, out]);
  return readFileSync(out);
}

const formatTagOf = (bytes: Uint8Array): number => bytes[20]! | (bytes[21]! << 8);

describe('readWav', () => {
  it.each([
    // name, sox options, expected fields, wFormatTag sox writes, lowest correlation with the source
    ['u8', ['-e', 'unsigned', '-b', '8'], { bitsPerSample: 8, format: 'pcm-int' }, 0x0001, 0.995],
    ['s16', ['-e', 'signed', '-b', '16'], { bitsPerSample: 16, format: 'pcm-int' }, 0x0001, 0.9999],
    ['s24', ['-e', 'signed', '-b', '24'], { bitsPerSample: 24, format: 'pcm-int' }, 0xfffe, 0.9999],
    ['s32', ['-e', 'signed', '-b', '32'], { bitsPerSample: 32, format: 'pcm-int' }, 0xfffe, 0.9999],
    [
      'f32',
      ['-e', 'floating-point', '-b', '32'],
      { bitsPerSample: 32, format: 'float' },
      0x0003,
      0.9999,
    ],
    [
      'f64',
      ['-e', 'floating-point', '-b', '64'],
      { bitsPerSample: 64, format: 'float' },
      0x0003,
      0.9999,
    ],
    [
      's24 forced plain PCM',
      ['-t', 'wavpcm', '-e', 'signed', '-b', '24'],
      { bitsPerSample: 24 },
      0x0001,
      0.9999,
    ],
    ['A-law', ['-e', 'a-law'], { bitsPerSample: 8, format: 'alaw' }, 0x0006, 0.999],
    ['mu-law', ['-e', 'u-law'], { bitsPerSample: 8, format: 'mulaw' }, 0x0007, 0.999],
    [
      'stereo 44.1 kHz',
      ['-r', '44100', '-c', '2'],
      { sampleRate: 44100, channels: 2 },
      0x0001,
      0.999,
    ],
    ['mono 8 kHz', ['-r', '8000'], { sampleRate: 8000, channels: 1 }, 0x0001, 0.98], // speech above 4 kHz is lost,
    ['6 channels (extensible)', ['-c', '6'], { channels: 6, bitsPerSample: 16 }, 0xfffe, 0.9999],
  ] as const)(
    'reads %s and correlates with the source',
    async (name, args, fields, formatTag, minCorrelation) => {
      const bytes = soxWav(name.replace(/\W+/g, '-'), [...args]);
      expect(formatTagOf(bytes)).toBe(formatTag);
      const wav = readWav(bytes);
      expect(wav).toMatchObject({ truncated: false, warnings: [], ...fields });
      const samples48k = await resampleTo48k(wav.samples, wav.sampleRate);
      expect(Math.abs(samples48k.length - excerpt.length)).toBeLessThanOrEqual(1);
      const result = correlate(excerpt, samples48k, { maxLagSamples: 480 });
      expect(result.correlation).toBeGreaterThanOrEqual(minCorrelation);
      expect(Math.abs(result.lagSamples)).toBeLessThanOrEqual(2);
    },
  );

  it('reads what a truncated file holds and says so', () => {
    const bytes = soxWav('full', ['-e', 'signed', '-b', '16']);
    const cut = bytes.subarray(0, 44 + 2 * 24_000 + 1); // half a second and one stray byte
    const wav = readWav(cut);
    expect(wav.truncated).toBe(true);
    expect(wav.samples.length).toBe(24_000);
    expect(wav.warnings).toEqual([
      'WAV data chunk claims 144000 B but the file holds 48001 B; the file is truncated, read what is there',
      'WAV data ends with a partial frame (1 B); ignored',
    ]);
    expect(correlate(excerpt.subarray(0, 24_000), wav.samples).correlation).toBeGreaterThan(0.9999);
  });

  it('reads a streamed file whose data size is 0xFFFFFFFF', () => {
    const bytes = soxWav('streamed', ['-e', 'signed', '-b', '16']).slice();
    new DataView(bytes.buffer).setUint32(40, 0xffffffff, true);
    const wav = readWav(bytes);
    expect(wav.truncated).toBe(true);
    expect(wav.samples.length).toBe(excerpt.length);
    expect(wav.warnings).toEqual([
      'WAV data size is unset (0xFFFFFFFF, a streamed file); read the 144000 B present',
    ]);
  });

  it('skips LIST and odd-sized unknown chunks', () => {
    const pcm = Int16Array.from([0, 1000, -1000, 32767]);
    const bytes = makeWav({
      chunks: [
        ['LIST', new TextEncoder().encode('INFOISFT\x05\x00\x00\x00sox!\x00\x00')],
        ['junk', Uint8Array.from([1, 2, 3])], // odd size, padded with one byte
      ],
      data: new Uint8Array(pcm.buffer),
    });
    const wav = readWav(bytes);
    expect(Array.from(wav.samples)).toEqual(Array.from(pcm, (v) => v / 32768));
    expect(wav.warnings).toEqual([]);
  });

  it('mixes channels down by averaging', () => {
    const pcm = Int16Array.from([16384, 0, -16384, 8192]); // two stereo frames
    const wav = readWav(makeWav({ channels: 2, data: new Uint8Array(pcm.buffer) }));
    expect(Array.from(wav.samples)).toEqual([0.25, -0.125]);
  });

  describe('errors', () => {
    async function codeAndMessage(bytes: Uint8Array): Promise<[string | undefined, string]> {
      const err = await caught(() => readWav(bytes));
      expect(err).toBeInstanceOf(MediaError);
      return [err.code, err.message];
    }

    it('refuses random bytes with NOT_RIFF', async () => {
      expect(
        await codeAndMessage(Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff)),
      ).toEqual(['NOT_RIFF', "not a WAV file: it does not start with 'RIFF'"]);
    });

    it('refuses a RIFF that is not WAVE with NOT_WAVE', async () => {
      const bytes = makeWav({});
      bytes.set(new TextEncoder().encode('AVI '), 8);
      expect(await codeAndMessage(bytes)).toEqual([
        'NOT_WAVE',
        "RIFF file of type 'AVI ', not 'WAVE'",
      ]);
    });

    it('refuses a file without fmt or data chunks', async () => {
      expect(await codeAndMessage(makeWav({ omitFmt: true }))).toEqual([
        'NO_FMT',
        "WAV file has no 'fmt ' chunk",
      ]);
      expect(await codeAndMessage(makeWav({ omitData: true }))).toEqual([
        'NO_DATA',
        "WAV file has no 'data' chunk (the file ends at byte 36)",
      ]);
    });

    it('names ADPCM as an unsupported codec', async () => {
      const [code, message] = await codeAndMessage(soxWav('adpcm', ['-e', 'ms-adpcm']));
      expect(code).toBe('UNSUPPORTED_CODEC');
      expect(message).toBe(
        'unsupported WAV codec ADPCM (0x0002); convert it to PCM first, e.g. sox in.wav -e signed -b 16 out.wav',
      );
      expect((await codeAndMessage(soxWav('gsm', ['-e', 'gsm-full-rate'])))[1]).toContain(
        'GSM 6.10 (0x0031)',
      );
    });

    it.each([
      [{ channels: 0 }, 'WAV file has 0 channels; 1 to 8 are supported'],
      [{ channels: 9 }, 'WAV file has 9 channels; 1 to 8 are supported'],
      [{ sampleRate: 0 }, 'WAV file has a sample rate of 0 Hz'],
      [
        { bitsPerSample: 12, blockAlign: 1 },
        'WAV block align is 1 B for 1 channels of 12-bit samples',
      ],
      [
        { formatTag: 3, bitsPerSample: 16 },
        'WAV float with 16 bits per sample; 32 and 64 are supported',
      ],
    ])('refuses %j with BAD_FORMAT', async (fmt, message) => {
      expect(await codeAndMessage(makeWav(fmt))).toEqual(['BAD_FORMAT', message]);
    });
  });
});

/** A minimal WAV with a chosen fmt, extra chunks before the data, or chunks left out. */
function makeWav(opts: {
  formatTag?: number;
  channels?: number;
  sampleRate?: number;
  bitsPerSample?: number;
  blockAlign?: number;
  chunks?: Array<[string, Uint8Array]>;
  data?: Uint8Array;
  omitFmt?: boolean;
  omitData?: boolean;
}): Uint8Array {
  const channels = opts.channels ?? 1;
  const bits = opts.bitsPerSample ?? 16;
  const fmt = new Uint8Array(16);
  const fv = new DataView(fmt.buffer);
  fv.setUint16(0, opts.formatTag ?? 1, true); // wFormatTag
  fv.setUint16(2, channels, true); // nChannels
  fv.setUint32(4, opts.sampleRate ?? 48_000, true); // nSamplesPerSec
  const blockAlign = opts.blockAlign ?? channels * Math.ceil(bits / 8);
  fv.setUint32(8, (opts.sampleRate ?? 48_000) * blockAlign, true); // nAvgBytesPerSec
  fv.setUint16(12, blockAlign, true); // nBlockAlign
  fv.setUint16(14, bits, true); // wBitsPerSample
  const chunks: Array<[string, Uint8Array]> = [];
  if (!opts.omitFmt) chunks.push(['fmt ', fmt]);
  chunks.push(...(opts.chunks ?? []));
  if (!opts.omitData) chunks.push(['data', opts.data ?? new Uint8Array(4)]);
  const size = 12 + chunks.reduce((n, [, body]) => n + 8 + body.length + (body.length & 1), 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  const ascii = (s: string, at: number): void => out.set(new TextEncoder().encode(s), at);
  ascii('RIFF', 0);
  view.setUint32(4, size - 8, true);
  ascii('WAVE', 8);
  let pos = 12;
  for (const [id, body] of chunks) {
    ascii(id, pos);
    view.setUint32(pos + 4, body.length, true);
    out.set(body, pos + 8);
    pos += 8 + body.length + (body.length & 1);
  }
  return out;
}
