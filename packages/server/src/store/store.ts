import type { FrameMs, MessageStatus, VoiceMessage } from '@imv/protocol';

/** What the relay knows when a talker starts. */
export interface NewMessage {
  room: string;
  streamId: number;
  senderName: string;
  senderClientId?: string;
  /** Epoch milliseconds. */
  startedAt: number;
  encrypted: boolean;
  /** Duration of each frame (talk-start.frameMs); the stored duration is frames × frameMs. */
  frameMs: FrameMs;
  /** End-to-end encryption salt of the stream (opaque to the server). */
  e2eSalt?: string;
  /** Talker's passphrase check value (opaque to the server). */
  keyCheck?: string;
}

/** One Opus packet of a message, as received in a binary frame (fields named as in FrameHeader). */
export interface StoredFrame {
  /** Frame header sequence number; frames are read back in this order, duplicates are ignored. */
  sequence: number;
  /** Frame header timestamp (48 kHz samples since the stream start). */
  timestamp: number;
  payload: Uint8Array;
  /** Frame header flags as received (END, ENCRYPTED); 0 when absent. Needed to rebuild the exact header. */
  flags?: number;
}

/** One room as the admin sees it. */
export interface RoomSummary {
  room: string;
  messageCount: number;
  /** The room has a key (access control). */
  keyed: boolean;
  /** startedAt of its newest message, when it has one. */
  lastMessageAt?: number;
}

export interface ListQuery {
  /** Only ids greater than this; the page then starts at the oldest such message. */
  after?: number;
  /** Only ids smaller than this. */
  before?: number;
  /** At most this many messages (1-200). */
  limit: number;
}

export interface MessagePage {
  /** Oldest first. */
  messages: VoiceMessage[];
  /** More messages exist beyond this page in the direction asked. */
  more: boolean;
}

/**
 * Durable voice-message storage. Async so that a networked database can implement it; the
 * frame counts, duration and byte totals are derived by the store from the frames it holds,
 * so duplicates and retries cannot make them disagree with the audio.
 */
export interface MessageStore {
  /** Which database holds the messages. */
  readonly kind: 'sqlite' | 'postgres';
  /** Creates a message with status 'recording'. */
  createMessage(message: NewMessage): Promise<VoiceMessage>;
  /** Appends frames (one transaction); frames with a (message, seq) already stored are ignored. */
  appendFrames(messageId: number, frames: readonly StoredFrame[]): Promise<void>;
  /**
   * Appends the last frames and sets the final status in one transaction, committed when the
   * promise resolves. Returns the message with its final frame count, duration and bytes.
   */
  finishMessage(
    messageId: number,
    status: Exclude<MessageStatus, 'recording'>,
    lastFrames?: readonly StoredFrame[],
  ): Promise<VoiceMessage>;
  getMessage(room: string, messageId: number): Promise<VoiceMessage | undefined>;
  listMessages(room: string, query: ListQuery): Promise<MessagePage>;
  /** Opus payloads of a message in sequence order. */
  readFrames(messageId: number): Promise<Uint8Array[]>;
  /** The stored frames of a message with sequence, timestamp and flags, in sequence order, and its stream id. */
  readStoredFrames(messageId: number): Promise<{ streamId: number; frames: StoredFrame[] }>;
  /** Deletes a message and its frames; false when the room has no such message. */
  deleteMessage(room: string, messageId: number): Promise<boolean>;
  /** Deletes every message of a room (except those still recording) and its key; returns the deleted ids. */
  deleteRoom(room: string): Promise<number[]>;
  /** Every room that has messages or a key, by name. */
  listRooms(): Promise<RoomSummary[]>;
  /** The slow hash of the room's key (room-key-hash.ts), or undefined for an open room. */
  getRoomKeyHash(room: string): Promise<string | undefined>;
  /**
   * Gives the room this key hash only if it has no key and no messages (atomically); true when it did.
   */
  claimRoomKey(room: string, keyHash: string): Promise<boolean>;
  /** Sets or (undefined) removes the room's key hash. */
  setRoomKeyHash(room: string, keyHash: string | undefined): Promise<void>;
  /**
   * At start: marks 'recording' messages left by a crash of this node as 'partial'; returns how
   * many. A single-node store finalises every such message; a shared one only this node's.
   */
  recoverInterrupted(): Promise<number>;
  /** Resolves when the store answers; rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  /** Renews this node's lease (shared stores); a no-op for a single-node store. */
  heartbeat(): Promise<void>;
  /**
   * Finalises as 'partial' (with the frames that reached the store) every 'recording' message of a
   * node whose lease is older than `staleMs` (or that left), and this node's own messages whose
   * final write failed while the store was unreachable; returns those messages, so their rooms can
   * be told. Each is returned by one node only. Always empty for a single-node store.
   */
  recoverOrphans(staleMs: number): Promise<RecoveredMessage[]>;
  close(): Promise<void>;
}

/** A message finalised by recoverOrphans, with the stream it was recorded from. */
export interface RecoveredMessage {
  message: VoiceMessage;
  streamId: number;
}

/** A message with everything a copy needs to recreate it elsewhere, under the same id. */
export interface ExportedMessage {
  message: VoiceMessage;
  streamId: number;
  frames: StoredFrame[];
}

/** Stores that `imv store copy` reads from and writes into (opened directly, not through a worker). */
export interface CopyableStore extends MessageStore {
  /** The message with its stream id and frames, whatever its room; undefined when there is none. */
  exportMessage(messageId: number): Promise<ExportedMessage | undefined>;
  /**
   * Inserts a finished message under its own id with its frames, in one transaction: 'copied';
   * 'exists' when the same message (id, room, start, sender) is already there. Throws when the id
   * is taken by a different message.
   */
  importMessage(exported: ExportedMessage): Promise<'copied' | 'exists'>;
  /** Ids of every message, all rooms, in id order, after `afterId`, at most `limit`. */
  listMessageIds(afterId: number, limit: number): Promise<number[]>;
  /** Counts of messages and frames, for the copy's final check. */
  counts(): Promise<{ messages: number; frames: number; keyedRooms: number }>;
}
