import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { frameMsOf } from '@imv/protocol';
import type { MessageStatus, VoiceMessage } from '@imv/protocol';
import type {
  CopyableStore,
  ExportedMessage,
  ListQuery,
  MessagePage,
  NewMessage,
  RecoveredMessage,
  RoomSummary,
  StoredFrame,
} from '../store.js';
import { maskStoreUrl } from '../store-url.js';
import { StoreUnavailableError } from '../store-errors.js';
import { classifyPgError, isUnavailable } from './postgres-errors.js';
import { migratePostgres } from './postgres-migrations.js';
import {
  assertSameMessage,
  messagePage,
  newMessageValues,
  toVoiceMessage,
  type MessageRow as SharedMessageRow,
} from '../message-row.js';

/*
 * Why node-postgres (`pg`) rather than `postgres` (porsager): its Pool drops a broken connection
 * and opens a fresh one on the next query, so the store recovers by itself after a database
 * restart; a connection's `error` event is surfaced on the pool where we can log it instead of an
 * unhandled rejection; and transactions are plain BEGIN/COMMIT on a checked-out client, which keeps
 * "commit, then ack" visible in the code. It is the most used PostgreSQL client for Node and runs
 * on Node 20 with no native parts.
 */

type MessageRow = SharedMessageRow<boolean>;

const COLUMNS =
  'id, room, sender_name, sender_client_id, started_at, duration_ms, frame_count, bytes, status, ' +
  'encrypted, e2e_salt, key_check, frame_ms';
const M_COLUMNS = COLUMNS.split(', ')
  .map((c) => `m.${c}`)
  .join(', ');

/** BIGINT (oid 20) and COUNT results come back as strings by default; every value we keep fits a double. */
const INT8_OID = 20;
const parseInt8 = (value: string): number => Number(value);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID
      ? parseInt8
      : (pg.types.getTypeParser(
          oid,
          format ?? 'text',
        ) as unknown)) as typeof pg.types.getTypeParser,
};

/**
 * Frames of one batch inserted with one statement: four parallel arrays unnested server-side, so a
 * 25-frame batch is one round trip, not 25. Duplicate (message, seq) rows are ignored.
 */
const INSERT_FRAMES = `INSERT INTO frames (message_id, seq, ts, flags, payload)
  SELECT $1, f.seq, f.ts, f.flags, f.payload
  FROM unnest($2::bigint[], $3::bigint[], $4::int[], $5::bytea[]) AS f (seq, ts, flags, payload)
  ON CONFLICT (message_id, seq) DO NOTHING`;

function frameParams(messageId: number, frames: readonly StoredFrame[]): unknown[] {
  return [
    messageId,
    frames.map((f) => f.sequence),
    frames.map((f) => f.timestamp),
    frames.map((f) => f.flags ?? 0),
    frames.map((f) =>
      Buffer.isBuffer(f.payload)
        ? f.payload
        : Buffer.from(f.payload.buffer, f.payload.byteOffset, f.payload.byteLength),
    ),
  ];
}

/** Totals come from the stored frames; duration = frames × the talk's frame_ms (one Opus packet per frame). */
const FINISH = `UPDATE messages m SET status = $2, frame_count = t.n, duration_ms = t.n * m.frame_ms, bytes = t.b
  FROM (SELECT count(*)::int AS n, coalesce(sum(octet_length(payload)), 0)::bigint AS b
        FROM frames WHERE message_id = $1) t
  WHERE m.id = $1
  RETURNING ${M_COLUMNS}, m.stream_id`;

/**
 * Finalises as partial the 'recording' messages matched by `condition` (on m2, a messages row).
 * The `m.status = 'recording'` recheck makes two nodes sweeping at once finalise each message once:
 * the second UPDATE waits for the first's row lock, then no longer matches.
 */
