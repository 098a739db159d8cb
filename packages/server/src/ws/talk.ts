import { FLAG_ENCRYPTED, FLAG_END, FRAME_HEADER_LEN, FRAME_MS, frameMsOf } from '@imv/protocol';
import type {
  FrameMs,
  ClientMessageOf,
  FrameHeader,
  LiveStream,
  Member,
  MessageStatus,
  StopReason,
} from '@imv/protocol';
import type { Logger } from 'pino';
import type { RoomSubscriber } from '../bus/bus.js';
import { storeErrorCode } from '../store/store-errors.js';
import type { ClientSocket } from './client-socket.js';
import { controlText } from './control-text.js';
import type { Hub } from './hub.js';
import { Recording } from './recording.js';
import { TokenBucket } from './token-bucket.js';
import { WsErrors } from './ws-errors.js';

interface LiveTalk {
  room: string;
  streamId: number;
  messageId: number;
  /** From talk-start; every frame's ENCRYPTED flag must agree. */
  encrypted: boolean;
  /** From talk-start: the duration of each frame, for the rate limit and the length limit. */
  frameMs: FrameMs;
  recording: Recording;
  /** Safety net for a talker that stops sending frames without stopping. */
  timer: NodeJS.Timeout;
}

/**
 * One client's talking: talk-start (stream id reservation in `hub.rooms`, the message row), its
 * frames (relay and recording), and the stop (talk-stopped at once, message-stored once committed).
 */
export class Talk {
  private talk: LiveTalk | undefined;
  /** Frames a talker sent after the server stopped its stream are dropped without an error. */
  private lastStreamId = -1;
  private readonly stopping = new Set<Promise<void>>();
  /**
   * The frame rate limit counts audio time, in 20 ms frames: a 10 ms frame takes half a token, so a
   * talk may send 50 frames/s of 20 ms or 100 of 10 ms (the defaults), no more. One bucket for all
   * of this connection's talks, so stopping and starting again does not refill it.
   */
  private readonly audioBucket: TokenBucket;

  constructor(
    private readonly hub: Hub,
    private readonly socket: ClientSocket,
    private readonly log: Logger,
    /** The talker's own place on the room bus: relayed frames and messages skip it. */
    private readonly subscriber: RoomSubscriber,
  ) {
    this.audioBucket = new TokenBucket(hub.config.framesPerSecond, hub.config.frameBurst);
  }

  get live(): boolean {
    return this.talk !== undefined;
  }

