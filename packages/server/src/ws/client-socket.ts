import { FRAME_MS, LOW_LATENCY_FRAME_MS } from '@imv/protocol';
import type { ErrorMessage, ServerMessage } from '@imv/protocol';
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import { controlText } from './control-text.js';
import {
  canWritePrepared,
  preparedFrames,
  preparedTexts,
  writePrepared,
} from './prepared-frame.js';
import {
  CONTROL_BURST,
  CONTROL_PER_SECOND,
  RATE_LIMIT_ERROR_INTERVAL_MS,
  TokenBucket,
} from './token-bucket.js';
import { WsErrors } from './ws-errors.js';

const SEND_BINARY = { binary: true } as const;

/** What the socket hands up: one message at a time, in arrival order. */
export interface SocketHandlers {
  /** A control message; a returned promise holds every later message until it settles. */
  onText(text: string): Promise<void> | undefined;
  onFrame(bytes: Buffer): void;
  onClose(code: number, reason: string): void;
}

export interface SocketLimits {
  /** 20 ms frames per second of a talk (config.ts); the arrival guard here allows 10 ms frames at that audio rate. */
  framesPerSecond: number;
  frameBurst: number;
  slowListenerBytes: number;
}

/**
 * The transport side of one client: rate limits checked on arrival, the handling queue, heartbeat,
 * and sending (control text, relayed frames with slow-listener dropping, errors with throttling).
 *
 * Control messages are handled one at a time, in arrival order: while an async handler (store
 * access) runs, later messages, frames included, wait in `queue`. Frames of a live stream are
 * otherwise handled synchronously and forwarded as they arrive.
 */
