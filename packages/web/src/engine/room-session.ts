/*
 * What this client knows about its room, kept from the server's control messages: who is in it,
 * which streams are live (and whether we heard them), the last message id seen (so a re-join
 * replays only what was missed), our own talk and the stops waiting for their message-stored.
 */
import {
  FRAME_MS,
  LOW_LATENCY_FRAME_MS,
  ProtocolError,
  RoomMembers,
  parseServerMessage,
} from '@imv/protocol';
import type { ClientMessage, FrameMs, ServerMessage, VoiceMessage, Welcome } from '@imv/protocol';
import type { AudioEngine } from './audio-engine.js';
import { deferred } from './deferred.js';
import type { Deferred } from './deferred.js';
import type { EngineEvents } from './engine-api.js';
import type { TypedEmitter } from './typed-emitter.js';

/** What the session tells the socket's owner (server-link.ts). */
export interface SessionHooks {
  /** A welcome arrived (it lists the other nodes of a cluster). */
  welcome(msg: Welcome): void;
  /** Called on every joined, before the UI hears of it. */
  joined(): void;
}

/** A stream that went live, as talk-started and joined.live describe it. */
interface LiveStreamInfo {
  streamId: number;
  encrypted?: boolean | undefined;
  e2eSalt?: string | undefined;
  keyCheck?: string | undefined;
}

export class RoomSession {
  room: string;
  /** The room of the last `joined`; a join to it again is a re-join. */
  private joinedRoom: string | undefined;
  private lastSeenId: number | undefined;
  private roomKey: string | undefined;
  /** Our own talk, from startTalking until we stop it or it ends without us. */
  talk: { streamId: number } | null = null;
  /** Talk in 10 ms frames when the server takes them (VoiceClientOptions.lowLatency). */
  lowLatency: boolean;
  /** Frame durations the server takes (welcome.frameMs; a server without the field takes 20 only). */
  private serverFrameMs: readonly FrameMs[] = [FRAME_MS];
  /** Who is in the room: the list from joined, kept up to date by the presence deltas. */
  private readonly members = new RoomMembers();
  private readonly pendingStops = new Map<
    number,
    { deferred: Deferred<VoiceMessage | undefined>; timer: ReturnType<typeof setTimeout> }
  >();
  /** Streams whose first sample this page played, until their message-stored arrives. */
  private readonly playedLive = new Set<number>();
  /** Live streams (talk-started .. played out here or message-stored) and those muted for a while. */
  private readonly liveStreams = new Set<number>();
  private readonly mutedStreams = new Set<number>();
  private liveMuted = false;

  constructor(
    options: { room: string; lastSeenMessageId?: number; roomKey?: string; lowLatency?: boolean },
    private readonly events: TypedEmitter<EngineEvents>,
    private readonly engine: AudioEngine,
    private readonly hooks: SessionHooks,
  ) {
    this.room = options.room;
    this.lastSeenId = options.lastSeenMessageId;
    this.roomKey = options.roomKey;
    this.lowLatency = options.lowLatency ?? false;
    events.on('stream-playing', (streamId) => this.playedLive.add(streamId));
    // Played out: muting from now on (a message resuming) does not cut into it.
    events.on('stream-finished', (streamId) => this.liveStreams.delete(streamId));
  }

  /** The frame duration of the next talk: 10 ms when low latency is on and the server takes it. */
  talkFrameMs(): FrameMs {
    return this.lowLatency && this.serverFrameMs.includes(LOW_LATENCY_FRAME_MS)
      ? LOW_LATENCY_FRAME_MS
      : FRAME_MS;
  }

  /** Switches to `room`; the next join message asks for what came after `lastSeenMessageId`. */
  moveTo(room: string, lastSeenMessageId: number | undefined): void {
    this.room = room;
    this.lastSeenId = lastSeenMessageId;
  }

  joinMessage(): ClientMessage {
    const key = this.roomKey !== undefined ? { key: this.roomKey } : {};
    if (this.lastSeenId !== undefined)
      return { type: 'join', room: this.room, since: this.lastSeenId, ...key };
    // A re-join after a drop must replay what was stored meanwhile; having seen no message at all,
    // that is everything after id 0 (the UI de-duplicates by message id).
    if (this.joinedRoom === this.room) return { type: 'join', room: this.room, since: 0, ...key };
    return { type: 'join', room: this.room, ...key };
  }

