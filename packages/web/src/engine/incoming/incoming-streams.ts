/*
 * The worker's incoming side: frames of remote live streams -> (end-to-end rooms: opened) -> one
 * Opus decoder per stream -> PCM to the playback worklet, whose jitter buffer plays it out.
 *
 * What a stream is comes from the main thread, which parses control messages: `announce` (from
 * talk-started or joined.live) says whether it is sealed and with which salt, and `end` (from
 * talk-stopped, or the socket closing) is the one way a stream ends. The announcement is posted
 * after the worker handed the control text over, so a stream's first frames can arrive before it:
 * sealed frames of a stream not yet announced wait (in order) for its key rather than being lost.
 */
import { FLAG_ENCRYPTED, deriveStreamKey, openFrame } from '@imv/protocol/wire';
import type { Frame, RoomKey, StreamKey } from '@imv/protocol/wire';
import type { FromWorker, PlaybackInput, RemoteStreamInfo } from '../engine-messages.js';
import type { CodecPick } from '../opus-config.js';
import { createWasmDecoder, createWebCodecsDecoder } from './opus-decoder.js';
import type { FrameDecoder } from './opus-decoder.js';

/** How long sealed frames of a stream nobody announced are kept before the stream is refused. */
const UNANNOUNCED_TIMEOUT_MS = 3000;

/** What the incoming side needs from the worker around it. */
export interface IncomingLink {
  post(msg: FromWorker): void;
  postPlayback(msg: PlaybackInput, transfer?: Transferable[]): void;
}

type Refusal = 'no-passphrase' | 'wrong-passphrase';

interface SealedStream {
  /** Resolves with the stream's AES key, or null when this page cannot open it. */
  key: Promise<StreamKey | null>;
  /** Set until the main thread announced the stream. */
  announce: ((key: Promise<StreamKey | null>) => void) | null;
  timer: ReturnType<typeof setTimeout> | undefined;
  refused: boolean;
  /** Sealed frames are opened one after another so the decoder sees them in arrival order. */
  opening: Promise<void>;
}

export class IncomingStreams {
  /** The room's end-to-end key, or null in a room without passphrase. */
  roomKey: RoomKey | null = null;
  private readonly decoders = new Map<number, FrameDecoder>();
  private readonly sealed = new Map<number, SealedStream>();

  constructor(
    private readonly link: IncomingLink,
    private readonly codec: CodecPick,
  ) {}

  /** A remote stream went live (talk-started or joined.live). */
  announce(info: RemoteStreamInfo): void {
    if (!info.encrypted) return; // plain frames need nothing beyond their header
    const stream = this.sealedStream(info.streamId);
    if (stream.announce === null) return; // announced before
    let key: Promise<StreamKey | null>;
    if (this.roomKey === null) key = this.refuse(info.streamId, stream, 'no-passphrase');
    else if (info.e2eSalt === undefined || info.keyCheck !== this.roomKey.keyCheck)
      key = this.refuse(info.streamId, stream, 'wrong-passphrase');
    else
      key = deriveStreamKey(this.roomKey, info.e2eSalt).catch(() =>
        this.refuse(info.streamId, stream, 'wrong-passphrase'),
      );
    stream.announce(key);
  }

  /** A frame from the socket that is not ours. */
  onFrame(frame: Frame, bytes: Uint8Array): void {
    if ((frame.flags & FLAG_ENCRYPTED) === 0) {
      if (frame.payload.byteLength > 0)
        this.decoderFor(frame.streamId)?.decode(frame.sequence, frame.payload);
      return;
    }
    const stream = this.sealedStream(frame.streamId);
    if (stream.refused) return;
    const { streamId, sequence } = frame;
    stream.opening = stream.opening.then(async () => {
      const key = await stream.key;
      if (key === null || stream.refused) return;
      try {
        const packet = await openFrame(key, bytes);
        if (packet.byteLength > 0) this.decoderFor(streamId)?.decode(sequence, packet);
      } catch {
        void this.refuse(streamId, stream, 'wrong-passphrase');
      }
    });
  }

  /** The stream ended: what is still being opened and decoded plays out, then its playback ends. */
  async end(streamId: number): Promise<void> {
    const stream = this.sealed.get(streamId);
    if (stream !== undefined) {
      this.sealed.delete(streamId);
      // Announced streams always precede their end; frames of one that never was cannot be opened.
      if (stream.announce !== null)
        stream.announce(this.refuse(streamId, stream, this.unknownReason()));
      await stream.opening; // frames still being opened reach the decoder before its flush
    }
    const decoder = this.decoders.get(streamId);
    this.decoders.delete(streamId);
    if (decoder !== undefined) {
      try {
        await decoder.flush();
      } catch {
        // closed or failed: nothing more will come out of it
      }
      decoder.close();
    }
    this.link.postPlayback({ type: 'end', streamId });
  }

  private sealedStream(streamId: number): SealedStream {
    const known = this.sealed.get(streamId);
    if (known !== undefined) return known;
    let settle!: (key: Promise<StreamKey | null>) => void;
    const key = new Promise<StreamKey | null>((resolve) => {
      settle = resolve;
    });
    const stream: SealedStream = {
      key,
      announce: null,
      timer: undefined,
      refused: false,
      opening: Promise.resolve(),
    };
    stream.announce = (k) => {
      stream.announce = null;
      clearTimeout(stream.timer);
      settle(k);
    };
    // Frames of a stream whose talk-started this page never saw: its salt is unknown.
    stream.timer = setTimeout(
      () => stream.announce?.(this.refuse(streamId, stream, this.unknownReason())),
      UNANNOUNCED_TIMEOUT_MS,
    );
    this.sealed.set(streamId, stream);
    return stream;
  }

  private unknownReason(): Refusal {
    return this.roomKey === null ? 'no-passphrase' : 'wrong-passphrase';
  }

  /** Marks the stream unplayable (once, with an event); a refused stream plays nothing, never noise. */
  private refuse(streamId: number, stream: SealedStream, reason: Refusal): Promise<null> {
    if (!stream.refused) {
      stream.refused = true;
      this.link.post({ type: 'undecryptable', streamId, reason });
    }
    return Promise.resolve(null);
  }

  private decoderFor(streamId: number): FrameDecoder | null {
    let decoder = this.decoders.get(streamId);
    if (decoder !== undefined) return decoder;
    const onPcm = (sequence: number, pcm: Float32Array) =>
      this.link.postPlayback({ type: 'frame', streamId, sequence, pcm }, [pcm.buffer]);
    const onError = (e: Error) => {
      this.link.post({
        type: 'frame-error',
        message: `stream ${streamId}: decoder failed: ${e.message}`,
      });
      this.decoders.delete(streamId);
    };
    if (this.codec.kind === 'webcodecs') decoder = createWebCodecsDecoder(onPcm, onError);
    else if (this.codec.kind === 'wasm' && this.codec.wasm !== null)
      decoder = createWasmDecoder(this.codec.wasm, onPcm, onError);
    else return null;
    this.decoders.set(streamId, decoder);
    return decoder;
  }
}
