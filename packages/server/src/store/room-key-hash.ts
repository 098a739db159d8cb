import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { ScryptOptions } from 'node:crypto';

/*
 * Room keys are access control, not encryption: the server only needs to check them, so it keeps a
 * slow salted hash (scrypt, RFC 7914) and never the key. The record carries its parameters so they
 * can be raised later without breaking stored rooms:  scrypt$<log2 N>$<r>$<p>$<salt b64url>$<hash b64url>
 */

/** N = 2^15, r = 8: 32 MiB and ~0.1 s per hash on one core (OWASP's scrypt floor is 2^17 at p=1; a LAN room key is rate-limited too). */
const LOG2_N = 15;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

function scryptNow(key: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    // maxmem must exceed 128 × N × r bytes, which is exactly 32 MiB at the defaults' limit.
    scrypt(
      key.normalize('NFC'),
      salt,
      HASH_BYTES,
      { ...options, maxmem: 256 * 1024 * 1024 },
      (err, hash) => (err === null ? resolve(hash) : reject(err)),
    ),
  );
}

/**
 * Hashes a room key with a fresh random salt (runs on libuv's thread pool, not the event loop).
 * Callers queue hashes through RoomKeys' FairQueue: the pool has 4 threads, shared with file and DNS work.
 */
export async function hashRoomKey(key: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptNow(key, salt, { N: 2 ** LOG2_N, r: BLOCK_SIZE, p: PARALLELISM });
  return [
    'scrypt',
    LOG2_N,
    BLOCK_SIZE,
    PARALLELISM,
    salt.toString('base64url'),
    hash.toString('base64url'),
  ].join('$');
}

/** True when `key` hashes to `record` (constant-time compare of the hashes). */
export async function verifyRoomKey(key: string, record: string): Promise<boolean> {
  const [scheme, log2N, r, p, salt, hash] = record.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scryptNow(key, Buffer.from(salt, 'base64url'), {
    N: 2 ** Number(log2N),
    r: Number(r),
    p: Number(p),
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Remembers keys that verified, so a client that reconnects or downloads every message of a keyed
 * room pays scrypt once, not per request. Entries are HMACs under a per-process secret (the key
 * itself is never kept) and are valid only while the room's stored record is the one they matched.
 */
export class VerifiedKeyCache {
  private readonly secret = randomBytes(32);
  private readonly entries = new Map<string, string>();

  constructor(private readonly maxEntries = 1024) {}

  private id(room: string, key: string): string {
    return createHmac('sha256', this.secret)
      .update(room)
      .update('\0')
      .update(key)
      .digest('base64url');
  }

  has(room: string, key: string, record: string): boolean {
    return this.entries.get(this.id(room, key)) === record;
  }

  add(room: string, key: string, record: string): void {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(this.id(room, key), record);
  }
}
