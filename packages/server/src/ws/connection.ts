import {
  CLOSE_CODES,
  FLAG_ENCRYPTED,
  FLAG_END,
  FRAME_HEADER_LEN,
  FRAME_MS,
  MAX_FRAME_BYTES,
  MAX_HISTORY_LIMIT,
  MAX_TEXT_BYTES,
  OLDEST_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  ProtocolError,
  decodeFrameHeader,
  parseClientMessage,
} from '@imv/protocol';
import type {
  ClientMessage,
  ClientMessageOf,
  ErrorCode,
  FrameHeader,
  LiveStream,
  Member,
  MessageStatus,
  ServerMessage,
  StopReason,
} from '@imv/protocol';
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import type { RoomSubscriber } from '../bus/bus.js';
import { SERVER_NAME } from '../version.js';
import type { Hub } from './hub.js';
import { canWritePrepared, preparedFrames, writePrepared } from './prepared-frame.js';
import { announceJoin, announceLeave, legacyPresence } from './presence.js';
import { Recording } from './recording.js';
import {
  CONTROL_BURST,
  CONTROL_PER_SECOND,
  KEY_ATTEMPT_BURST,
  KEY_ATTEMPTS_PER_SECOND,
  RATE_LIMIT_ERROR_INTERVAL_MS,
  TokenBucket,
} from './token-bucket.js';

/** Messages a listener gets when a history request does not say how many. */
export const DEFAULT_HISTORY_LIMIT = 50;

const SEND_BINARY = { binary: true } as const;

interface Talk {
  room: string;
  streamId: number;
  messageId: number;
  /** From talk-start; every frame's ENCRYPTED flag must agree. */
  encrypted: boolean;
  recording: Recording;
  /** Safety net for a talker that stops sending frames without stopping. */
  timer: NodeJS.Timeout;
}

/**
 * One client WebSocket. Control messages are handled one at a time, in arrival order: while an
 * async handler (store access) runs, later messages, frames included, wait in `queue`. Frames of a
 * live stream are otherwise handled synchronously and forwarded as they arrive.
 */
export class Connection implements RoomSubscriber {
  private member: Member | undefined;
  /** The protocol version this client speaks (from hello). */
  private protocol = PROTOCOL_VERSION;
  private room: string | undefined;
  private talk: Talk | undefined;
  /** Frames a talker sent after the server stopped its stream are dropped without an error. */
  private lastStreamId = -1;
  private readonly stopping = new Set<Promise<void>>();
  private readonly queue: [RawData, boolean][] = [];
  private busy = false;
  /** Something arrived since the last heartbeat. */
  private alive = true;
  /** The async control-message handler running now, if any (shutdown waits for it). */
  private handling: Promise<void> | undefined;
  private closed = false;
  private slowSinceFrames = -1;
  private readonly helloTimer: NodeJS.Timeout;
  private readonly frameBucket: TokenBucket;
  private readonly controlBucket = new TokenBucket(CONTROL_PER_SECOND, CONTROL_BURST);
  /** Joins carrying a key cost a scrypt each: few guesses per connection. */
  private readonly keyBucket = new TokenBucket(KEY_ATTEMPTS_PER_SECOND, KEY_ATTEMPT_BURST);
  /** When each throttled error (code, stream) was last sent. */
  private readonly throttledErrorAtMs = new Map<string, number>();

