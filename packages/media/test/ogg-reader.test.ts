import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MediaError,
  buildOggPage,
  buildOpusHead,
  buildOpusTags,
  readOggOpus,
  writeOggOpus,
} from '../src/index.js';
import { OpusFrameEncoder } from '../src/node/index.js';
import { SPEECH_EN, caught, makeTempDir, readFixture, run } from './helpers.js';

const temp = makeTempDir();
afterAll(() => temp.cleanup());

const speech = readFixture().subarray(0, 48_000);
const packets = new OpusFrameEncoder().encode(speech);
const file = writeOggOpus(packets, {
  sampleCount: speech.length,
  serial: 42,
  tags: { TITLE: 'one second' },
});

async function mediaErrorOf(bytes: Uint8Array): Promise<MediaError> {
  const err = await caught(() => readOggOpus(bytes));
  expect(err).toBeInstanceOf(MediaError);
  return err as MediaError;
}

describe('readOggOpus', () => {
  it('round-trips what writeOggOpus wrote', () => {
    const read = readOggOpus(file);
    expect(read.head).toMatchObject({ channels: 1, preSkip: 312, mappingFamily: 0 });
    expect(read.tags).toEqual({ vendor: 'imv', comments: [['TITLE', 'one second']] });
    expect(read.packets).toEqual(packets);
    expect(read.finalGranule).toBe(312 + 48_000);
    expect(read.sampleCount).toBe(48_000);
    expect(read.warnings).toEqual([]);
  });

  it('leaves a Node Buffer input untouched, so it can be read twice', () => {
    const buffer = Buffer.from(file);
    const first = readOggOpus(buffer);
    expect(Buffer.compare(buffer, Buffer.from(file))).toBe(0);
    const second = readOggOpus(buffer);
    expect(second.packets).toEqual(first.packets);
    expect(second.packets[0]).not.toBeInstanceOf(Buffer);
  });

  it('reads an opusenc file with its exact length', () => {
    const opusPath = path.join(temp.dir, 'opusenc.opus');
    run('opusenc', ['--quiet', '--bitrate', '24', '--framesize', '20', SPEECH_EN, opusPath]);
    const read = readOggOpus(readFileSync(opusPath));
    expect(read.head.channels).toBe(1);
    expect(read.sampleCount).toBe(353_964); // 7.37425 s at 48 kHz, as in the WAV
    expect(read.packets.length).toBe(370);
    expect(read.tags.vendor).toMatch(/libopus/);
  });

  it('rejects a file that is not Ogg with NOT_OGG', async () => {
    const err = await mediaErrorOf(new TextEncoder().encode('RIFF....WAVEfmt '));
    expect(err.code).toBe('NOT_OGG');
    expect(err.message).toBe("not an Ogg file: it does not start with 'OggS'");
  });

  it('rejects a flipped bit with OGG_CRC_MISMATCH naming the page', async () => {
    const corrupt = file.slice();
    corrupt[200]! ^= 0x01; // inside the first audio page (page 2 starts at byte 94 + tags length)
    const err = await mediaErrorOf(corrupt);
    expect(err.code).toBe('OGG_CRC_MISMATCH');
    expect(err.message).toMatch(
      /^Ogg page 2 at byte \d+: CRC is 0x[0-9a-f]{8} but the page hashes to 0x[0-9a-f]{8}$/,
    );
  });

  it('rejects a file cut inside a page with OGG_TRUNCATED', async () => {
    const err = await mediaErrorOf(file.subarray(0, file.length - 10));
    expect(err.code).toBe('OGG_TRUNCATED');
    // 51 packets: page 2 holds the first second (50 packets), page 3 the last packet and the EOS flag.
    expect(err.message).toBe(
      'Ogg page 3 at byte 3451: the page needs 59 B but the file ends after 49 B',
    );
  });

  it('rejects an Ogg stream that is not Opus with NOT_OPUS', async () => {
    // A valid Ogg page whose packet is not an OpusHead.
    const page = buildOggPage({
      flags: 0x06, // BOS + EOS
      granule: 0,
      serial: 1,
      sequence: 0,
      lacing: [7],
      body: new TextEncoder().encode('\x01vorbis'),
    });
    const err = await mediaErrorOf(page);
    expect(err.code).toBe('NOT_OPUS');
    expect(err.message).toBe("the Ogg stream is not Opus: its first packet is not an 'OpusHead'");
  });

  it('rejects multichannel Opus with OPUS_MULTICHANNEL', async () => {
    const opusPath = path.join(temp.dir, 'six.opus');
    const wavPath = path.join(temp.dir, 'six.wav');
    run('sox', [SPEECH_EN, '-c', '6', wavPath, 'trim', '0', '0.2']);
    run('opusenc', ['--quiet', wavPath, opusPath]);
    const err = await mediaErrorOf(readFileSync(opusPath));
    expect(err.code).toBe('OPUS_MULTICHANNEL');
    expect(err.message).toBe(
      'Ogg Opus with 6 channels (mapping family 1) is not supported; use mono or stereo',
    );
  });

  it('reads a stream cut at a page boundary, with a warning', () => {
    const pages = [] as number[];
    for (let pos = 0; pos < file.length;) {
      pages.push(pos);
      const segments = file[pos + 26]!;
      let body = 0;
      for (let i = 0; i < segments; i++) body += file[pos + 27 + i]!;
      pos += 27 + segments + body;
    }
    expect(pages.length).toBeGreaterThanOrEqual(3);
    const read = readOggOpus(file.subarray(0, pages[2]));
    expect(read.packets).toEqual([]);
    expect(read.warnings).toEqual([
      'the Ogg stream has no end-of-stream page; it may have been cut short',
    ]);
  });

  it('drops the tail of a packet whose first part was lost, with a warning', () => {
    const big = new Uint8Array(600).fill(9);
    big[0] = 0xf8;
    const small = Uint8Array.from([0xf8, 1, 2]);
    const pages = [
      buildOggPage({
        flags: 0x02,
        granule: 0,
        serial: 5,
        sequence: 0,
        lacing: [19],
        body: buildOpusHead({ preSkip: 0 }),
      }),
      buildOggPage({
        flags: 0,
        granule: 0,
        serial: 5,
        sequence: 1,
        lacing: [17],
        body: buildOpusTags('x'),
      }),
      // Page 2 (lost) would have carried big[0..510); page 3 continues it, then holds `small`.
      buildOggPage({
        flags: 0x01 | 0x04,
        granule: 1920,
        serial: 5,
        sequence: 3,
        lacing: [90, 3],
        body: Uint8Array.from([...big.subarray(510), ...small]),
      }),
    ];
    const read = readOggOpus(Uint8Array.from(pages.flatMap((p) => [...p])));
    expect(read.packets).toEqual([small]);
    expect(read.warnings).toEqual([
      'Ogg page sequence jumps from 1 to 3: pages are missing',
      expect.stringMatching(
        /^Ogg page 2 at byte \d+ continues a packet that is missing; dropped its tail$/,
      ),
    ]);
  });
});
