import { z } from 'zod';
import { FRAME_MS, FRAME_MS_VALUES } from './audio.js';
import type { FrameMs } from './audio.js';
import { ERROR_CODES } from './errors.js';
import { MAX_NAME_LENGTH, NAME_PATTERN, ROOM_PATTERN } from './names.js';

// Zod probes `new Function('')` to compile faster parsers; under the web client's Content-Security-
// Policy (no 'unsafe-eval') that probe is reported as a violation in every page. Control messages
// are few per second, so the interpreted parser is plenty.
z.config({ jitless: true });

/*
 * Control messages: JSON in WebSocket text frames, one object per frame, told apart by `type`.
 * Every message a client sends is validated against these schemas before the server acts on it.
 */

/** Largest JSON text frame accepted from a client. */
export const MAX_TEXT_BYTES = 16 * 1024;
/** Most messages one history request or REST page returns. */
export const MAX_HISTORY_LIMIT = 200;
/** History entries returned when a request names no limit (get-history and REST). */
export const DEFAULT_HISTORY_LIMIT = 50;

const u32 = z.number().int().min(0).max(0xffff_ffff);
const messageId = z.number().int().positive();
/** A talk's frame duration in ms (audio.ts): 10 (low latency) or 20. Absent means 20. */
export const frameMsSchema = z.literal(FRAME_MS_VALUES);
/**
 * End-to-end encryption fields (e2e.ts), optional and only on encrypted streams: `e2eSalt` is the
 * stream's random key salt, `keyCheck` the talker's passphrase check value. The server stores and
 * relays them unchanged; listeners need them to derive the stream key and to tell a wrong passphrase.
 */
const e2eToken = z
  .string()
  .regex(/^[A-Za-z0-9_-]{22}$/, 'must be 16 bytes in base64url (22 characters)');
const e2eFields = { e2eSalt: e2eToken.optional(), keyCheck: e2eToken.optional() };
/** Shortest and longest room key (access control; not the end-to-end passphrase). */
export const MIN_ROOM_KEY_LENGTH = 8;
export const MAX_ROOM_KEY_LENGTH = 128;
/**
 * Printable ASCII without leading or trailing spaces: REST clients send the key in an HTTP header
 * (X-Imv-Room-Key), where other bytes are not portable and edge spaces are trimmed.
 */
export const ROOM_KEY_PATTERN = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
export const roomKeySchema = z
  .string()
  .min(MIN_ROOM_KEY_LENGTH, `key must be at least ${MIN_ROOM_KEY_LENGTH} characters`)
  .max(MAX_ROOM_KEY_LENGTH, `key must be at most ${MAX_ROOM_KEY_LENGTH} characters`)
  .regex(ROOM_KEY_PATTERN, 'key must be printable ASCII without leading or trailing spaces');
export const roomSchema = z.string().regex(ROOM_PATTERN, 'room must be 1-64 of a-z 0-9 - _');
export const nameSchema = z
  .string()
  .trim()
  .min(1, 'name must not be empty')
  .max(MAX_NAME_LENGTH, `name must be at most ${MAX_NAME_LENGTH} characters`)
  .regex(NAME_PATTERN, 'name must not contain control characters');

// ---- shared shapes ---------------------------------------------------------------------------

export const memberSchema = z.object({
  /** Connection id, unique per server run. */
  id: z.string(),
  name: z.string(),
  /** Stable id a client keeps across connections, when it has one. */
  clientId: z.string().optional(),
});
export type Member = z.infer<typeof memberSchema>;

export const messageStatusSchema = z.enum(['recording', 'complete', 'partial']);
export type MessageStatus = z.infer<typeof messageStatusSchema>;

/** A voice message as stored and listed. */
export const voiceMessageSchema = z.object({
  id: messageId,
  room: z.string(),
  senderName: z.string(),
  senderClientId: z.string().optional(),
  /** Epoch milliseconds when the talker started. */
  startedAt: z.number(),
  /** Audio length: frames × frameMs. */
  durationMs: z.number().int().min(0),
  /** The talk's frame duration; absent (servers before low latency) means 20. */
  frameMs: frameMsSchema.optional(),
  frameCount: z.number().int().min(0),
  /** Sum of Opus payload bytes. */
  bytes: z.number().int().min(0),
  status: messageStatusSchema,
  encrypted: z.boolean(),
  ...e2eFields,
});
export type VoiceMessage = z.infer<typeof voiceMessageSchema>;

