import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fixturePath, type FixtureName } from '@imv/test-support';
import { readWav } from '../src/index.js';

export { fixturePath };

export const SPEECH_EN = fixturePath('speech-en-48k.wav');

/** The fixture as mono 48 kHz float samples. */
export function readFixture(name: FixtureName = 'speech-en-48k.wav'): Float32Array {
  return readWav(readFileSync(fixturePath(name))).samples;
}

/** A temp dir removed by the returned cleanup. */
export function makeTempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'imv-media-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs a tool and returns stdout + stderr together (throws with both when it exits non-zero). */
export function run(cmd: string, args: string[]): string {
  const result = spawnSync(cmd, args, { encoding: 'utf8' });
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited with ${result.status}: ${output}`);
  return output;
}

/** Power of a pure tone at `freqHz` in `samples` (Goertzel), normalised so a unit sine gives about 0.5. */
export function tonePower(samples: Float32Array, sampleRateHz: number, freqHz: number): number {
  const w = (2 * Math.PI * freqHz) / sampleRateHz;
  let re = 0;
  let im = 0;
  for (let i = 0; i < samples.length; i++) {
    re += samples[i]! * Math.cos(w * i);
    im -= samples[i]! * Math.sin(w * i);
  }
  return (2 * (re * re + im * im)) / (samples.length * samples.length);
}

export function sine(
  freqHz: number,
  sampleRateHz: number,
  seconds: number,
  amplitude = 0.5,
): Float32Array {
  const out = new Float32Array(Math.round(sampleRateHz * seconds));
  for (let i = 0; i < out.length; i++)
    out[i] = amplitude * Math.sin((2 * Math.PI * freqHz * i) / sampleRateHz);
  return out;
}

/** Catches a thrown error (sync or async) so its code and message can be asserted. */
export async function caught(fn: () => unknown): Promise<Error & { code?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected an error, none was thrown');
}
