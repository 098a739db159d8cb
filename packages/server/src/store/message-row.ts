import type { FrameMs, MessageStatus, VoiceMessage } from '@imv/protocol';
import type { MessagePage, NewMessage } from './store.js';

/**
 * A `messages` row as both stores read it: SQLite keeps `encrypted` as 0/1, PostgreSQL as a
 * boolean (`Encrypted`); the columns and their meaning are the same.
 */
export interface MessageRow<Encrypted extends number | boolean> {
  id: number;
  room: string;
  sender_name: string;
  sender_client_id: string | null;
  started_at: number;
  duration_ms: number;
  frame_count: number;
  bytes: number;
  status: MessageStatus;
  encrypted: Encrypted;
  e2e_salt: string | null;
  key_check: string | null;
  /** 10 or 20 (a CHECK constraint in both schemas). */
  frame_ms: number;
}

/** The wire form of a stored message (optional fields only when set). */
export function toVoiceMessage(row: MessageRow<number | boolean>): VoiceMessage {
  const message: VoiceMessage = {
    id: row.id,
    room: row.room,
    senderName: row.sender_name,
    startedAt: row.started_at,
    durationMs: row.duration_ms,
    frameMs: row.frame_ms as FrameMs,
    frameCount: row.frame_count,
    bytes: row.bytes,
    status: row.status,
    encrypted: row.encrypted === true || row.encrypted === 1,
  };
  if (row.sender_client_id != null) message.senderClientId = row.sender_client_id;
  if (row.e2e_salt != null) message.e2eSalt = row.e2e_salt;
  if (row.key_check != null) message.keyCheck = row.key_check;
  return message;
}

/**
 * The values of a new `messages` row, in column order: room, stream_id, sender_name,
 * sender_client_id, started_at, encrypted, e2e_salt, key_check (SQLite binds `encrypted` as 0/1).
 */
export function newMessageValues(
  message: Omit<NewMessage, 'frameMs'>,
  encrypted: (value: boolean) => boolean | number = (value) => value,
): (string | number | boolean | null)[] {
  return [
    message.room,
    message.streamId,
    message.senderName,
    message.senderClientId ?? null,
    message.startedAt,
    encrypted(message.encrypted),
    message.e2eSalt ?? null,
    message.keyCheck ?? null,
  ];
}

/** A page of history from rows fetched with one extra (which tells whether there is more). */
export function messagePage<Encrypted extends number | boolean>(
  rows: MessageRow<Encrypted>[],
  limit: number,
  ascending: boolean,
): MessagePage {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  if (!ascending) page.reverse();
  return { messages: page.map(toVoiceMessage), more };
}

/** The row under an imported message's id must be that same message, or the copy would merge two histories. */
export function assertSameMessage(
  message: VoiceMessage,
  row: MessageRow<number | boolean> | undefined,
): void {
  if (
    row === undefined ||
    row.room !== message.room ||
    row.started_at !== message.startedAt ||
    row.sender_name !== message.senderName
  ) {
    throw new Error(
      `message id ${message.id} is already used by a different message in the target store ` +
        `(${row?.room ?? '?'}, ${row?.sender_name ?? '?'}); copy into an empty store`,
    );
  }
}
