import { chmod, link, unlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { PRIVATE_FILE_MODE } from '../store/data-dir.js';

/** How long a node waits for another node sharing its CA directory to finish writing the CA. */
const SHARED_CA_WAIT_MS = 15_000;
const POLL_MS = 50;

/**
 * Writes `data` to `file` only if `file` does not exist yet, atomically (a temp file hard-linked in
 * place): of several nodes starting at once on one `--ca-dir`, exactly one wins. Resolves false when
 * the file was already there.
 */
export async function writeFileIfAbsent(file: string, data: string): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, data, { mode: PRIVATE_FILE_MODE });
  await chmod(tmp, PRIVATE_FILE_MODE);
  try {
    await link(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp);
  }
}

/** Reads `file` once it exists (another node is writing it), or throws after a bounded wait. */
export async function waitForFile(
  read: () => Promise<string | undefined>,
  file: string,
): Promise<string> {
  for (let waitedMs = 0; waitedMs <= SHARED_CA_WAIT_MS; waitedMs += POLL_MS) {
    const text = await read();
    if (text !== undefined) return text;
    await sleep(POLL_MS);
  }
  throw new Error(`${file} did not appear within ${SHARED_CA_WAIT_MS / 1000} s`);
}
