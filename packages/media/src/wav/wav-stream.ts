/*
 * Incremental WAV decoding for audio that is still being written: `arecord … -t wav |` or `sox … -t wav - |`.
 * Such streams carry a data size of 0, 0xFFFFFFFF or a large guess, so the data chunk is read to the end of the
 * stream. Validation and sample conversion are readWav's own: the header is checked by readWav, and each piece of
 * PCM is converted by readWav on that header with the data size set to the piece's length.
 */
import { concatBytes } from '../bytes.js';
import { MediaError } from '../errors.js';
import { readWav } from './wav-reader.js';

/** Data sizes writers use for "unknown, read to the end" (0, and 0xFFFFFFFF as in readWav). */
const STREAMED_DATA_SIZES = new Set([0, 0xffffffff]);

export interface WavStreamFormat {
  sampleRate: number;
  channels: number;
  /** Bytes per sample frame (all channels), from the 'fmt ' chunk. */
  blockAlign: number;
}

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + 4));
}

/** A RIFF chunk id is four printable ASCII characters (space included, as in 'fmt '). */
function looksLikeChunkId(bytes: Uint8Array, at: number): boolean {
  for (let i = at; i < at + 4; i++) if (bytes[i]! < 0x20 || bytes[i]! > 0x7e) return false;
  return true;
}

/**
 * Decodes a WAV byte stream as it arrives into mono float samples at the stream's own rate. `push` returns the
 * samples of every complete sample frame received so far; a partial frame is kept for the next push. Throws
 * MediaError (readWav's codes and messages) as soon as the header is known to be bad.
 */
export class WavStreamDecoder {
  /** Set once the header up to the start of the data chunk has arrived and passed readWav's checks. */
  format: WavStreamFormat | undefined;
  private head: Uint8Array = new Uint8Array(0);
  /** The header with a data size to patch: bytes 0 .. dataStart. */
  private header: Uint8Array | undefined;
  private pending: Uint8Array = new Uint8Array(0);
  /** Data bytes still to read by the declared size; Infinity when the size says "streamed". */
  private declaredLeft = Infinity;
  /** True after a trailing chunk follows a correctly sized data chunk: the rest is not audio. */
  private done = false;

  push(bytes: Uint8Array): Float32Array {
    if (this.header === undefined) {
      this.head = concatBytes([this.head, bytes]);
      const data = this.findDataChunk();
      if (data === undefined) return new Float32Array(0);
      this.header = this.head.slice(0, data.start);
      const declared = new DataView(this.header.buffer).getUint32(data.start - 4, true);
      this.declaredLeft = STREAMED_DATA_SIZES.has(declared) ? Infinity : declared;
      this.format = this.checkHeader(data.fmtStart);
      bytes = this.head.subarray(data.start);
      this.head = new Uint8Array(0);
    }
    return this.decode(bytes);
  }

  /**
   * Ends the stream. Throws readWav's error when the header never completed (a stream cut before its data chunk,
   * or not a WAV at all); returns nothing more otherwise (a trailing partial frame is dropped, as readWav does).
   */
  end(): void {
    if (this.header === undefined) {
      readWav(this.head); // throws the precise reason
      throw new MediaError('NO_DATA', "WAV stream ended before its 'data' chunk");
    }
  }

  /** Walks the chunks received so far; returns where the data chunk's bytes begin once its header has arrived. */
  private findDataChunk(): { start: number; fmtStart: number } | undefined {
    const bytes = this.head;
    if (bytes.length >= 4 && fourcc(bytes, 0) !== 'RIFF') readWav(bytes); // NOT_RIFF, with readWav's hints
    if (bytes.length >= 12 && fourcc(bytes, 8) !== 'WAVE') readWav(bytes);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let fmtStart: number | undefined;
    let pos = 12;
    while (pos + 8 <= bytes.length) {
      const id = fourcc(bytes, pos);
      const size = view.getUint32(pos + 4, true);
      if (id === 'data') {
        if (fmtStart === undefined)
          throw new MediaError('NO_FMT', "WAV stream has no 'fmt ' chunk before its 'data' chunk");
        return { start: pos + 8, fmtStart };
      }
      if (id === 'fmt ') fmtStart = pos;
      pos += 8 + size + (size & 1);
    }
    return undefined;
  }

  /** readWav validates the header (codec, channels, rate, block align) with an empty data chunk. */
  private checkHeader(fmtStart: number): WavStreamFormat {
    const header = this.header!;
    const empty = header.slice();
    new DataView(empty.buffer).setUint32(empty.length - 4, 0, true);
    const wav = readWav(empty);
    const blockAlign = new DataView(header.buffer).getUint16(fmtStart + 8 + 12, true);
    return { sampleRate: wav.sampleRate, channels: wav.channels, blockAlign };
  }

  private decode(bytes: Uint8Array): Float32Array {
    if (this.done || bytes.length === 0) return new Float32Array(0);
    if (this.declaredLeft !== Infinity && bytes.length > this.declaredLeft) {
      // Past the declared size: a trailing chunk (LIST, …) ends the audio; anything else means the size was wrong.
      const rest = concatBytes([this.pending, bytes]).subarray(
        this.pending.length + this.declaredLeft,
      );
      if (rest.length >= 4 && looksLikeChunkId(rest, 0)) {
        this.done = true;
        bytes = bytes.subarray(0, this.declaredLeft);
      } else {
        this.declaredLeft = Infinity;
      }
    }
    if (this.declaredLeft !== Infinity) this.declaredLeft -= bytes.length;
    const all = concatBytes([this.pending, bytes]);
    const { blockAlign } = this.format!;
    const usable = all.length - (all.length % blockAlign);
    this.pending = all.slice(usable);
    if (usable === 0) return new Float32Array(0);
    const header = this.header!;
    const wav = new Uint8Array(header.length + usable);
    wav.set(header);
    wav.set(all.subarray(0, usable), header.length);
    new DataView(wav.buffer).setUint32(header.length - 4, usable, true);
    return readWav(wav).samples;
  }
}