function finishRecordingWhere(condition: string): string {
  return `UPDATE messages m SET status = 'partial', frame_count = t.n, duration_ms = t.n * m.frame_ms, bytes = t.b
    FROM (SELECT m2.id, count(f.seq)::int AS n, coalesce(sum(octet_length(f.payload)), 0)::bigint AS b
          FROM messages m2 LEFT JOIN frames f ON f.message_id = m2.id
          WHERE m2.status = 'recording' AND (${condition})
          GROUP BY m2.id) t
    WHERE m.id = t.id AND m.status = 'recording'
    RETURNING ${M_COLUMNS}, m.stream_id`;
}

export interface PostgresStoreOptions {
  /** This node's id: stamped on the messages it records and renewed by heartbeat(). */
  nodeId: string;
  /** Connections kept open at most. */
  maxConnections?: number;
  /** Logs a connection error the pool saw on an idle connection (the pool then replaces it). */
  onPoolError?: (err: Error) => void;
}

/**
 * MessageStore in a PostgreSQL database shared by every node of a cluster. Ids come from the
 * database (an identity column), so every node agrees on them. A promise resolves after COMMIT, so
 * the talker's ack still means "durable". Errors that mean the database cannot be reached reject
 * with StoreUnavailableError; the pool reconnects by itself on the next call.
 */
export class PostgresMessageStore implements CopyableStore {
  readonly kind = 'postgres';
  private closed = false;
  /**
   * Messages whose final transaction failed because the database was unreachable, with the frames
   * that transaction carried. The talker got STORE_UNAVAILABLE, not an ack; recoverOrphans stores
   * them as 'partial' once the database answers again, so they do not stay 'recording'.
   */
  private readonly unfinished = new Map<number, StoredFrame[]>();

  private constructor(
    private readonly pool: pg.Pool,
    readonly nodeId: string,
    /** The URL with its password masked. */
    readonly url: string,
  ) {}

