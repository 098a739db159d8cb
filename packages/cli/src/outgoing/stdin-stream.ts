import { MediaError, StreamResampler, WavStreamDecoder, concatBytes } from '@imv/media';
import { OpusFrameEncoder } from '@imv/media/node';
import { FRAME_MS } from '@imv/protocol';
import type { FrameMs } from '@imv/protocol';
import { CliError } from '../cli-error.js';

/** What `imv send -` found on stdin: a WAV to stream as it arrives, or all the bytes of anything else. */
export type StdinInput =
  { kind: 'bytes'; bytes: Uint8Array } | { kind: 'wav-stream'; stream: WavStdinStream };

function toBytes(chunk: Buffer | string): Uint8Array {
  const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function mediaToCli(label: string, error: unknown): unknown {
  return error instanceof MediaError
    ? new CliError(`cannot read ${label}: ${error.message}`, undefined, { cause: error })
    : error;
}

/**
 * Opens stdin for `imv send -`. A stream that starts with 'RIFF' is a WAV: its header is read and checked now
 * (a bad one throws CliError before anything connects), and its audio is encoded as it arrives. Anything else
 * (Ogg Opus) is read to its end, as a file would be.
 */
export async function openStdin(label = 'stdin'): Promise<StdinInput> {
  if (process.stdin.isTTY)
    throw new CliError('cannot read stdin: it is a terminal; pipe audio in or give a file');
  const iterator = (process.stdin as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headLength = 0;
  while (headLength < 4) {
    const next = await iterator.next();
    if (next.done === true) return { kind: 'bytes', bytes: concatBytes(head) };
    head.push(toBytes(next.value));
    headLength += head.at(-1)!.length;
  }
  const first = concatBytes(head);
  if (String.fromCharCode(...first.subarray(0, 4)) !== 'RIFF') {
    const rest: Uint8Array[] = [first];
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) break;
      rest.push(toBytes(next.value));
    }
    return { kind: 'bytes', bytes: concatBytes(rest) };
  }
  return { kind: 'wav-stream', stream: await WavStdinStream.open(first, iterator, label) };
}

/** A WAV arriving on stdin, turned into 20 or 10 ms Opus packets as its PCM arrives (mono, 48 kHz). */
export class WavStdinStream {
  private constructor(
    private readonly iterator: AsyncIterator<Buffer | string>,
    private readonly decoder: WavStreamDecoder,
    private readonly resampler: StreamResampler,
    /** Samples decoded while reading the header (the header's last read may carry audio). */
    private firstSamples: Float32Array,
    private readonly label: string,
  ) {}

  /** Reads until the WAV header is complete and valid; throws CliError "cannot read stdin: …" otherwise. */
  static async open(
    first: Uint8Array,
    iterator: AsyncIterator<Buffer | string>,
    label: string,
  ): Promise<WavStdinStream> {
    const decoder = new WavStreamDecoder();
    try {
      let samples = decoder.push(first);
      while (decoder.format === undefined) {
        const next = await iterator.next();
        if (next.done === true) {
          decoder.end(); // throws why the header is incomplete
          break;
        }
        samples = decoder.push(toBytes(next.value));
      }
      const resampler = await StreamResampler.create(decoder.format!.sampleRate);
      return new WavStdinStream(iterator, decoder, resampler, samples, label);
    } catch (error) {
      throw mediaToCli(label, error);
    }
  }

  get sampleRate(): number {
    return this.decoder.format!.sampleRate;
  }

  /**
   * Opus packets as the audio arrives; at the end of stdin the resampler and encoder are flushed. Throws
   * CliError when the stream ends without a single sample.
   */
  async *packets(frameMs: FrameMs = FRAME_MS): AsyncGenerator<Uint8Array> {
    const encoder = new OpusFrameEncoder({ frameMs });
    let inputSamples = 0;
    let pcm = this.firstSamples;
    this.firstSamples = new Float32Array(0);
    for (;;) {
      inputSamples += pcm.length;
      yield* encoder.push(this.resampler.push(pcm));
      const next = await this.iterator.next();
      if (next.done === true) break;
      pcm = this.decoder.push(toBytes(next.value));
    }
    if (inputSamples === 0)
      throw new CliError(`cannot read ${this.label}: it holds no audio samples`);
    yield* encoder.push(this.resampler.end());
    yield* encoder.flush();
  }
}
