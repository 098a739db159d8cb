/*
 * The engine behind the VoiceClient contract (voice-client-api.ts). Threads:
 *   main thread   this facade and its parts: server-link.ts (socket life, reconnect),
 *                 room-session.ts (protocol state), audio-engine.ts (context, worklets, worker wiring)
 *   worker        engine-worker.ts: WebSocket, Opus encode (outgoing/) and decode (incoming/)
 *   audio thread  outgoing/capture-worklet.ts (mic -> 20 ms blocks) and
 *                 incoming/playback-worklet.ts (jitter buffers, mix) -> output GainNode -> speakers
 * Audio never passes through the main thread: the worklets and the worker talk over MessagePorts.
 */
import { deriveRoomKey, frameSamplesOf } from '@imv/protocol';
import type { RoomKey, VoiceMessage } from '@imv/protocol';
import { AudioEngine } from './audio-engine.js';
import type { EngineClient, EngineEvents, EngineOptions } from './engine-api.js';
import type { FromWorker, PlaybackStats } from './engine-messages.js';
import { RoomSession } from './room-session.js';
import { ServerLink } from './server-link.js';
import { TypedEmitter } from './typed-emitter.js';
import { decryptFramesToOgg } from '../net/decrypt-message.js';
import { MicError } from '../voice-client-api.js';
import type { ConnectionState, VoiceClient } from '../voice-client-api.js';

export { CLIENT_NAME } from './engine-api.js';
export type { CodecInfo, EngineClient, EngineEvents, EngineOptions } from './engine-api.js';

/** Creates the engine. Nothing touches the network until connect(). */
export function createVoiceClient(options: EngineOptions): EngineClient {
  return new VoiceClientEngine(options);
}

function randomStreamId(): number {
  const id = crypto.getRandomValues(new Uint32Array(1))[0]!;
  return id === 0 ? 1 : id;
}

class VoiceClientEngine implements EngineClient {
  private readonly events = new TypedEmitter<EngineEvents>();
  private readonly engine: AudioEngine;
  private readonly link: ServerLink;
  private readonly session: RoomSession;
  readonly codecInfo: EngineClient['codecInfo'];
  readonly audio: VoiceClient['audio'];
  /** The end-to-end key of `e2eRoom`, derived once per room (PBKDF2 is deliberately slow). */
  private e2eKey: Promise<RoomKey | null> = Promise.resolve(null);
  private e2eRoom: string | undefined;

  constructor(private readonly options: EngineOptions) {
    this.engine = new AudioEngine(options, this.events, {
      onWorker: (msg) => this.onWorker(msg),
      talking: () => this.session.talk !== null,
    });
    this.link = new ServerLink(options, this.events, this.engine);
    this.session = new RoomSession(options, this.events, this.engine, {
      welcome: (msg) => this.link.onWelcome(msg),
      joined: () => this.link.onJoined(),
    });
    this.codecInfo = this.engine.codecInfo;
    this.audio = this.engine.audio;
    this.useE2eRoom(options.room);
    // An engine that cannot start (no AudioWorklet in an insecure page) surfaces in startTalking/connect.
    this.engine.ready.catch(() => undefined);
  }

  // ---- contract: properties -----------------------------------------------------------------

  get state(): ConnectionState {
    return this.link.state;
  }

  get serverUrl(): string {
    return this.link.serverUrl;
  }

  get talking(): boolean {
    return this.session.talk !== null;
  }

  get talkStreamId(): number | undefined {
    return this.session.talk?.streamId;
  }

  get endToEnd(): boolean {
    return (this.options.passphrase ?? '') !== '';
  }

  on<E extends keyof EngineEvents>(event: E, listener: EngineEvents[E]): () => void {
    return this.events.on(event, listener);
  }

  // ---- contract: connection -----------------------------------------------------------------

  connect(): Promise<void> {
    return this.link.connect(async () => {
      await this.engine.ready;
      // The worker must hold the room key before the first talk-started can reach it.
      await this.e2eKey.catch(() => null);
    });
  }

  close(): void {
    const { talk } = this.session;
    if (talk !== null) this.session.endTalkLocally(talk.streamId, 'client closed');
    this.engine.closeMic();
    this.link.close();
  }

  join(room: string, lastSeenMessageId?: number): void {
    if (this.session.talk !== null) void this.stopTalking();
    this.session.moveTo(room, lastSeenMessageId);
    if (room !== this.e2eRoom && this.endToEnd) {
      this.useE2eRoom(room);
      void this.e2eKey.catch(() => null).then(() => this.engine.send(this.session.joinMessage()));
      return;
    }
    this.engine.send(this.session.joinMessage());
  }