export class ClientSocket {
  /** The socket closed; handlers that resume after an await check this. */
  closed = false;
  private readonly queue: [RawData, boolean][] = [];
  private busy = false;
  /** Something arrived since the last heartbeat. */
  private alive = true;
  /** The async control-message handler running now, if any (shutdown waits for it). */
  private handlingNow: Promise<void> | undefined;
  private slowSinceFrames = -1;
  private readonly frameBucket: TokenBucket;
  private readonly controlBucket = new TokenBucket(CONTROL_PER_SECOND, CONTROL_BURST);
  /** When each throttled error (code, stream) was last sent. */
  private readonly throttledErrorAtMs = new Map<string, number>();
  private handlers: SocketHandlers | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly log: Logger,
    private readonly limits: SocketLimits,
  ) {
    // A flood guard on arrival, before any parsing: as many frames as the fastest talk may send (10 ms
    // frames). The exact per-talk limit, by the talk's frame duration, is Talk's (talk.ts).
    const perFrameMs = FRAME_MS / LOW_LATENCY_FRAME_MS;
    this.frameBucket = new TokenBucket(
      limits.framesPerSecond * perFrameMs,
      limits.frameBurst * perFrameMs,
    );
  }

  /** Starts taking messages; called once, when the connection's parts exist. */
  listen(handlers: SocketHandlers): void {
    this.handlers = handlers;
    const ws = this.ws;
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => (this.alive = true));
    ws.on('error', (err: Error & { code?: string }) => {
      // ws closes the socket itself after a protocol error (e.g. 1009 for a message over maxPayload).
      this.log.warn({ code: err.code, err: err.message }, 'websocket error');
    });
    ws.on('close', (code, reason) => {
      this.closed = true;
      this.queue.length = 0;
      handlers.onClose(code, reason.toString());
    });
  }

  /** The control message being handled now, if any. */
  get handling(): Promise<void> | undefined {
    return this.handlingNow;
  }

  /**
   * Called every pingIntervalMs. A phone that left the Wi-Fi can leave its TCP connection open for
   * minutes; cutting it after a missed ping ends its live stream (as 'partial') within two intervals.
   */
  heartbeat(): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (!this.alive) {
      this.log.warn('no answer to ping, closing');
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    this.alive = true;
    // Checked on arrival, before queueing, so a flood cannot grow the queue either.
    if (!(isBinary ? this.frameBucket : this.controlBucket).take()) {
      this.sendThrottledError(
        isBinary
          ? WsErrors.framesTooFast(this.frameBucket.ratePerSecond, this.frameBucket.burst)
          : WsErrors.controlTooFast(CONTROL_PER_SECOND, CONTROL_BURST),
      );
      return;
    }
    if (this.busy) {
      this.queue.push([data, isBinary]);
      return;
    }
    this.dispatch(data, isBinary);
  }

  private dispatch(data: RawData, isBinary: boolean): void {
    const handlers = this.handlers!;
    // With the default binaryType ws always hands out one Buffer per message.
    const bytes = data as Buffer;
    if (isBinary) {
      handlers.onFrame(bytes);
      return;
    }
    const pending = handlers.onText(bytes.toString('utf8'));
    if (pending === undefined) return;
    this.busy = true;
    this.handlingNow = pending
      .catch((err: unknown) => {
        this.log.error({ err, code: 'INTERNAL' }, 'control message handler failed');
        this.sendError(WsErrors.internal());
      })
      .finally(() => {
        this.busy = false;
        while (!this.busy && this.queue.length > 0) {
          const [nextData, nextIsBinary] = this.queue.shift()!;
          this.dispatch(nextData, nextIsBinary);
        }
      });
  }

  // ---- outgoing ---------------------------------------------------------------------------

  /** A relayed live frame; dropped while this listener's socket is too far behind. */
  sendFrame(frame: Buffer): void {
    const ws = this.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    // Live audio is useless late: rather than queue without bound for a listener that cannot keep
    // up, drop frames until its socket drains. The message is stored whole either way.
    if (ws.bufferedAmount > this.limits.slowListenerBytes) {
      if (this.slowSinceFrames < 0) {
        this.slowSinceFrames = 0;
        this.log.warn({ bufferedBytes: ws.bufferedAmount }, 'slow listener: dropping live frames');
      }
      this.slowSinceFrames++;
      return;
    }
    if (this.slowSinceFrames >= 0) {
      this.log.info({ droppedFrames: this.slowSinceFrames }, 'slow listener caught up');
      this.slowSinceFrames = -1;
    }
    // The same frame bytes go to every listener: built once per relayed frame (prepared-frame.ts).
    if (canWritePrepared(ws)) writePrepared(ws, preparedFrames.wireFor(frame));
    else ws.send(frame, SEND_BINARY);
  }

  /** A frame sent back to the client that sent it (the audio doctor's echo), as it came. */
  sendOwnFrame(frame: Buffer): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame, SEND_BINARY);
  }

  /** A control message already serialized (fan-out from the room bus). */
  sendText(text: string): void {
    const ws = this.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    // The same text goes to every member of a room: framed once per fan-out (prepared-frame.ts).
    if (canWritePrepared(ws)) writePrepared(ws, preparedTexts.wireFor(text));
    else ws.send(text);
  }

  send(message: ServerMessage): void {
    this.sendText(controlText(message));
  }

  sendError(error: ErrorMessage): void {
    this.log.info({ code: error.code, ref: error.ref, streamId: error.streamId }, error.message);
    this.send(error);
  }

  /**
   * sendError at most once per RATE_LIMIT_ERROR_INTERVAL_MS: a flood gets one error, not one per
   * message. RATE_LIMITED counts once per connection whichever limit (frames, control, room keys)
   * fired; other codes once per code and stream.
   */
  sendThrottledError(error: ErrorMessage): void {
    const now = performance.now();
    const what =
      error.code === 'RATE_LIMITED' || error.streamId === undefined
        ? error.code
        : `${error.code} ${error.streamId}`;
    const last = this.throttledErrorAtMs.get(what);
    if (last !== undefined && now - last < RATE_LIMIT_ERROR_INTERVAL_MS) return;
    this.throttledErrorAtMs.set(what, now);
    this.sendError(error);
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  /** Closes with 1001 and resolves when the socket is closed (or after `timeoutMs`, forcibly). */
  closeGoingAway(timeoutMs: number): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, timeoutMs);
      this.ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.ws.close(1001, 'server shutting down');
    });
  }
}