  /** Connects, migrates (under an advisory lock) and registers this node; rejects if any of it fails. */
  static async open(url: string, options: PostgresStoreOptions): Promise<PostgresMessageStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      // A statement stuck behind a dead connection fails instead of holding a talker's ack forever.
      query_timeout: 30_000,
      application_name: `imv ${options.nodeId}`.slice(0, 63),
      types,
    });
    // An idle connection killed by a database restart is reported here; without a listener it
    // would crash the process. The pool discards it and the next query opens a new one.
    pool.on('error', (err) => options.onPoolError?.(err));
    const store = new PostgresMessageStore(pool, options.nodeId, maskStoreUrl(url));
    try {
      const client = await pool.connect();
      let broken: Error | undefined;
      const onError = (err: Error): void => {
        broken = err;
      };
      client.on('error', onError);
      try {
        await migratePostgres(client);
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
      await store.heartbeat();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    return store;
  }

  private async query<R extends QueryResultRow>(
    text: string,
    params: unknown[] = [],
  ): Promise<R[]> {
    if (this.closed) throw new Error('store is closed');
    try {
      return (await this.pool.query<R>(text, params)).rows;
    } catch (err) {
      throw classifyPgError(err);
    }
  }

  /** Runs `work` in one transaction on one connection; resolves after COMMIT. */
  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('store is closed');
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw classifyPgError(err);
    }
    let broken: unknown;
    // A checked-out client has no pool listener: a connection cut between two statements would be
    // an uncaught 'error' event. The failing statement rejects anyway; this only records it.
    const onError = (err: Error): void => {
      broken = err;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      broken = err;
      await client.query('ROLLBACK').catch(() => undefined);
      throw classifyPgError(err);
    } finally {
      // A connection that failed mid-transaction may be dead: do not hand it to the next caller.
      client.off('error', onError);
      client.release(broken !== undefined && isUnavailable(broken));
    }
  }

  async createMessage(message: NewMessage): Promise<VoiceMessage> {
    const rows = await this.query<MessageRow>(
      `INSERT INTO messages (room, stream_id, sender_name, sender_client_id, started_at, status,
                             encrypted, e2e_salt, key_check, node_id, frame_ms)
       VALUES ($1, $2, $3, $4, $5, 'recording', $6, $7, $8, $9, $10)
       RETURNING ${COLUMNS}`,
      [...newMessageValues(message), this.nodeId, message.frameMs],
    );
    return toVoiceMessage(rows[0]!);
  }

  async appendFrames(messageId: number, frames: readonly StoredFrame[]): Promise<void> {
    // One statement is its own transaction: committed when the query resolves.
    if (frames.length > 0) await this.query(INSERT_FRAMES, frameParams(messageId, frames));
  }

  async finishMessage(
    messageId: number,
    status: Exclude<MessageStatus, 'recording'>,
    lastFrames: readonly StoredFrame[] = [],
  ): Promise<VoiceMessage> {
    try {
      return (await this.finishWith(messageId, status, lastFrames)).message;
    } catch (err) {
      if (err instanceof StoreUnavailableError) this.unfinished.set(messageId, [...lastFrames]);
      throw err;
    }
  }

  private finishWith(
    messageId: number,
    status: Exclude<MessageStatus, 'recording'>,
    lastFrames: readonly StoredFrame[],
  ): Promise<RecoveredMessage> {
    return this.transaction(async (client) => {
      if (lastFrames.length > 0)
        await client.query(INSERT_FRAMES, frameParams(messageId, lastFrames));
      const { rows } = await client.query<MessageRow & { stream_id: number }>(FINISH, [
        messageId,
        status,
      ]);
      if (rows.length === 0) throw new Error(`message ${messageId} does not exist`);
      return { message: toVoiceMessage(rows[0]!), streamId: rows[0]!.stream_id };
    });
  }

  async getMessage(room: string, messageId: number): Promise<VoiceMessage | undefined> {
    const rows = await this.query<MessageRow>(
      `SELECT ${COLUMNS} FROM messages WHERE id = $1 AND room = $2`,
      [messageId, room],
    );
    return rows[0] === undefined ? undefined : toVoiceMessage(rows[0]);
  }

  async listMessages(room: string, query: ListQuery): Promise<MessagePage> {
    const { after, before, limit } = query;
    let rows: MessageRow[];
    let ascending = true;
    // Fetch one extra row to learn whether there is more in the direction asked.
    if (after != null) {
      rows = await this.query<MessageRow>(
        `SELECT ${COLUMNS} FROM messages WHERE room = $1 AND id > $2 AND ($3::int IS NULL OR id < $3)
         ORDER BY id ASC LIMIT $4`,
        [room, after, before ?? null, limit + 1],
      );
    } else {
      ascending = false;
      rows = await this.query<MessageRow>(
        `SELECT ${COLUMNS} FROM messages WHERE room = $1 AND ($2::int IS NULL OR id < $2)
         ORDER BY id DESC LIMIT $3`,
        [room, before ?? null, limit + 1],
      );
    }
    return messagePage(rows, limit, ascending);
  }

  async readFrames(messageId: number): Promise<Uint8Array[]> {
    const rows = await this.query<{ payload: Buffer }>(
      'SELECT payload FROM frames WHERE message_id = $1 ORDER BY seq ASC',
      [messageId],
    );
    return rows.map((row) => row.payload);
  }

  async readStoredFrames(messageId: number): Promise<{ streamId: number; frames: StoredFrame[] }> {
    // One query for the whole message, frames and stream id together (a 5-minute message is 15,000 rows).
    const rows = await this.query<{
      stream_id: number;
      seq: number | null;
      ts: number | null;
      flags: number | null;
      payload: Buffer | null;
    }>(
      `SELECT m.stream_id, f.seq, f.ts, f.flags, f.payload
       FROM messages m LEFT JOIN frames f ON f.message_id = m.id
       WHERE m.id = $1 ORDER BY f.seq ASC`,
      [messageId],
    );
    const frames: StoredFrame[] = [];
    for (const row of rows) {
      if (row.payload !== null) {
        frames.push({
          sequence: row.seq!,
          timestamp: row.ts!,
          flags: row.flags!,
          payload: row.payload,
        });
      }
    }
    return { streamId: rows[0]?.stream_id ?? 0, frames };
  }

  async deleteMessage(room: string, messageId: number): Promise<boolean> {
    // Frames go with their message (ON DELETE CASCADE).
    const rows = await this.query('DELETE FROM messages WHERE id = $1 AND room = $2 RETURNING id', [
      messageId,
      room,
    ]);
    return rows.length > 0;
  }

  deleteRoom(room: string): Promise<number[]> {
    return this.transaction(async (client) => {
      // A message still being recorded stays: its talker's next batch would fail otherwise.
      const { rows } = await client.query<{ id: number }>(
        "DELETE FROM messages WHERE room = $1 AND status != 'recording' RETURNING id",
        [room],
      );
      await client.query('DELETE FROM rooms WHERE room = $1', [room]);
      return rows.map((row) => row.id).sort((a, b) => a - b);
    });
  }

  async listRooms(): Promise<RoomSummary[]> {
    const rows = await this.query<{ room: string; n: number; last: number | null; keyed: boolean }>(
      `SELECT coalesce(c.room, k.room) AS room, coalesce(c.n, 0) AS n, c.last,
              (k.key_hash IS NOT NULL) AS keyed
       FROM (SELECT room, count(*)::int AS n, max(started_at) AS last FROM messages GROUP BY room) c
       FULL JOIN (SELECT room, key_hash FROM rooms WHERE key_hash IS NOT NULL) k ON k.room = c.room`,
    );
    return rows
      .map((row) => {
        const summary: RoomSummary = { room: row.room, messageCount: row.n, keyed: row.keyed };
        if (row.last !== null) summary.lastMessageAt = row.last;
        return summary;
      })
      .sort((a, b) => a.room.localeCompare(b.room));
  }

  async getRoomKeyHash(room: string): Promise<string | undefined> {
    const rows = await this.query<{ key_hash: string | null }>(
      'SELECT key_hash FROM rooms WHERE room = $1',
      [room],
    );
    return rows[0]?.key_hash ?? undefined;
  }

  async claimRoomKey(room: string, keyHash: string): Promise<boolean> {
    // One statement, so two nodes claiming at once cannot both win: the loser's INSERT conflicts
    // (or its WHERE sees the other's row) and changes nothing.
    const rows = await this.query(
      `INSERT INTO rooms (room, key_hash, updated_at)
       SELECT $1, $2, $3
       WHERE NOT EXISTS (SELECT 1 FROM messages WHERE room = $1)
       ON CONFLICT (room) DO UPDATE SET key_hash = excluded.key_hash, updated_at = excluded.updated_at
         WHERE rooms.key_hash IS NULL
       RETURNING room`,
      [room, keyHash, Date.now()],
    );
    return rows.length > 0;
  }

  async setRoomKeyHash(room: string, keyHash: string | undefined): Promise<void> {
    if (keyHash === undefined) {
      await this.query('DELETE FROM rooms WHERE room = $1', [room]);
    } else {
      await this.query(
        `INSERT INTO rooms (room, key_hash, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (room) DO UPDATE SET key_hash = excluded.key_hash, updated_at = excluded.updated_at`,
        [room, keyHash, Date.now()],
      );
    }
  }

  async recoverInterrupted(): Promise<number> {
    // Other nodes' recording messages may be live: only this node's are certainly interrupted.
    const rows = await this.query(finishRecordingWhere('m2.node_id = $1'), [this.nodeId]);
    return rows.length;
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async heartbeat(): Promise<void> {
    // The database's clock, not the node's: leases compare with now() in recoverOrphans.
    await this.query(
      `INSERT INTO nodes (node_id) VALUES ($1)
       ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now()`,
      [this.nodeId],
    );
  }

  async recoverOrphans(staleMs: number): Promise<RecoveredMessage[]> {
    const own: RecoveredMessage[] = [];
    for (const [messageId, frames] of this.unfinished) {
      try {
        own.push(await this.finishWith(messageId, 'partial', frames));
      } catch (err) {
        // Still unreachable: keep it for the next sweep. Otherwise (deleted meanwhile) there is
        // nothing left to finish.
        if (err instanceof StoreUnavailableError) throw err;
      }
      this.unfinished.delete(messageId);
    }
    const rows = await this.query<MessageRow & { stream_id: number }>(
      finishRecordingWhere(
        `m2.node_id IS DISTINCT FROM $1 AND NOT EXISTS (
           SELECT 1 FROM nodes n WHERE n.node_id = m2.node_id
             AND n.heartbeat_at > now() - $2 * interval '1 millisecond')`,
      ),
      [this.nodeId, staleMs],
    );
    return [
      ...own,
      ...rows.map((row) => ({ message: toVoiceMessage(row), streamId: row.stream_id })),
    ].sort((a, b) => a.message.id - b.message.id);
  }

  async exportMessage(messageId: number): Promise<ExportedMessage | undefined> {
    const rows = await this.query<MessageRow & { stream_id: number }>(
      `SELECT ${COLUMNS}, stream_id FROM messages WHERE id = $1`,
      [messageId],
    );
    if (rows[0] === undefined) return undefined;
    const { frames } = await this.readStoredFrames(messageId);
    return { message: toVoiceMessage(rows[0]), streamId: rows[0].stream_id, frames };
  }

  importMessage({ message, streamId, frames }: ExportedMessage): Promise<'copied' | 'exists'> {
    return this.transaction(async (client) => {
      const inserted = await client.query(
        `INSERT INTO messages (id, room, stream_id, sender_name, sender_client_id, started_at, status,
                               encrypted, e2e_salt, key_check, frame_ms)
         VALUES ($1, $2, $3, $4, $5, $6, 'recording', $7, $8, $9, $10)
         ON CONFLICT (id) DO NOTHING`,
        [message.id, ...newMessageValues({ ...message, streamId }), frameMsOf(message)],
      );
      if (inserted.rowCount === 0) {
        const { rows } = await client.query<MessageRow>(
          `SELECT ${COLUMNS} FROM messages WHERE id = $1`,
          [message.id],
        );
        assertSameMessage(message, rows[0]);
        return 'exists';
      }
      if (frames.length > 0) await client.query(INSERT_FRAMES, frameParams(message.id, frames));
      const status = message.status === 'recording' ? 'partial' : message.status;
      await client.query(FINISH, [message.id, status]);
      // Explicit ids do not move the identity sequence; the next live message must come after them.
      await client.query(
        `SELECT setval(pg_get_serial_sequence('messages', 'id'), (SELECT max(id) FROM messages))`,
      );
      return 'copied';
    });
  }

  async listMessageIds(afterId: number, limit: number): Promise<number[]> {
    const rows = await this.query<{ id: number }>(
      'SELECT id FROM messages WHERE id > $1 ORDER BY id LIMIT $2',
      [afterId, limit],
    );
    return rows.map((row) => row.id);
  }

  async counts(): Promise<{ messages: number; frames: number; keyedRooms: number }> {
    const rows = await this.query<{ messages: number; frames: number; keyed: number }>(
      `SELECT (SELECT count(*) FROM messages)::int AS messages, (SELECT count(*) FROM frames)::int AS frames,
              (SELECT count(*) FROM rooms WHERE key_hash IS NOT NULL)::int AS keyed`,
    );
    const row = rows[0]!;
    return { messages: row.messages, frames: row.frames, keyedRooms: row.keyed };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Leaving the nodes table says "gone": another node may finalise what this one left at once.
    await this.query('DELETE FROM nodes WHERE node_id = $1', [this.nodeId]).catch(() => undefined);
    this.closed = true;
    await this.pool.end();
  }
}
