/*
 * Hand-written WAV reader, on purpose: WAV is a small RIFF format, and a library would hide what we need most,
 * a precise one-line error naming the problem (the codec, the bad field, the missing chunk) and a partial read
 * of a truncated or still-streaming file (data size 0xFFFFFFFF or past the end of the file).
 */
import { MediaError } from '../errors.js';
import { ALAW_TO_FLOAT, MULAW_TO_FLOAT } from './g711.js';

export type WavSampleFormat = 'pcm-int' | 'float' | 'alaw' | 'mulaw';

export interface WavAudio {
  sampleRate: number;
  channels: number;
  /** Bits per sample as stored (the container size; see validBitsPerSample in WAVE_FORMAT_EXTENSIBLE). */
  bitsPerSample: number;
  format: WavSampleFormat;
  /** All channels averaged to mono, -1..1, at the file's sample rate. */
  samples: Float32Array;
  /** The data chunk claims more bytes than the file holds (cut short, or written while streaming). */
  truncated: boolean;
  warnings: string[];
}

export const MAX_WAV_CHANNELS = 8;

/** wFormatTag values (RFC 2361 and mmreg.h). */
const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_ALAW = 0x0006;
const WAVE_FORMAT_MULAW = 0x0007;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Names for codecs people actually meet, so the error can say what the file is. */
const KNOWN_CODECS: Record<number, string> = {
  0x0002: 'ADPCM',
  0x0011: 'IMA ADPCM',
  0x0016: 'ITU G.723 ADPCM',
  0x0031: 'GSM 6.10',
  0x0040: 'G.721 ADPCM',
  0x0045: 'G.726 ADPCM',
  0x0050: 'MPEG',
  0x0055: 'MP3',
  0x00ff: 'AAC',
  0x0161: 'WMA',
  0x2000: 'AC-3',
  0x704f: 'Opus',
  0xf1ac: 'FLAC',
};

/** The 14 bytes that follow the format code in every KSDATAFORMAT_SUBTYPE_* GUID (…-0000-0010-8000-00aa00389b71). */
const SUBFORMAT_GUID_TAIL = [
  0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];

function codecName(tag: number): string {
  return `${KNOWN_CODECS[tag] ?? 'codec'} (0x${tag.toString(16).padStart(4, '0')})`;
}

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + 4));
}

interface FmtChunk {
  formatTag: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
}

function parseFmt(bytes: Uint8Array, start: number, size: number): FmtChunk {
  if (size < 16)
    throw new MediaError('BAD_FORMAT', `WAV 'fmt ' chunk is ${size} B, at least 16 B are needed`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, size);
  const fmt: FmtChunk = {
    formatTag: view.getUint16(0, true),
    channels: view.getUint16(2, true),
    sampleRate: view.getUint32(4, true),
    blockAlign: view.getUint16(12, true),
    bitsPerSample: view.getUint16(14, true),
  };
  if (fmt.formatTag === WAVE_FORMAT_EXTENSIBLE) {
    // WAVEFORMATEXTENSIBLE: cbSize 22, validBits, channel mask, then the 16-byte SubFormat GUID at offset 24.
    if (size < 40) {
      throw new MediaError(
        'BAD_FORMAT',
        `WAV 'fmt ' chunk is WAVE_FORMAT_EXTENSIBLE but only ${size} B long, 40 B are needed`,
      );
    }
    const subFormat = view.getUint16(24, true);
    const tailMatches = SUBFORMAT_GUID_TAIL.every((b, i) => bytes[start + 26 + i] === b);
    if (!tailMatches) {
      throw new MediaError(
        'UNSUPPORTED_CODEC',
        'unsupported WAV codec: WAVE_FORMAT_EXTENSIBLE with a vendor SubFormat GUID',
      );
    }
    fmt.formatTag = subFormat;
  }
  return fmt;
}

