/*
 * The socket's life as the main thread sees it (the worker owns the WebSocket itself): open it,
 * say hello, and after a drop retry with a doubling delay until the user closes the client. It
 * owns the connection state the UI shows.
 *
 * Failover (docs/cluster.md "Client failover"): every welcome lists the other nodes of a cluster,
 * and the list is kept across reconnects. After a drop the first SAME_NODE_ATTEMPTS tries go to the
 * node the client was on (a restart or a network blip); then the tries go round the other known
 * nodes and that one. Joining another node emits 'moved'; the re-join carries the last seen message
 * id as on any reconnect, and ids are the cluster's, so the replay has no duplicates.
 */
import { CLOSE_CODES, PROTOCOL_VERSION, WS_PATH, failoverOrigins } from '@imv/protocol';
import type { Welcome } from '@imv/protocol';
import { CLIENT_NAME } from './engine-api.js';
import type { EngineEvents, EngineOptions } from './engine-api.js';
import type { AudioEngine } from './audio-engine.js';
import { deferred } from './deferred.js';
import type { Deferred } from './deferred.js';
import type { TypedEmitter } from './typed-emitter.js';
import type { ConnectionState } from '../voice-client-api.js';

/** Tries at the node the client was on before it tries the others of the cluster. */
const SAME_NODE_ATTEMPTS = 2;

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

export class ServerLink {
  private stateValue: ConnectionState = 'closed';
  /** The node of the last joined (options.serverUrl before the first). */
  private home: string;
  /** The node the socket goes to now. */
  private target: string;
  /** Origins of the other nodes from the welcomes, newest first; never holds `home`. */
  private others: string[] = [];
  /** Tries that ended before a joined since the last joined. */
  private failedAttempts = 0;
  private joinedSinceOpen = false;
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
    this.home = options.serverUrl;
    this.target = options.serverUrl;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The node the client is on (the last one it joined), or options.serverUrl before that. */
  get serverUrl(): string {
    return this.home;
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

  /** Remembers the other nodes the welcome lists, in front of those known from earlier welcomes. */
  onWelcome(msg: Welcome): void {
    const listed = failoverOrigins(this.target, msg.nodes ?? []);
    const here = originOf(this.target);
    this.others = [...new Set([...listed, ...this.others])].filter((o) => o !== here);
  }

  /** The server let us into a room: the connection is open, the next drop starts a fresh backoff. */
  onJoined(): void {
    this.joinedSinceOpen = true;
    this.failedAttempts = 0;
    if (originOf(this.target) !== originOf(this.home)) {
      const from = this.home;
      this.home = originOf(this.target);
      // The node we left stays a candidate (behind the others) in case it comes back.
      this.others = [...new Set([...this.others, originOf(from)])].filter((o) => o !== this.home);
      this.events.emit('moved', { serverUrl: this.home, from });
    }
    this.everConnected = true;
    this.reconnectDelayMs = this.options.reconnectDelayMs ?? 250;
    this.setState('open');
    this.connectDeferred?.resolve();
    this.connectDeferred = null;
  }

  onSocketClosed(code: number, reason: string): void {
    if (!this.joinedSinceOpen) this.failedAttempts++;
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

  /** The node for the next try: the one we were on, then round the others and it again. */
  private nextTarget(): string {
    if (this.failedAttempts < SAME_NODE_ATTEMPTS || this.others.length === 0) return this.home;
    const ring = [...this.others, this.home];
    return ring[(this.failedAttempts - SAME_NODE_ATTEMPTS) % ring.length] ?? this.home;
  }

  private openSocket(): void {
    this.target = this.nextTarget();
    this.joinedSinceOpen = false;
    const url = new URL(WS_PATH, this.target);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    this.engine.postWorker({ type: 'connect', url: url.href });
  }

  private setState(state: ConnectionState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.events.emit('state', state);
  }
}
