import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase } from '@imv/test-support';
import type { TestDatabase } from '@imv/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sox } from './helpers/audio.js';
import { fixture, runCli } from './helpers/cli.js';
import { startServe } from './helpers/server.js';

interface Listed {
  id: number;
  status: string;
}

const KEY = 'door-key-1';

describe('imv store copy from a SQLite data dir into PostgreSQL, then imv serve --store postgres://', () => {
  let tmp: string;
  let dataDir: string;
  let clip: string;
  let database: TestDatabase;
  let crewBefore: Listed[];

  const history = async (url: string, room: string, key?: string): Promise<Listed[]> => {
    const args = ['history', '--room', room, '--json', '--server', url];
    const listed = await runCli(key === undefined ? args : [...args, '--key', key]);
    expect(listed.code, listed.stderr).toBe(0);
    return listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Listed);
  };

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'imv-cli-store-copy-'));
    dataDir = path.join(tmp, 'data');
    clip = path.join(tmp, 'clip.wav');
    sox([fixture('speech-en-48k.wav'), clip, 'trim', '0.5', '0.6']);
    database = await createTestDatabase();
    // A single node on SQLite with a keyed room and an open one.
    // Generous start timeouts: a loaded CI machine can take long to load the server's modules.
    const sqliteNode = await startServe(dataDir, { timeoutMs: 60_000 });
    try {
      const imv = (args: string[]) => runCli(['--server', sqliteNode.url, ...args]);
      expect((await imv(['admin', 'set-key', 'crew', KEY, '--data', dataDir])).code).toBe(0);
      for (const args of [['crew', '--key', KEY], ['crew', '--key', KEY], ['open']]) {
        const sent = await imv(['send', clip, '--fast', '--room', ...args]);
        expect(sent.code, sent.stderr).toBe(0);
      }
      crewBefore = await history(sqliteNode.url, 'crew', KEY);
      expect(crewBefore).toHaveLength(2);
    } finally {
      await sqliteNode.stop();
    }
  }, 180_000);

  afterAll(async () => {
    await database?.drop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('copies every message, frame and room key once, verifies the counts, and copies nothing the second time', async () => {
    const from = `sqlite:${path.join(dataDir, 'imv.sqlite')}`;
    const first = await runCli(['store', 'copy', '--from', from, '--to', database.url]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe('');
    const frames = Number(/\((\d+) frames\)/.exec(first.stdout)?.[1]);
    // Three 0.6 s clips of 20 ms frames (plus the encoder's flush frames).
    expect(frames).toBeGreaterThanOrEqual(3 * 30);
    expect(first.stdout).toBe(
      `copied 3 messages (${frames} frames) and 1 room keys to ${database.url}; 0 messages were already there\n` +
        `verified: 3 messages with ${frames} frames and 1 room keys in both stores\n`,
    );
    const second = await runCli(['store', 'copy', '--from', from, '--to', database.url]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe(
      `nothing to copy: all 3 messages and 1 room keys are already in ${database.url}\n` +
        `verified: 3 messages with ${frames} frames and 1 room keys in both stores\n`,
    );
  });

  it('refuses a SQLite source that does not exist instead of copying nothing', async () => {
    const missing = path.join(tmp, 'nope', 'imv.sqlite');
    const copy = await runCli([
      'store',
      'copy',
      '--from',
      `sqlite:${missing}`,
      '--to',
      database.url,
    ]);
    expect(copy).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `imv: cannot open store sqlite:${missing}: no such SQLite file ${missing}\n`,
    });
  });

  it('serves the copied history from PostgreSQL and enforces the copied room key', async () => {
    const pgNode = await startServe(path.join(tmp, 'pg-node'), {
      args: ['--store', database.url],
      timeoutMs: 60_000,
    });
    try {
      const withoutKey = await runCli(['history', '--room', 'crew', '--server', pgNode.url]);
      expect(withoutKey).toMatchObject({
        code: 1,
        stderr: 'imv: room crew needs a key: pass --key\n',
      });
      expect(await history(pgNode.url, 'crew', KEY)).toEqual(crewBefore);
      const out = path.join(tmp, 'inbox');
      const heard = await runCli([
        ...['listen', '--room', 'crew', '--since', 'all', '--count', '2'],
        ...['--out', out, '--key', KEY, '--server', pgNode.url],
      ]);
      expect(heard.code, heard.stderr).toBe(0);
      for (const { id } of crewBefore) {
        expect((await readFile(path.join(out, `${id}.ogg`))).subarray(0, 4).toString()).toBe(
          'OggS',
        );
      }
      // New messages get ids after the copied ones.
      const sent = await runCli([
        ...['send', clip, '--room', 'crew', '--fast', '--key', KEY, '--server', pgNode.url],
      ]);
      expect(sent.code, sent.stderr).toBe(0);
      const id = Number(/^sent message (\d+)/.exec(sent.stdout)![1]);
      expect(id).toBeGreaterThan(Math.max(...crewBefore.map((m) => m.id)));
      const health = (await (await fetch(`${pgNode.url}/api/health`)).json()) as {
        store: unknown;
      };
      expect(health.store).toEqual({ kind: 'postgres', reachable: true });
    } finally {
      await pgNode.stop();
    }
  }, 120_000);

  it('imv serve exits with one line naming the masked store URL and the cause', async () => {
    const unreachable = await runCli([
      ...[
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--no-mdns',
        '--data',
        path.join(tmp, 'x'),
      ],
      ...['--store', 'postgres://imv:s3cret@127.0.0.1:1/imv'],
    ]);
    expect(unreachable).toMatchObject({
      code: 1,
      stderr:
        'imv: cannot open store postgres://imv:***@127.0.0.1:1/imv: connect ECONNREFUSED 127.0.0.1:1\n',
    });
    const missing = await runCli(
      ['serve', '--host', '127.0.0.1', '--port', '0', '--no-mdns', '--data', path.join(tmp, 'x')],
      { env: { IMV_STORE: `${database.url}_missing` } },
    );
    expect(missing).toMatchObject({
      code: 1,
      stderr: `imv: cannot open store ${database.url}_missing: database "${database.name}_missing" does not exist\n`,
    });
    const badScheme = await runCli([
      ...['serve', '--port', '0', '--data', path.join(tmp, 'x'), '--store', 'mysql://db/imv'],
    ]);
    expect(badScheme).toMatchObject({
      code: 1,
      stderr:
        'imv: cannot open store mysql://db/imv: expected sqlite:PATH or postgres://USER@HOST/DB\n',
    });
  });
});
