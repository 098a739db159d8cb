import { ECHO_IDLE_MS, ECHO_MAX_FRAMES, ECHO_SESSIONS_PER_MINUTE, FLAG_END } from '@imv/protocol';
import type { EchoStopped, FrameHeader } from '@imv/protocol';
import type { Logger } from 'pino';
import type { ClientSocket } from './client-socket.js';
import { TokenBucket } from './token-bucket.js';
import { WsErrors } from './ws-errors.js';

interface EchoSession {
  streamId: number;
  frames: number;
  /** Ends a session whose client stopped sending without an END frame. */
  timer: NodeJS.Timeout;
}

/**
 * The audio doctor's echo (echo-start): this connection's frames of one stream go straight back to
 * it, the very bytes received, so the page can time a round trip through the server. Nothing reaches
 * a room or the store. A few sessions a minute per connection (ECHO_LIMITED past them), each bounded
 * in frames and by the connection's frame rate limit like any talk.
 */
export class Echo {
  private session: EchoSession | undefined;
  private readonly sessions = new TokenBucket(
    ECHO_SESSIONS_PER_MINUTE / 60,
    ECHO_SESSIONS_PER_MINUTE,
  );

  constructor(
    private readonly socket: ClientSocket,
    private readonly log: Logger,
  ) {}

  /** The frame belongs to the running echo session. */
  owns(header: FrameHeader): boolean {
    return this.session?.streamId === header.streamId;
  }

  onStart(streamId: number): void {
    if (!this.sessions.take()) {
      // The bucket refills one session every 60/N s.
      const waitS = Math.ceil(60 / ECHO_SESSIONS_PER_MINUTE);
      this.socket.sendError(WsErrors.echoLimited(ECHO_SESSIONS_PER_MINUTE, waitS, streamId));
      return;
    }
    if (this.session !== undefined) this.stop('replaced');
    this.session = { streamId, frames: 0, timer: this.idleTimer() };
    this.log.info({ streamId }, 'echo start');
    this.socket.send({ type: 'echo-ready', streamId, maxFrames: ECHO_MAX_FRAMES });
  }

  onFrame(header: FrameHeader, bytes: Buffer): void {
    const session = this.session;
    if (session === undefined) return;
    session.frames++;
    this.socket.sendOwnFrame(bytes);
    if ((header.flags & FLAG_END) !== 0) this.stop('end-frame');
    else if (session.frames >= ECHO_MAX_FRAMES) this.stop('max-frames');
    else session.timer.refresh();
  }

  /** The socket closed. */
  close(): void {
    if (this.session !== undefined) clearTimeout(this.session.timer);
    this.session = undefined;
  }

  private idleTimer(): NodeJS.Timeout {
    const timer = setTimeout(() => this.stop('idle'), ECHO_IDLE_MS);
    timer.unref();
    return timer;
  }

  private stop(reason: EchoStopped['reason']): void {
    const session = this.session;
    if (session === undefined) return;
    clearTimeout(session.timer);
    this.session = undefined;
    const { streamId, frames } = session;
    this.log.info({ streamId, frames, reason }, 'echo stop');
    this.socket.send({ type: 'echo-stopped', streamId, frames, reason });
  }
}
