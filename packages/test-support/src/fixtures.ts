import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The WAV fixtures (48 kHz, mono, 16-bit) kept in the repository: see fixtures/README.md. */
export const FIXTURES_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../fixtures',
);

/** The names of the fixtures every test may use. */
export type FixtureName = 'speech-en-48k.wav' | 'speech-fr-48k.wav' | 'clicks-1s-48k.wav';

/** Absolute path of a fixture, e.g. fixturePath('speech-en-48k.wav'). */
export function fixturePath(name: FixtureName): string {
  return path.join(FIXTURES_DIR, name);
}
