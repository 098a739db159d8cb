import { chmodSync, existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { frameMsOf } from '@imv/protocol';
import type { MessageStatus, VoiceMessage } from '@imv/protocol';
import { PRIVATE_FILE_MODE, ensurePrivateDir, ensurePrivateFile } from './data-dir.js';
import { migrate } from './migrations.js';
import { SingleNodeStore } from './single-node-store.js';
import { SQLITE_FILE_NAME } from './store-url.js';
import type {
  CopyableStore,
  ExportedMessage,
  ListQuery,
  MessagePage,
  NewMessage,
  RoomSummary,
  StoredFrame,
} from './store.js';
import {
  assertSameMessage,
  messagePage,
  newMessageValues,
  toVoiceMessage,
  type MessageRow as SharedMessageRow,
} from './message-row.js';

type MessageRow = SharedMessageRow<number>;

const COLUMNS = [
  'id, room, sender_name, sender_client_id, started_at, duration_ms, frame_count, bytes, status',
  'encrypted, e2e_salt, key_check, frame_ms',
].join(', ');

/**
 * MessageStore in one SQLite file, `<dataDir>/imv.sqlite`. WAL with synchronous=FULL: a
 * resolved appendFrames/finishMessage has been fsynced and survives SIGKILL or power loss.
 * better-sqlite3 is synchronous; each call is one short transaction on the event loop.
 */
export class SqliteMessageStore extends SingleNodeStore implements CopyableStore {
  readonly kind = 'sqlite';
  readonly file: string;
  private readonly db: Db;
  private readonly stmts: {
    insertMessage: Statement;
    insertFrame: Statement;
    totals: Statement;
    finish: Statement;
    getMessage: Statement;
    listAfter: Statement;
    listBefore: Statement;
    listAfterBefore: Statement;
    listNewest: Statement;
    readFrames: Statement;
    readStoredFrames: Statement;
    streamIdOf: Statement;
    recording: Statement;
    deleteMessage: Statement;
    roomMessageIds: Statement;
    deleteRoomMessages: Statement;
    deleteRoomKey: Statement;
    roomCounts: Statement;
    keyedRooms: Statement;
    getRoomKey: Statement;
    roomHasMessage: Statement;
    upsertRoomKey: Statement;
    exportMessage: Statement;
    importMessage: Statement;
    listIds: Statement;
    counts: Statement;
  };

  /** Opens (creating and migrating if needed) `<dataDir>/<fileName>`. */
  constructor(dataDir: string, fileName = SQLITE_FILE_NAME) {
    super();
    ensurePrivateDir(dataDir);
    this.file = path.join(dataDir, fileName);
    // Audio and names are private: 0600 before SQLite opens it, so its -wal and -shm are 0600 too.
    ensurePrivateFile(this.file);
    for (const suffix of ['-wal', '-shm', '-journal']) {
      if (existsSync(this.file + suffix)) chmodSync(this.file + suffix, PRIVATE_FILE_MODE);
    }
    this.db = new Database(this.file);
    this.db.pragma('journal_mode = WAL');
    // FULL fsyncs the WAL at every commit, so an ack is only sent for audio that is on disk.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    try {
      migrate(this.db);
    } catch (err) {
      this.db.close();
      throw err;
    }
    const db = this.db;
    this.stmts = {
      insertMessage: db.prepare(
        `INSERT INTO messages (room, stream_id, sender_name, sender_client_id, started_at, status, encrypted,
                               e2e_salt, key_check, frame_ms)
         VALUES (?, ?, ?, ?, ?, 'recording', ?, ?, ?, ?)`,
      ),
      insertFrame: db.prepare(
        'INSERT OR IGNORE INTO frames (message_id, seq, ts, payload, flags) VALUES (?, ?, ?, ?, ?)',
      ),
      totals: db.prepare(
        'SELECT COUNT(*) AS frames, COALESCE(SUM(length(payload)), 0) AS bytes FROM frames WHERE message_id = ?',
      ),
      finish: db.prepare(
        'UPDATE messages SET status = ?, frame_count = ?, duration_ms = ? * frame_ms, bytes = ? WHERE id = ?',
      ),
      getMessage: db.prepare(`SELECT ${COLUMNS} FROM messages WHERE id = ?`),
      listAfter: db.prepare(
        `SELECT ${COLUMNS} FROM messages WHERE room = ? AND id > ? ORDER BY id ASC LIMIT ?`,
      ),
      listBefore: db.prepare(
        `SELECT ${COLUMNS} FROM messages WHERE room = ? AND id < ? ORDER BY id DESC LIMIT ?`,
      ),
      listAfterBefore: db.prepare(
        `SELECT ${COLUMNS} FROM messages WHERE room = ? AND id > ? AND id < ? ORDER BY id ASC LIMIT ?`,
      ),
      listNewest: db.prepare(
        `SELECT ${COLUMNS} FROM messages WHERE room = ? ORDER BY id DESC LIMIT ?`,
      ),
      readFrames: db
        .prepare('SELECT payload FROM frames WHERE message_id = ? ORDER BY seq ASC')
        .pluck(),
      readStoredFrames: db.prepare(
        'SELECT seq, ts, flags, payload FROM frames WHERE message_id = ? ORDER BY seq ASC',
      ),
      streamIdOf: db.prepare('SELECT stream_id FROM messages WHERE id = ?').pluck(),
      recording: db.prepare("SELECT id FROM messages WHERE status = 'recording'").pluck(),
      // Frames go with their message (ON DELETE CASCADE, foreign_keys = ON).
      deleteMessage: db.prepare('DELETE FROM messages WHERE id = ? AND room = ?'),
      // A message still being recorded stays: its talker's next batch would fail otherwise.
      roomMessageIds: db
        .prepare("SELECT id FROM messages WHERE room = ? AND status != 'recording' ORDER BY id")
        .pluck(),
      deleteRoomMessages: db.prepare(
        "DELETE FROM messages WHERE room = ? AND status != 'recording'",
      ),
      deleteRoomKey: db.prepare('DELETE FROM rooms WHERE room = ?'),
      roomCounts: db.prepare(
        'SELECT room, COUNT(*) AS n, MAX(started_at) AS last FROM messages GROUP BY room',
      ),
      keyedRooms: db.prepare('SELECT room FROM rooms WHERE key_hash IS NOT NULL').pluck(),
      getRoomKey: db.prepare('SELECT key_hash FROM rooms WHERE room = ?').pluck(),
      roomHasMessage: db.prepare('SELECT 1 FROM messages WHERE room = ? LIMIT 1').pluck(),
      upsertRoomKey: db.prepare(
        `INSERT INTO rooms (room, key_hash, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (room) DO UPDATE SET key_hash = excluded.key_hash, updated_at = excluded.updated_at`,
      ),
      exportMessage: db.prepare(`SELECT ${COLUMNS}, stream_id FROM messages WHERE id = ?`),
      importMessage: db.prepare(
        `INSERT OR IGNORE INTO messages (id, room, stream_id, sender_name, sender_client_id, started_at, status,
                                         encrypted, e2e_salt, key_check, frame_ms)
         VALUES (?, ?, ?, ?, ?, ?, 'recording', ?, ?, ?, ?)`,
      ),
      listIds: db.prepare('SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?').pluck(),
      counts: db.prepare(
        `SELECT (SELECT COUNT(*) FROM messages) AS messages, (SELECT COUNT(*) FROM frames) AS frames,
                (SELECT COUNT(*) FROM rooms WHERE key_hash IS NOT NULL) AS keyedRooms`,
      ),
    };
  }

  private insertFrames(messageId: number, frames: readonly StoredFrame[]): void {
    for (const { sequence, timestamp, payload, flags } of frames) {
      // better-sqlite3 binds Buffers as BLOBs but not plain Uint8Arrays; wrapping copies nothing.
      const blob = Buffer.isBuffer(payload)
        ? payload
        : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      this.stmts.insertFrame.run(messageId, sequence, timestamp, blob, flags ?? 0);
    }
  }

  /** Totals come from the stored frames; duration = frames × the talk's frame_ms (one Opus packet per frame). */
  private finishSync(messageId: number, status: MessageStatus): VoiceMessage {
    const totals = this.stmts.totals.get(messageId) as { frames: number; bytes: number };
    const result = this.stmts.finish.run(
      status,
      totals.frames,
      totals.frames,
      totals.bytes,
      messageId,
    );
    if (result.changes === 0) throw new Error(`message ${messageId} does not exist`);
    return toVoiceMessage(this.stmts.getMessage.get(messageId) as MessageRow);
  }

  createMessage(message: NewMessage): Promise<VoiceMessage> {
    return Promise.resolve().then(() => {
      const { lastInsertRowid } = this.stmts.insertMessage.run(
        ...newMessageValues(message, Number),
        message.frameMs,
      );
      return toVoiceMessage(this.stmts.getMessage.get(lastInsertRowid) as MessageRow);
    });
  }

  appendFrames(messageId: number, frames: readonly StoredFrame[]): Promise<void> {
    return Promise.resolve().then(() => {
      if (frames.length > 0) this.db.transaction(() => this.insertFrames(messageId, frames))();
    });
  }

  finishMessage(
    messageId: number,
    status: Exclude<MessageStatus, 'recording'>,
    lastFrames: readonly StoredFrame[] = [],
  ): Promise<VoiceMessage> {
    return Promise.resolve().then(() =>
      this.db.transaction(() => {
        this.insertFrames(messageId, lastFrames);
        return this.finishSync(messageId, status);
      })(),
    );
  }

  getMessage(room: string, messageId: number): Promise<VoiceMessage | undefined> {
    return Promise.resolve().then(() => {
      const row = this.stmts.getMessage.get(messageId) as MessageRow | undefined;
      return row?.room === room ? toVoiceMessage(row) : undefined;
    });
  }

  listMessages(room: string, query: ListQuery): Promise<MessagePage> {
    return Promise.resolve().then(() => {
      const { after, before, limit } = query;
      let rows: MessageRow[];
      let ascending = true;
      // Fetch one extra row to learn whether there is more in the direction asked.
      if (after != null && before != null)
        rows = this.stmts.listAfterBefore.all(room, after, before, limit + 1) as MessageRow[];
      else if (after != null)
        rows = this.stmts.listAfter.all(room, after, limit + 1) as MessageRow[];
      else {
        ascending = false;
        rows =
          before != null
            ? (this.stmts.listBefore.all(room, before, limit + 1) as MessageRow[])
            : (this.stmts.listNewest.all(room, limit + 1) as MessageRow[]);
      }
      return messagePage(rows, limit, ascending);
    });
  }

  readFrames(messageId: number): Promise<Uint8Array[]> {
    return Promise.resolve().then(() => this.stmts.readFrames.all(messageId) as Uint8Array[]);
  }

  readStoredFrames(messageId: number): Promise<{ streamId: number; frames: StoredFrame[] }> {
    return Promise.resolve().then(() => ({
      streamId: (this.stmts.streamIdOf.get(messageId) as number | undefined) ?? 0,
      frames: (
        this.stmts.readStoredFrames.all(messageId) as {
          seq: number;
          ts: number;
          flags: number;
          payload: Uint8Array;
        }[]
      ).map(({ seq, ts, flags, payload }) => ({ sequence: seq, timestamp: ts, flags, payload })),
    }));
  }

  deleteMessage(room: string, messageId: number): Promise<boolean> {
    return Promise.resolve().then(() => this.stmts.deleteMessage.run(messageId, room).changes > 0);
  }

  deleteRoom(room: string): Promise<number[]> {
    return Promise.resolve().then(() =>
      this.db.transaction(() => {
        const ids = this.stmts.roomMessageIds.all(room) as number[];
        this.stmts.deleteRoomMessages.run(room);
        this.stmts.deleteRoomKey.run(room);
        return ids;
      })(),
    );
  }

  listRooms(): Promise<RoomSummary[]> {
    return Promise.resolve().then(() => {
      const rooms = new Map<string, RoomSummary>();
      for (const row of this.stmts.roomCounts.all() as { room: string; n: number; last: number }[])
        rooms.set(row.room, {
          room: row.room,
          messageCount: row.n,
          keyed: false,
          lastMessageAt: row.last,
        });
      for (const room of this.stmts.keyedRooms.all() as string[]) {
        const summary = rooms.get(room);
        if (summary === undefined) rooms.set(room, { room, messageCount: 0, keyed: true });
        else summary.keyed = true;
      }
      return [...rooms.values()].sort((a, b) => a.room.localeCompare(b.room));
    });
  }

  getRoomKeyHash(room: string): Promise<string | undefined> {
    return Promise.resolve().then(
      () => (this.stmts.getRoomKey.get(room) as string | null | undefined) ?? undefined,
    );
  }

  claimRoomKey(room: string, keyHash: string): Promise<boolean> {
    return Promise.resolve().then(() =>
      this.db.transaction(() => {
        if (this.stmts.getRoomKey.get(room) != null) return false;
        if (this.stmts.roomHasMessage.get(room) !== undefined) return false;
        this.stmts.upsertRoomKey.run(room, keyHash, Date.now());
        return true;
      })(),
    );
  }

  setRoomKeyHash(room: string, keyHash: string | undefined): Promise<void> {
    return Promise.resolve().then(() => {
      if (keyHash === undefined) this.stmts.deleteRoomKey.run(room);
      else this.stmts.upsertRoomKey.run(room, keyHash, Date.now());
    });
  }

  recoverInterrupted(): Promise<number> {
    return Promise.resolve().then(() =>
      this.db.transaction(() => {
        const ids = this.stmts.recording.all() as number[];
        for (const id of ids) this.finishSync(id, 'partial');
        return ids.length;
      })(),
    );
  }

  /** One process owns the file: reachable as long as it is open. */
  ping(): Promise<void> {
    return Promise.resolve().then(() => {
      if (!this.db.open) throw new Error('store is closed');
    });
  }

  exportMessage(messageId: number): Promise<ExportedMessage | undefined> {
    return Promise.resolve().then(async () => {
      const row = this.stmts.exportMessage.get(messageId) as
        (MessageRow & { stream_id: number }) | undefined;
      if (row === undefined) return undefined;
      const { frames } = await this.readStoredFrames(messageId);
      return { message: toVoiceMessage(row), streamId: row.stream_id, frames };
    });
  }

  importMessage({ message, streamId, frames }: ExportedMessage): Promise<'copied' | 'exists'> {
    return Promise.resolve().then(() =>
      this.db.transaction(() => {
        const { changes } = this.stmts.importMessage.run(
          message.id,
          ...newMessageValues({ ...message, streamId }, Number),
          frameMsOf(message),
        );
        if (changes === 0) {
          assertSameMessage(
            message,
            this.stmts.getMessage.get(message.id) as MessageRow | undefined,
          );
          return 'exists';
        }
        this.insertFrames(message.id, frames);
        this.finishSync(message.id, message.status === 'recording' ? 'partial' : message.status);
        return 'copied';
      })(),
    );
  }

  listMessageIds(afterId: number, limit: number): Promise<number[]> {
    return Promise.resolve().then(() => this.stmts.listIds.all(afterId, limit) as number[]);
  }

  counts(): Promise<{ messages: number; frames: number; keyedRooms: number }> {
    return Promise.resolve().then(
      () => this.stmts.counts.get() as { messages: number; frames: number; keyedRooms: number },
    );
  }

  close(): Promise<void> {
    return Promise.resolve().then(() => {
      if (this.db.open) this.db.close();
    });
  }
}