  async onTalkStart(
    start: ClientMessageOf<'talk-start'>,
    room: string | undefined,
    member: Member | undefined,
  ): Promise<void> {
    const { streamId } = start;
    if (room === undefined || member === undefined) {
      this.socket.sendError(WsErrors.notInRoom('talk-start', streamId));
      return;
    }
    if (this.talk !== undefined) {
      this.socket.sendError(WsErrors.alreadyTalking(this.talk.streamId, streamId));
      return;
    }
    if (this.hub.shuttingDown) {
      this.socket.sendError(WsErrors.shuttingDown(streamId));
      return;
    }
    if (!this.hub.rooms.reserveStream(room, streamId)) {
      this.socket.sendError(WsErrors.streamInUse(room, streamId));
      return;
    }
    const encrypted = start.encrypted ?? false;
    const frameMs = frameMsOf(start);
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
        frameMs,
        ...e2e,
      });
      messageId = message.id;
    } catch (err) {
      this.hub.rooms.endStream(room, streamId);
      const code = storeErrorCode(err);
      this.log.error({ err, code, room, streamId }, 'could not create message');
      this.socket.sendError(WsErrors.messageNotCreated(code, streamId));
      return;
    }
    if (this.socket.closed || this.hub.shuttingDown) {
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
    const { maxMessageMs } = this.hub.config;
    // Frame-count check in onFrame is exact; this timer only catches a talker that went quiet.
    const timer = setTimeout(() => {
      if (this.talk?.messageId !== messageId) return;
      this.socket.sendError(WsErrors.messageTimedOut(maxMessageMs, streamId));
      void this.stop('too-long', 'complete');
    }, maxMessageMs + 5_000);
    timer.unref();
    this.talk = { room, streamId, messageId, encrypted, frameMs, recording, timer };
    const live: LiveStream = {
      streamId,
      messageId,
      from: member,
      startedAt,
      encrypted,
      frameMs,
      ...e2e,
    };
    this.hub.rooms.setLive(room, live);
    this.hub.bus.publishControl(room, controlText({ type: 'talk-started', room, ...live }));
    this.log.info({ room, streamId, messageId, encrypted, frameMs }, 'talk start');
  }

  async onTalkStop(stop: ClientMessageOf<'talk-stop'>): Promise<void> {
    if (this.talk?.streamId !== stop.streamId) {
      // A stop for a stream the server already ended (end frame, too long) is not an error.
      if (stop.streamId === this.lastStreamId) return;
      this.socket.sendError(WsErrors.unknownStreamStop(stop.streamId));
      return;
    }
    // Holding later messages until the store has committed keeps this talker's acks in order.
    await this.stop('stop', 'complete');
  }

  /** A frame whose header decoded: relayed to the room and recorded. */
  onFrame(header: FrameHeader, bytes: Buffer): void {
    const talk = this.talk;
    if (talk?.streamId !== header.streamId) {
      if (header.streamId === this.lastStreamId) return;
      this.socket.sendError(WsErrors.unknownStreamFrame(header.streamId));
      return;
    }
    const perFrame = talk.frameMs / FRAME_MS;
    if (!this.audioBucket.take(perFrame)) {
      const { ratePerSecond, burst } = this.audioBucket;
      this.socket.sendThrottledError(
        WsErrors.framesTooFast(ratePerSecond / perFrame, burst / perFrame),
      );
      return;
    }
    if (((header.flags & FLAG_ENCRYPTED) !== 0) !== talk.encrypted) {
      this.socket.sendThrottledError(WsErrors.encryptionMismatch(talk.encrypted, header.streamId));
      return;
    }
    this.hub.bus.publishFrame(talk.room, bytes, this.subscriber);
    if (bytes.byteLength > FRAME_HEADER_LEN) {
      talk.recording.add(
        header.sequence,
        header.timestamp,
        bytes.subarray(FRAME_HEADER_LEN),
        header.flags,
      );
    }
    const { maxMessageMs } = this.hub.config;
    if ((header.flags & FLAG_END) !== 0) {
      void this.stop('end-frame', 'complete');
    } else if (talk.recording.frameCount * talk.frameMs >= maxMessageMs) {
      this.socket.sendError(WsErrors.messageTooLong(maxMessageMs, header.streamId));
      void this.stop('too-long', 'complete');
    }
  }

  /**
   * Ends the live stream: talk-stopped goes out at once, then the store commits, then
   * message-stored goes to the room and the talker (its ack). Never rejects.
   */
  stop(reason: StopReason, status: Exclude<MessageStatus, 'recording'>): Promise<void> {
    const talk = this.talk;
    if (talk === undefined) return Promise.resolve();
    this.talk = undefined;
    this.lastStreamId = talk.streamId;
    clearTimeout(talk.timer);
    const { room, streamId, messageId, recording } = talk;
    this.hub.rooms.endStream(room, streamId);
    this.hub.bus.publishControl(
      room,
      controlText({ type: 'talk-stopped', room, streamId, messageId, reason }),
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
        const text = controlText({ type: 'message-stored', room, streamId, message });
        this.hub.bus.publishControl(room, text, this.subscriber);
        this.socket.sendText(text);
      },
      (err: unknown) => {
        const code = storeErrorCode(err);
        this.log.error({ err, code, room, streamId, messageId }, 'could not store message');
        this.socket.sendError(WsErrors.messageNotStored(code, messageId, streamId));
      },
    );
    this.stopping.add(done);
    void done.finally(() => this.stopping.delete(done));
    return done;
  }

  /** Resolves when every store write of this client's talks is done. */
  settled(): Promise<void> {
    return Promise.all(this.stopping).then(() => undefined);
  }
}
