/*
 * The worker's outgoing side: capture blocks of our talk -> Opus encoder -> (end-to-end rooms:
 * sealed) frames on the socket, then talk-stop once the encoder is flushed. One talk at a time; a
 * quick re-press finishes the previous talk (its talk-stop first) before the next one starts.
 */
import {
  deriveStreamKey,
  encodeFrame,
  frameSamplesOf,
  newStreamSalt,
  sealFrame,
} from '@imv/protocol/wire';
import type { FrameMs, RoomKey, StreamKey } from '@imv/protocol/wire';
import type { ClientMessage } from '@imv/protocol';
import type { CaptureBlock, FromWorker } from '../engine-messages.js';
import { createWasmEncoder, createWebCodecsEncoder } from './opus-encoder.js';
import type { FrameEncoder } from './opus-encoder.js';
import type { CodecPick } from '../opus-config.js';

/** What the outgoing side needs from the worker around it. */
export interface OutgoingLink {
  /** Whether the socket is open; packets encoded while it is not are dropped unnumbered. */
  readonly open: boolean;
  sendFrame(frame: Uint8Array): void;
  sendJson(msg: ClientMessage): void;
  post(msg: FromWorker): void;
}

interface Talk {
  streamId: number;
  /** 48 kHz samples per frame: the header timestamp steps by this much. */
  frameSamples: number;
  sequence: number;
  encoder: FrameEncoder;
  /** Set once the talk is flushing its encoder before talk-stop. */
  finishing: Promise<void> | null;
  /** End-to-end rooms: this talk's AES key (maybe still being derived); frames are sealed in order through `sending`. */
  streamKey: Promise<StreamKey> | null;
  sending: Promise<void>;
}

export class OutgoingTalks {
  private talk: Talk | null = null;

  constructor(private readonly link: OutgoingLink) {}

  /** The stream id of the talk being sent, if any (the worker never plays its own stream). */
  get streamId(): number | undefined {
    return this.talk?.streamId;
  }

  async start(
    streamId: number,
    frameMs: FrameMs,
    codec: CodecPick,
    roomKey: RoomKey | null,
  ): Promise<void> {
    while (this.talk !== null) await this.finish(this.talk.streamId);
    const onError = (e: Error) => {
      if (this.talk?.streamId === streamId) this.abort(`encoder failed: ${e.message}`);
    };
    let encoder: FrameEncoder;
    if (codec.kind === 'webcodecs')
      encoder = createWebCodecsEncoder(frameMs, (p) => this.onPacket(streamId, p), onError);
    else if (codec.kind === 'wasm' && codec.wasm !== null)
      encoder = createWasmEncoder(codec.wasm, frameMs, (p) => this.onPacket(streamId, p));
    else {
      this.link.post({ type: 'talk-failed', streamId, message: 'no Opus encoder in this browser' });
      return;
    }
    // The talk exists from here on with no await before it: the capture worklet is already sending
    // blocks, and a block that finds no talk is dropped, which would cut the start of the talk.
    let streamKey: Promise<StreamKey> | null = null;
    let e2e: { encrypted: true; e2eSalt: string; keyCheck: string } | undefined;
    if (roomKey !== null) {
      // A fresh salt per talk gives every stream its own AES key (e2e.ts: nonces never repeat). The
      // key is derived while the first frames encode; sealing waits for it, in order.
      const e2eSalt = newStreamSalt();
      streamKey = deriveStreamKey(roomKey, e2eSalt);
      e2e = { encrypted: true, e2eSalt, keyCheck: roomKey.keyCheck };
    }
    const t: Talk = {
      streamId,
      frameSamples: frameSamplesOf(frameMs),
      sequence: 0,
      encoder,
      finishing: null,
      streamKey,
      sending: Promise.resolve(),
    };
    this.talk = t;
    if (streamKey !== null) {
      t.sending = streamKey.then(
        () => undefined,
        (e: unknown) => {
          if (this.talk === t)
            this.abort(`could not derive the stream key: ${(e as Error).message}`);
        },
      );
    }
    this.link.sendJson({ type: 'talk-start', streamId, frameMs, ...e2e });
  }

  onCapture(msg: CaptureBlock): void {
    const t = this.talk;
    if (msg.type === 'end') void this.finish(msg.streamId);
    else if (t !== null && t.streamId === msg.streamId && t.finishing === null)
      t.encoder.encode(msg.pcm);
  }

  /** Flushes the encoder, sends the last frames and then talk-stop. */
  finish(streamId: number): Promise<void> {
    const t = this.talk;
    if (t === null || t.streamId !== streamId) return Promise.resolve();
    t.finishing ??= (async () => {
      try {
        await t.encoder.flush();
      } catch {
        // A failed flush loses at most the last frame; the talk still ends cleanly.
      }
      t.encoder.close();
      await t.sending; // the last sealed frames go out before talk-stop
      if (this.talk !== t) return; // aborted meanwhile
      this.talk = null;
      this.link.sendJson({ type: 'talk-stop', streamId: t.streamId });
      this.link.post({ type: 'talk-sent', streamId: t.streamId, frames: t.sequence });
    })();
    return t.finishing;
  }

  /** Ends the talk without talk-stop and tells the main thread why. */
  abort(message: string): void {
    const t = this.talk;
    if (t === null) return;
    this.talk = null;
    t.encoder.close();
    this.link.post({ type: 'talk-failed', streamId: t.streamId, message });
  }

  /** The server already ended our stream: stop encoding, send nothing more. */
  drop(streamId: number): void {
    if (this.talk?.streamId !== streamId) return;
    this.talk.encoder.close();
    this.talk = null;
  }

  private onPacket(streamId: number, packet: Uint8Array): void {
    const t = this.talk;
    if (t?.streamId !== streamId || !this.link.open) return;
    const sequence = t.sequence++;
    const header = { flags: 0, streamId, sequence, timestamp: sequence * t.frameSamples };
    const key = t.streamKey;
    if (key === null) {
      this.link.sendFrame(encodeFrame(header, packet));
      return;
    }
    t.sending = t.sending
      .then(async () => {
        const sealed = await sealFrame(await key, header, packet);
        if (this.talk === t && this.link.open) this.link.sendFrame(sealed);
      })
      .catch((e: unknown) => {
        if (this.talk === t) this.abort(`could not encrypt a frame: ${(e as Error).message}`);
      });
  }
}
