import { EventEmitter } from 'node:events';
import type { Agent } from 'node:http';
import WebSocket from 'ws';
import {
  PROTOCOL_VERSION,
  ProtocolError,
  RoomMembers,
  decodeFrame,
  parseServerMessage,
} from '@imv/protocol';
import type {
  FrameMs,
  ErrorMessage,
  Frame,
  GetHistory,
  History,
  Joined,
  MemberJoined,
  MemberLeft,
  MembersChanged,
  MessageDeleted,
  MessageStored,
  Presence,
  ServerMessage,
  ServerMessageOf,
  TalkStarted,
  TalkStopped,
  Welcome,
} from '@imv/protocol';
import { ImvClientError } from './client-error.js';
import { OutgoingTalk } from './outgoing-talk.js';
import type { TalkEncryption } from './outgoing-talk.js';
import { toWebSocketUrl } from './server-url.js';
import { CLIENT_NAME } from '../version.js';
import { CliError } from '../cli-error.js';

/** Typed events, one per server message type, plus audio frames and the end of the connection. */
export interface ImvClientEvents {
  joined: [Joined];
  'member-joined': [MemberJoined];
  'member-left': [MemberLeft];
  'members-changed': [MembersChanged];
  /** The whole member list after someone joined or left (kept from the deltas). */
  presence: [Presence];
  'talk-started': [TalkStarted];
  'talk-stopped': [TalkStopped];
  'message-stored': [MessageStored];
  history: [History];
  'message-deleted': [MessageDeleted];
  /** A server `{ type: 'error' }` message. Not named 'error' so an unhandled one cannot throw. */
  'server-error': [ErrorMessage];
  /** A binary audio frame; `frame.payload` is a view into `bytes`. */
  frame: [Frame, Uint8Array];
  /** The server sent something that does not parse; the connection stays open. */
  'protocol-error': [ProtocolError];
  /** The socket closed: `error` is undefined when this side called close(). */
  close: [ImvClientError | undefined];
}

export interface ConnectOptions {
  /** Display name sent in hello (1-40 characters). */
  name: string;
  /** Stable id kept across connections. */
  clientId?: string;
  /** Software name sent in hello. */
  client?: string;
  /** How long to wait for the TCP/WebSocket handshake and the welcome. */
  timeoutMs?: number;
  /** HTTP(S) agent for the upgrade request, e.g. the certificate-pinning agent for wss:. */
  agent?: Agent;
}

interface ExpectOptions<T extends ServerMessage['type']> {
  /** Only messages of `type` for which this is true resolve. */
  where?: (message: ServerMessageOf<T>) => boolean;
  /** A server error for which this is true rejects. */
  failOn?: (error: ErrorMessage) => boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface Waiter {
  onMessage(message: ServerMessage): boolean;
  fail(error: ImvClientError): void;
}

const DEFAULT_TIMEOUT_MS = 5000;
/**
 * Above this many bytes queued in the socket, binary sends wait for the kernel to take the data.
 * 64 KiB is about 8 s of 24 kbps speech: a live talker never waits, `--fast` is paced by TCP.
 */
const SEND_HIGH_WATER_BYTES = 64 * 1024;

/** A Node client for the imv WebSocket protocol (hello/welcome, rooms, talking, history). */
export class ImvClient extends EventEmitter<ImvClientEvents> {
  /** Who is in the joined room, kept from joined and the presence deltas. */
  private readonly members = new RoomMembers();
  private readonly waiters = new Set<Waiter>();
  private closedError: ImvClientError | undefined;
  private closing = false;

  private constructor(
    private readonly ws: WebSocket,
    /** The WebSocket URL this client is connected to. */
    readonly url: string,
    /** The server as the user gave it; errors name it this way. */
    readonly server: string,
    /** The server's welcome. */
    readonly welcome: Welcome,
  ) {
    super();
  }

