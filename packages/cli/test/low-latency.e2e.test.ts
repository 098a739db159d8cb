import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { OPUS_PRE_SKIP } from '@imv/protocol';
import type { TalkStarted, VoiceMessage } from '@imv/protocol';
import { opusPacketSamples } from '@imv/media';
import { OpusFrameDecoder } from '@imv/media/node';
import { ImvClient } from '../src/client/imv-client.js';
import { compareOgg, compareSamples, sox, soxSamples } from './helpers/audio.js';
import { fixturePath } from '@imv/test-support';
import { runCli, servedTempDir, spawnCli } from '@imv/test-support/cli';

const execFileAsync = promisify(execFile);

/** What one listener got of one stream: its talk-started, the live frames and the stored message. */
interface HeardTalk {
  started: TalkStarted;
  payloads: Uint8Array[];
  timestamps: number[];
  stored?: VoiceMessage;
}

/** Collects every talk of `room` by stream id, as a protocol client hears it live. */
async function overhear(server: string, room: string) {
  const client = await ImvClient.connect(server, { name: 'overhear' });
  const talks = new Map<number, HeardTalk>();
  client.on('talk-started', (started) => {
    talks.set(started.streamId, { started, payloads: [], timestamps: [] });
  });
  client.on('frame', (frame) => {
    const talk = talks.get(frame.streamId);
    if (talk === undefined || frame.payload.byteLength === 0) return;
    talk.payloads.push(frame.payload.slice());
    talk.timestamps.push(frame.timestamp);
  });
  client.on('message-stored', ({ streamId, message }) => {
    const talk = talks.get(streamId);
    if (talk !== undefined) talk.stored = message;
  });
  await client.join(room);
  /** The talk `name` gave, once its message-stored arrived here too (it may trail the talker's ack). */
  const storedTalkOf = async (name: string): Promise<HeardTalk> => {
    for (let i = 0; i < 100; i++) {
      const talk = [...talks.values()].find((t) => t.started.from.name === name);
      if (talk?.stored !== undefined) return talk;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no stored talk from ${name}`);
  };
  return { client, talks, storedTalkOf };
}

/** Decodes live packets in order and drops the encoder's pre-skip, as a player would. */
function decodeLive(payloads: Uint8Array[]): Float32Array {
  const decoder = new OpusFrameDecoder();
  const pcm = payloads.map((p) => decoder.decode(p));
  const joined = new Float32Array(pcm.reduce((n, p) => n + p.length, 0));
  pcm.reduce((at, p) => (joined.set(p, at), at + p.length), 0);
  return joined.subarray(OPUS_PRE_SKIP);
}

async function opusinfo(file: string): Promise<string> {
  const { stdout, stderr } = await execFileAsync('opusinfo', [file]);
  return stdout + stderr;
}

describe('imv send --frame-ms 10 (low latency)', () => {
  const served = servedTempDir('imv-cli-lowlat-');

  it('is heard live in 10 ms frames and stored as a 10 ms Ogg Opus that opusinfo passes', async () => {
    const excerpt = path.join(served.tmp, 'excerpt-en.wav');
    sox([fixturePath('speech-en-48k.wav'), excerpt, 'trim', '0', '2']);
    const source = soxSamples(excerpt);
    const ear = await overhear(served.server.url, 'quick');
    try {
      const sent = await runCli([
        '--server',
        served.server.url,
        '--name',
        'quick',
        'send',
        excerpt,
        '--room',
        'quick',
        '--frame-ms',
        '10',
        '--json',
      ]);
      expect(sent.code, sent.stderr).toBe(0);
      const result = JSON.parse(sent.stdout) as { id: number; durationMs: number; frames: number };

      const talk = await ear.storedTalkOf('quick');
      expect(talk.started.frameMs).toBe(10);
      expect(talk.stored).toMatchObject({ id: result.id, frameMs: 10 });
      // 2 s of audio plus the encoder's flush, in 10 ms frames.
      expect(talk.stored!.frameCount).toBeGreaterThanOrEqual(200);
      expect(talk.stored!.durationMs).toBe(talk.stored!.frameCount * 10);
      expect(talk.payloads.every((p) => opusPacketSamples(p) === 480)).toBe(true);
      expect(talk.timestamps).toEqual(talk.timestamps.map((_, i) => i * 480));
      const live = compareSamples(source, decodeLive(talk.payloads));
      expect(live.correlation).toBeGreaterThanOrEqual(0.9);

      const outDir = path.join(served.tmp, 'inbox-quick');
      const saved = await runCli([
        '--server',
        served.server.url,
        'listen',
        '--room',
        'quick',
        '--since',
        'all',
        '--count',
        '1',
        '--out',
        outDir,
      ]);
      expect(saved.code, saved.stderr).toBe(0);
      const file = path.join(outDir, `${result.id}.ogg`);
      const info = await opusinfo(file);
      expect(info).not.toMatch(/warning|error/i);
      expect(info).toMatch(/Packet duration: +10\.0ms \(max\), +10\.0ms \(avg\), +10\.0ms \(min\)/);
      const stored = compareOgg(source, await readFile(file));
      expect(stored.correlation).toBeGreaterThanOrEqual(0.9);
      expect(stored.lengthRatio).toBeGreaterThanOrEqual(1);
    } finally {
      await ear.client.close();
    }
  });

  it('carries a 10 ms and a 20 ms talker in one room at once, each heard and stored at its own frame size', async () => {
    const en = path.join(served.tmp, 'mixed-en.wav');
    const fr = path.join(served.tmp, 'mixed-fr.wav');
    sox([fixturePath('speech-en-48k.wav'), en, 'trim', '0', '2']);
    sox([fixturePath('speech-fr-48k.wav'), fr, 'trim', '0', '2']);
    const ear = await overhear(served.server.url, 'mixed');
    try {
      const send = (file: string, name: string, frameMs: string) =>
        spawnCli([
          '--server',
          served.server.url,
          '--name',
          name,
          'send',
          file,
          '--room',
          'mixed',
          '--frame-ms',
          frameMs,
        ]).exited;
      const [quick, plain] = await Promise.all([send(en, 'quick', '10'), send(fr, 'plain', '20')]);
      expect(quick.code, quick.stderr).toBe(0);
      expect(plain.code, plain.stderr).toBe(0);

      for (const [name, frameMs, file] of [
        ['quick', 10, en],
        ['plain', 20, fr],
      ] as const) {
        const talk = await ear.storedTalkOf(name);
        expect(talk.started.frameMs).toBe(frameMs);
        expect(talk.stored).toMatchObject({ frameMs });
        expect(talk.stored!.durationMs).toBe(talk.stored!.frameCount * frameMs);
        expect(talk.payloads.every((p) => opusPacketSamples(p) === frameMs * 48)).toBe(true);
        const live = compareSamples(soxSamples(file), decodeLive(talk.payloads));
        expect(live.correlation, name).toBeGreaterThanOrEqual(0.9);
      }
    } finally {
      await ear.client.close();
    }
  });

  it('refuses a frame duration other than 10 or 20 before connecting', async () => {
    const result = await runCli([
      '--server',
      served.server.url,
      'send',
      fixturePath('speech-en-48k.wav'),
      '--room',
      'quick',
      '--frame-ms',
      '15',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("option '--frame-ms <ms>' argument '15' is invalid");
    expect(result.stderr).toContain('expected 10 or 20 (milliseconds).');
  });
});
