import {
  PROTOCOL_VERSION,
  ProtocolError,
  decodeFrameHeader,
  parseClientMessage,
} from '@imv/protocol';
import type { ClientMessage, FrameHeader } from '@imv/protocol';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { RoomSubscriber } from '../bus/bus.js';
import { ClientSocket } from './client-socket.js';
import { Echo } from './echo.js';
import type { ConnectionHandle, Hub } from './hub.js';
import { Session } from './session.js';
import { legacyPresence } from './presence.js';
import { Talk } from './talk.js';
import { WsErrors } from './ws-errors.js';

/**
 * One client WebSocket, put together from its parts: the socket (queue, heartbeat, limits, send),
 * the session (hello, join, leave, history) and the talk (start, frames, stop, recording). This
 * file only routes each message to the part that handles it.
 */
export class Connection implements RoomSubscriber, ConnectionHandle {
  private readonly socket: ClientSocket;
  private readonly session: Session;
  private readonly talk: Talk;
  private readonly echo: Echo;

  constructor(
    readonly id: string,
    ws: WebSocket,
    private readonly hub: Hub,
    private readonly log: Logger,
    remoteAddress: string | undefined,
    /** The client's IP address as limits count it ('::ffff:' prefix removed). */
    address: string,
  ) {
    hub.connections.add(this);
    this.socket = new ClientSocket(ws, log, hub.config);
    this.talk = new Talk(hub, this.socket, log, this);
    this.echo = new Echo(this.socket, log);
    this.session = new Session(id, hub, this.socket, log, address, this, () => {
      if (this.talk.live) void this.talk.stop('left', 'complete');
    });
    log.info({ remoteAddress }, 'connected');
    this.socket.listen({
      onText: (text) => this.onText(text),
      onFrame: (bytes) => this.onFrame(bytes),
      onClose: (code, reason) => this.onClose(code, reason),
    });
  }

  // ---- RoomSubscriber ---------------------------------------------------------------------

  deliverFrame(frame: Buffer): void {
    this.socket.sendFrame(frame);
  }

  deliverControl(text: string): void {
    const { protocol, room, member } = this.session;
    if (protocol < PROTOCOL_VERSION && room !== undefined && member !== undefined) {
      const texts = legacyPresence(this.hub).replace(protocol, room, text, member.id);
      if (texts !== undefined) {
        for (const legacy of texts) this.socket.sendText(legacy);
        return;
      }
    }
    this.socket.sendText(text);
  }

  // ---- incoming ---------------------------------------------------------------------------

  heartbeat(): void {
    this.socket.heartbeat();
  }

  private onText(text: string): Promise<void> | undefined {
    let message: ClientMessage;
    try {
      message = parseClientMessage(text);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.socket.sendError(WsErrors.fromProtocol(err, refOf(text)));
      return undefined;
    }
    const { session } = this;
    if (session.member === undefined) {
      if (message.type === 'hello') session.onHello(message);
      else this.socket.sendError(WsErrors.helloRequired(message.type));
      return undefined;
    }
    switch (message.type) {
      case 'hello':
        this.socket.sendError(WsErrors.helloRepeated());
        return undefined;
      case 'join':
        return session.onJoin(message);
      case 'leave':
        session.onLeave();
        return undefined;
      case 'get-history':
        return session.onGetHistory(message);
      case 'set-room-key':
        return session.onSetRoomKey(message);
      case 'talk-start':
        return this.talk.onTalkStart(message, session.room, session.member);
      case 'talk-stop':
        return this.talk.onTalkStop(message);
      case 'echo-start':
        this.echo.onStart(message.streamId);
        return undefined;
    }
  }

  private onFrame(bytes: Buffer): void {
    if (this.session.member === undefined) {
      this.socket.sendError(WsErrors.helloRequiredForFrames());
      return;
    }
    let header: FrameHeader;
    try {
      header = decodeFrameHeader(bytes);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.socket.sendError(WsErrors.fromProtocol(err, 'frame'));
      return;
    }
    if (this.echo.owns(header)) this.echo.onFrame(header, bytes);
    else this.talk.onFrame(header, bytes);
  }

  // ---- stopping ---------------------------------------------------------------------------

  /** Server shutdown: the live stream is kept as 'partial'; resolves when every store write is done. */
  async shutdown(): Promise<void> {
    await this.socket.handling;
    if (this.talk.live) void this.talk.stop('shutdown', 'partial');
    await this.talk.settled();
  }

  /** Closes the socket with 1001 and resolves when it is closed (or after `timeoutMs`, forcibly). */
  closeSocket(timeoutMs: number): Promise<void> {
    return this.socket.closeGoingAway(timeoutMs);
  }

  private onClose(code: number, reason: string): void {
    if (this.talk.live) {
      void this.talk.stop(this.hub.shuttingDown ? 'shutdown' : 'disconnect', 'partial');
    }
    this.session.onClose();
    this.echo.close();
    this.log.info({ code, reason }, 'disconnected');
    void this.talk.settled().finally(() => this.hub.connections.delete(this));
  }
}

/** The `type` of a rejected control message when it can be read, to put in the error's `ref`. */
function refOf(text: string): string | undefined {
  const match = /"type"\s*:\s*"([a-z-]{1,20})"/.exec(text.slice(0, 200));
  return match?.[1];
}
