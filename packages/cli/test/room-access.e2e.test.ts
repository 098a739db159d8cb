import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sox } from './helpers/audio.js';
import { fixturePath } from '@imv/test-support';
import { runCli, servedTempDir } from '@imv/test-support/cli';
import type { CliResult } from '@imv/test-support/cli';

describe('room keys and admin commands against imv serve', () => {
  const served = servedTempDir('imv-cli-access-');
  const dataDir = (): string => path.join(served.tmp, 'data');
  let clip: string;
  let token: string;

  beforeAll(async () => {
    clip = path.join(served.tmp, 'clip.wav');
    sox([fixturePath('speech-en-48k.wav'), clip, 'trim', '0.5', '0.6']);
    token = (await readFile(path.join(dataDir(), 'admin-token'), 'utf8')).trim();
  });

  const imv = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
    runCli(['--server', served.server.url, '--name', 'keeper', ...args], { env });

  it('prints the admin token once in the serve banner', () => {
    const lines = served.server.process.stdout.split('\n').filter((l) => l.includes(token));
    expect(lines).toEqual([expect.stringMatching(/^Admin token: /)]);
  });

  it('sets a room key with imv admin; joins without it or with a wrong one fail with one clear line', async () => {
    const set = await imv(['admin', 'set-key', 'crew', 'door-key-1', '--data', dataDir()]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe('room crew now needs a key\n');

    const without = await imv(['send', clip, '--room', 'crew', '--fast']);
    expect(without).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'imv: room crew needs a key: pass --key\n',
    });
    const wrong = await imv(['listen', '--room', 'crew', '--key', 'not-the-key']);
    expect(wrong).toMatchObject({ code: 1, stdout: '', stderr: 'imv: wrong key for room crew\n' });
    const restWrong = await imv(['history', '--room', 'crew', '--key', 'not-the-key']);
    expect(restWrong).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'imv: wrong key for room crew\n',
    });
    const restWithout = await imv(['history', '--room', 'crew']);
    expect(restWithout).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'imv: room crew needs a key: pass --key\n',
    });
    const tooShort = await imv(['history', '--room', 'crew', '--key', 'short']);
    expect(tooShort.code).toBe(2);
    expect(tooShort.stderr).toBe('imv: --key: key must be at least 8 characters\n');
  });

  it('sends, lists and downloads with the key from --key or IMV_ROOM_KEY', async () => {
    const sent = await imv(['send', clip, '--room', 'crew', '--fast', '--key', 'door-key-1']);
    expect(sent.code, sent.stderr).toBe(0);
    const id = Number(/^sent message (\d+)/.exec(sent.stdout)![1]);
    const out = path.join(served.tmp, 'inbox');
    const heard = await imv(
      ['listen', '--room', 'crew', '--since', 'all', '--count', '1', '--out', out],
      { IMV_ROOM_KEY: 'door-key-1' },
    );
    expect(heard.code, heard.stderr).toBe(0);
    expect((await readFile(path.join(out, `${id}.ogg`))).subarray(0, 4).toString()).toBe('OggS');
    const listed = await imv(['history', '--room', 'crew', '--json'], {
      IMV_ROOM_KEY: 'door-key-1',
    });
    expect(JSON.parse(listed.stdout)).toMatchObject({ id, sender: 'keeper', encrypted: false });

    const rooms = await imv(['admin', 'rooms', '--json'], { IMV_ADMIN_TOKEN: token });
    expect(rooms.code, rooms.stderr).toBe(0);
    expect(
      rooms.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toContainEqual(expect.objectContaining({ room: 'crew', messageCount: 1, keyed: true }));
  });

  it('deletes a message and a room, clears the key; 401 and 403 say what to do', async () => {
    const noToken = await imv(['admin', 'rooms']);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/^imv: admin commands need the admin token: pass --token/);
    const badToken = await imv(['admin', 'delete', 'crew', '--token', 'wrong-token']);
    expect(badToken).toMatchObject({ code: 1, stdout: '' });
    expect(badToken.stderr).toMatch(/^imv: the server refused the admin token \(403\)/);

    const sent = await imv(['send', clip, '--room', 'crew', '--fast', '--key', 'door-key-1']);
    const id = Number(/^sent message (\d+)/.exec(sent.stdout)![1]);
    const deleted = await imv(['admin', 'delete', 'crew', String(id), '--token', token]);
    expect(deleted).toMatchObject({ code: 0, stdout: `deleted message ${id} of room crew\n` });
    const missing = await imv(['admin', 'delete', 'crew', String(id), '--token', token]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('NOT_FOUND');

    const room = await imv(['admin', 'delete', 'crew', '--data', dataDir()]);
    expect(room).toMatchObject({ code: 0, stdout: 'deleted room crew (1 messages)\n' });
    const cleared = await imv(['admin', 'clear-key', 'crew', '--data', dataDir()]);
    expect(cleared).toMatchObject({ code: 0, stdout: 'room crew is open (no key)\n' });
    const open = await imv(['history', '--room', 'crew']);
    expect(open).toMatchObject({ code: 0, stdout: 'no messages in room crew\n' });
  });
});
