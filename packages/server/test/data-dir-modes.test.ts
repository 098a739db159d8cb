import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { opusPacketsOf } from './helpers/opus-fixture.js';
import { TestClient } from './helpers/test-client.js';
import { TestServers } from './helpers/test-server.js';

/** Every path under `dir` with its permission bits as an octal string. */
function modesUnder(dir: string): Record<string, string> {
  const modes: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const full = path.join(entry.parentPath, entry.name);
    modes[path.relative(dir, full)] = (statSync(full).mode & 0o777).toString(8);
  }
  return modes;
}

describe('data dir file modes', () => {
  const servers = new TestServers();
  let umask: number | undefined;
  afterEach(async () => {
    await servers.cleanup();
    if (umask !== undefined) process.umask(umask);
  });

  it('keeps every file 0600 and every directory 0700 whatever the umask, after a message was stored', async () => {
    // The most permissive umask: any mode left to it would come out 0666 / 0777.
    umask = process.umask(0);
    const dataDir = path.join(servers.tempDir(), 'data');
    const server = await servers.start({ dataDir, storeInWorker: true, httpsPort: 0 });
    const talker = await TestClient.joined(server.httpUrl, 'modes', 'alice');
    talker.send({ type: 'talk-start', streamId: 1 });
    talker.sendPackets(1, opusPacketsOf('speech-en-48k.wav').slice(0, 5));
    await talker.next('message-stored');
    await talker.close();

    const modes = modesUnder(dataDir);
    // The database with its write-ahead log and shared memory, the admin token, the CA and server keys.
    for (const name of ['imv.sqlite', 'imv.sqlite-wal', 'imv.sqlite-shm', 'admin-token'])
      expect(Object.keys(modes)).toContain(name);
    expect(Object.keys(modes).filter((name) => name.startsWith('tls')).length).toBeGreaterThan(3);
    expect((statSync(dataDir).mode & 0o777).toString(8)).toBe('700');
    for (const [name, mode] of Object.entries(modes)) {
      const isDir = statSync(path.join(dataDir, name)).isDirectory();
      expect(mode, name).toBe(isDir ? '700' : '600');
    }
  });
});
