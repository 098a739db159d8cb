import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareOgg, sox, soxSamples } from './helpers/audio.js';
import { fixturePath } from '@imv/test-support';
import { runCli, servedTempDir } from '@imv/test-support/cli';

describe('imv listen --since all (late joiner)', () => {
  const served = servedTempDir('imv-cli-late-');

  it('replays three messages sent before it joined, in order, saves them and exits 0', async () => {
    // Three different 1 s clips, so a mix-up between files would show in the correlation.
    const clips = [
      [fixturePath('speech-en-48k.wav'), '0.5'],
      [fixturePath('speech-fr-48k.wav'), '1'],
      [fixturePath('speech-en-48k.wav'), '4'],
    ].map(([source, start], i) => {
      const clip = path.join(served.tmp, `clip-${i}.wav`);
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
        served.server.url,
      ]);
      expect(sent.code, sent.stderr).toBe(0);
      ids.push(Number(/^sent message (\d+)/.exec(sent.stdout)![1]));
    }

    const outDir = path.join(served.tmp, 'inbox');
    const heard = await runCli(
      ['listen', '--room', 'late', '--since', 'all', '--count', '3', '--out', outDir],
      {
        env: { IMV_SERVER: served.server.url },
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
