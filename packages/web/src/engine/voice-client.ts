/*
 * The engine behind the VoiceClient contract (voice-client-api.ts). Threads:
 *   main thread   this file: protocol state (hello, join, reconnect), events for the UI, mic setup
 *   worker        engine-worker.ts: WebSocket, Opus encode (outgoing/) and decode (incoming/)
 *   audio thread  outgoing/capture-worklet.ts (mic -> 20 ms blocks) and
 *                 incoming/playback-worklet.ts (jitter buffers, mix) -> output GainNode -> speakers
 * Audio never passes through the main thread: the worklets and the worker talk over MessagePorts.
 */
import {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  ProtocolError,
  RoomMembers,
  SAMPLE_RATE_HZ,
  WS_PATH,
  deriveRoomKey,
  parseServerMessage,
} from '@imv/protocol';
import type { ClientMessage, RoomKey, ServerMessage, VoiceMessage } from '@imv/protocol';
import type {
  CodecChoice,
  FromCaptureWorkletToMain,
  FromPlaybackWorklet,
  FromWorker,
  PlaybackStats,
  PlaybackWorkletOptions,
  ToCaptureWorklet,
  ToPlaybackWorklet,
  ToWorker,
} from './engine-messages.js';
import { openMicrophone } from './outgoing/microphone.js';
import { decryptFramesToOgg } from '../net/decrypt-message.js';
import type { JitterBufferOptions, JitterBufferStats } from './incoming/jitter-buffer.js';
import { MicError } from '../voice-client-api.js';
import type {
  ConnectionState,
  VoiceClient,
  VoiceClientEvents,
  VoiceClientOptions,
} from '../voice-client-api.js';
import captureWorkletUrl from './outgoing/capture-worklet.ts?worker&url';
import playbackWorkletUrl from './incoming/playback-worklet.ts?worker&url';

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
  codec: (info: {
    encoder: 'webcodecs' | 'wasm' | 'none';
    decoder: 'webcodecs' | 'wasm' | 'none';
  }) => void;
}

export interface EngineClient extends VoiceClient {
  on<E extends keyof EngineEvents>(event: E, listener: EngineEvents[E]): () => void;
  /** Jitter-buffer figures of the live streams and totals since the page opened. */
  getPlaybackStats(): Promise<PlaybackStats>;
  /** Which Opus implementation each direction uses, once the worker has checked. */
  readonly codecInfo: Promise<{
    encoder: 'webcodecs' | 'wasm' | 'none';
    decoder: 'webcodecs' | 'wasm' | 'none';
  }>;
  /** The id of the stream being talked now, if any. */
  readonly talkStreamId: number | undefined;
}

/** Creates the engine. Nothing touches the network until connect(). */
export function createVoiceClient(options: EngineOptions): EngineClient {
  return new VoiceClientEngine(options);
}

type Listener = (...args: unknown[]) => void;

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
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

function randomStreamId(): number {
  const id = crypto.getRandomValues(new Uint32Array(1))[0]!;
  return id === 0 ? 1 : id;
}

class VoiceClientEngine implements EngineClient {
  private readonly listeners = new Map<keyof EngineEvents, Set<Listener>>();
  private readonly context: AudioContext;
  private readonly output: GainNode;
  private readonly worker: Worker;
  private readonly engineReady: Promise<{ capture: AudioWorkletNode; playback: AudioWorkletNode }>;
  readonly codecInfo: EngineClient['codecInfo'];
  readonly audio: VoiceClient['audio'];
  private readonly codecDeferred = deferred<Awaited<EngineClient['codecInfo']>>();

  private stateValue: ConnectionState = 'closed';
  private room: string;
  /** The room of the last `joined`; a join to it again is a re-join. */
  private joinedRoom: string | undefined;
  private lastSeenId: number | undefined;
  /** Who is in the room: the list from joined, kept up to date by the presence deltas. */
  private readonly members = new RoomMembers();
  private userClosed = false;
  private everConnected = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectDelayMs: number;
  private connectDeferred: Deferred<void> | null = null;

