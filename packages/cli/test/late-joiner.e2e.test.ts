import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareOgg, sox, soxSamples } from './helpers/audio.js';
import { fixture, runCli } from './helpers/cli.js';
import { startServe } from './helpers/server.js';
import type { ServeProcess } from './helpers/server.js';

describe('imv listen --since all (late joiner)', () => {
  let tmp: string;
  let server: ServeProcess;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'imv-cli-late-'));
    server = await startServe(path.join(tmp, 'data'));
  });

  afterAll(async () => {
    await server?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('replays three messages sent before it joined, in order, saves them and exits 0', async () => {
    // Three different 1 s clips, so a mix-up between files would show in the correlation.
    const clips = [
      [fixture('speech-en-48k.wav'), '0.5'],
      [fixture('speech-fr-48k.wav'), '1'],
      [fixture('speech-en-48k.wav'), '4'],
    ].map(([source, start], i) => {
      const clip = path.join(tmp, `clip-${i}.wav`);
      sox([source!, clip, 'trim', start!, '1']);
      return clip;
    });
    const ids: number[] = [];
    for (const [i, clip] of clips.entries()) {
      const sent = await runCli([
        '--name',
        `talker-${i}`,
        'send',
        clip,
        '--room',
        'late',
        '--fast',
        '--server',
        server.url,
      ]);
      expect(sent.code, sent.stderr).toBe(0);
      ids.push(Number(/^sent message (\d+)/.exec(sent.stdout)![1]));
    }

    const outDir = path.join(tmp, 'inbox');
    const heard = await runCli(
      ['listen', '--room', 'late', '--since', 'all', '--count', '3', '--out', outDir],
      {
        env: { IMV_SERVER: server.url },
      },
    );
    expect(heard.code, heard.stderr).toBe(0);
    const lines = heard.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const [i, line] of lines.entries()) {
      expect(line).toMatch(
        new RegExp(
          `^#${ids[i]}  \\S+ \\S+  talker-${i}  1\\.0\\d s  complete  saved \\S+${ids[i]}\\.ogg$`,
        ),
      );
      const match = compareOgg(
        soxSamples(clips[i]!),
        await readFile(path.join(outDir, `${ids[i]}.ogg`)),
      );
      expect(match.correlation).toBeGreaterThanOrEqual(0.9);
    }
  });
});