  onText(text: string): void {
    let msg: ServerMessage;
    try {
      msg = parseServerMessage(text);
    } catch (e) {
      const code = e instanceof ProtocolError ? e.code : 'BAD_MESSAGE';
      this.events.emit('error', {
        code,
        message: `bad message from the server: ${(e as Error).message}`,
      });
      return;
    }
    switch (msg.type) {
      case 'welcome':
        this.hooks.welcome(msg);
        this.serverFrameMs = msg.frameMs ?? [FRAME_MS];
        this.engine.send(this.joinMessage());
        break;
      case 'joined':
        this.room = msg.room;
        this.joinedRoom = msg.room;
        this.hooks.joined();
        this.liveStreams.clear();
        for (const s of msg.live) this.noteLive(s);
        // Muted marks of streams that ended while we were away would never be read again.
        for (const id of this.mutedStreams)
          if (!this.liveStreams.has(id)) this.mutedStreams.delete(id);
        this.members.apply(msg);
        this.events.emit('joined', { you: msg.you, members: msg.members, live: msg.live });
        break;
      case 'presence': // protocol 1
      case 'member-joined':
      case 'member-left':
      case 'members-changed':
        if (this.members.apply(msg)) this.events.emit('presence', this.members.list());
        break;
      case 'talk-started':
        this.noteLive(msg);
        this.events.emit('talk-started', msg);
        break;
      case 'talk-stopped':
        if (msg.streamId === this.talk?.streamId) {
          this.endTalkLocally(msg.streamId, `the server stopped the talk (${msg.reason})`, true);
        } else {
          this.engine.postWorker({ type: 'stream-end', streamId: msg.streamId });
        }
        this.events.emit('talk-stopped', msg);
        break;
      case 'message-stored': {
        this.noteSeen(msg.message.id);
        this.liveStreams.delete(msg.streamId);
        const played = this.playedLive.delete(msg.streamId);
        const heardLive = !this.mutedStreams.delete(msg.streamId) && played;
        this.events.emit('message-stored', { ...msg, heardLive });
        this.settleStop(msg.streamId, msg.message);
        break;
      }
      case 'history':
        for (const m of msg.messages) this.noteSeen(m.id);
        this.events.emit('history', msg.messages, msg.more);
        break;
      case 'message-deleted':
        this.events.emit('message-deleted', { room: msg.room, id: msg.id });
        break;
      case 'room-key':
        // Re-joins after a reconnect must carry the key, or the locked room would shut us out.
        this.setRoomKey(msg.keyed ? msg.key : undefined);
        this.events.emit('room-key', {
          room: msg.room,
          keyed: msg.keyed,
          ...(msg.key !== undefined ? { key: msg.key } : {}),
          ...(msg.setBy !== undefined ? { setBy: msg.setBy } : {}),
        });
        break;
      case 'error':
        this.events.emit('error', { code: msg.code, message: msg.message });
        if (
          this.talk !== null &&
          (msg.streamId === this.talk.streamId || msg.ref === 'talk-start')
        ) {
          this.endTalkLocally(this.talk.streamId, `${msg.code}: ${msg.message}`, true);
        }
        break;
    }
  }

  /** The socket dropped: streams that were live end as with talk-stopped; a re-join announces anew. */
  onSocketLost(): void {
    for (const streamId of this.liveStreams)
      if (streamId !== this.talk?.streamId)
        this.engine.postWorker({ type: 'stream-end', streamId });
  }

  setRoomKey(key: string | undefined): void {
    this.roomKey = key === '' ? undefined : key;
  }

  /** Resolves with the stored message once message-stored for `streamId` arrives, or undefined after `timeoutMs`. */
  awaitStored(streamId: number, timeoutMs: number): Promise<VoiceMessage | undefined> {
    const pending = deferred<VoiceMessage | undefined>();
    const timer = setTimeout(() => this.settleStop(streamId, undefined), timeoutMs);
    this.pendingStops.set(streamId, { deferred: pending, timer });
    return pending.promise;
  }

  /** Ends our talk without the user asking; `byServer`: the server already ended the stream. */
  endTalkLocally(streamId: number, reason: string, byServer = false): void {
    if (this.talk?.streamId === streamId) {
      this.talk = null;
      if (byServer) this.engine.postWorker({ type: 'talk-abort', streamId });
      this.engine.stopCapture();
      this.events.emit('talk-ended', reason);
    }
    this.settleStop(streamId, undefined);
  }

  setLiveMuted(muted: boolean): void {
    this.liveMuted = muted;
    // A stream muted for any part of its playout was not heard live (CONTRACT-CHANGES item 1).
    if (muted) for (const id of this.liveStreams) this.mutedStreams.add(id);
    // Unmuted before its first sample played, a stream is heard whole after all.
    else
      for (const id of this.liveStreams) if (!this.playedLive.has(id)) this.mutedStreams.delete(id);
  }

  private settleStop(streamId: number, message: VoiceMessage | undefined): void {
    const pending = this.pendingStops.get(streamId);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this.pendingStops.delete(streamId);
    pending.deferred.resolve(message);
  }

  /** A stream went live: the worker learns whether its frames are sealed, and with which salt. */
  private noteLive(stream: LiveStreamInfo): void {
    const { streamId } = stream;
    this.liveStreams.add(streamId);
    if (this.liveMuted) this.mutedStreams.add(streamId);
    // Our own talk's echo needs nothing: the worker never plays its own stream.
    if (streamId === this.talk?.streamId) return;
    this.engine.postWorker({
      type: 'stream-start',
      stream: {
        streamId,
        encrypted: stream.encrypted === true,
        ...(stream.e2eSalt !== undefined ? { e2eSalt: stream.e2eSalt } : {}),
        ...(stream.keyCheck !== undefined ? { keyCheck: stream.keyCheck } : {}),
      },
    });
  }

  private noteSeen(id: number): void {
    if (this.lastSeenId === undefined || id > this.lastSeenId) this.lastSeenId = id;
  }
}