/** Reads a WAV file (RIFF/WAVE) and mixes it down to mono float samples at its own rate. */
export function readWav(bytes: Uint8Array): WavAudio {
  if (bytes.length < 12 || fourcc(bytes, 0) !== 'RIFF') {
    const head = fourcc(bytes, 0);
    const hint = head === 'RF64' ? ' (RF64, the 64-bit WAV variant, is not supported)' : '';
    throw new MediaError('NOT_RIFF', `not a WAV file: it does not start with 'RIFF'${hint}`);
  }
  if (fourcc(bytes, 8) !== 'WAVE') {
    throw new MediaError('NOT_WAVE', `RIFF file of type '${fourcc(bytes, 8)}', not 'WAVE'`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const warnings: string[] = [];
  let fmt: FmtChunk | undefined;
  let data: { start: number; size: number } | undefined;
  let truncated = false;
  let pos = 12;
  while (pos + 8 <= bytes.length) {
    const id = fourcc(bytes, pos);
    const declared = view.getUint32(pos + 4, true);
    const start = pos + 8;
    const available = bytes.length - start;
    if (id === 'data') {
      if (declared === 0xffffffff || declared > available) {
        truncated = true;
        warnings.push(
          declared === 0xffffffff
            ? `WAV data size is unset (0xFFFFFFFF, a streamed file); read the ${available} B present`
            : `WAV data chunk claims ${declared} B but the file holds ${available} B; the file is truncated, read what is there`,
        );
        data = { start, size: available };
        break;
      }
      data = { start, size: declared };
    } else if (id === 'fmt ') {
      if (declared > available)
        throw new MediaError('BAD_FORMAT', "the file ends inside the WAV 'fmt ' chunk");
      fmt = parseFmt(bytes, start, declared);
    } else if (declared > available) {
      // An unknown chunk (LIST, bext, …) running past the end: whatever came before it is still usable.
      if (data === undefined) {
        throw new MediaError(
          'NO_DATA',
          `WAV file ends inside its '${id}' chunk (${declared} B declared, ${available} B present), before any 'data' chunk`,
        );
      }
      warnings.push(`WAV '${id}' chunk runs past the end of the file; ignored`);
      break;
    }
    pos = start + declared + (declared & 1); // RIFF chunks are padded to an even size
  }
  if (fmt === undefined) throw new MediaError('NO_FMT', "WAV file has no 'fmt ' chunk");
  if (data === undefined) {
    throw new MediaError(
      'NO_DATA',
      `WAV file has no 'data' chunk (the file ends at byte ${bytes.length})`,
    );
  }

  const { channels, sampleRate } = fmt;
  if (channels === 0 || channels > MAX_WAV_CHANNELS) {
    throw new MediaError(
      'BAD_FORMAT',
      `WAV file has ${channels} channels; 1 to ${MAX_WAV_CHANNELS} are supported`,
    );
  }
  if (sampleRate === 0) throw new MediaError('BAD_FORMAT', 'WAV file has a sample rate of 0 Hz');

  let format: WavSampleFormat;
  let bytesPerSample: number;
  switch (fmt.formatTag) {
    case WAVE_FORMAT_PCM:
      format = 'pcm-int';
      bytesPerSample = Math.ceil(fmt.bitsPerSample / 8);
      if (bytesPerSample < 1 || bytesPerSample > 4) {
        throw new MediaError(
          'BAD_FORMAT',
          `WAV PCM with ${fmt.bitsPerSample} bits per sample; 8, 16, 24 and 32 are supported`,
        );
      }
      break;
    case WAVE_FORMAT_IEEE_FLOAT:
      format = 'float';
      bytesPerSample = fmt.bitsPerSample / 8;
      if (bytesPerSample !== 4 && bytesPerSample !== 8) {
        throw new MediaError(
          'BAD_FORMAT',
          `WAV float with ${fmt.bitsPerSample} bits per sample; 32 and 64 are supported`,
        );
      }
      break;
    case WAVE_FORMAT_ALAW:
    case WAVE_FORMAT_MULAW:
      format = fmt.formatTag === WAVE_FORMAT_ALAW ? 'alaw' : 'mulaw';
      bytesPerSample = 1;
      if (fmt.bitsPerSample !== 8) {
        throw new MediaError(
          'BAD_FORMAT',
          `WAV G.711 ${format} with ${fmt.bitsPerSample} bits per sample; 8 expected`,
        );
      }
      break;
    default:
      throw new MediaError(
        'UNSUPPORTED_CODEC',
        `unsupported WAV codec ${codecName(fmt.formatTag)}; convert it to PCM first, e.g. sox in.wav -e signed -b 16 out.wav`,
      );
  }
  // Samples sit in containers of blockAlign / channels bytes; 20-bit audio in 3-byte containers reads as 24-bit.
  const containerBytes = fmt.blockAlign / channels;
  if (!Number.isInteger(containerBytes) || containerBytes < bytesPerSample) {
    throw new MediaError(
      'BAD_FORMAT',
      `WAV block align is ${fmt.blockAlign} B for ${channels} channels of ${fmt.bitsPerSample}-bit samples`,
    );
  }
  if (format === 'pcm-int') bytesPerSample = containerBytes;
  if (bytesPerSample > 4 && format === 'pcm-int') {
    throw new MediaError(
      'BAD_FORMAT',
      `WAV PCM samples in ${containerBytes}-byte containers are not supported`,
    );
  }

  const frameCount = Math.floor(data.size / fmt.blockAlign);
  if (data.size % fmt.blockAlign !== 0) {
    warnings.push(`WAV data ends with a partial frame (${data.size % fmt.blockAlign} B); ignored`);
  }
  const samples = new Float32Array(frameCount);
  const readSample = sampleReader(view, format, bytesPerSample);
  const scale = 1 / channels;
  for (let frame = 0; frame < frameCount; frame++) {
    let sum = 0;
    const base = data.start + frame * fmt.blockAlign;
    for (let ch = 0; ch < channels; ch++) sum += readSample(base + ch * containerBytes);
    samples[frame] = sum * scale;
  }
  return {
    sampleRate,
    channels,
    bitsPerSample: bytesPerSample * 8,
    format,
    samples,
    truncated,
    warnings,
  };
}

function sampleReader(
  view: DataView,
  format: WavSampleFormat,
  bytesPerSample: number,
): (at: number) => number {
  switch (format) {
    case 'alaw':
      return (at) => ALAW_TO_FLOAT[view.getUint8(at)]!;
    case 'mulaw':
      return (at) => MULAW_TO_FLOAT[view.getUint8(at)]!;
    case 'float':
      return bytesPerSample === 4
        ? (at) => view.getFloat32(at, true)
        : (at) => view.getFloat64(at, true);
    case 'pcm-int':
      switch (bytesPerSample) {
        case 1:
          return (at) => (view.getUint8(at) - 128) / 128; // 8-bit WAV is unsigned
        case 2:
          return (at) => view.getInt16(at, true) / 32768;
        case 3:
          return (at) =>
            ((view.getUint8(at + 2) << 24) | (view.getUint16(at, true) << 8)) / 2147483648;
        default:
          return (at) => view.getInt32(at, true) / 2147483648;
      }
  }
}
