import { mkdir, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ImvClient } from '../src/client/imv-client.js';
import { compareOgg, sox, soxSamples } from './helpers/audio.js';
import { waitForMember } from './helpers/observer.js';
import { fixturePath } from '@imv/test-support';
import { runCli, servedTempDir, spawnCli, startServe } from '@imv/test-support/cli';

describe('imv command-line behaviour', () => {
  const served = servedTempDir('imv-cli-misc-');
  let clip: string;

  beforeAll(() => {
    clip = path.join(served.tmp, 'clip.wav');
    sox([fixturePath('speech-fr-48k.wav'), clip, 'trim', '0', '1']);
  });

  it('sends a WAV read from stdin with "-"', async () => {
    const result = await runCli(
      ['send', '-', '--room', 'misc', '--fast', '--server', served.server.url],
      {
        input: await readFile(clip),
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^sent message \d+ to misc \(1\.0\d s, \d+ frames\)\n$/);
  });

  it('says once on stderr that no audio player exists, and still lists the message', async () => {
    // PATH without any player; node itself is started by absolute path.
    const result = await runCli(
      [
        'listen',
        '--room',
        'misc',
        '--since',
        'all',
        '--count',
        '1',
        '--play',
        '--server',
        served.server.url,
      ],
      {
        env: { PATH: path.join(served.tmp, 'no-bin') },
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(
      'imv: no audio player found (looked for pw-play, paplay, ffplay, mpv, opusdec | aplay; or set IMV_PLAYER); messages will not be played\n',
    );
    expect(result.stdout).toMatch(/^#\d+ .* complete\n$/);
  });

  it('plays each message with the IMV_PLAYER command, given the saved Ogg file', async () => {
    // "cp -t DIR" stands in for a player: it leaves behind exactly the file it was given.
    const played = path.join(served.tmp, 'played');
    await mkdir(played);
    const result = await runCli(
      [
        'listen',
        '--room',
        'misc',
        '--since',
        'all',
        '--count',
        '1',
        '--play',
        '--json',
        '--server',
        served.server.url,
      ],
      {
        env: { IMV_PLAYER: `cp -t ${played}` },
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const { id } = JSON.parse(result.stdout) as { id: number };
    expect(await readdir(played)).toEqual([`${id}.ogg`]);
    const match = compareOgg(soxSamples(clip), await readFile(path.join(played, `${id}.ogg`)));
    expect(match.correlation).toBeGreaterThanOrEqual(0.9);
  });

  it('stops listening on Ctrl-C with exit 0 and nothing on stderr', async () => {
    const listener = spawnCli([
      '--name',
      'ctrl-c',
      'listen',
      '--room',
      'misc',
      '--server',
      served.server.url,
    ]);
    await waitForMember(served.server.url, 'misc', 'ctrl-c');
    const result = await listener.stop('SIGINT');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('stops a real-time send on Ctrl-C, exits 130, and the server keeps what was sent', async () => {
    const observer = await ImvClient.connect(served.server.url, { name: 'observer' });
    try {
      await observer.join('interrupt');
      const firstFrames = new Promise<void>((resolve) => {
        let frames = 0;
        observer.on('frame', () => {
          if (++frames === 10) resolve();
        });
      });
      const sender = spawnCli([
        'send',
        fixturePath('speech-en-48k.wav'),
        '--room',
        'interrupt',
        '--server',
        served.server.url,
      ]);
      await firstFrames;
      const result = await sender.stop('SIGINT');
      expect(result.code, result.stderr).toBe(130);
      const id =
        /^sent message (\d+) to interrupt \((\d+\.\d\d) s, (\d+) frames, interrupted\)\n$/.exec(
          result.stdout,
        );
      expect(id, result.stdout).not.toBeNull();
      const frames = Number(id![3]);
      expect(frames).toBeGreaterThanOrEqual(10);
      expect(frames).toBeLessThan(370);
      const listed = await runCli([
        'history',
        '--room',
        'interrupt',
        '--json',
        '--server',
        served.server.url,
      ]);
      expect(JSON.parse(listed.stdout)).toMatchObject({
        id: Number(id![1]),
        frames,
        status: 'complete',
      });
    } finally {
      await observer.close();
    }
  });

  it('says so and exits 1 when the server cuts a message at its length limit, which stays stored', async () => {
    const strict = await startServe(path.join(served.tmp, 'data-strict'), {
      args: ['--max-message', '1'],
    });
    try {
      const long = path.join(served.tmp, 'long.wav');
      sox([fixturePath('speech-en-48k.wav'), long, 'trim', '0', '2']);
      const result = await runCli(['send', long, '--room', 'misc', '--server', strict.url]);
      expect(result.code).toBe(1);
      const id = /^sent message (\d+) to misc \(1\.00 s, 50 frames\)\n$/.exec(result.stdout)?.[1];
      expect(id, result.stdout).toBeDefined();
      expect(result.stderr).toMatch(
        new RegExp(
          `^imv: the server stopped message ${id} at 1\\.00 s: .* \\(MESSAGE_TOO_LONG\\)\n$`,
        ),
      );
      const listed = await runCli(['history', '--room', 'misc', '--json', '--server', strict.url]);
      expect(JSON.parse(listed.stdout)).toMatchObject({
        id: Number(id),
        durationMs: 1000,
        status: 'complete',
      });
    } finally {
      await strict.stop();
    }
  });

  it('refuses a --name the server would refuse, as a usage error', async () => {
    const result = await runCli([
      '--name',
      'x'.repeat(41),
      'history',
      '--room',
      'misc',
      '--server',
      served.server.url,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('imv: --name: name must be at most 40 characters\n');
  });

  it('prints the version, and usage errors exit 2', async () => {
    const version = await runCli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const noCommand = await runCli([]);
    expect(noCommand.code).toBe(2);
    expect(noCommand.stderr).toMatch(/Usage: imv/);
    const unknown = await runCli(['send', clip, '--room', 'misc', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--bogus'/);
  });
});
