/*
 * The engine's threads and the ports between them: the AudioContext with its output GainNode, the
 * capture and playback worklets, and the worker (WebSocket + Opus). The main thread only wires
 * them up; audio then flows capture worklet -> worker -> playback worklet without passing here.
 */
import { SAMPLE_RATE_HZ } from '@imv/protocol';
import type { ClientMessage } from '@imv/protocol';
import type {
  FromCaptureWorkletToMain,
  FromPlaybackWorklet,
  FromWorker,
  PlaybackStats,
  PlaybackWorkletOptions,
  ToCaptureWorklet,
  ToPlaybackWorklet,
  ToWorker,
} from './engine-messages.js';
import type { CodecInfo, EngineEvents, EngineOptions } from './engine-api.js';
import { deferred } from './deferred.js';
import { openMicrophone } from './outgoing/microphone.js';
import type { TypedEmitter } from './typed-emitter.js';
import type { VoiceClient } from '../voice-client-api.js';
import captureWorkletUrl from './outgoing/capture-worklet.ts?worker&url';
import playbackWorkletUrl from './incoming/playback-worklet.ts?worker&url';

/** The two worklet nodes, once their modules loaded. */
export interface EngineNodes {
  capture: AudioWorkletNode;
  playback: AudioWorkletNode;
}

/** What the engine asks of its owner. */
export interface AudioEngineHooks {
  /** Every worker message but 'codec' (which the engine handles itself). */
  onWorker(msg: Exclude<FromWorker, { type: 'codec' }>): void;
  /** Whether we are talking now: the mic level is reported only then. */
  talking(): boolean;
}

/** Worklet modules load once per AudioContext, however many clients share it. */
const workletsLoaded = new WeakMap<BaseAudioContext, Promise<void>>();

function loadWorklets(context: AudioContext): Promise<void> {
  let loaded = workletsLoaded.get(context);
  if (loaded === undefined) {
    loaded = Promise.all([
      context.audioWorklet.addModule(captureWorkletUrl),
      context.audioWorklet.addModule(playbackWorkletUrl),
    ]).then(() => undefined);
    workletsLoaded.set(context, loaded);
  }
  return loaded;
}

export class AudioEngine {
  readonly context: AudioContext;
  readonly output: GainNode;
  readonly audio: VoiceClient['audio'];
  /** Rejects when the page cannot run worklets (no AudioWorklet in an insecure page). */
  readonly ready: Promise<EngineNodes>;
  private readonly codecDeferred = deferred<CodecInfo>();
  readonly codecInfo = this.codecDeferred.promise;
  private readonly worker: Worker;
  private micStream: MediaStream | null = null;
  private micSource: MediaStreamAudioSourceNode | null = null;
  private readonly statsRequests = new Map<number, (stats: PlaybackStats) => void>();
  private nextStatsId = 1;

  constructor(
    private readonly options: EngineOptions,
    private readonly events: TypedEmitter<EngineEvents>,
    private readonly hooks: AudioEngineHooks,
  ) {
    this.context =
      options.context ??
      new AudioContext({ sampleRate: SAMPLE_RATE_HZ, latencyHint: 'interactive' });
    this.output = this.context.createGain();
    this.output.connect(this.context.destination);
    const context = this.context;
    this.audio = {
      context,
      output: this.output,
      get unlocked() {
        return context.state === 'running';
      },
      async unlock() {
        try {
          await context.resume();
        } catch {
          // resume() rejects only on a closed context; reported as false below
        }
        return context.state === 'running';
      },
    };
    this.worker = new Worker(new URL('./engine-worker.ts', import.meta.url), {
      type: 'module',
      name: 'imv-engine',
    });
    this.worker.onmessage = (event: MessageEvent<FromWorker>) => this.onWorker(event.data);
    this.worker.onerror = (event) =>
      this.events.emit('error', {
        code: 'CONNECTION',
        message: `engine worker failed: ${event.message}`,
      });
    this.ready = this.start();
  }

  postWorker(msg: ToWorker, transfer: Transferable[] = []): void {
    this.worker.postMessage(msg, transfer);
  }

  /** Sends a control message on the socket (the worker owns it). */
  send(msg: ClientMessage): void {
    this.postWorker({ type: 'send', text: JSON.stringify(msg) });
  }

  postCapture(node: AudioWorkletNode, msg: ToCaptureWorklet, transfer: Transferable[] = []): void {
    node.port.postMessage(msg, transfer);
  }