  private micStream: MediaStream | null = null;
  private micSource: MediaStreamAudioSourceNode | null = null;
  private talk: { streamId: number } | null = null;
  private pendingStops = new Map<
    number,
    { deferred: Deferred<VoiceMessage | undefined>; timer: ReturnType<typeof setTimeout> }
  >();
  /** Streams whose first sample this page played, until their message-stored arrives. */
  private readonly playedLive = new Set<number>();
  /** Live streams (talk-started .. message-stored) and those of them that were muted for a while. */
  private readonly liveStreams = new Set<number>();
  private readonly mutedStreams = new Set<number>();
  private liveMuted = false;
  private roomKey: string | undefined;
  /** The end-to-end key of `e2eRoom`, derived once per room (PBKDF2 is deliberately slow). */
  private e2eKey: Promise<RoomKey | null> = Promise.resolve(null);
  private e2eRoom: string | undefined;
  private statsRequests = new Map<number, (stats: PlaybackStats) => void>();
  private nextStatsId = 1;

  constructor(private readonly options: EngineOptions) {
    this.room = options.room;
    this.lastSeenId = options.lastSeenMessageId;
    this.roomKey = options.roomKey;
    this.reconnectDelayMs = options.reconnectDelayMs ?? 250;
    this.codecInfo = this.codecDeferred.promise;
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
      this.emit('error', { code: 'CONNECTION', message: `engine worker failed: ${event.message}` });
    this.engineReady = this.startEngine();
    this.useE2eRoom(this.room);
    // An engine that cannot start (no AudioWorklet in an insecure page) surfaces in startTalking/connect.
    this.engineReady.catch(() => undefined);
  }

  // ---- contract: properties -----------------------------------------------------------------

  get state(): ConnectionState {
    return this.stateValue;
  }

  get talking(): boolean {
    return this.talk !== null;
  }

  get talkStreamId(): number | undefined {
    return this.talk?.streamId;
  }

  get endToEnd(): boolean {
    return (this.options.passphrase ?? '') !== '';
  }

