import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAME_HEADER_LEN, FRAME_SAMPLES } from '@imv/protocol';
import { readOggOpus } from '@imv/media';
import { OpusFrameDecoder } from '@imv/media/node';
import { splitFrames } from '../src/client/rest.js';
import { compareOgg, compareSamples, soxSamples } from './helpers/audio.js';
import { waitForMember } from './helpers/observer.js';
import { fixturePath } from '@imv/test-support';
import { runCli, spawnCli, startServe } from '@imv/test-support/cli';
import type { CliProcess, ServeProcess } from '@imv/test-support/cli';

const speechEn = fixturePath('speech-en-48k.wav');
const PASSPHRASE = 'correct horse battery staple';

/**
 * Decodes each packet as Opus on its own terms (a packet libopus refuses counts as 20 ms of
 * silence) and says how much the result sounds like `reference`: what a relay or a thief holding
 * the bytes would hear.
 */
function hearPackets(reference: Float32Array, packets: readonly Uint8Array[]): number {
  const decoder = new OpusFrameDecoder();
  const out = new Float32Array(packets.length * FRAME_SAMPLES);
  packets.forEach((packet, i) => {
    try {
      out.set(decoder.decode(packet).subarray(0, FRAME_SAMPLES), i * FRAME_SAMPLES);
    } catch {
      // Not Opus at all: silence.
    }
  });
  return compareSamples(reference, out).correlation;
}

describe('end-to-end encrypted room (imv send/listen --passphrase)', () => {
  let tmp: string;
  let dataDir: string;
  let server: ServeProcess;
  let reference: Float32Array;
  let messageId: number;
  let heardFile: string;
  const running: CliProcess[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'imv-cli-e2e-room-'));
    dataDir = path.join(tmp, 'data');
    server = await startServe(dataDir);
    reference = soxSamples(speechEn);
  });

  afterAll(async () => {
    for (const p of running) await p.stop();
    await server?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  function listen(name: string, args: string[]): CliProcess {
    const p = spawnCli([
      '--server',
      server.url,
      '--name',
      name,
      'listen',
      '--room',
      'vault',
      '--count',
      '1',
      ...args,
    ]);
    running.push(p);
    return p;
  }

  it('round-trips speech between two clients with the passphrase; a wrong passphrase writes nothing', async () => {
    const goodOut = path.join(tmp, 'good');
    const wrongOut = path.join(tmp, 'wrong');
    const good = listen('good', ['--out', goodOut, '--json', '--passphrase', PASSPHRASE]);
    const wrong = listen('wrong', ['--out', wrongOut, '--passphrase', 'not the passphrase']);
    await waitForMember(server.url, 'vault', 'good');
    await waitForMember(server.url, 'vault', 'wrong');

    // The passphrase from the environment, as a script would give it.
    const sent = await runCli(
      [
        '--server',
        server.url,
        '--name',
        'alice',
        'send',
        speechEn,
        '--room',
        'vault',
        '--fast',
        '--json',
      ],
      {
        env: { IMV_PASSPHRASE: PASSPHRASE },
      },
    );
    expect(sent.code, sent.stderr).toBe(0);
    const result = JSON.parse(sent.stdout) as { id: number; encrypted: boolean; frames: number };
    expect(result).toMatchObject({ encrypted: true, frames: 370 });
    messageId = result.id;

    const heard = await good.exited;
    expect(heard.code, heard.stderr).toBe(0);
    const line = JSON.parse(heard.stdout) as { id: number; path: string; encrypted: boolean };
    expect(line).toMatchObject({ id: messageId, encrypted: true });
    heardFile = line.path;
    const match = compareOgg(reference, await readFile(heardFile));
    expect(match.correlation).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs(match.lengthRatio - 1)).toBeLessThanOrEqual(0.05);

    const refused = await wrong.exited;
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `imv: message ${messageId}: cannot decrypt this room's audio — check the passphrase\n`,
    );
    expect(refused.stdout).toMatch(
      new RegExp(
        `^#${messageId} .* complete e2e  cannot decrypt this room's audio — check the passphrase\\n$`,
      ),
    );
    expect(await readdir(wrongOut)).toEqual([]);
  });

  it('decrypts a stored message replayed later, from the server-side frames', async () => {
    const out = path.join(tmp, 'replay');
    const replay = await listen('later', [
      '--since',
      'all',
      '--out',
      out,
      '--passphrase',
      PASSPHRASE,
    ]).exited;
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toContain(`saved ${path.join(out, `${messageId}.ogg`)}`);
    expect(
      compareOgg(reference, await readFile(path.join(out, `${messageId}.ogg`))).correlation,
    ).toBeGreaterThanOrEqual(0.9);
  });

  it('without --passphrase says the message is end-to-end encrypted, saves nothing and exits 1', async () => {
    const out = path.join(tmp, 'nopass');
    const replay = await listen('nopass', ['--since', 'all', '--out', out]).exited;
    expect(replay.code).toBe(1);
    expect(replay.stderr).toBe(
      `imv: message ${messageId}: end-to-end encrypted: pass --passphrase to decrypt it\n`,
    );
    expect(await readdir(out)).toEqual([]);

    const table = await runCli(['--server', server.url, 'history', '--room', 'vault']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/STATUS\s+E2E\n/);
    expect(table.stdout).toMatch(new RegExp(`${messageId}\\s+alice .* complete\\s+e2e\\n$`));
  });

  it('leaves the server nothing to hear: not in SQLite, not in the .frames download, and no .ogg export', async () => {
    // The analysis hears the plaintext packets, so a leak would show.
    expect(
      hearPackets(reference, readOggOpus(await readFile(heardFile)).packets),
    ).toBeGreaterThanOrEqual(0.9);

    const db = new Database(path.join(dataDir, 'imv.sqlite'), {
      readonly: true,
      fileMustExist: true,
    });
    let stored: Uint8Array[];
    try {
      stored = (
        db
          .prepare('SELECT payload FROM frames WHERE message_id = ? ORDER BY seq')
          .all(messageId) as { payload: Buffer }[]
      ).map((row) => new Uint8Array(row.payload));
    } finally {
      db.close();
    }
    expect(stored.length).toBe(370);
    expect(Math.abs(hearPackets(reference, stored))).toBeLessThan(0.2);

    const frames = await fetch(`${server.url}/api/rooms/vault/messages/${messageId}.frames`);
    expect(frames.status).toBe(200);
    const downloaded = splitFrames(new Uint8Array(await frames.arrayBuffer()));
    expect(downloaded.length).toBe(370);
    expect(
      Math.abs(
        hearPackets(
          reference,
          downloaded.map((f) => f.subarray(FRAME_HEADER_LEN)),
        ),
      ),
    ).toBeLessThan(0.2);

    const ogg = await fetch(`${server.url}/api/rooms/vault/messages/${messageId}.ogg`);
    expect(ogg.status).toBeGreaterThanOrEqual(400);
    expect(ogg.headers.get('content-type')).not.toMatch(/ogg/);
  });
});
