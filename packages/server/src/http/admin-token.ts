import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PRIVATE_FILE_MODE, ensurePrivateDir } from '../store/data-dir.js';

/** File in the data dir holding the admin token (mode 0600). */
export const ADMIN_TOKEN_FILE = 'admin-token';
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function readToken(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (!TOKEN_PATTERN.test(text)) {
    throw new Error(
      `${file} does not hold an imv admin token (43 base64url characters); delete it to get a new one`,
    );
  }
  // Someone may have copied it around with a looser mode; the token is a password.
  if ((statSync(file).mode & 0o777) !== PRIVATE_FILE_MODE) chmodSync(file, PRIVATE_FILE_MODE);
  return text;
}

/**
 * The admin token of this data dir: read from `<dataDir>/admin-token`, or created there at first
 * start (32 random bytes, base64url, mode 0600) and reused on every later start.
 */
export function ensureAdminToken(dataDir: string): string {
  ensurePrivateDir(dataDir);
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  const existing = readToken(file);
  if (existing !== undefined) return existing;
  const token = randomBytes(32).toString('base64url');
  try {
    writeFileSync(file, `${token}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    chmodSync(file, PRIVATE_FILE_MODE);
  } catch (err) {
    // Another process created it between the read and the write: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readToken(file)!;
    throw err;
  }
  return token;
}

/** Constant-time token comparison (hashing first makes the lengths equal). */
export function adminTokenMatches(offered: string, token: string): boolean {
  const a = createHash('sha256').update(offered).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}