export const liveStreamSchema = z.object({
  streamId: u32,
  messageId,
  from: memberSchema,
  startedAt: z.number(),
  encrypted: z.boolean(),
  /** The talk's frame duration; absent (servers before low latency) means 20. */
  frameMs: frameMsSchema.optional(),
  ...e2eFields,
});
export type LiveStream = z.infer<typeof liveStreamSchema>;

// ---- client -> server ------------------------------------------------------------------------

export const helloSchema = z.object({
  type: z.literal('hello'),
  /** Protocol major version the client speaks. */
  protocol: z.number().int().positive(),
  /** Free text naming the client software, e.g. "imv-cli/0.1.0". */
  client: z.string().max(100),
  name: nameSchema,
  clientId: z.string().max(64).optional(),
});

export const joinSchema = z.object({
  type: z.literal('join'),
  room: roomSchema,
  /**
   * Replay what the client missed: 'all' = every stored message, a number = messages with a
   * greater id. Omitted = nothing. The server answers with a `history` message before live traffic.
   */
  since: z.union([z.literal('all'), z.number().int().min(0)]).optional(),
  /**
   * Room key (access control, not encryption). Required to join a keyed room. The first join that
   * carries one into a fresh room (no key, no stored message, nobody in it) gives the room this key;
   * offered to an open room that has members or messages, it is ignored (`joined.keyed` is false).
   */
  key: roomKeySchema.optional(),
});

export const leaveSchema = z.object({ type: z.literal('leave') });

/**
 * A member locks the room it is in with a key, while the room has none. Everyone inside then gets
 * `room-key` (with the key: they stay members and may come back); newcomers need the key.
 */
export const setRoomKeySchema = z.object({
  type: z.literal('set-room-key'),
  key: roomKeySchema,
});

export const getHistorySchema = z.object({
  type: z.literal('get-history'),
  /** Only messages with a greater id (paging forwards). */
  after: z.number().int().min(0).optional(),
  /** Only messages with a smaller id (paging backwards from the newest). */
  before: z.number().int().positive().optional(),
  limit: z.number().int().min(1).max(MAX_HISTORY_LIMIT).optional(),
});

export const talkStartSchema = z.object({
  type: z.literal('talk-start'),
  /** Chosen by the talker, unique among the room's live streams; frames carry it. */
  streamId: u32,
  encrypted: z.boolean().optional(),
  /** Duration of every frame of this talk, 10 or 20 ms; default 20. Offer 10 only to a server whose `welcome.frameMs` lists it. */
  frameMs: frameMsSchema.optional(),
  ...e2eFields,
});

export const talkStopSchema = z.object({
  type: z.literal('talk-stop'),
  streamId: u32,
});

/** Audio doctor: echo sessions one connection may start per minute (ECHO_LIMITED past it). */
export const ECHO_SESSIONS_PER_MINUTE = 3;
/** Audio doctor: frames one echo session sends back at most (5 s of 20 ms frames). */
export const ECHO_MAX_FRAMES = 250;
/** Audio doctor: an echo session with no frame for this long ends ('idle'). */
export const ECHO_IDLE_MS = 3_000;

/**
 * Audio doctor: send this connection's frames of `streamId` back to it, byte for byte: not relayed
 * to any room, not stored. Needs hello only (no room). Ends on a frame with END, after
 * ECHO_MAX_FRAMES frames or ECHO_IDLE_MS without one; a new echo-start replaces a running one.
 */
export const echoStartSchema = z.object({
  type: z.literal('echo-start'),
  /** Chosen by the client; must differ from the stream id of its own live talk. */
  streamId: u32,
});

