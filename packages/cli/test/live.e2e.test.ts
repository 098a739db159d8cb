import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPUS_PRE_SKIP } from '@imv/protocol';
import { OpusFrameDecoder } from '@imv/media/node';
import { ImvClient } from '../src/client/imv-client.js';
import { compareSamples, sox, soxSamples } from './helpers/audio.js';
import { fixturePath } from '@imv/test-support';
import { servedTempDir, spawnCli } from '@imv/test-support/cli';

describe('imv send at real-time pace', () => {
  const served = servedTempDir('imv-cli-live-');

  it('relays audio frames to a listener while the send is still running, not after it is stored', async () => {
    const excerpt = path.join(served.tmp, 'excerpt.wav');
    sox([fixturePath('speech-fr-48k.wav'), excerpt, 'trim', '0', '2']);
    const listener = await ImvClient.connect(served.server.url, { name: 'live-ear' });
    try {
      await listener.join('live');
      const packets: Uint8Array[] = [];
      let sendRunningAtFirstFrame: boolean | undefined;
      let framesBeforeStored = -1;
      let stored = false;
      listener.on('message-stored', () => {
        stored = true;
        framesBeforeStored = packets.length;
      });

      const sender = spawnCli(['send', excerpt, '--room', 'live', '--server', served.server.url]);
      const arrivalsMs: number[] = [];
      listener.on('frame', (frame) => {
        arrivalsMs.push(performance.now());
        if (packets.length === 0) {
          sendRunningAtFirstFrame =
            sender.running && !sender.stdout.includes('sent message') && !stored;
        }
        packets.push(frame.payload.slice());
      });
      const result = await sender.exited;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^sent message \d+ to live \(2\.0\d s, \d+ frames\)$/m);

      // The first frame reached the listener while `imv send` was still talking.
      expect(sendRunningAtFirstFrame).toBe(true);
      // Every frame was relayed before the store acknowledged the message.
      expect(framesBeforeStored).toBe(packets.length);
      expect(packets.length).toBeGreaterThanOrEqual(100);
      // Paced, not burst: 2 s of audio cannot arrive in much less than 2 s. Only a lower bound, so a
      // slow machine cannot fail it; a sender that bursts (store-and-forward or --fast) would.
      expect(arrivalsMs.at(-1)! - arrivalsMs[0]!).toBeGreaterThanOrEqual(1500);

      const decoder = new OpusFrameDecoder();
      const pcm = packets.map((p) => decoder.decode(p));
      const joined = new Float32Array(pcm.reduce((n, p) => n + p.length, 0));
      pcm.reduce((at, p) => (joined.set(p, at), at + p.length), 0);
      const match = compareSamples(soxSamples(excerpt), joined.subarray(OPUS_PRE_SKIP));
      expect(match.correlation).toBeGreaterThanOrEqual(0.9);
    } finally {
      await listener.close();
    }
  });
});
