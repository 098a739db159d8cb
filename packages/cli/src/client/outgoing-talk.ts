import { FLAG_END, FRAME_MS, encodeFrame, frameSamplesOf, sealFrame } from '@imv/protocol';
import type {
  FrameMs,
  ErrorMessage,
  MessageStored,
  ServerMessage,
  ServerMessageOf,
  StreamKey,
  TalkStarted,
} from '@imv/protocol';
import { ImvClientError } from './client-error.js';

/** What an end-to-end encrypted talk needs: the stream's key (with its salt) and the room's keyCheck. */
export interface TalkEncryption {
  streamKey: StreamKey;
  keyCheck: string;
}

/**
 * What a talk needs of its connection (ImvClient provides it). An interface rather than the class,
 * so that this file and imv-client.ts do not import each other.
 */
export interface TalkConnection {
  readonly welcome: { connectionId: string };
  expect<T extends ServerMessage['type']>(
    type: T,
    options?: {
      where?: (message: ServerMessageOf<T>) => boolean;
      failOn?: (error: ErrorMessage) => boolean;
      signal?: AbortSignal;
    },
  ): Promise<ServerMessageOf<T>>;
  sendControl(message: Record<string, unknown> & { type: string }): void;
  sendBinary(bytes: Uint8Array): Promise<void>;
}

/**
 * One talk spurt: talk-start, numbered frames, then an END frame (or talk-stop), and the server's
 * `message-stored` ack. Create it with `client.startTalk()` after joining a room.
 */
export class OutgoingTalk {
  private sequence = 0;
  private ended = false;
  private readonly abortStored = new AbortController();
  private readonly abortStarted = new AbortController();
  /** The server's talk-started for this stream, if it sends one to the talker. */
  readonly started: Promise<TalkStarted>;
  private readonly storedAck: Promise<MessageStored>;
  private failure: ImvClientError | undefined;

  constructor(
    private readonly client: TalkConnection,
    readonly streamId: number,
    /** End-to-end encryption: every frame is sealed with this stream key (e2e.ts). */
    private readonly encryption?: TalkEncryption,
    /** Duration of every frame of this talk, announced in talk-start. */
    readonly frameMs: FrameMs = FRAME_MS,
  ) {
    // The server names the stream in talk errors; a talk-start error without one can only be ours.
    const mine = (e: ErrorMessage): boolean =>
      e.streamId === streamId || (e.ref === 'talk-start' && e.streamId === undefined);
    // Registered before talk-start goes out, so neither reply can be missed.
    this.started = client.expect('talk-started', {
      where: (m) => m.streamId === streamId && m.from.id === client.welcome.connectionId,
      failOn: mine,
      signal: this.abortStarted.signal,
    });
    this.storedAck = client.expect('message-stored', {
      where: (m) => m.streamId === streamId,
      failOn: (e) => mine(e) && e.code !== 'MESSAGE_TOO_LONG',
      signal: this.abortStored.signal,
    });
    // Keep the first failure for sendFrame to report, and keep unawaited rejections quiet.
    this.started.catch((e: unknown) => this.noteFailure(e));
    this.storedAck.catch((e: unknown) => this.noteFailure(e));
    client.sendControl({
      type: 'talk-start',
      streamId,
      frameMs,
      ...(encryption !== undefined
        ? { encrypted: true, e2eSalt: encryption.streamKey.e2eSalt, keyCheck: encryption.keyCheck }
        : {}),
    });
  }

  /** Frames sent so far. */
  get framesSent(): number {
    return this.sequence;
  }

  /**
   * Sends one Opus packet of `frameMs`. `timestamp` defaults to sequence × 960 (or 480) samples; `end` marks the
   * last frame. Throws the server's error if it refused this stream.
   */
  async sendFrame(
    payload: Uint8Array,
    options: { end?: boolean; timestamp?: number } = {},
  ): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (this.ended) throw new Error(`stream ${this.streamId} has already ended`);
    const sequence = this.sequence++;
    if (options.end === true) this.ended = true;
    const header = {
      flags: options.end === true ? FLAG_END : 0,
      streamId: this.streamId,
      sequence,
      timestamp: options.timestamp ?? sequence * frameSamplesOf(this.frameMs),
    };
    const frame =
      this.encryption !== undefined
        ? await sealFrame(this.encryption.streamKey, header, payload)
        : encodeFrame(header, payload);
    await this.client.sendBinary(frame);
  }

  /** Stops talking with talk-stop (when no END frame was sent). */
  stop(): void {
    if (this.ended) return;
    this.ended = true;
    this.client.sendControl({ type: 'talk-stop', streamId: this.streamId });
  }

  /** Waits for the server's `message-stored` ack for this stream. */
  async stored(timeoutMs = 10_000): Promise<MessageStored> {
    const timer = setTimeout(
      () => this.abortStored.abort(ImvClientError.timeout('message-stored ack', timeoutMs)),
      timeoutMs,
    );
    try {
      return await this.storedAck;
    } finally {
      clearTimeout(timer);
      // Servers need not echo talk-started to the talker; stop waiting for it.
      this.abortStarted.abort(ImvClientError.closed());
    }
  }

  private noteFailure(error: unknown): void {
    if (
      this.failure === undefined &&
      error instanceof ImvClientError &&
      error.code !== 'TIMEOUT' &&
      error.code !== 'CLOSED'
    ) {
      this.failure = error;
    }
  }
}
