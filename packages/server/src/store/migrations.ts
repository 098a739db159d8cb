import type { Database } from 'better-sqlite3';

/**
 * Schema migrations, applied in order at open. The database's `PRAGMA user_version` holds the
 * number of migrations applied; append new ones, never edit a released one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: messages and their frames
  `CREATE TABLE messages (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     room TEXT NOT NULL,
     stream_id INTEGER NOT NULL,
     sender_name TEXT NOT NULL,
     sender_client_id TEXT,
     started_at INTEGER NOT NULL,
     duration_ms INTEGER NOT NULL DEFAULT 0,
     frame_count INTEGER NOT NULL DEFAULT 0,
     bytes INTEGER NOT NULL DEFAULT 0,
     status TEXT NOT NULL CHECK (status IN ('recording', 'complete', 'partial')),
     encrypted INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX messages_room_id ON messages (room, id);
   CREATE INDEX messages_status ON messages (status);
   CREATE TABLE frames (
     message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
     seq INTEGER NOT NULL,
     ts INTEGER NOT NULL,
     payload BLOB NOT NULL,
     PRIMARY KEY (message_id, seq)
   ) WITHOUT ROWID;`,
  // 2: end-to-end encryption parameters, stored and relayed unchanged (protocol e2e.ts)
  `ALTER TABLE messages ADD COLUMN e2e_salt TEXT;
   ALTER TABLE messages ADD COLUMN key_check TEXT;`,
  // 3: room keys (scrypt records, never the key) and each frame's header flags, so the exact
  //    16-byte header (AES-GCM associated data of sealed frames) can be rebuilt for download
  `CREATE TABLE rooms (
     room TEXT PRIMARY KEY,
     key_hash TEXT,
     updated_at INTEGER NOT NULL
   );
   ALTER TABLE frames ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;`,
  // 4: each message's frame duration (talk-start.frameMs: 10 or 20 ms); older messages are 20 ms
  `ALTER TABLE messages ADD COLUMN frame_ms INTEGER NOT NULL DEFAULT 20 CHECK (frame_ms IN (10, 20));`,
];

/** Brings the schema up to date; returns the version before and after. */
export function migrate(db: Database): { from: number; to: number } {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > MIGRATIONS.length) {
    throw new Error(
      `database schema version ${from} is newer than this server (${MIGRATIONS.length}); update imv`,
    );
  }
  for (let version = from; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
  return { from, to: MIGRATIONS.length };
}
