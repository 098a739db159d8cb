import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readOggOpus } from '@imv/media';
import { compareOgg, sox, soxSamples } from './helpers/audio.js';
import { fixturePath } from '@imv/test-support';
import { runCli, servedTempDir } from '@imv/test-support/cli';

/**
 * Each shape is made by sox from a 2.5 s speech excerpt. The reference is what an honest
 * conversion back to 48 kHz mono can keep: for 8 kHz, the excerpt band-limited by sox to 8 kHz and back.
 */
const SHAPES: { name: string; soxOut: string[]; reference: string[] }[] = [
  { name: '44.1 kHz stereo 16-bit', soxOut: ['-r', '44100', '-c', '2', '-b', '16'], reference: [] },
  {
    name: '8 kHz mono 16-bit',
    soxOut: ['-r', '8000', '-c', '1', '-b', '16'],
    reference: ['rate', '8000', 'rate', '48000'],
  },
  { name: '48 kHz mono 24-bit', soxOut: ['-b', '24'], reference: [] },
  { name: '48 kHz mono 32-bit float', soxOut: ['-e', 'floating-point', '-b', '32'], reference: [] },
];

describe('imv send with WAV shapes and Ogg Opus', () => {
  const served = servedTempDir('imv-cli-shapes-');
  let excerpt: string;

  beforeAll(() => {
    excerpt = path.join(served.tmp, 'excerpt.wav');
    sox([fixturePath('speech-en-48k.wav'), excerpt, 'trim', '0.5', '2.5']);
  });

  async function sendAndDownload(
    file: string,
  ): Promise<{ stored: { id: number; source: string }; ogg: Uint8Array }> {
    const sent = await runCli([
      'send',
      file,
      '--room',
      'shapes',
      '--fast',
      '--json',
      '--server',
      served.server.url,
    ]);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stderr).toBe('');
    const stored = JSON.parse(sent.stdout) as { id: number; source: string; status: string };
    expect(stored.status).toBe('complete');
    const response = await fetch(`${served.server.url}/api/rooms/shapes/messages/${stored.id}.ogg`);
    expect(response.status).toBe(200);
    return { stored, ogg: new Uint8Array(await response.arrayBuffer()) };
  }

  it.each(SHAPES)('sends a $name WAV that arrives correlated with the source', async (shape) => {
    const file = path.join(served.tmp, `${shape.name.replace(/\W+/g, '-')}.wav`);
    sox([excerpt, ...shape.soxOut, file]);
    const { stored, ogg } = await sendAndDownload(file);
    expect(stored.source).toBe('encoded');
    const result = compareOgg(soxSamples(excerpt, shape.reference), ogg);
    expect(result.correlation).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs(result.lengthRatio - 1)).toBeLessThanOrEqual(0.05);
  });

  it('forwards the packets of a 20 ms mono Ogg Opus file unchanged', async () => {
    const file = path.join(served.tmp, 'excerpt.opus');
    execFileSync('opusenc', ['--quiet', '--bitrate', '24', excerpt, file]);
    const { stored, ogg } = await sendAndDownload(file);
    expect(stored.source).toBe('forwarded');
    const original = readOggOpus(await readFile(file)).packets;
    const relayed = readOggOpus(ogg).packets;
    expect(relayed).toHaveLength(original.length);
    expect(relayed.every((p, i) => Buffer.compare(p, original[i]!) === 0)).toBe(true);
    const result = compareOgg(soxSamples(excerpt), ogg);
    expect(result.correlation).toBeGreaterThanOrEqual(0.9);
  });

  it('re-encodes an Ogg Opus file with 60 ms packets into 20 ms frames', async () => {
    const file = path.join(served.tmp, 'excerpt-60ms.opus');
    execFileSync('opusenc', ['--quiet', '--bitrate', '24', '--framesize', '60', excerpt, file]);
    const { stored, ogg } = await sendAndDownload(file);
    expect(stored.source).toBe('re-encoded');
    const result = compareOgg(soxSamples(excerpt), ogg);
    expect(result.correlation).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs(result.lengthRatio - 1)).toBeLessThanOrEqual(0.05);
  });
});
