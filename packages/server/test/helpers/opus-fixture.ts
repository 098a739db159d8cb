import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixturePath, type FixtureName } from '@imv/test-support';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export { fixturePath };

/** Splits an Ogg stream into its packets (RFC 3533 §6 lacing), page by page. */
function oggPackets(file: Uint8Array): Uint8Array[] {
  const packets: Uint8Array[] = [];
  let partial: number[] = [];
  let pos = 0;
  while (pos + 27 <= file.length) {
    const segments = file[pos + 26]!;
    const lacing = file.subarray(pos + 27, pos + 27 + segments);
    let body = pos + 27 + segments;
    for (const size of lacing) {
      for (let i = 0; i < size; i++) partial.push(file[body + i]!);
      body += size;
      if (size < 255) {
        packets.push(Uint8Array.from(partial));
        partial = [];
      }
    }
    pos = body;
  }
  return packets;
}

const cache = new Map<string, Uint8Array[]>();

/** Real 20 ms (or 10 ms) Opus packets of a fixture at 24 kbps, from opusenc (OpusHead and OpusTags removed). */
export function opusPacketsOf(fixture: FixtureName, frameMs: 10 | 20 = 20): Uint8Array[] {
  const key = `${fixture} ${frameMs}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const dir = mkdtempSync(path.join(tmpdir(), 'imv-opus-'));
  try {
    const out = path.join(dir, 'out.opus');
    execFileSync('opusenc', [
      '--quiet',
      '--bitrate',
      '24',
      '--framesize',
      String(frameMs),
      fixturePath(fixture),
      out,
    ]);
    const packets = oggPackets(readFileSync(out)).slice(2);
    cache.set(key, packets);
    return packets;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Mono 16-bit PCM WAV → float samples. */
export function readWavMono(file: string): Float32Array {
  const bytes = readFileSync(file);
  let pos = 12;
  while (pos + 8 <= bytes.length) {
    const id = bytes.toString('ascii', pos, pos + 4);
    const size = bytes.readUInt32LE(pos + 4);
    if (id === 'data') {
      const samples = new Float32Array(size / 2);
      for (let i = 0; i < samples.length; i++)
        samples[i] = bytes.readInt16LE(pos + 8 + i * 2) / 32768;
      return samples;
    }
    pos += 8 + size + (size & 1);
  }
  throw new Error(`${file} has no data chunk`);
}
