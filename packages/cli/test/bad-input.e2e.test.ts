import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareOgg, sox, soxSamples } from './helpers/audio.js';
import { fixturePath } from '@imv/test-support';
import { runCli, servedTempDir } from '@imv/test-support/cli';

describe('imv send with files it cannot read', () => {
  const served = servedTempDir('imv-cli-bad-');
  let clip: string;

  beforeAll(() => {
    clip = path.join(served.tmp, 'clip.wav');
    sox([fixturePath('speech-en-48k.wav'), clip, 'trim', '0.5', '2']);
  });

  async function storedIds(): Promise<number[]> {
    const response = await fetch(`${served.server.url}/api/rooms/bad/messages?limit=200`);
    const body = (await response.json()) as { messages: { id: number }[] };
    return body.messages.map((m) => m.id);
  }

  const cases: { name: string; make: (file: string) => Promise<void>; error: RegExp }[] = [
    {
      name: 'random bytes',
      make: (file) => writeFile(file, randomBytes(4096)),
      error:
        /^imv: cannot read \S+: unsupported audio file: expected WAV \('RIFF'\) or Ogg Opus \('OggS'\), but it starts with [0-9a-f ]+ \(.*\)\n$/,
    },
    {
      name: 'an MS ADPCM WAV',
      make: (file) => Promise.resolve(sox([clip, '-e', 'ms-adpcm', file])),
      error:
        /^imv: cannot read \S+: unsupported WAV codec ADPCM \(0x0002\); convert it to PCM first.*\n$/,
    },
    {
      name: 'an IMA ADPCM WAV',
      make: (file) => Promise.resolve(sox([clip, '-e', 'ima-adpcm', file])),
      error: /^imv: cannot read \S+: unsupported WAV codec IMA ADPCM \(0x0011\).*\n$/,
    },
    {
      name: 'an empty file',
      make: (file) => writeFile(file, new Uint8Array(0)),
      error: /^imv: cannot read \S+: the file is empty\n$/,
    },
    {
      name: 'a file that does not exist',
      make: () => Promise.resolve(),
      error: /^imv: cannot read \S+: no such file\n$/,
    },
  ];

  it.each(cases)(
    'refuses $name with one clear line, exit 1, and stores nothing',
    async ({ name, make, error }) => {
      const file = path.join(served.tmp, `${name.replace(/\W+/g, '-')}.wav`);
      await make(file);
      const before = await storedIds();
      const result = await runCli(['send', file, '--room', 'bad', '--server', served.server.url]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(error);
      expect(result.stderr).toContain(file);
      // talk-start creates the message row, so an unchanged list shows that nothing was sent.
      expect(await storedIds()).toEqual(before);
    },
  );

  it('sends what a truncated WAV holds, with a warning on stderr', async () => {
    const whole = await readFile(clip);
    const file = path.join(served.tmp, 'truncated.wav');
    // The 44-byte header and the first 0.75 s of the 2 s clip.
    const keptBytes = 44 + 48_000 * 2 * 0.75;
    await writeFile(file, whole.subarray(0, keptBytes));
    const result = await runCli([
      'send',
      file,
      '--room',
      'bad',
      '--fast',
      '--json',
      '--server',
      served.server.url,
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^imv: warning: \S+truncated\.wav: .*truncated.*\n$/);
    const stored = JSON.parse(result.stdout) as { id: number; durationMs: number };
    expect(stored.durationMs).toBeGreaterThanOrEqual(700);
    expect(stored.durationMs).toBeLessThanOrEqual(820);
    const response = await fetch(`${served.server.url}/api/rooms/bad/messages/${stored.id}.ogg`);
    const reference = soxSamples(clip).subarray(0, 48_000 * 0.75);
    expect(
      compareOgg(reference, new Uint8Array(await response.arrayBuffer())).correlation,
    ).toBeGreaterThanOrEqual(0.9);
  });

  it('still sends a valid file after the refusals', async () => {
    const before = await storedIds();
    const result = await runCli([
      'send',
      clip,
      '--room',
      'bad',
      '--fast',
      '--server',
      served.server.url,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const id = Number(/^sent message (\d+) to bad/.exec(result.stdout)?.[1]);
    expect(await storedIds()).toEqual([...before, id]);
  });

  it('says when the server cannot be reached, exit 1', async () => {
    const result = await runCli(['send', clip, '--room', 'bad', '--server', 'http://127.0.0.1:9']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'imv: cannot reach imv server at http://127.0.0.1:9 (ECONNREFUSED)\n',
    );
  });

  it('rejects an invalid room name as a usage error, exit 2', async () => {
    const result = await runCli([
      'send',
      clip,
      '--room',
      'Not A Room',
      '--server',
      served.server.url,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/option '-r, --room <room>' argument 'Not A Room' is invalid/);
  });
});