  setRoomKey(key: string | undefined): void {
    this.session.setRoomKey(key);
  }

  async decryptMessage(message: VoiceMessage, frames: Uint8Array): Promise<Uint8Array> {
    const key = message.room === this.e2eRoom ? await this.e2eKey : null;
    return decryptFramesToOgg(key, message, frames);
  }

  loadHistory(options: { before?: number; after?: number; limit?: number }): void {
    this.engine.send({ type: 'get-history', ...options });
  }

  // ---- contract: talking --------------------------------------------------------------------

  async startTalking(): Promise<void> {
    if (this.session.talk !== null) return;
    if (!window.isSecureContext || navigator.mediaDevices === undefined) {
      throw new MicError(
        'insecure-context',
        'the microphone needs a secure page: open imv over https:// (or on localhost)',
      );
    }
    let capture: AudioWorkletNode;
    try {
      capture = (await this.engine.ready).capture;
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
    if (this.state !== 'open') throw new Error(`cannot talk while the connection is ${this.state}`);
    if (this.endToEnd && (await this.e2eKey.catch(() => null)) === null) {
      throw new Error(
        'the end-to-end passphrase could not be turned into a key; talking would not be encrypted',
      );
    }
    void this.audio.unlock(); // startTalking comes from a user gesture: a good moment to resume
    await this.engine.openMic(capture);
    if (this.session.talk !== null || this.state !== 'open') return;
    const streamId = randomStreamId();
    this.session.talk = { streamId };
    const frameMs = this.session.talkFrameMs();
    this.engine.postWorker({ type: 'talk-start', streamId, frameMs });
    const frameSamples = frameSamplesOf(frameMs);
    this.engine.postCapture(capture, { type: 'capture', on: true, streamId, frameSamples });
    this.events.emit('talk-stream', streamId);
  }

  async stopTalking(): Promise<VoiceMessage | undefined> {
    const talk = this.session.talk;
    if (talk === null) return undefined;
    this.session.talk = null;
    const stored = this.session.awaitStored(talk.streamId, this.options.stopAckTimeoutMs ?? 10_000);
    // The worklet posts 'end' to the worker after its last block; the worker then flushes the
    // encoder and sends talk-stop.
    const { capture } = await this.engine.ready;
    this.engine.postCapture(capture, { type: 'capture', on: false });
    return stored;
  }

  get lowLatency(): boolean {
    return this.session.lowLatency;
  }

  setLowLatency(on: boolean): void {
    this.session.lowLatency = on;
  }

  setLiveMuted(muted: boolean): void {
    this.session.setLiveMuted(muted);
    this.engine.setMuted(muted);
  }

  // ---- extras -------------------------------------------------------------------------------

  getPlaybackStats(): Promise<PlaybackStats> {
    return this.engine.getPlaybackStats();
  }

  // ---- internals ----------------------------------------------------------------------------

  /** Derives the end-to-end key for `room` (once) and hands it to the worker. */
  private useE2eRoom(room: string): void {
    this.e2eRoom = room;
    const passphrase = this.options.passphrase ?? '';
    this.e2eKey = passphrase === '' ? Promise.resolve(null) : deriveRoomKey(passphrase, room);
    this.e2eKey.then(
      (roomKey) => this.engine.postWorker({ type: 'e2e-key', roomKey }),
      (e: unknown) =>
        this.events.emit('error', {
          code: 'CONNECTION',
          message: `cannot derive the end-to-end key: ${(e as Error).message}`,
        }),
    );
  }

  private onWorker(msg: Exclude<FromWorker, { type: 'codec' }>): void {
    switch (msg.type) {
      case 'socket-open':
        this.link.onSocketOpen();
        break;
      case 'socket-closed':
        this.session.onSocketLost();
        this.link.onSocketClosed(msg.code, msg.reason);
        break;
      case 'text':
        this.session.onText(msg.text);
        break;
      case 'talk-sent':
        break; // the ack is message-stored
      case 'talk-failed':
        this.session.endTalkLocally(msg.streamId, msg.message);
        break;
      case 'frame-error':
        this.events.emit('error', { code: 'CONNECTION', message: msg.message });
        break;
      case 'undecryptable':
        this.events.emit('undecryptable', { streamId: msg.streamId, reason: msg.reason });
        break;
    }
  }
}