export const clientMessageSchema = z.discriminatedUnion('type', [
  helloSchema,
  joinSchema,
  leaveSchema,
  setRoomKeySchema,
  getHistorySchema,
  talkStartSchema,
  talkStopSchema,
  echoStartSchema,
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;
export type Hello = z.infer<typeof helloSchema>;
export type Join = z.infer<typeof joinSchema>;
export type GetHistory = z.infer<typeof getHistorySchema>;
export type SetRoomKey = z.infer<typeof setRoomKeySchema>;
export type TalkStart = z.infer<typeof talkStartSchema>;
export type TalkStop = z.infer<typeof talkStopSchema>;
export type EchoStart = z.infer<typeof echoStartSchema>;

// ---- server -> client ------------------------------------------------------------------------

export const welcomeSchema = z.object({
  type: z.literal('welcome'),
  protocol: z.number().int(),
  /** Server software and version, e.g. "imv-server/0.1.0". */
  server: z.string(),
  connectionId: z.string(),
  limits: z.object({
    maxFrameBytes: z.number().int(),
    maxTextBytes: z.number().int(),
    maxMessageMs: z.number().int(),
    /**
     * Sustained 20 ms frames per second one talk may send; a 10 ms talk may send twice as many (the
     * limit is audio time). Faster frames are dropped (RATE_LIMITED).
     */
    framesPerSecond: z.number().optional(),
    /** 20 ms frames one talk may send at once above the sustained rate (token bucket size; twice as many 10 ms ones). */
    frameBurst: z.number().int().optional(),
    /** Sustained control messages per second one connection may send. */
    controlPerSecond: z.number().optional(),
  }),
  /** Frame durations `talk-start.frameMs` may name; absent (servers before low latency) means only 20. */
  frameMs: z.array(frameMsSchema).optional(),
  /** The other live nodes of the cluster (where to reconnect if this one goes away); absent on a single node. */
  nodes: z.array(z.object({ id: z.string(), urls: z.array(z.string()) })).optional(),
});

export const joinedSchema = z.object({
  type: z.literal('joined'),
  room: z.string(),
  you: memberSchema,
  members: z.array(memberSchema),
  /** Streams being talked right now; their frames follow. */
  live: z.array(liveStreamSchema),
  /** The room has a key (a key sent with `join` into an occupied open room is ignored). */
  keyed: z.boolean().optional(),
});

/** Protocol 1 only: the whole member list, to everyone in the room, on every change. */
export const presenceSchema = z.object({
  type: z.literal('presence'),
  room: z.string(),
  members: z.array(memberSchema),
});

/** Protocol 2: someone joined the room (everyone but the newcomer, who gets `joined`). */
export const memberJoinedSchema = z.object({
  type: z.literal('member-joined'),
  room: z.string(),
  member: memberSchema,
});

/** Protocol 2: someone left the room. */
export const memberLeftSchema = z.object({
  type: z.literal('member-left'),
  room: z.string(),
  member: memberSchema,
});

/**
 * Protocol 3: the room's presence changes since the last such message, batched (the server sends
 * at most one per room every PRESENCE_BATCH_MS, less often in big rooms). Apply `left` first, then `joined`; a member the
 * list already holds (the newcomer itself, who got the list in `joined`) stays where it is.
 */
export const membersChangedSchema = z.object({
  type: z.literal('members-changed'),
  room: z.string(),
  joined: z.array(memberSchema),
  left: z.array(memberSchema),
});

export const talkStartedSchema = z.object({
  type: z.literal('talk-started'),
  room: z.string(),
  streamId: u32,
  messageId,
  from: memberSchema,
  startedAt: z.number(),
  encrypted: z.boolean(),
  /** The talk's frame duration (from its talk-start); absent (servers before low latency) means 20. */
  frameMs: frameMsSchema.optional(),
  ...e2eFields,
});

export const stopReasonSchema = z.enum([
  'stop',
  'end-frame',
  'disconnect',
  'too-long',
  'shutdown',
  'left',
]);
export type StopReason = z.infer<typeof stopReasonSchema>;

export const talkStoppedSchema = z.object({
  type: z.literal('talk-stopped'),
  room: z.string(),
  streamId: u32,
  messageId,
  reason: stopReasonSchema,
});

export const messageStoredSchema = z.object({
  type: z.literal('message-stored'),
  room: z.string(),
  /** The stream the message was recorded from; the talker's ack carries its own stream id. */
  streamId: u32,
  message: voiceMessageSchema,
});

export const historySchema = z.object({
  type: z.literal('history'),
  room: z.string(),
  /** Oldest first. */
  messages: z.array(voiceMessageSchema),
  /** More messages exist beyond this page in the direction asked. */
  more: z.boolean(),
});

/** An admin deleted a stored message; clients drop it from their lists. */
export const messageDeletedSchema = z.object({
  type: z.literal('message-deleted'),
  room: z.string(),
  id: messageId,
});

/**
 * The room's key was set (by a member inside, `setBy`, or by the admin when `setBy` is absent) or
 * removed by the admin (`keyed` false). Members inside stay; the key lets them come back and invite.
 */
export const roomKeyMessageSchema = z.object({
  type: z.literal('room-key'),
  room: z.string(),
  keyed: z.boolean(),
  key: roomKeySchema.optional(),
  setBy: memberSchema.optional(),
});

/** Answer to echo-start: frames of `streamId` now come back, up to `maxFrames`. */
export const echoReadySchema = z.object({
  type: z.literal('echo-ready'),
  streamId: u32,
  maxFrames: z.number().int().positive(),
});

/** An echo session ended; `frames` = how many frames the server sent back. */
export const echoStoppedSchema = z.object({
  type: z.literal('echo-stopped'),
  streamId: u32,
  frames: z.number().int().min(0),
  reason: z.enum(['end-frame', 'max-frames', 'idle', 'replaced']),
});

export const errorMessageSchema = z.object({
  type: z.literal('error'),
  code: z.enum(ERROR_CODES),
  message: z.string(),
  /** The `type` of the control message that caused it, or 'frame'. */
  ref: z.string().optional(),
  streamId: u32.optional(),
});

export const serverMessageSchema = z.discriminatedUnion('type', [
  welcomeSchema,
  joinedSchema,
  presenceSchema,
  memberJoinedSchema,
  memberLeftSchema,
  membersChangedSchema,
  talkStartedSchema,
  talkStoppedSchema,
  messageStoredSchema,
  historySchema,
  messageDeletedSchema,
  roomKeyMessageSchema,
  echoReadySchema,
  echoStoppedSchema,
  errorMessageSchema,
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;
export type Welcome = z.infer<typeof welcomeSchema>;
export type Joined = z.infer<typeof joinedSchema>;
export type Presence = z.infer<typeof presenceSchema>;
export type MemberJoined = z.infer<typeof memberJoinedSchema>;
export type MemberLeft = z.infer<typeof memberLeftSchema>;
export type MembersChanged = z.infer<typeof membersChangedSchema>;
export type TalkStarted = z.infer<typeof talkStartedSchema>;
export type TalkStopped = z.infer<typeof talkStoppedSchema>;
export type MessageStored = z.infer<typeof messageStoredSchema>;
export type History = z.infer<typeof historySchema>;
export type MessageDeleted = z.infer<typeof messageDeletedSchema>;
export type RoomKeyMessage = z.infer<typeof roomKeyMessageSchema>;
export type ErrorMessage = z.infer<typeof errorMessageSchema>;
export type EchoReady = z.infer<typeof echoReadySchema>;
export type EchoStopped = z.infer<typeof echoStoppedSchema>;

/** Every control message `type`, both directions (the docs-sync test checks each is documented). */
export const MESSAGE_TYPES = [
  ...clientMessageSchema.options.map((o) => o.shape.type.value),
  ...serverMessageSchema.options.map((o) => o.shape.type.value),
];

/** Narrow a server message by type, for typed handlers. */
export type ServerMessageOf<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;
export type ClientMessageOf<T extends ClientMessage['type']> = Extract<ClientMessage, { type: T }>;

/** The frame duration of a talk, stream or message as announced; absent (older peers) means 20. */
export function frameMsOf(talk: { frameMs?: FrameMs | undefined }): FrameMs {
  return talk.frameMs ?? FRAME_MS;
}
