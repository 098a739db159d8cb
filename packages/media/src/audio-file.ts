import { MediaError } from './errors.js';
import { readOggOpus } from './ogg/ogg-reader.js';
import { resampleTo48k } from './resample.js';
import { type WavSampleFormat, readWav } from './wav/wav-reader.js';

export type AudioFile =
  | {
      kind: 'pcm';
      /** Mono, resampled to 48 kHz. */
      samples48k: Float32Array;
      source: {
        sampleRate: number;
        channels: number;
        bitsPerSample: number;
        format: WavSampleFormat;
      };
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

/** Signatures of files people may try to send, to name them in the error. */
const KNOWN_SIGNATURES: Array<[number[], string]> = [
  [[0x66, 0x4c, 0x61, 0x43], 'FLAC'], // 'fLaC'
  [[0x49, 0x44, 0x33], 'MP3 with an ID3 tag'], // 'ID3'
  [[0x52, 0x46, 0x36, 0x34], 'RF64 (64-bit WAV)'], // 'RF64'
  [[0x46, 0x4f, 0x52, 0x4d], 'AIFF'], // 'FORM'
  [[0x63, 0x61, 0x66, 0x66], 'Core Audio (CAF)'], // 'caff'
  [[0x1a, 0x45, 0xdf, 0xa3], 'WebM/Matroska'], // EBML header
];

function describeStart(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'the file is empty';
  const head = Array.from(bytes.subarray(0, 8));
  const hex = head.map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const printable = head
    .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.'))
    .join('');
  let guess = KNOWN_SIGNATURES.find(([magic]) => magic.every((b, i) => head[i] === b))?.[1];
  if (printable.slice(4, 8) === 'ftyp') guess = 'MP4/M4A';
  else if (guess === undefined && head[0] === 0xff && ((head[1] ?? 0) & 0xe0) === 0xe0)
    guess = 'MPEG audio (MP3)';
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
      source: {
        sampleRate: wav.sampleRate,
        channels: wav.channels,
        bitsPerSample: wav.bitsPerSample,
        format: wav.format,
      },
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
