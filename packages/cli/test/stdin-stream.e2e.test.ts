import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ImvClient } from '../src/client/imv-client.js';
import { compareOgg, sox, soxSamples } from './helpers/audio.js';
import { fixturePath } from '@imv/test-support';
import { servedTempDir, spawnCli } from '@imv/test-support/cli';
import type { CliProcess } from '@imv/test-support/cli';

/** A 44-byte PCM WAV header as a streaming writer (arecord, sox to a pipe) leaves it: sizes unknown. */
function streamingWavHeader(
  sampleRate: number,
  channels: number,
  dataSize = 0xffffffff,
): Uint8Array {
  const header = new Uint8Array(44);
  const view = new DataView(header.buffer);
  header.set(Buffer.from('RIFF'), 0);
  view.setUint32(4, 0xffffffff, true);
  header.set(Buffer.from('WAVEfmt '), 8);
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * channels * 2, true);
  view.setUint16(32, channels * 2, true);
  view.setUint16(34, 16, true);
  header.set(Buffer.from('data'), 36);
  view.setUint32(40, dataSize, true);
  return header;
}

async function history(server: string, room: string): Promise<unknown[]> {
  const response = await fetch(`${server}/api/rooms/${room}/messages`);
  if (!response.ok) throw new Error(`history of ${room}: HTTP ${response.status}`);
  return ((await response.json()) as { messages: unknown[] }).messages;
}

describe('imv send - streams a WAV from stdin as it arrives', () => {
  const served = servedTempDir('imv-cli-stdin-');
  const running: CliProcess[] = [];

  afterEach(async () => {
    for (const p of running.splice(0)) await p.stop('SIGKILL');
  });

  it('sends the first frame before stdin is closed, and stores the whole stream (44.1 kHz, data size 0xFFFFFFFF)', async () => {
    const rateHz = 44_100;
    const raw = path.join(served.tmp, 'speech-44k.raw');
    sox([
      fixturePath('speech-en-48k.wav'),
      '-t',
      's16',
      '-r',
      String(rateHz),
      '-c',
      '1',
      raw,
      'trim',
      '0',
      '3',
    ]);
    const pcm = await readFile(raw);
    const fed48k = soxSamples(fixturePath('speech-en-48k.wav'), ['trim', '0', '3']);

    const observer = await ImvClient.connect(served.server.url, { name: 'observer' });
    try {
      await observer.join('stream');
      let chunksWritten = 0;
      let stdinClosed = false;
      let closedAtFirstFrame: boolean | undefined;
      let chunksAtFirstFrame = 0;
      const firstFrame = new Promise<void>((resolve) => {
        observer.on('frame', () => {
          if (closedAtFirstFrame === undefined) {
            closedAtFirstFrame = stdinClosed;
            chunksAtFirstFrame = chunksWritten;
            resolve();
          }
        });
      });

      const sender = spawnCli(['send', '-', '--room', 'stream', '--server', served.server.url], {
        openStdin: true,
      });
      running.push(sender);
      sender.child.stdin.write(streamingWavHeader(rateHz, 1));
      // 100 ms of audio every 100 ms, like a recorder.
      const chunkBytes = (rateHz / 10) * 2;
      for (let at = 0; at < pcm.length; at += chunkBytes) {
        sender.child.stdin.write(pcm.subarray(at, at + chunkBytes));
        chunksWritten++;
        await sleep(100);
      }
      stdinClosed = true;
      sender.child.stdin.end();
      await firstFrame;
      const result = await sender.exited;

      expect(result.code, result.stderr).toBe(0);
      expect(closedAtFirstFrame).toBe(false);
      expect(chunksAtFirstFrame).toBeLessThan(chunksWritten);
      const id = /^sent message (\d+) to stream \((\d+\.\d\d) s, \d+ frames\)\n$/.exec(
        result.stdout,
      )?.[1];
      expect(id, result.stdout).toBeDefined();
      const ogg = new Uint8Array(
        await (
          await fetch(`${served.server.url}/api/rooms/stream/messages/${id}.ogg`)
        ).arrayBuffer(),
      );
      const match = compareOgg(fed48k, ogg);
      expect(match.correlation).toBeGreaterThanOrEqual(0.9);
      expect(match.lengthRatio).toBeGreaterThan(0.95);
      expect(match.lengthRatio).toBeLessThan(1.05);
    } finally {
      await observer.close();
    }
  });

  it('paces a stdin that delivers faster than real time (cat file.wav |) under the rate limit, and stores it whole', async () => {
    // 5 s is 250 frames: more than the server's burst (150), so an unpaced send would be RATE_LIMITED.
    const clip = path.join(served.tmp, 'clip.wav');
    sox([fixturePath('speech-fr-48k.wav'), clip, 'trim', '0', '5']);
    const bytes = await readFile(clip);
    const sender = spawnCli(
      ['send', '-', '--room', 'stream', '--fast', '--json', '--server', served.server.url],
      { input: bytes },
    );
    running.push(sender);
    const result = await sender.exited;
    expect(result.code, result.stderr).toBe(0);
    const { id, frames } = JSON.parse(result.stdout) as { id: number; frames: number };
    expect(result.stderr).toBe('');
    expect(frames).toBeGreaterThanOrEqual(250);
    const ogg = new Uint8Array(
      await (await fetch(`${served.server.url}/api/rooms/stream/messages/${id}.ogg`)).arrayBuffer(),
    );
    const match = compareOgg(soxSamples(clip), ogg);
    expect(match.correlation).toBeGreaterThanOrEqual(0.9);
    expect(match.lengthRatio).toBeGreaterThan(0.95);
    expect(match.lengthRatio).toBeLessThan(1.05);
  });

  it.each([
    [
      'a WAV header then garbage where the chunks should be',
      Buffer.concat([
        Buffer.from('RIFF\xff\xff\xff\xffWAVE', 'latin1'),
        Buffer.from('\x01\x02garbage-that-is-no-chunk', 'latin1'),
      ]),
      /^imv: cannot read stdin: .*'data'.*\n$/,
    ],
    [
      'a format chunk with 0 channels',
      (() => {
        const h = streamingWavHeader(48_000, 1);
        new DataView(h.buffer).setUint16(22, 0, true);
        return Buffer.concat([h, Buffer.alloc(9600)]);
      })(),
      /^imv: cannot read stdin: WAV file has 0 channels; 1 to 8 are supported\n$/,
    ],
    [
      'a header and no audio',
      Buffer.from(streamingWavHeader(48_000, 1)),
      /^imv: cannot read stdin: it holds no audio samples\n$/,
    ],
  ])('refuses %s with one clear line and stores nothing', async (_name, input, message) => {
    const room = `bad-${Math.random().toString(36).slice(2, 8)}`;
    const sender = spawnCli(['send', '-', '--room', room, '--server', served.server.url], {
      input,
    });
    running.push(sender);
    const result = await sender.exited;
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(await history(served.server.url, room)).toEqual([]);
  });
});