  constructor(
    readonly id: string,
    private readonly ws: WebSocket,
    private readonly hub: Hub,
    private readonly log: Logger,
    remoteAddress: string | undefined,
  ) {
    hub.connections.add(this);
    this.frameBucket = new TokenBucket(hub.config.framesPerSecond, hub.config.frameBurst);
    log.info({ remoteAddress }, 'connected');
    this.helloTimer = setTimeout(() => {
      this.log.info({ code: 'HELLO_REQUIRED' }, 'no hello in time, closing');
      ws.close(CLOSE_CODES.HELLO_TIMEOUT, 'no hello in time');
    }, hub.config.helloTimeoutMs);
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => (this.alive = true));
    ws.on('error', (err: Error & { code?: string }) => {
      // ws closes the socket itself after a protocol error (e.g. 1009 for a message over maxPayload).
      this.log.warn({ code: err.code, err: err.message }, 'websocket error');
    });
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
  }

  // ---- RoomSubscriber ---------------------------------------------------------------------

  deliverFrame(frame: Buffer): void {
    const ws = this.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    // Live audio is useless late: rather than queue without bound for a listener that cannot keep
    // up, drop frames until its socket drains. The message is stored whole either way.
    if (ws.bufferedAmount > this.hub.config.slowListenerBytes) {
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

  deliverControl(text: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.protocol === 1 && this.room !== undefined)
      text = legacyPresence(this.hub).replace(this.room, text) ?? text;
    this.ws.send(text);
  }

  // ---- incoming ---------------------------------------------------------------------------

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
      const what = isBinary
        ? `frames faster than ${this.frameBucket.ratePerSecond}/s (burst ${this.frameBucket.burst})`
        : `control messages faster than ${CONTROL_PER_SECOND}/s (burst ${CONTROL_BURST})`;
      this.sendThrottledError(
        'RATE_LIMITED',
        `${what}: the extra ones are dropped`,
        isBinary ? 'frame' : undefined,
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
    // With the default binaryType ws always hands out one Buffer per message.
    const bytes = data as Buffer;
    if (isBinary) {
      this.onFrame(bytes);
      return;
    }
    const pending = this.onText(bytes.toString('utf8'));
    if (pending === undefined) return;
    this.busy = true;
    this.handling = pending
      .catch((err: unknown) => {
        this.log.error({ err, code: 'INTERNAL' }, 'control message handler failed');
        this.sendError('INTERNAL', 'the server failed to handle this message');
      })
      .finally(() => {
        this.busy = false;
        while (!this.busy && this.queue.length > 0) {
          const [nextData, nextIsBinary] = this.queue.shift()!;
          this.dispatch(nextData, nextIsBinary);
        }
      });
  }

  private onText(text: string): Promise<void> | undefined {
    let message: ClientMessage;
    try {
      message = parseClientMessage(text);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.sendError(err.code, err.message, refOf(text));
      return undefined;
    }
    if (this.member === undefined) {
      if (message.type !== 'hello') {
        this.sendError('HELLO_REQUIRED', `send hello first, got "${message.type}"`, message.type);
        return undefined;
      }
      this.onHello(message);
      return undefined;
    }
    switch (message.type) {
      case 'hello':
        this.sendError('BAD_MESSAGE', 'hello was already received on this connection', 'hello');
        return undefined;
      case 'join':
        return this.onJoin(message);
      case 'leave':
        if (this.room === undefined)
          this.sendError('NOT_IN_ROOM', 'leave: this connection is in no room', 'leave');
        else this.leaveRoom();
        return undefined;
      case 'get-history':
        return this.onGetHistory(message);
      case 'talk-start':
        return this.onTalkStart(message);
      case 'talk-stop':
        return this.onTalkStop(message);
    }
  }

  private onHello(hello: ClientMessageOf<'hello'>): void {
    clearTimeout(this.helloTimer);
    if (hello.protocol < OLDEST_PROTOCOL_VERSION || hello.protocol > PROTOCOL_VERSION) {
      const err = ProtocolError.versionMismatch(hello.protocol, PROTOCOL_VERSION);
      this.sendError(err.code, err.message, 'hello');
      this.ws.close(CLOSE_CODES.VERSION_MISMATCH, 'protocol version mismatch');
      return;
    }
    this.protocol = hello.protocol;
    this.member = { id: this.id, name: hello.name };
    if (hello.clientId !== undefined) this.member.clientId = hello.clientId;
    this.log.info({ name: hello.name, client: hello.client, clientId: hello.clientId }, 'hello');
    this.send({
      type: 'welcome',
      protocol: this.protocol,
      server: SERVER_NAME,
      connectionId: this.id,
      limits: {
        maxFrameBytes: MAX_FRAME_BYTES,
        maxTextBytes: MAX_TEXT_BYTES,
        maxMessageMs: this.hub.config.maxMessageMs,
        framesPerSecond: this.hub.config.framesPerSecond,
        frameBurst: this.hub.config.frameBurst,
        controlPerSecond: CONTROL_PER_SECOND,
      },
    });
  }

  private async onJoin(join: ClientMessageOf<'join'>): Promise<void> {
    const { room, since, key } = join;
    if (key !== undefined && !this.keyBucket.take()) {
      this.sendError(
        'RATE_LIMITED',
        `join: more than ${KEY_ATTEMPT_BURST} keyed joins at once or ${KEY_ATTEMPTS_PER_SECOND}/s; wait a moment`,
        'join',
      );
      return;
    }
    // Before leaving the current room: a refused join leaves the connection where it was.
    const access = await this.hub.roomKeys.join(room, key);
    if (this.closed || this.member === undefined) return;
    if (access === 'required' || access === 'wrong') {
      this.sendError(
        access === 'required' ? 'ROOM_KEY_REQUIRED' : 'ROOM_KEY_WRONG',
        access === 'required'
          ? `room ${room} has a key; join with "key"`
          : `wrong key for room ${room}`,
        'join',
      );
      return;
    }
    if (access === 'claimed') this.log.info({ room }, 'room key set by first join');
    if (this.room !== undefined) this.leaveRoom();
    // Read the history before subscribing, then send it, subscribe and reply without yielding,
    // so that the history arrives before any live traffic of the room.
    const page =
      since === undefined
        ? undefined
        : await this.hub.store.listMessages(room, {
            after: since === 'all' ? 0 : since,
            limit: MAX_HISTORY_LIMIT,
          });
    if (this.closed || this.member === undefined) return;
    if (page !== undefined)
      this.send({ type: 'history', room, messages: page.messages, more: page.more });
    this.room = room;
    this.hub.bus.subscribe(room, this);
    this.hub.rooms.addMember(room, this.member);
    const members = this.hub.rooms.members(room);
    this.send({ type: 'joined', room, you: this.member, members, live: this.hub.rooms.live(room) });
    announceJoin(this.hub, room, this.member, this);
    this.log.info(
      { room, since, history: page?.messages.length, members: members.length },
      'joined',
    );
  }

  private leaveRoom(): void {
    const room = this.room;
    if (room === undefined) return;
    if (this.talk !== undefined) void this.stopTalk('left', 'complete');
    this.room = undefined;
    this.hub.bus.unsubscribe(room, this);
    this.hub.rooms.removeMember(room, this.id);
    if (this.member !== undefined) announceLeave(this.hub, room, this.member);
    this.log.info({ room }, 'left');
  }

  private async onGetHistory(request: ClientMessageOf<'get-history'>): Promise<void> {
    const room = this.room;
    if (room === undefined) {
      this.sendError('NOT_IN_ROOM', 'get-history: join a room first', 'get-history');
      return;
    }
    const page = await this.hub.store.listMessages(room, {
      after: request.after,
      before: request.before,
      limit: request.limit ?? DEFAULT_HISTORY_LIMIT,
    });
    this.send({ type: 'history', room, messages: page.messages, more: page.more });
  }

  private async onTalkStart(start: ClientMessageOf<'talk-start'>): Promise<void> {
    const { room, member } = this;
    const { streamId } = start;
    if (room === undefined || member === undefined) {
      this.sendError('NOT_IN_ROOM', 'talk-start: join a room first', 'talk-start', streamId);
      return;
    }
    if (this.talk !== undefined) {
      this.sendError(
        'ALREADY_TALKING',
        `talk-start: stream ${this.talk.streamId} is still live on this connection; stop it first`,
        'talk-start',
        streamId,
      );
      return;
    }
    if (this.hub.shuttingDown) {
      this.sendError(
        'SERVER_SHUTTING_DOWN',
        'talk-start: the server is shutting down',
        'talk-start',
        streamId,
      );
      return;
    }
    if (!this.hub.rooms.reserveStream(room, streamId)) {
      this.sendError(
        'STREAM_IN_USE',
        `talk-start: stream id ${streamId} is live in room ${room}; pick another`,
        'talk-start',
        streamId,
      );
      return;
    }
    const encrypted = start.encrypted ?? false;
    // End-to-end parameters are opaque to the server: stored and relayed as the talker sent them.
    const e2e: Pick<LiveStream, 'e2eSalt' | 'keyCheck'> = {};
    if (start.e2eSalt !== undefined) e2e.e2eSalt = start.e2eSalt;
    if (start.keyCheck !== undefined) e2e.keyCheck = start.keyCheck;
    const startedAt = Date.now();
    let messageId: number;
    try {
      const message = await this.hub.store.createMessage({
        room,
        streamId,
        senderName: member.name,
        senderClientId: member.clientId,
        startedAt,
        encrypted,
        ...e2e,
      });
      messageId = message.id;
    } catch (err) {
      this.hub.rooms.endStream(room, streamId);
      this.log.error({ err, code: 'STORE_FAILED', room, streamId }, 'could not create message');
      this.sendError(
        'STORE_FAILED',
        'talk-start: the server could not create the message',
        'talk-start',
        streamId,
      );
      return;
    }
    if (this.closed || this.hub.shuttingDown) {
      // The socket went away while the row was being created: close it as an empty partial message.
      this.hub.rooms.endStream(room, streamId);
      await this.hub.store.finishMessage(messageId, 'partial');
      this.log.info(
        { room, streamId, messageId, reason: 'disconnect', status: 'partial', frames: 0 },
        'talk stop',
      );
      return;
    }
    const recording = new Recording(this.hub.store, messageId, this.log);
    // Frame-count check in onFrame is exact; this timer only catches a talker that went quiet.
    const timer = setTimeout(() => {
      if (this.talk?.messageId !== messageId) return;
      this.sendError(
        'MESSAGE_TOO_LONG',
        `message reached ${this.hub.config.maxMessageMs} ms`,
        'frame',
        streamId,
      );
      void this.stopTalk('too-long', 'complete');
    }, this.hub.config.maxMessageMs + 5_000);
    timer.unref();
    this.talk = { room, streamId, messageId, encrypted, recording, timer };
    const live: LiveStream = { streamId, messageId, from: member, startedAt, encrypted, ...e2e };
    this.hub.rooms.setLive(room, live);
    this.hub.bus.publishControl(room, JSON.stringify({ type: 'talk-started', room, ...live }));
    this.log.info({ room, streamId, messageId, encrypted }, 'talk start');
  }

  private async onTalkStop(stop: ClientMessageOf<'talk-stop'>): Promise<void> {
    if (this.talk?.streamId !== stop.streamId) {
      // A stop for a stream the server already ended (end frame, too long) is not an error.
      if (stop.streamId === this.lastStreamId) return;
      this.sendError(
        'UNKNOWN_STREAM',
        `talk-stop: no live stream ${stop.streamId} on this connection`,
        'talk-stop',
        stop.streamId,
      );
      return;
    }
    // Holding later messages until the store has committed keeps this talker's acks in order.
    await this.stopTalk('stop', 'complete');
  }

  private onFrame(bytes: Buffer): void {
    if (this.member === undefined) {
      this.sendError('HELLO_REQUIRED', 'send hello before audio frames', 'frame');
      return;
    }
    let header: FrameHeader;
    try {
      header = decodeFrameHeader(bytes);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.sendError(err.code, err.message, 'frame');
      return;
    }
    const talk = this.talk;
    if (talk?.streamId !== header.streamId) {
      if (header.streamId === this.lastStreamId) return;
      this.sendError(
        'UNKNOWN_STREAM',
        `frame for stream ${header.streamId}, which this connection has not started; send talk-start first`,
        'frame',
        header.streamId,
      );
      return;
    }
    if (((header.flags & FLAG_ENCRYPTED) !== 0) !== talk.encrypted) {
      this.sendThrottledError(
        'ENCRYPTION_MISMATCH',
        talk.encrypted
          ? `stream ${header.streamId} was started encrypted but this frame is not; it was dropped`
          : `stream ${header.streamId} was started unencrypted but this frame is encrypted; it was dropped`,
        'frame',
        header.streamId,
      );
      return;
    }
    this.hub.bus.publishFrame(talk.room, bytes, this);
    if (bytes.byteLength > FRAME_HEADER_LEN) {
      talk.recording.add(
        header.sequence,
        header.timestamp,
        bytes.subarray(FRAME_HEADER_LEN),
        header.flags,
      );
    }
    if ((header.flags & FLAG_END) !== 0) {
      void this.stopTalk('end-frame', 'complete');
    } else if (talk.recording.frameCount * FRAME_MS >= this.hub.config.maxMessageMs) {
      this.sendError(
        'MESSAGE_TOO_LONG',
        `message reached the limit of ${this.hub.config.maxMessageMs} ms; it was stored and the stream stopped`,
        'frame',
        header.streamId,
      );
      void this.stopTalk('too-long', 'complete');
    }
  }

  // ---- stopping ---------------------------------------------------------------------------

  /**
   * Ends the live stream: talk-stopped goes out at once, then the store commits, then
   * message-stored goes to the room and the talker (its ack). Never rejects.
   */
  private stopTalk(reason: StopReason, status: Exclude<MessageStatus, 'recording'>): Promise<void> {
    const talk = this.talk;
    if (talk === undefined) return Promise.resolve();
    this.talk = undefined;
    this.lastStreamId = talk.streamId;
    clearTimeout(talk.timer);
    const { room, streamId, messageId, recording } = talk;
    this.hub.rooms.endStream(room, streamId);
    this.hub.bus.publishControl(
      room,
      JSON.stringify({ type: 'talk-stopped', room, streamId, messageId, reason }),
    );
    const done = recording.finish(status).then(
      (message) => {
        this.log.info(
          {
            room,
            streamId,
            messageId,
            reason,
            status,
            frames: message.frameCount,
            bytes: message.bytes,
          },
          'talk stop',
        );
        const text = JSON.stringify({ type: 'message-stored', room, streamId, message });
        this.hub.bus.publishControl(room, text, this);
        this.deliverControl(text);
      },
      (err: unknown) => {
        this.log.error(
          { err, code: 'STORE_FAILED', room, streamId, messageId },
          'could not store message',
        );
        this.sendError(
          'STORE_FAILED',
          `message ${messageId} could not be stored`,
          'talk-stop',
          streamId,
        );
      },
    );
    this.stopping.add(done);
    void done.finally(() => this.stopping.delete(done));
    return done;
  }

  /** Server shutdown: the live stream is kept as 'partial'; resolves when every store write is done. */
  async shutdown(): Promise<void> {
    await this.handling;
    if (this.talk !== undefined) void this.stopTalk('shutdown', 'partial');
    await Promise.all(this.stopping);
  }

  /** Closes the socket with 1001 and resolves when it is closed (or after `timeoutMs`, forcibly). */
  closeSocket(timeoutMs: number): Promise<void> {
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

  private onClose(code: number, reason: string): void {
    this.closed = true;
    clearTimeout(this.helloTimer);
    this.queue.length = 0;
    if (this.talk !== undefined) {
      void this.stopTalk(this.hub.shuttingDown ? 'shutdown' : 'disconnect', 'partial');
    }
    if (this.room !== undefined) this.leaveRoom();
    this.log.info({ code, reason }, 'disconnected');
    void Promise.all(this.stopping).finally(() => this.hub.connections.delete(this));
  }

  // ---- outgoing ---------------------------------------------------------------------------

  private send(message: ServerMessage): void {
    this.deliverControl(JSON.stringify(message));
  }

  /** sendError at most once per RATE_LIMIT_ERROR_INTERVAL_MS per code and stream: a flood gets one error, not one per message. */
  private sendThrottledError(
    code: ErrorCode,
    message: string,
    ref?: string,
    streamId?: number,
  ): void {
    const now = performance.now();
    const what = streamId === undefined ? code : `${code} ${streamId}`;
    const last = this.throttledErrorAtMs.get(what);
    if (last !== undefined && now - last < RATE_LIMIT_ERROR_INTERVAL_MS) return;
    this.throttledErrorAtMs.set(what, now);
    this.sendError(code, message, ref, streamId);
  }

  private sendError(code: ErrorCode, message: string, ref?: string, streamId?: number): void {
    this.log.info({ code, ref, streamId }, message);
    const error: ServerMessage = { type: 'error', code, message };
    if (ref !== undefined) error.ref = ref;
    if (streamId !== undefined) error.streamId = streamId;
    this.send(error);
  }
}

/** The `type` of a rejected control message when it can be read, to put in the error's `ref`. */
function refOf(text: string): string | undefined {
  const match = /"type"\s*:\s*"([a-z-]{1,20})"/.exec(text.slice(0, 200));
  return match?.[1];
}
