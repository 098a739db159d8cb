/*
 * What the engine offers beyond the VoiceClient contract (voice-client-api.ts): settings with
 * defaults for real users, and the extra events and calls that tests and the bench use.
 */
import type { CodecChoice, PlaybackStats } from './engine-messages.js';
import type { JitterBufferOptions, JitterBufferStats } from './incoming/jitter-buffer.js';
import type { VoiceClient, VoiceClientEvents, VoiceClientOptions } from '../voice-client-api.js';

/** Software name sent in hello. */
export const CLIENT_NAME = 'imv-web/0.1.0';

/** Engine settings beyond the contract; every one has a default suited to real users. */
export interface EngineOptions extends VoiceClientOptions {
  /** Browser echo cancellation / noise suppression / gain control on the mic. Default true; tests pass false. */
  micProcessing?: boolean;
  /** Opus implementation: 'auto' (default) prefers WebCodecs and falls back to WASM per direction. */
  codec?: CodecChoice;
  /** Jitter-buffer tuning for live playback (e.g. the latency bench's no-buffer baseline). */
  jitter?: JitterBufferOptions;
  /** First reconnect delay, doubled per failure up to maxReconnectDelayMs. Default 250. */
  reconnectDelayMs?: number;
  /** Default 5000. */
  maxReconnectDelayMs?: number;
  /** How long stopTalking waits for the server's message-stored ack. Default 10000. */
  stopAckTimeoutMs?: number;
  /**
   * An AudioContext (48 kHz) to share with other clients instead of creating one. The latency bench
   * runs a talker and its listeners in one page on one context, so that both taps share one clock.
   */
  context?: AudioContext;
}

/** Which Opus implementation each direction uses. */
export interface CodecInfo {
  encoder: 'webcodecs' | 'wasm' | 'none';
  decoder: 'webcodecs' | 'wasm' | 'none';
}

/** Events beyond the contract, for tests and the bench. */
export interface EngineEvents extends VoiceClientEvents {
  /** The first sample of a live stream was rendered at this AudioContext frame. */
  'stream-playing': (streamId: number, contextFrame: number) => void;
  /** A live stream played out completely; its jitter-buffer figures. */
  'stream-finished': (streamId: number, stats: JitterBufferStats) => void;
  /** The microphone opened; tests tap this node to record what was captured. */
  'mic-open': (source: MediaStreamAudioSourceNode) => void;
  /** Our own stream started: talk-start and the first frames go out under this id. */
  'talk-stream': (streamId: number) => void;
  codec: (info: CodecInfo) => void;
}

export interface EngineClient extends VoiceClient {
  on<E extends keyof EngineEvents>(event: E, listener: EngineEvents[E]): () => void;
  /** Jitter-buffer figures of the live streams and totals since the page opened. */
  getPlaybackStats(): Promise<PlaybackStats>;
  /** Which Opus implementation each direction uses, once the worker has checked. */
  readonly codecInfo: Promise<CodecInfo>;
  /** The id of the stream being talked now, if any. */
  readonly talkStreamId: number | undefined;
}
