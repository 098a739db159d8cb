import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { correlate, opusPacketSamples, readOggOpus, readWav, writeOggOpus } from '../src/index.js';
import { OpusFrameEncoder } from '../src/node/index.js';
import { makeTempDir, readFixture, run } from './helpers.js';

const temp = makeTempDir();
afterAll(() => temp.cleanup());

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

interface PageInfo {
  flags: number;
  granule: number;
  sequence: number;
  segments: number;
  length: number;
}

/** Walks the pages by their headers, independently of ogg-reader.ts. */
function pagesOf(file: Uint8Array): PageInfo[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const pages: PageInfo[] = [];
  for (let pos = 0; pos < file.length;) {
    const segments = file[pos + 26]!;
    let body = 0;
    for (let i = 0; i < segments; i++) body += file[pos + 27 + i]!;
    const length = 27 + segments + body;
    pages.push({
      flags: file[pos + 5]!,
      granule: Number(view.getBigInt64(pos + 6, true)),
      sequence: view.getUint32(pos + 18, true),
      segments,
      length,
    });
    pos += length;
  }
  return pages;
}

describe('writeOggOpus', () => {
  it('writes the BOS page with the OpusHead alone, byte for byte', () => {
    const file = writeOggOpus([Uint8Array.from([0xf8, 0xff, 0xfe])], {
      serial: 0x1234,
      sampleCount: 600,
    });
    const expected = [
      '4f676753', // capture pattern 'OggS'
      '00', // stream structure version 0
      '02', // header type: BOS
      '0000000000000000', // granule position 0
      '34120000', // serial 0x1234
      '00000000', // page sequence 0
      '90b58771', // CRC 0x7187b590
      '01', // one segment
      '13', // lacing: a 19-byte packet
      '4f707573486561640101380180bb0000000000', // OpusHead v1, 1 ch, pre-skip 312, 48000 Hz, 0 dB, family 0
    ].join('');
    expect(hex(file.subarray(0, 47))).toBe(expected);
    const tagsPage = [
      '4f676753',
      '00',
      '00', // OggS, version, no flags
      '0000000000000000',
      '34120000',
      '01000000', // granule 0, serial, sequence 1
      '86579b10',
      '01',
      '13', // CRC, one 19-byte segment
      '4f70757354616773',
      '03000000',
      '696d76',
      '00000000', // 'OpusTags', vendor 'imv', no comments
    ].join('');
    expect(hex(file.subarray(47, 47 + 47))).toBe(tagsPage);
    const audioPage = [
      '4f676753',
      '00',
      '04', // OggS, version, EOS
      '9003000000000000', // granule 912 = pre-skip 312 + 600 samples (end-trimmed from 960)
      '34120000',
      '02000000', // serial, sequence 2
      '2e7f02e5',
      '01',
      '03', // CRC, one 3-byte segment
      'f8fffe', // the packet
    ].join('');
    expect(hex(file.subarray(94))).toBe(audioPage);
  });

  it('keeps pages within 255 lacing values and continues large packets across pages', () => {
    // 2.5 ms CELT packets (TOC config 28): 400 per second, so pages fill their lacing table first.
    const small = Array.from({ length: 1000 }, (_, i) => Uint8Array.from([0xe0, i & 0xff, 7]));
    // One 70,000-byte packet needs 275 lacing values: it must continue onto a second page.
    const big = new Uint8Array(70_000).fill(0x55);
    big[0] = 0xf8;
    const packets = [...small, big, ...small.slice(0, 10)];
    const file = writeOggOpus(packets, { serial: 7, preSkip: 0 });
    const pages = pagesOf(file);
    expect(pages.every((p) => p.segments <= 255)).toBe(true);
    expect(pages.map((p) => p.sequence)).toEqual(pages.map((_, i) => i));
    expect(pages.some((p) => p.flags & 0x01)).toBe(true); // a continued page
    expect(pages.at(-1)!.flags & 0x04).toBe(0x04);
    const read = readOggOpus(file);
    expect(read.packets.length).toBe(packets.length);
    read.packets.forEach((p, i) => expect(hex(p)).toBe(hex(packets[i]!)));
    expect(read.finalGranule).toBe(1010 * 120 + 960);
  });

  it('writes granules that never decrease and end at pre-skip + sample count', () => {
    const packets = Array.from({ length: 120 }, () => Uint8Array.from([0xf8, 1, 2, 3]));
    const pages = pagesOf(writeOggOpus(packets, { serial: 1, sampleCount: 114_000 }));
    const granules = pages.slice(2).map((p) => p.granule);
    expect(granules).toEqual([...granules].sort((a, b) => a - b));
    expect(granules.at(-1)).toBe(312 + 114_000);
    expect(granules[0]).toBe(50 * 960); // first audio page closes after 1 s of packets
  });

  it('marks the OpusTags page EOS when there is no audio', () => {
    const pages = pagesOf(writeOggOpus([], { serial: 1 }));
    expect(pages.map((p) => p.flags)).toEqual([0x02, 0x04]);
  });

  it('rejects a sample count longer than the packets', () => {
    expect(() => writeOggOpus([Uint8Array.from([0xf8])], { sampleCount: 700 })).toThrow(
      'options.sampleCount must be an integer in 0..648 (packets hold 960 samples, pre-skip 312), got 700',
    );
  });

  it('names the malformed packet', () => {
    expect(() => writeOggOpus([Uint8Array.from([0xf8]), new Uint8Array(0)])).toThrow(
      'packet 1: Opus packet is empty',
    );
  });

  describe.each([20, 10] as const)('with opus-tools, %i ms packets', (frameMs) => {
    const speech = readFixture();
    const opusPath = path.join(temp.dir, `speech-${frameMs}ms.opus`);
    beforeAll(() => {
      const encoder = new OpusFrameEncoder({ frameMs });
      const packets = encoder.encode(speech);
      writeFileSync(
        opusPath,
        writeOggOpus(packets, { sampleCount: speech.length, tags: { TITLE: 'speech' } }),
      );
    });

    it('passes opusinfo without warnings, with the exact length and packet duration', () => {
      const info = run('opusinfo', [opusPath]);
      expect(info).not.toMatch(/warning|error/i);
      expect(info).toContain('Pre-skip: 312');
      expect(info).toContain('Playback length: 0m:07.374s'); // 353,964 samples
      expect(info).toContain('TITLE=speech');
      expect(info).toMatch(
        new RegExp(
          `Packet duration: +${frameMs}\\.0ms \\(max\\), +${frameMs}\\.0ms \\(avg\\), +${frameMs}\\.0ms \\(min\\)`,
        ),
      );
    });

    it('decodes with opusdec to the exact length, correlating with the source', () => {
      const wavPath = path.join(temp.dir, `speech-dec-${frameMs}ms.wav`);
      run('opusdec', ['--quiet', '--rate', '48000', '--float', opusPath, wavPath]);
      const decoded = readWav(readFileSync(wavPath)).samples;
      expect(decoded.length).toBe(speech.length);
      const result = correlate(speech, decoded, { maxLagSamples: 2000 });
      expect(result.correlation).toBeGreaterThan(0.95);
      expect(Math.abs(result.lagSamples)).toBeLessThanOrEqual(4);
    });

    it('reads back with readOggOpus: packets of the frame size, exact length', () => {
      const file = readOggOpus(readFileSync(opusPath));
      expect(file.sampleCount).toBe(speech.length);
      expect(file.packets.every((p) => opusPacketSamples(p) === frameMs * 48)).toBe(true);
      expect(file.warnings).toEqual([]);
    });
  });
});