  postPlayback(
    node: AudioWorkletNode,
    msg: ToPlaybackWorklet,
    transfer: Transferable[] = [],
  ): void {
    node.port.postMessage(msg, transfer);
  }

  /** Opens the microphone into the capture worklet, unless a live one is already open. */
  async openMic(capture: AudioWorkletNode): Promise<void> {
    if (this.micStream?.getAudioTracks().some((t) => t.readyState === 'live')) return;
    this.micStream = await openMicrophone({ processing: this.options.micProcessing ?? true });
    this.micSource?.disconnect();
    this.micSource = this.context.createMediaStreamSource(this.micStream);
    this.micSource.connect(capture);
    this.events.emit('mic-open', this.micSource);
  }

  closeMic(): void {
    for (const track of this.micStream?.getTracks() ?? []) track.stop();
    this.micStream = null;
    this.micSource?.disconnect();
    this.micSource = null;
  }

  /** Tells the capture worklet to stop, once it exists. */
  stopCapture(): void {
    void this.ready.then(({ capture }) =>
      this.postCapture(capture, { type: 'capture', on: false }),
    );
  }

  setMuted(muted: boolean): void {
    void this.ready.then(({ playback }) => this.postPlayback(playback, { type: 'mute', muted }));
  }

  async getPlaybackStats(): Promise<PlaybackStats> {
    const { playback } = await this.ready;
    const id = this.nextStatsId++;
    return new Promise((resolve) => {
      this.statsRequests.set(id, resolve);
      this.postPlayback(playback, { type: 'get-stats', id });
    });
  }

  private async start(): Promise<EngineNodes> {
    if (this.context.audioWorklet === undefined)
      throw new Error('AudioWorklet is not available (insecure page?)');
    await loadWorklets(this.context);
    const capture = new AudioWorkletNode(this.context, 'imv-capture', {
      numberOfInputs: 1,
      numberOfOutputs: 0,
      channelCount: 1,
      channelCountMode: 'explicit', // downmix the (often stereo) device to mono before the worklet
      channelInterpretation: 'speakers',
    });
    const processorOptions: PlaybackWorkletOptions = {
      ...(this.options.jitter ? { jitter: this.options.jitter } : {}),
    };
    const playback = new AudioWorkletNode(this.context, 'imv-playback', {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      processorOptions,
    });
    playback.connect(this.output);
    capture.port.onmessage = (event: MessageEvent<FromCaptureWorkletToMain>) => {
      if (this.hooks.talking()) this.events.emit('mic-level', event.data.level);
    };
    playback.port.onmessage = (event: MessageEvent<FromPlaybackWorklet>) =>
      this.onPlayback(event.data);
    const toCapture = new MessageChannel();
    const toPlayback = new MessageChannel();
    this.postCapture(capture, { type: 'connect-worker', port: toCapture.port2 }, [toCapture.port2]);
    this.postPlayback(playback, { type: 'connect-worker', port: toPlayback.port2 }, [
      toPlayback.port2,
    ]);
    this.postWorker(
      {
        type: 'init',
        capturePort: toCapture.port1,
        playbackPort: toPlayback.port1,
        codec: this.options.codec ?? 'auto',
      },
      [toCapture.port1, toPlayback.port1],
    );
    return { capture, playback };
  }

  private onWorker(msg: FromWorker): void {
    if (msg.type !== 'codec') {
      this.hooks.onWorker(msg);
      return;
    }
    this.codecDeferred.resolve({ encoder: msg.encoder, decoder: msg.decoder });
    this.events.emit('codec', { encoder: msg.encoder, decoder: msg.decoder });
    if (msg.detail !== undefined)
      this.events.emit('error', { code: 'CONNECTION', message: msg.detail });
  }

  private onPlayback(msg: FromPlaybackWorklet): void {
    switch (msg.type) {
      case 'levels':
        for (const [streamId, level] of msg.levels) this.events.emit('live-level', streamId, level);
        break;
      case 'stream-playing':
        // RoomSession listens first and counts the stream as played live.
        this.events.emit('stream-playing', msg.streamId, msg.frame);
        this.events.emit('live-playout', msg.streamId, true);
        break;
      case 'stream-finished':
        this.events.emit('stream-finished', msg.streamId, msg.stats);
        this.events.emit('live-playout', msg.streamId, false);
        break;
      case 'stats':
        this.statsRequests.get(msg.id)?.(msg.stats);
        this.statsRequests.delete(msg.id);
        break;
    }
  }
}
