import { MediaError } from './errors.js';
import { readOggOpus } from './ogg/ogg-reader.js';
import { resampleTo48k } from './resample.js';
import { type WavSampleFormat, readWav } from './wav/wav-reader.js';

export type AudioFile =
  | {
      kind: 'pcm';
      /** Mono, resampled to 48 kHz. */
      samples48k: Float32Array;
      source: { sampleRate: number; channels: number; bitsPerSample: number; format: WavSampleFormat };
      warnings: string[];
    }
  | {
      kind: 'opus';
      packets: Uint8Array[];
      preSkip: number;
      /** Decoded length after pre-skip and end trim, 48 kHz samples. */
      sampleCount: number;
      warnings: string[];
    };

function describeStart(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'the file is empty';
  const head = bytes.subarray(0, 8);
  const hex = Array.from(head, (b) => b.toString(16).padStart(2, '0')).join(' ');
  const printable = Array.from(head, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  const known: Array<[string, string]> = [
    ['fLaC', 'FLAC'],
    ['ID3', 'MP3'],
    ['RF64', 'RF64 WAV'],
    ['FORM', 'AIFF'],
    ['caff', 'Core Audio'],
    ['\x1aE\xdf\xa3', 'WebM/Matroska'],
  ];
  const guess =
    known.find(([magic]) => printable.startsWith(magic) || String.fromCharCode(...head).startsWith(magic))?.[1] ??
    (printable.slice(4, 8) === 'ftyp' ? 'MP4/M4A' : (head[0] === 0xff && (head[1]! & 0xe0) === 0xe0) ? 'MPEG audio' : undefined);
  return `it starts with ${hex} ("${printable}")${guess === undefined ? '' : `, which looks like ${guess}`}`;
}

/**
 * Reads a file `imv send` may be given: WAV (any PCM/float/G.711 shape, resampled to 48 kHz mono) or Ogg Opus
 * (packets kept as they are, no re-encode). Anything else is MediaError UNSUPPORTED_FILE.
 */
export async function readAudioFile(bytes: Uint8Array): Promise<AudioFile> {
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic === 'RIFF') {
    const wav = readWav(bytes);
    const samples48k = await resampleTo48k(wav.samples, wav.sampleRate);
    return {
      kind: 'pcm',
      samples48k,
      source: { sampleRate: wav.sampleRate, channels: wav.channels, bitsPerSample: wav.bitsPerSample, format: wav.format },
      warnings: wav.warnings,
    };
  }
  if (magic === 'OggS') {
    const ogg = readOggOpus(bytes);
    return {
      kind: 'opus',
      packets: ogg.packets,
      preSkip: ogg.head.preSkip,
      sampleCount: ogg.sampleCount,
      warnings: ogg.warnings,
    };
  }
  throw new MediaError(
    'UNSUPPORTED_FILE',
    `unsupported audio file: expected WAV ('RIFF') or Ogg Opus ('OggS'), but ${describeStart(bytes)}`,
  );
}