  on<E extends keyof EngineEvents>(event: E, listener: EngineEvents[E]): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(listener as unknown as Listener);
    return () => set.delete(listener as unknown as Listener);
  }

  // ---- contract: connection -----------------------------------------------------------------

  async connect(): Promise<void> {
    this.userClosed = false;
    if (this.stateValue === 'open') return;
    this.connectDeferred ??= deferred<void>();
    const done = this.connectDeferred.promise;
    if (this.stateValue === 'closed') {
      this.setState('connecting');
      await this.engineReady;
      // The worker must hold the room key before the first talk-started can reach it.
      await this.e2eKey.catch(() => null);
      this.openSocket();
    }
    return done;
  }

  close(): void {
    this.userClosed = true;
    clearTimeout(this.reconnectTimer);
    if (this.talk !== null) this.endTalkLocally(this.talk.streamId, 'client closed');
    this.postWorker({ type: 'disconnect' });
    for (const track of this.micStream?.getTracks() ?? []) track.stop();
    this.micStream = null;
    this.micSource?.disconnect();
    this.micSource = null;
    this.connectDeferred?.reject(new Error('client closed'));
    this.connectDeferred = null;
    this.setState('closed');
  }

  join(room: string, lastSeenMessageId?: number): void {
    if (this.talk !== null) void this.stopTalking();
    this.room = room;
    this.lastSeenId = lastSeenMessageId;
    if (room !== this.e2eRoom && this.endToEnd) {
      this.useE2eRoom(room);
      void this.e2eKey.catch(() => null).then(() => this.send(this.joinMessage()));
      return;
    }
    this.send(this.joinMessage());
  }

  setRoomKey(key: string | undefined): void {
    this.roomKey = key === '' ? undefined : key;
  }

  async decryptMessage(message: VoiceMessage, frames: Uint8Array): Promise<Uint8Array> {
    const key = message.room === this.e2eRoom ? await this.e2eKey : null;
    return decryptFramesToOgg(key, message, frames);
  }

  loadHistory(options: { before?: number; after?: number; limit?: number }): void {
    this.send({ type: 'get-history', ...options });
  }

  // ---- contract: talking --------------------------------------------------------------------

  async startTalking(): Promise<void> {
    if (this.talk !== null) return;
    if (!window.isSecureContext || navigator.mediaDevices === undefined) {
      throw new MicError(
        'insecure-context',
        'the microphone needs a secure page: open imv over https:// (or on localhost)',
      );
    }
    let capture: AudioWorkletNode;
    try {
      capture = (await this.engineReady).capture;
    } catch (e) {
      throw new MicError(
        'unsupported',
        `this browser cannot run imv's audio engine: ${(e as Error).message}`,
      );
    }
    const codecs = await this.codecInfo;
    if (codecs.encoder === 'none') {
      throw new MicError(
        'unsupported',
        'this browser has no Opus encoder (neither WebCodecs nor WebAssembly)',
      );
    }
    if (this.stateValue !== 'open')
      throw new Error(`cannot talk while the connection is ${this.stateValue}`);
    if (this.endToEnd && (await this.e2eKey.catch(() => null)) === null) {
      throw new Error(
        'the end-to-end passphrase could not be turned into a key; talking would not be encrypted',
      );
    }
    void this.audio.unlock(); // startTalking comes from a user gesture: a good moment to resume
    if (
      this.micStream === null ||
      !this.micStream.getAudioTracks().some((t) => t.readyState === 'live')
    ) {
      this.micStream = await openMicrophone({ processing: this.options.micProcessing ?? true });
      this.micSource?.disconnect();
      this.micSource = this.context.createMediaStreamSource(this.micStream);
      this.micSource.connect(capture);
      this.emit('mic-open', this.micSource);
    }
    if (this.talk !== null || this.stateValue !== 'open') return;
    const streamId = randomStreamId();
    this.talk = { streamId };
    this.postWorker({ type: 'talk-start', streamId });
    this.postCapture(capture, { type: 'capture', on: true, streamId });
    this.emit('talk-stream', streamId);
  }

  async stopTalking(): Promise<VoiceMessage | undefined> {
    const talk = this.talk;
    if (talk === null) return undefined;
    this.talk = null;
    const pending = deferred<VoiceMessage | undefined>();
    const timer = setTimeout(
      () => this.settleStop(talk.streamId, undefined),
      this.options.stopAckTimeoutMs ?? 10_000,
    );
    this.pendingStops.set(talk.streamId, { deferred: pending, timer });
    // The worklet posts 'end' to the worker after its last block; the worker then flushes the
    // encoder and sends talk-stop.
    const { capture } = await this.engineReady;
    this.postCapture(capture, { type: 'capture', on: false });
    return pending.promise;
  }

  setLiveMuted(muted: boolean): void {
    this.liveMuted = muted;
    // A stream muted for any part of its playout was not heard live (CONTRACT-CHANGES item 1).
    if (muted) for (const id of this.liveStreams) this.mutedStreams.add(id);
    void this.engineReady.then(({ playback }) =>
      this.postPlayback(playback, { type: 'mute', muted }),
    );
  }

  // ---- extras -------------------------------------------------------------------------------

  async getPlaybackStats(): Promise<PlaybackStats> {
    const { playback } = await this.engineReady;
    const id = this.nextStatsId++;
    return new Promise((resolve) => {
      this.statsRequests.set(id, resolve);
      this.postPlayback(playback, { type: 'get-stats', id });
    });
  }

  // ---- internals ----------------------------------------------------------------------------

  private async startEngine(): Promise<{ capture: AudioWorkletNode; playback: AudioWorkletNode }> {
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
      if (this.talk !== null) this.emit('mic-level', event.data.level);
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

  /** Derives the end-to-end key for `room` (once) and hands it to the worker. */
  private useE2eRoom(room: string): void {
    this.e2eRoom = room;
    const passphrase = this.options.passphrase ?? '';
    this.e2eKey = passphrase === '' ? Promise.resolve(null) : deriveRoomKey(passphrase, room);
    this.e2eKey.then(
      (roomKey) => this.postWorker({ type: 'e2e-key', roomKey }),
      (e: unknown) =>
        this.emit('error', {
          code: 'CONNECTION',
          message: `cannot derive the end-to-end key: ${(e as Error).message}`,
        }),
    );
  }

  private openSocket(): void {
    const url = new URL(WS_PATH, this.options.serverUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    this.postWorker({ type: 'connect', url: url.href });
  }

  private onWorker(msg: FromWorker): void {
    switch (msg.type) {
      case 'codec':
        this.codecDeferred.resolve({ encoder: msg.encoder, decoder: msg.decoder });
        this.emit('codec', { encoder: msg.encoder, decoder: msg.decoder });
        if (msg.detail !== undefined)
          this.emit('error', { code: 'CONNECTION', message: msg.detail });
        break;
      case 'socket-open':
        this.send({
          type: 'hello',
          protocol: PROTOCOL_VERSION,
          client: CLIENT_NAME,
          name: this.options.name,
          clientId: this.options.clientId,
        });
        break;
      case 'socket-closed':
        this.onSocketClosed(msg.code, msg.reason);
        break;
      case 'text':
        this.onText(msg.text);
        break;
      case 'talk-sent':
        break; // the ack is message-stored
      case 'talk-failed':
        this.endTalkLocally(msg.streamId, msg.message);
        break;
      case 'frame-error':
        this.emit('error', { code: 'CONNECTION', message: msg.message });
        break;
      case 'undecryptable':
        this.emit('undecryptable', { streamId: msg.streamId, reason: msg.reason });
        break;
    }
  }

  private onText(text: string): void {
    let msg: ServerMessage;
    try {
      msg = parseServerMessage(text);
    } catch (e) {
      const code = e instanceof ProtocolError ? e.code : 'BAD_MESSAGE';
      this.emit('error', { code, message: `bad message from the server: ${(e as Error).message}` });
      return;
    }
    switch (msg.type) {
      case 'welcome':
        this.send(this.joinMessage());
        break;
      case 'joined':
        this.everConnected = true;
        this.reconnectDelayMs = this.options.reconnectDelayMs ?? 250;
        this.room = msg.room;
        this.joinedRoom = msg.room;
        this.setState('open');
        this.liveStreams.clear();
        for (const s of msg.live) this.noteLive(s);
        // Muted marks of streams that ended while we were away would never be read again.
        for (const id of this.mutedStreams)
          if (!this.liveStreams.has(id)) this.mutedStreams.delete(id);
        this.members.apply(msg);
        this.emit('joined', { you: msg.you, members: msg.members, live: msg.live });
        this.connectDeferred?.resolve();
        this.connectDeferred = null;
        break;
      case 'presence': // protocol 1
      case 'member-joined':
      case 'member-left':
        if (this.members.apply(msg)) this.emit('presence', this.members.list());
        break;
      case 'talk-started':
        this.noteLive(msg);
        this.emit('talk-started', msg);
        break;
      case 'talk-stopped':
        if (msg.streamId === this.talk?.streamId) {
          this.endTalkLocally(msg.streamId, `the server stopped the talk (${msg.reason})`, true);
        } else {
          this.postWorker({ type: 'stream-end', streamId: msg.streamId });
        }
        this.emit('talk-stopped', msg);
        break;
      case 'message-stored': {
        this.noteSeen(msg.message.id);
        this.liveStreams.delete(msg.streamId);
        const played = this.playedLive.delete(msg.streamId);
        const heardLive = !this.mutedStreams.delete(msg.streamId) && played;
        this.emit('message-stored', { ...msg, heardLive });
        this.settleStop(msg.streamId, msg.message);
        break;
      }
      case 'history':
        for (const m of msg.messages) this.noteSeen(m.id);
        this.emit('history', msg.messages, msg.more);
        break;
      case 'message-deleted':
        this.emit('message-deleted', { room: msg.room, id: msg.id });
        break;
      case 'room-key':
        // Re-joins after a reconnect must carry the key, or the locked room would shut us out.
        this.setRoomKey(msg.keyed ? msg.key : undefined);
        this.emit('room-key', {
          room: msg.room,
          keyed: msg.keyed,
          ...(msg.key !== undefined ? { key: msg.key } : {}),
          ...(msg.setBy !== undefined ? { setBy: msg.setBy } : {}),
        });
        break;
      case 'error':
        this.emit('error', { code: msg.code, message: msg.message });
        if (
          this.talk !== null &&
          (msg.streamId === this.talk.streamId || msg.ref === 'talk-start')
        ) {
          this.endTalkLocally(this.talk.streamId, `${msg.code}: ${msg.message}`, true);
        }
        break;
    }
  }

  private onPlayback(msg: FromPlaybackWorklet): void {
    switch (msg.type) {
      case 'levels':
        for (const [streamId, level] of msg.levels) this.emit('live-level', streamId, level);
        break;
      case 'stream-playing':
        this.playedLive.add(msg.streamId);
        this.emit('stream-playing', msg.streamId, msg.frame);
        break;
      case 'stream-finished':
        this.emit('stream-finished', msg.streamId, msg.stats);
        break;
      case 'stats':
        this.statsRequests.get(msg.id)?.(msg.stats);
        this.statsRequests.delete(msg.id);
        break;
    }
  }

  private onSocketClosed(code: number, reason: string): void {
    // Streams that were live end here as they would with talk-stopped; a re-join announces anew.
    for (const streamId of this.liveStreams)
      if (streamId !== this.talk?.streamId) this.postWorker({ type: 'stream-end', streamId });
    if (this.userClosed) {
      this.setState('closed');
      return;
    }
    const message = `connection closed (${code}${reason ? `: ${reason}` : ''})`;
    // Another protocol version: retrying cannot help.
    if (code === CLOSE_CODES.VERSION_MISMATCH) {
      this.emit('error', { code: 'VERSION_MISMATCH', message });
      this.connectDeferred?.reject(new Error(message));
      this.connectDeferred = null;
      this.setState('closed');
      return;
    }
    if (!this.everConnected && this.connectDeferred !== null) {
      // First attempt failed: tell the caller, keep trying in the background.
      this.emit('error', { code: 'CONNECTION', message });
      this.connectDeferred.reject(new Error(message));
      this.connectDeferred = null;
    }
    this.setState('reconnecting');
    const maxMs = this.options.maxReconnectDelayMs ?? 5000;
    const delayMs = this.reconnectDelayMs * (0.8 + Math.random() * 0.4);
    this.reconnectDelayMs = Math.min(maxMs, this.reconnectDelayMs * 2);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (!this.userClosed) this.openSocket();
    }, delayMs);
  }

  /** Ends our talk without the user asking; `byServer`: the server already ended the stream. */
  private endTalkLocally(streamId: number, reason: string, byServer = false): void {
    if (this.talk?.streamId === streamId) {
      this.talk = null;
      if (byServer) this.postWorker({ type: 'talk-abort', streamId });
      void this.engineReady.then(({ capture }) =>
        this.postCapture(capture, { type: 'capture', on: false }),
      );
      this.emit('talk-ended', reason);
    }
    this.settleStop(streamId, undefined);
  }

  private settleStop(streamId: number, message: VoiceMessage | undefined): void {
    const pending = this.pendingStops.get(streamId);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this.pendingStops.delete(streamId);
    pending.deferred.resolve(message);
  }

  private joinMessage(): ClientMessage {
    const key = this.roomKey !== undefined ? { key: this.roomKey } : {};
    if (this.lastSeenId !== undefined)
      return { type: 'join', room: this.room, since: this.lastSeenId, ...key };
    // A re-join after a drop must replay what was stored meanwhile; having seen no message at all,
    // that is everything after id 0 (the UI de-duplicates by message id).
    if (this.joinedRoom === this.room) return { type: 'join', room: this.room, since: 0, ...key };
    return { type: 'join', room: this.room, ...key };
  }

  /** A stream went live: the worker learns whether its frames are sealed, and with which salt. */
  private noteLive(stream: {
    streamId: number;
    encrypted?: boolean | undefined;
    e2eSalt?: string | undefined;
    keyCheck?: string | undefined;
  }): void {
    const { streamId } = stream;
    this.liveStreams.add(streamId);
    if (this.liveMuted) this.mutedStreams.add(streamId);
    // Our own talk's echo needs nothing: the worker never plays its own stream.
    if (streamId === this.talk?.streamId) return;
    this.postWorker({
      type: 'stream-start',
      stream: {
        streamId,
        encrypted: stream.encrypted === true,
        ...(stream.e2eSalt !== undefined ? { e2eSalt: stream.e2eSalt } : {}),
        ...(stream.keyCheck !== undefined ? { keyCheck: stream.keyCheck } : {}),
      },
    });
  }

  private noteSeen(id: number): void {
    if (this.lastSeenId === undefined || id > this.lastSeenId) this.lastSeenId = id;
  }

  private send(msg: ClientMessage): void {
    this.postWorker({ type: 'send', text: JSON.stringify(msg) });
  }

  private setState(state: ConnectionState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.emit('state', state);
  }

  private emit<E extends keyof EngineEvents>(event: E, ...args: Parameters<EngineEvents[E]>): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        listener(...args);
      } catch (e) {
        console.error(`imv: a '${event}' listener threw`, e);
      }
    }
  }

  private postWorker(msg: ToWorker, transfer: Transferable[] = []): void {
    this.worker.postMessage(msg, transfer);
  }

  private postCapture(
    node: AudioWorkletNode,
    msg: ToCaptureWorklet,
    transfer: Transferable[] = [],
  ): void {
    node.port.postMessage(msg, transfer);
  }

  private postPlayback(
    node: AudioWorkletNode,
    msg: ToPlaybackWorklet,
    transfer: Transferable[] = [],
  ): void {
    node.port.postMessage(msg, transfer);
  }
}
