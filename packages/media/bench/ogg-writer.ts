/*
 * writeOggOpus against mediabunny's Ogg muxer on the speech fixture's packets (7.37 s, 370 packets of 20 ms).
 * Run: npx tsx packages/media/bench/ogg-writer.ts
 */
import { readFileSync } from 'node:fs';
import {
  BufferTarget,
  EncodedAudioPacketSource,
  EncodedPacket,
  OggOutputFormat,
  Output,
} from 'mediabunny';
import { fixturePath } from '@imv/test-support';
import { buildOpusHead, readWav, writeOggOpus } from '../src/index.js';
import { OpusFrameEncoder } from '../src/node/index.js';

const speech = readWav(readFileSync(fixturePath('speech-en-48k.wav'))).samples;
const packets = new OpusFrameEncoder().encode(speech);
const opusHead = buildOpusHead({ preSkip: 312 });

async function muxWithMediabunny(): Promise<Uint8Array> {
  const output = new Output({ format: new OggOutputFormat(), target: new BufferTarget() });
  const source = new EncodedAudioPacketSource('opus');
  output.addAudioTrack(source);
  await output.start();
  for (let i = 0; i < packets.length; i++) {
    const packet = new EncodedPacket(packets[i]!, 'key', i * 0.02, 0.02);
    await source.add(
      packet,
      i === 0
        ? {
            decoderConfig: {
              codec: 'opus',
              sampleRate: 48_000,
              numberOfChannels: 1,
              description: opusHead,
            },
          }
        : undefined,
    );
  }
  await output.finalize();
  return new Uint8Array(output.target.buffer!);
}

async function measure(name: string, run: () => Promise<Uint8Array> | Uint8Array): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < 20; i++) bytes = (await run()).length; // warm-up
  const iterations = 300;
  const start = performance.now();
  for (let i = 0; i < iterations; i++) await run();
  const seconds = (performance.now() - start) / 1000;
  const packetsPerSecond = (iterations * packets.length) / seconds;
  console.log(
    `${name.padEnd(12)} ${Math.round(packetsPerSecond).toLocaleString('en-US').padStart(12)} packets/s  (${bytes} B file)`,
  );
  return packetsPerSecond;
}

const ours = await measure('imv', () =>
  writeOggOpus(packets, { sampleCount: speech.length, serial: 1 }),
);
const theirs = await measure('mediabunny', muxWithMediabunny);
console.log(`ratio imv / mediabunny: ${(ours / theirs).toFixed(1)}x`);
