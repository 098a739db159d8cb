import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { compareOgg, sox, soxSamples } from './helpers/audio.js';
import { waitForMember } from './helpers/observer.js';
import { fixturePath } from '@imv/test-support';
import { runCli, spawnCli, startServe } from '@imv/test-support/cli';
import type { CliProcess, ServeProcess } from '@imv/test-support/cli';

describe('messages survive server restarts', () => {
  let tmp: string;
  let dataDir: string;
  let clip: string;
  const servers: ServeProcess[] = [];
  const listeners: CliProcess[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'imv-cli-restart-'));
    dataDir = path.join(tmp, 'data');
    clip = path.join(tmp, 'clip.wav');
    sox([fixturePath('speech-en-48k.wav'), clip, 'trim', '0.5', '1.5']);
  });

  afterEach(async () => {
    await Promise.all([...servers.splice(0), ...listeners.splice(0)].map((p) => p.stop('SIGKILL')));
  });

  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  async function serve(): Promise<ServeProcess> {
    const server = await startServe(dataDir);
    servers.push(server);
    return server;
  }

  async function send(server: ServeProcess): Promise<number> {
    const sent = await runCli([
      '--name',
      'keeper',
      'send',
      clip,
      '--room',
      'persist',
      '--fast',
      '--server',
      server.url,
    ]);
    expect(sent.code, sent.stderr).toBe(0);
    return Number(/^sent message (\d+)/.exec(sent.stdout)![1]);
  }

  async function listen(server: ServeProcess, name: string): Promise<CliProcess> {
    const listener = spawnCli([
      '--name',
      name,
      'listen',
      '--room',
      'persist',
      '--server',
      server.url,
    ]);
    listeners.push(listener);
    await waitForMember(server.url, 'persist', name);
    return listener;
  }

  async function expectListedAndDownloadable(server: ServeProcess, id: number): Promise<void> {
    const table = await runCli(['history', '--room', 'persist', '--server', server.url]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(
      new RegExp(`^\\s*${id}\\s+keeper\\s+.*\\s1\\.\\d\\d s\\s+complete$`, 'm'),
    );
    const response = await fetch(`${server.url}/api/rooms/persist/messages/${id}.ogg`);
    expect(response.status).toBe(200);
    const match = compareOgg(soxSamples(clip), new Uint8Array(await response.arrayBuffer()));
    expect(match.correlation).toBeGreaterThanOrEqual(0.9);
  }

  it('keeps an acked message across a graceful stop, and a listener exits 1 saying the server is shutting down', async () => {
    const first = await serve();
    const id = await send(first);
    const listener = await listen(first, 'ear-1');
    await first.stop('SIGTERM');
    const heard = await listener.exited;
    expect(heard.code).toBe(1);
    expect(heard.stderr).toBe(`imv: the imv server at ${first.url} is shutting down\n`);

    await expectListedAndDownloadable(await serve(), id);
  });

  it('keeps an acked message across a SIGKILL of imv serve, and a listener exits 1 saying the connection was lost', async () => {
    const first = await serve();
    const id = await send(first);
    const listener = await listen(first, 'ear-2');
    await first.stop('SIGKILL');
    const heard = await listener.exited;
    expect(heard.code).toBe(1);
    expect(heard.stderr).toMatch(
      /^imv: lost the connection to the imv server at http:\/\/127\.0\.0\.1:\d+ \(close 1006\)\n$/,
    );

    const second = await serve();
    await expectListedAndDownloadable(second, id);
  });

  it('with --reconnect, a listener rides out a SIGKILL and restart and gets each message exactly once', async () => {
    const first = await serve();
    const listener = spawnCli([
      '--name',
      'ear-3',
      'listen',
      '--room',
      'persist',
      '--reconnect',
      '--count',
      '2',
      '--json',
      '--server',
      first.url,
    ]);
    listeners.push(listener);
    await waitForMember(first.url, 'persist', 'ear-3');
    const before = await send(first);
    await listener.waitForStdout(new RegExp(`"id":${before},`));

    await first.stop('SIGKILL');
    await listener.waitForStderr(
      /^imv: lost the connection to the imv server at http:\/\/127\.0\.0\.1:\d+ \(close 1006\); reconnecting$/m,
    );
    // Same port, so the listener's --server URL leads to the new process.
    const second = await startServe(dataDir, { port: first.port });
    servers.push(second);
    const after = await send(second);

    const heard = await listener.exited;
    expect(heard.code, heard.stderr).toBe(0);
    expect(heard.stderr).toMatch(/^imv: reconnected to http:\/\/127\.0\.0\.1:\d+$/m);
    const ids = heard.stdout
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { id: number }).id);
    expect(ids).toEqual([before, after]);
  });
});
