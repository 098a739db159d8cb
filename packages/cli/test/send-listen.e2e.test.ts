import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { compareOgg, compareSamples, soxSamples } from './helpers/audio.js';
import { waitForMember } from './helpers/observer.js';
import { fixturePath } from '@imv/test-support';
import { runCli, servedTempDir, spawnCli } from '@imv/test-support/cli';

const execFileAsync = promisify(execFile);
const speechEn = fixturePath('speech-en-48k.wav');

describe('imv send to a running imv listen', () => {
  const served = servedTempDir('imv-cli-e2e-');
  let messageId: number;
  let listenerFile: string;

  it('delivers the message to the listener, which saves an Ogg Opus file that decodes to the source', async () => {
    const outDir = path.join(served.tmp, 'inbox');
    const listener = spawnCli(
      ['--name', 'ears', 'listen', '--room', 'crew', '--out', outDir, '--count', '1', '--json'],
      {
        env: { IMV_SERVER: served.server.url },
      },
    );
    try {
      await waitForMember(served.server.url, 'crew', 'ears');
    } catch (error) {
      await listener.stop();
      throw error;
    }
    const sent = await runCli([
      '--server',
      served.server.url,
      '--name',
      'alice',
      'send',
      speechEn,
      '--room',
      'crew',
      '--fast',
    ]);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    const match = sent.stdout.match(
      /^sent message (\d+) to crew \((\d+\.\d\d) s, (\d+) frames\)\n$/,
    );
    expect(match, sent.stdout).not.toBeNull();
    messageId = Number(match![1]);

    const heard = await listener.exited;
    expect(heard.code, heard.stderr).toBe(0);
    const lines = heard.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as {
      id: number;
      sender: string;
      status: string;
      path: string;
      replayed: boolean;
    };
    expect(line).toMatchObject({
      id: messageId,
      sender: 'alice',
      status: 'complete',
      replayed: false,
    });
    listenerFile = line.path;
    expect(listenerFile).toBe(path.join(outDir, `${messageId}.ogg`));

    const result = compareOgg(soxSamples(speechEn), await readFile(listenerFile));
    expect(result.correlation).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs(result.lengthRatio - 1)).toBeLessThanOrEqual(0.05);
  });

  it('serves the same message over REST as Ogg Opus that decodes to the source', async () => {
    const response = await fetch(`${served.server.url}/api/rooms/crew/messages/${messageId}.ogg`);
    expect(response.status).toBe(200);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const result = compareOgg(soxSamples(speechEn), bytes);
    expect(result.correlation).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs(result.lengthRatio - 1)).toBeLessThanOrEqual(0.05);
  });

  it('saves a file that opusinfo accepts without warnings and opusdec decodes', async () => {
    const info = await execFileAsync('opusinfo', [listenerFile]);
    expect(`${info.stdout}${info.stderr}`).not.toMatch(/WARNING/i);
    expect(info.stdout).toMatch(/Channels: 1/);
    const wavOut = path.join(served.tmp, 'opusdec.wav');
    await execFileAsync('opusdec', ['--quiet', '--rate', '48000', listenerFile, wavOut]);
    const result = compareSamples(soxSamples(speechEn), soxSamples(wavOut));
    expect(result.correlation).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs(result.lengthRatio - 1)).toBeLessThanOrEqual(0.05);
  });

  it('lists the message in imv history with id, sender, duration and status', async () => {
    const table = await runCli(['history', '--room', 'crew', '--server', served.server.url]);
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+SENDER\s+STARTED\s+DURATION\s+STATUS$/);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(
      new RegExp(
        `^\\s*${messageId}\\s+alice\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+7\\.40 s\\s+complete$`,
      ),
    );

    const json = await runCli([
      'history',
      '--room',
      'crew',
      '--json',
      '--server',
      served.server.url,
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      id: messageId,
      sender: 'alice',
      durationMs: 7400,
      status: 'complete',
    });
  });
});
