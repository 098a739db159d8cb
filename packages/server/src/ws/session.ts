import {
  FRAME_MS_VALUES,
  CLOSE_CODES,
  MAX_FRAME_BYTES,
  MAX_HISTORY_LIMIT,
  MAX_TEXT_BYTES,
  OLDEST_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  ProtocolError,
  DEFAULT_HISTORY_LIMIT,
} from '@imv/protocol';
import type { ClientMessageOf, Member } from '@imv/protocol';
import type { Logger } from 'pino';
import type { RoomSubscriber } from '../bus/bus.js';
import { SERVER_NAME } from '../version.js';
import type { ClientSocket } from './client-socket.js';
import type { Hub } from './hub.js';
import { joinedText } from './control-text.js';
import { announceJoin, announceLeave } from './presence.js';
import { KEY_ATTEMPT_BURST, KEY_ATTEMPTS_PER_SECOND } from '../store/key-attempts.js';
import { CONTROL_PER_SECOND } from './token-bucket.js';
import { WsErrors } from './ws-errors.js';

/**
 * Who the client is and where it is: hello, join (room key, history, presence), leave and
 * get-history. Membership goes through `hub.rooms` (presence) and `hub.bus` (fan-out).
 */
export class Session {
  member: Member | undefined;
  /** The protocol version this client speaks (from hello). */
  protocol = PROTOCOL_VERSION;
  room: string | undefined;
  private readonly helloTimer: NodeJS.Timeout;

  constructor(
    private readonly id: string,
    private readonly hub: Hub,
    private readonly socket: ClientSocket,
    private readonly log: Logger,
    /** The client's IP address: room-key attempts are limited per address. */
    private readonly address: string,
    /** What receives the room's traffic for this client (the connection). */
    private readonly subscriber: RoomSubscriber,
    /** Called before the client leaves its room (its live talk, if any, ends as 'left'). */
    private readonly beforeLeave: () => void,
  ) {
    this.helloTimer = setTimeout(() => {
      this.log.info({ code: 'HELLO_REQUIRED' }, 'no hello in time, closing');
      socket.close(CLOSE_CODES.HELLO_TIMEOUT, 'no hello in time');
    }, hub.config.helloTimeoutMs);
  }

  onHello(hello: ClientMessageOf<'hello'>): void {
    clearTimeout(this.helloTimer);
    if (hello.protocol < OLDEST_PROTOCOL_VERSION || hello.protocol > PROTOCOL_VERSION) {
      const err = ProtocolError.versionMismatch(hello.protocol, PROTOCOL_VERSION);
      this.socket.sendError(WsErrors.fromProtocol(err, 'hello'));
      this.socket.close(CLOSE_CODES.VERSION_MISMATCH, 'protocol version mismatch');
      return;
    }
    this.protocol = hello.protocol;
    this.member = { id: this.id, name: hello.name };
    if (hello.clientId !== undefined) this.member.clientId = hello.clientId;
    this.log.info({ name: hello.name, client: hello.client, clientId: hello.clientId }, 'hello');
    this.socket.send({
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
      frameMs: [...FRAME_MS_VALUES],
      // Where to go if this node goes away (failover); absent on a single node.
      ...(this.hub.cluster !== undefined && { nodes: this.hub.cluster.otherNodes() }),
    });
  }

  async onJoin(join: ClientMessageOf<'join'>): Promise<void> {
    const { room, since, key } = join;
    // Before leaving the current room: a refused join leaves the connection where it was.
    const rooms = this.hub.rooms;
    const access = await this.hub.roomKeys.join(
      room,
      key,
      this.address,
      () => rooms.members(room).length > 0 || rooms.live(room).length > 0,
    );
    if (this.socket.closed || this.member === undefined) return;
    if (access === 'limited') {
      this.socket.sendThrottledError(
        WsErrors.keyAttemptsTooFast('join', KEY_ATTEMPT_BURST, KEY_ATTEMPTS_PER_SECOND),
      );
      return;
    }
    if (access === 'required' || access === 'wrong') {
      this.socket.sendError(
        access === 'required' ? WsErrors.roomKeyRequired(room) : WsErrors.roomKeyWrong(room),
      );
      return;
    }
    if (access === 'claimed') this.log.info({ room }, 'room key set by first join');
    else if (access === 'open' && key !== undefined)
      this.log.info({ room }, 'room key ignored: the room is open and in use');
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
    if (this.socket.closed || this.member === undefined) return;
    if (page !== undefined)
      this.socket.send({ type: 'history', room, messages: page.messages, more: page.more });
    this.room = room;
    this.hub.bus.subscribe(room, this.subscriber);
    this.hub.rooms.addMember(room, this.member);
    const members = this.hub.rooms.members(room);
    this.socket.sendText(
      joinedText({
        type: 'joined',
        room,
        you: this.member,
        members,
        live: this.hub.rooms.live(room),
        keyed: access === 'ok' || access === 'claimed',
      }),
    );
    announceJoin(this.hub, room, this.member);
    this.log.info(
      { room, since, history: page?.messages.length, members: members.length },
      'joined',
    );
  }

  onLeave(): void {
    if (this.room === undefined) this.socket.sendError(WsErrors.notInRoom('leave'));
    else this.leaveRoom();
  }

  leaveRoom(): void {
    const room = this.room;
    if (room === undefined) return;
    this.beforeLeave();
    this.room = undefined;
    this.hub.bus.unsubscribe(room, this.subscriber);
    this.hub.rooms.removeMember(room, this.id);
    if (this.member !== undefined) announceLeave(this.hub, room, this.member);
    this.log.info({ room }, 'left');
  }

  /** set-room-key: a member inside locks an open room; everyone inside hears it (room-key). */
  async onSetRoomKey(request: ClientMessageOf<'set-room-key'>): Promise<void> {
    const { room, member } = this;
    if (room === undefined || member === undefined) {
      this.socket.sendError(WsErrors.notInRoom('set-room-key'));
      return;
    }
    const result = await this.hub.roomKeys.setByMember(room, request.key, this.address, member);
    if (result === 'limited') {
      this.socket.sendThrottledError(
        WsErrors.keyAttemptsTooFast('set-room-key', KEY_ATTEMPT_BURST, KEY_ATTEMPTS_PER_SECOND),
      );
    } else if (result === 'already-keyed') {
      this.socket.sendError(WsErrors.roomAlreadyKeyed(room));
    } else {
      this.log.info({ room }, 'room key set by a member');
    }
  }

  async onGetHistory(request: ClientMessageOf<'get-history'>): Promise<void> {
    const room = this.room;
    if (room === undefined) {
      this.socket.sendError(WsErrors.notInRoom('get-history'));
      return;
    }
    const page = await this.hub.store.listMessages(room, {
      after: request.after,
      before: request.before,
      limit: request.limit ?? DEFAULT_HISTORY_LIMIT,
    });
    this.socket.send({ type: 'history', room, messages: page.messages, more: page.more });
  }

  /** The socket closed: no hello can come any more, and the room is left. */
  onClose(): void {
    clearTimeout(this.helloTimer);
    if (this.room !== undefined) this.leaveRoom();
  }
}
