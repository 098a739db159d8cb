import { execFileSync } from 'node:child_process';
import { correlate } from '@imv/media';
import { decodeOggOpus } from '@imv/media/node';

/** Runs sox with the given arguments (conversions for the input-shape tests). */
export function sox(args: string[]): void {
  execFileSync('sox', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Reads an audio file through sox as mono 32-bit float at its own rate, after optional sox effects.
 * The references come from sox, not from the code under test.
 */
export function soxSamples(file: string, effects: string[] = []): Float32Array {
  const out = execFileSync('sox', [file, '-t', 'f32', '-c', '1', '-', ...effects], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return new Float32Array(out.buffer, out.byteOffset, out.byteLength / 4);
}

export interface Match {
  correlation: number;
  /** Decoded length / reference length. */
  lengthRatio: number;
}

/** Decodes an Ogg Opus file and compares it with a 48 kHz reference. */
export function compareOgg(reference: Float32Array, ogg: Uint8Array): Match {
  const decoded = decodeOggOpus(ogg);
  return compareSamples(reference, decoded);
}

export function compareSamples(reference: Float32Array, decoded: Float32Array): Match {
  const { correlation } = correlate(reference, decoded, { maxLagSamples: 4800 });
  return { correlation, lengthRatio: decoded.length / reference.length };
}
