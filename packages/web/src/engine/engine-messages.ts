/*
 * Messages between the engine's threads. The main thread only routes control JSON and UI events;
 * audio goes capture worklet -> worker -> playback worklet over MessagePorts it never touches.
 */
import type { FrameMs, RoomKey } from '@imv/protocol/wire';
import type { JitterBufferOptions, JitterBufferStats } from './incoming/jitter-buffer.js';

/** Which Opus implementation the worker uses. 'auto' = WebCodecs if it supports our config, else WASM. */
export type CodecChoice = 'auto' | 'webcodecs' | 'wasm';

// ---- capture worklet ----------------------------------------------------------------------
export type ToCaptureWorklet =
  | { type: 'connect-worker'; port: MessagePort }
  /** Start cutting blocks of `frameSamples` (one frame of the talk: 960 or 480) for `streamId`. */
  | { type: 'capture'; on: true; streamId: number; frameSamples: number }
  | { type: 'capture'; on: false };

export type FromCaptureWorkletToMain = { type: 'level'; level: number };

/** Capture worklet -> worker, on the capture port. */
export type CaptureBlock =
  /** One frame (20 or 10 ms) of mono 48 kHz audio; `frame` is the AudioContext frame of its first sample. */
  | { type: 'block'; streamId: number; pcm: Float32Array<ArrayBuffer>; frame: number }
  /** Capture stopped: no block follows for this talk. */
  | { type: 'end'; streamId: number };

// ---- playback worklet ---------------------------------------------------------------------
export type ToPlaybackWorklet =
  | { type: 'connect-worker'; port: MessagePort }
  | { type: 'mute'; muted: boolean }
  | { type: 'get-stats'; id: number };

/** Worker -> playback worklet, on the playback port. */
export type PlaybackInput =
  | { type: 'frame'; streamId: number; sequence: number; pcm: Float32Array }
  | { type: 'end'; streamId: number };

export interface PlaybackStats {
  /** Streams being played now. */
  streams: ({ streamId: number } & JitterBufferStats)[];
  /** Totals over every stream played since the page opened (finished ones included). */
  totals: Omit<JitterBufferStats, 'depthMs' | 'targetMs' | 'jitterMs'>;
}

export type FromPlaybackWorklet =
  | { type: 'levels'; levels: [streamId: number, level: number][] }
  /** First real sample of a stream was rendered at AudioContext frame `frame`. */
  | { type: 'stream-playing'; streamId: number; frame: number }
  | { type: 'stream-finished'; streamId: number; stats: JitterBufferStats }
  | { type: 'stats'; id: number; stats: PlaybackStats };

export interface PlaybackWorkletOptions {
  jitter?: JitterBufferOptions;
}

// ---- worker -------------------------------------------------------------------------------
/** A remote live stream as the worker needs it, from the parsed talk-started or joined.live. */
export interface RemoteStreamInfo {
  streamId: number;
  encrypted: boolean;
  e2eSalt?: string;
  keyCheck?: string;
}

export type ToWorker =
  | { type: 'init'; capturePort: MessagePort; playbackPort: MessagePort; codec: CodecChoice }
  | { type: 'connect'; url: string }
  | { type: 'disconnect' }
  | { type: 'send'; text: string }
  /** Send talk-start and encode capture blocks (frames of `frameMs`) into this stream until the capture port's 'end'. */
  | { type: 'talk-start'; streamId: number; frameMs: FrameMs }
  /** The server ended our stream: stop encoding it and send no talk-stop. */
  | { type: 'talk-abort'; streamId: number }
  /** A remote stream went live (talk-started, joined.live): whether and how its frames are sealed. */
  | { type: 'stream-start'; stream: RemoteStreamInfo }
  /**
   * A remote stream ended (talk-stopped, or the socket closed while it was live): flush its decoder
   * and end its playback. The one way a remote stream ends; END frames only carry audio.
   */
  | { type: 'stream-end'; streamId: number }
  /**
   * The room's end-to-end key (derived once on the main thread; a CryptoKey clones into the worker
   * without leaving WebCrypto), or null for a room without passphrase.
   */
  | { type: 'e2e-key'; roomKey: RoomKey | null };

export type FromWorker =
  | {
      type: 'codec';
      encoder: 'webcodecs' | 'wasm' | 'none';
      decoder: 'webcodecs' | 'wasm' | 'none';
      detail?: string;
    }
  | { type: 'socket-open' }
  | { type: 'socket-closed'; code: number; reason: string }
  | { type: 'text'; text: string }
  /** Our stream's last frame and talk-stop were sent. */
  | { type: 'talk-sent'; streamId: number; frames: number }
  | { type: 'talk-failed'; streamId: number; message: string }
  | { type: 'frame-error'; message: string }
  /** A live encrypted stream this page cannot open; its frames are dropped (never played as noise). */
  | { type: 'undecryptable'; streamId: number; reason: 'no-passphrase' | 'wrong-passphrase' };
