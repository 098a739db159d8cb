import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readdirSync,
  statSync,
} from 'node:fs';
import path from 'node:path';

/** Mode of the data dir and of every directory in it: only the server's user may enter. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every file in the data dir: the database, its -wal and -shm, keys, certificates, the admin token. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates the data dir (0700) if needed and checks that it can be read and written. chmod after
 * mkdir: mkdir's mode is reduced by the umask, and an existing dir keeps whatever mode it had.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if ((statSync(dir).mode & 0o777) !== PRIVATE_DIR_MODE) chmodSync(dir, PRIVATE_DIR_MODE);
  accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
}

/**
 * Creates `file` empty with mode 0600 if it does not exist, and sets 0600 if it does. SQLite gives
 * the -wal and -shm files it creates the mode of the database file, so they follow.
 */
export function ensurePrivateFile(file: string): void {
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  if ((statSync(file).mode & 0o777) !== PRIVATE_FILE_MODE) chmodSync(file, PRIVATE_FILE_MODE);
}

/**
 * Sets 0600 on every file and 0700 on every directory under `dir` (files written by older
 * versions, or copied in with a looser mode). An entry that disappears while the tree is walked is
 * skipped: in a CA directory shared by several nodes (`--ca-dir`), another node's temp file can be
 * renamed away between the listing and its stat.
 */
export function privatizeTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    try {
      if (entry.isDirectory()) {
        if ((statSync(full).mode & 0o777) !== PRIVATE_DIR_MODE) chmodSync(full, PRIVATE_DIR_MODE);
        privatizeTree(full);
      } else if (entry.isFile()) {
        if ((statSync(full).mode & 0o777) !== PRIVATE_FILE_MODE) chmodSync(full, PRIVATE_FILE_MODE);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
