import type { FrameMs, MessageStatus, VoiceMessage } from '@imv/protocol';

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
