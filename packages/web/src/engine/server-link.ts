/*
 * The socket's life as the main thread sees it (the worker owns the WebSocket itself): open it,
 * say hello, and after a drop retry with a doubling delay until the user closes the client. It
 * owns the connection state the UI shows.
 */
import { CLOSE_CODES, PROTOCOL_VERSION, WS_PATH } from '@imv/protocol';
import { CLIENT_NAME } from './engine-api.js';
import type { EngineEvents, EngineOptions } from './engine-api.js';
import type { AudioEngine } from './audio-engine.js';
import { deferred } from './deferred.js';
import type { Deferred } from './deferred.js';
import type { TypedEmitter } from './typed-emitter.js';
import type { ConnectionState } from '../voice-client-api.js';

export class ServerLink {
  private stateValue: ConnectionState = 'closed';
  private userClosed = false;
  private everConnected = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectDelayMs: number;
  private connectDeferred: Deferred<void> | null = null;

  constructor(
    private readonly options: EngineOptions,
    private readonly events: TypedEmitter<EngineEvents>,
    private readonly engine: AudioEngine,
  ) {
    this.reconnectDelayMs = options.reconnectDelayMs ?? 250;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Resolves on the first joined; `prepare` runs once before the first socket opens. */
  async connect(prepare: () => Promise<void>): Promise<void> {
    this.userClosed = false;
    if (this.stateValue === 'open') return;
    this.connectDeferred ??= deferred<void>();
    const done = this.connectDeferred.promise;
    if (this.stateValue === 'closed') {
      this.setState('connecting');
      await prepare();
      this.openSocket();
    }
    return done;
  }

  close(): void {
    this.userClosed = true;
    clearTimeout(this.reconnectTimer);
    this.engine.postWorker({ type: 'disconnect' });
    this.connectDeferred?.reject(new Error('client closed'));
    this.connectDeferred = null;
    this.setState('closed');
  }

  onSocketOpen(): void {
    this.engine.send({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      client: CLIENT_NAME,
      name: this.options.name,
      clientId: this.options.clientId,
    });
  }

  /** The server let us into a room: the connection is open, the next drop starts a fresh backoff. */
  onJoined(): void {
    this.everConnected = true;
    this.reconnectDelayMs = this.options.reconnectDelayMs ?? 250;
    this.setState('open');
    this.connectDeferred?.resolve();
    this.connectDeferred = null;
  }

  onSocketClosed(code: number, reason: string): void {
    if (this.userClosed) {
      this.setState('closed');
      return;
    }
    const message = `connection closed (${code}${reason ? `: ${reason}` : ''})`;
    // Another protocol version: retrying cannot help.
    if (code === CLOSE_CODES.VERSION_MISMATCH) {
      this.events.emit('error', { code: 'VERSION_MISMATCH', message });
      this.connectDeferred?.reject(new Error(message));
      this.connectDeferred = null;
      this.setState('closed');
      return;
    }
    if (!this.everConnected && this.connectDeferred !== null) {
      // First attempt failed: tell the caller, keep trying in the background.
      this.events.emit('error', { code: 'CONNECTION', message });
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

  private openSocket(): void {
    const url = new URL(WS_PATH, this.options.serverUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    this.engine.postWorker({ type: 'connect', url: url.href });
  }

  private setState(state: ConnectionState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.events.emit('state', state);
  }
}