  /** Opens a connection, says hello and resolves once the server's welcome arrives. */
  static async connect(server: string, options: ConnectOptions): Promise<ImvClient> {
    const url = toWebSocketUrl(server);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const ws = new WebSocket(url, {
      handshakeTimeout: timeoutMs,
      ...(options.agent !== undefined ? { agent: options.agent } : {}),
    });
    await openSocket(ws, server);
    // ws follows an 'error' with 'close', which is where failures are reported; without a listener it would throw.
    ws.on('error', () => ws.terminate());

    const welcome = await new Promise<Welcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        ws.terminate();
        reject(ImvClientError.timeout('welcome', timeoutMs));
      }, timeoutMs);
      const onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
        if (isBinary) return;
        let message: ServerMessage;
        try {
          message = parseServerMessage(rawToString(data));
        } catch (cause) {
          cleanup();
          ws.terminate();
          reject(
            new ImvClientError(
              'BAD_MESSAGE',
              `the server's first message does not parse: ${(cause as Error).message}`,
            ),
          );
          return;
        }
        if (message.type === 'welcome') {
          cleanup();
          resolve(message);
        } else if (message.type === 'error') {
          cleanup();
          ws.close();
          reject(ImvClientError.fromServer(message));
        }
      };
      const onClose = (code: number, reason: Buffer): void => {
        cleanup();
        reject(ImvClientError.connectionLost(server, code, reason.toString()));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        ws.off('message', onMessage);
        ws.off('close', onClose);
      };
      ws.on('message', onMessage);
      ws.on('close', onClose);
      ws.send(
        JSON.stringify({
          type: 'hello',
          protocol: PROTOCOL_VERSION,
          client: options.client ?? CLIENT_NAME,
          name: options.name,
          ...(options.clientId !== undefined ? { clientId: options.clientId } : {}),
        }),
      );
    });

    const client = new ImvClient(ws, url, server, welcome);
    client.attach();
    return client;
  }

  /** True until the socket closes. */
  get isOpen(): boolean {
    return this.closedError === undefined && this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * Joins a room. With `since` the server replays stored messages (`'all'` or ids above a number)
   * and the resolved value carries that history. Attach event listeners before calling: live
   * traffic can follow in the same network read as the reply.
   */
  async join(
    room: string,
    since?: 'all' | number,
    options: { key?: string } = {},
  ): Promise<{ joined: Joined; history?: History }> {
    const failOn = (e: ErrorMessage): boolean => e.ref === 'join';
    const joined = this.expect('joined', { where: (m) => m.room === room, failOn });
    const history =
      since !== undefined
        ? this.expect('history', { where: (m) => m.room === room, failOn })
        : undefined;
    const sent = this.sendRequest({
      type: 'join',
      room,
      ...(since !== undefined ? { since } : {}),
      ...(options.key !== undefined ? { key: options.key } : {}),
    });
    // One Promise.all over the replies and the send: whichever fails, every rejection is handled.
    const [joinedMessage, historyMessage] = await Promise.all([joined, history, sent]);
    return historyMessage !== undefined
      ? { joined: joinedMessage, history: historyMessage }
      : { joined: joinedMessage };
  }

  /** Asks for a page of the current room's stored messages (oldest first). */
  async getHistory(query: Omit<GetHistory, 'type'> = {}): Promise<History> {
    const reply = this.expect('history', { failOn: (e) => e.ref === 'get-history' });
    const [history] = await Promise.all([
      reply,
      this.sendRequest({ type: 'get-history', ...query }),
    ]);
    return history;
  }

  /** Leaves the current room. */
  leave(): void {
    this.sendControl({ type: 'leave' });
  }

  /**
   * Starts talking in the current room on `streamId` (random when omitted). With `encryption`
   * the talk-start says so and every frame is sealed end to end; `frameMs` (default 20) is the
   * duration of every frame the talk will send.
   */
  startTalk(
    streamId: number = randomStreamId(),
    encryption?: TalkEncryption,
    frameMs?: FrameMs,
  ): OutgoingTalk {
    return new OutgoingTalk(this, streamId, encryption, frameMs);
  }

  /** Sends a control message as JSON. */
  sendControl(message: Record<string, unknown> & { type: string }): void {
    this.assertOpen();
    this.ws.send(JSON.stringify(message));
  }

  /**
   * Sends one binary frame. Resolves at once while the socket's queue is short; past the high-water
   * mark it resolves only when this frame has been handed to the kernel, so a fast sender is paced
   * by TCP instead of filling memory.
   */
  sendBinary(bytes: Uint8Array): Promise<void> {
    this.assertOpen();
    if (this.ws.bufferedAmount < SEND_HIGH_WATER_BYTES) {
      this.ws.send(bytes, { binary: true }, (err) => {
        if (err) this.dropOnSendError();
      });
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.ws.send(bytes, { binary: true }, (err) => {
        if (err)
          reject(this.closedError ?? ImvClientError.connectionLost(this.server, 1006, err.message));
        else resolve();
      });
    });
  }

  /**
   * Resolves with the next server message of `type` that passes `where`; rejects on a server error
   * that passes `failOn`, on timeout, on abort, or when the connection ends. Register before sending
   * the request so the reply cannot slip past.
   */
  expect<T extends ServerMessage['type']>(
    type: T,
    options: ExpectOptions<T> = {},
  ): Promise<ServerMessageOf<T>> {
    if (this.closedError !== undefined) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        this.waiters.delete(waiter);
        if (timer !== undefined) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        onMessage: (message) => {
          if (message.type === type && (options.where?.(message as ServerMessageOf<T>) ?? true)) {
            done();
            resolve(message as ServerMessageOf<T>);
            return true;
          }
          if (message.type === 'error' && options.failOn?.(message) === true) {
            done();
            reject(ImvClientError.fromServer(message));
            return true;
          }
          return false;
        },
        fail: (error) => {
          done();
          reject(error);
        },
      };
      const onAbort = (): void => {
        done();
        reject(
          options.signal?.reason instanceof Error ? options.signal.reason : ImvClientError.closed(),
        );
      };
      if (options.timeoutMs !== undefined) {
        const ms = options.timeoutMs;
        timer = setTimeout(() => waiter.fail(ImvClientError.timeout(type, ms)), ms);
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** Closes the connection politely and resolves when the socket is closed. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    // Already closing (the server may have started it): wait, and keep the server's close code as
    // the reason instead of turning it into "the client was closed".
    if (this.ws.readyState !== WebSocket.CLOSING) {
      this.closing = true;
      this.ws.close(1000);
    }
    const timer = setTimeout(() => this.ws.terminate(), 2000);
    await this.closedOnce();
    clearTimeout(timer);
  }

  /**
   * Sends a control message that expects a reply. While the socket is closing (the server sent its
   * close frame, the close event has not come yet) it rejects with the real reason once the socket
   * is closed, e.g. SERVER_SHUTTING_DOWN for 1001, instead of a made-up 1006.
   */
  private async sendRequest(message: Record<string, unknown> & { type: string }): Promise<void> {
    if (this.closedError === undefined && this.ws.readyState === WebSocket.CLOSING) {
      await this.closedOnce();
    }
    this.sendControl(message);
  }

  /** Resolves once the socket's close event has been handled (closedError is then set). */
  private closedOnce(): Promise<void> {
    if (this.closedError !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.once('close', () => resolve()));
  }

  private attach(): void {
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) this.onBinary(rawToBytes(data));
      else this.onText(rawToString(data));
    });
    this.ws.on('close', (code, reason) => {
      const error = this.closing
        ? undefined
        : ImvClientError.connectionLost(this.server, code, reason.toString());
      this.closedError = error ?? ImvClientError.closed();
      for (const waiter of [...this.waiters]) waiter.fail(this.closedError);
      this.emit('close', error);
    });
  }

  private onText(text: string): void {
    let message: ServerMessage;
    try {
      message = parseServerMessage(text);
    } catch (cause) {
      const error =
        cause instanceof ProtocolError ? cause : ProtocolError.badMessage(String(cause));
      this.emit('protocol-error', error);
      return;
    }
    for (const waiter of [...this.waiters]) waiter.onMessage(message);
    if (
      this.members.apply(message) &&
      (message.type === 'member-joined' ||
        message.type === 'member-left' ||
        message.type === 'members-changed')
    )
      this.emit('presence', { type: 'presence', room: message.room, members: this.members.list() });
    switch (message.type) {
      case 'error':
        this.emit('server-error', message);
        break;
      case 'welcome':
        break;
      default:
        // Each remaining type is its own event name with its own payload type.
        (this.emit as (event: string, message: ServerMessage) => boolean)(message.type, message);
    }
  }

  private onBinary(bytes: Uint8Array): void {
    try {
      this.emit('frame', decodeFrame(bytes), bytes);
    } catch (cause) {
      if (cause instanceof ProtocolError) this.emit('protocol-error', cause);
      else throw cause;
    }
  }

  private dropOnSendError(): void {
    // The close handler does the reporting; terminating makes sure the close comes.
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
  }

  private assertOpen(): void {
    if (this.closedError !== undefined) throw this.closedError;
    if (this.ws.readyState !== WebSocket.OPEN)
      throw ImvClientError.connectionLost(this.server, 1006, 'socket is not open');
  }
}

function openSocket(ws: WebSocket, server: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      ws.off('open', onOpen);
      ws.off('error', onError);
      ws.off('unexpected-response', onUnexpected);
    };
    const onOpen = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      cleanup();
      // A refused certificate (known-hosts pinning) already says all there is to say.
      reject(err instanceof CliError ? err : ImvClientError.unreachable(server, err));
    };
    const onUnexpected = (_req: unknown, res: { statusCode?: number }): void => {
      cleanup();
      // Terminating a socket that is still connecting emits 'error'; this rejection already says why.
      ws.on('error', () => undefined);
      ws.terminate();
      reject(ImvClientError.notImv(server, res.statusCode));
    };
    ws.on('open', onOpen);
    ws.on('error', onError);
    ws.on('unexpected-response', onUnexpected);
  });
}

function rawToBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

function rawToString(data: WebSocket.RawData): string {
  const bytes = rawToBytes(data);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** A random u32 stream id, so two talkers in a room are unlikely to collide. */
export function randomStreamId(): number {
  return (Math.random() * 0x1_0000_0000) >>> 0;
}
