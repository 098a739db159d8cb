import type { VoiceMessage } from '@imv/protocol';
import { computePeaks } from './peaks.js';
import type { MessageAudio } from './message-audio.js';
import type { PeakCache } from './peak-cache.js';

/** Peaks need no more than this; decoding at 8 kHz keeps a 5-minute message at 9.6 MB, not 58 MB. */
const PEAKS_SAMPLE_RATE_HZ = 8000;

/**
 * Computes each message's waveform once: download the .ogg, decodeAudioData (Chromium, Firefox and
 * Safari 17+ decode Ogg Opus), reduce to peaks, cache. Decodes run one at a time, on an offline
 * context at a low rate, to keep the page responsive on a phone.
 */
export class WaveformLoader {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly pending = new Map<string, Promise<number[] | undefined>>();
  private decoder: BaseAudioContext | undefined;

  constructor(
    private readonly files: MessageAudio,
    private readonly cache: PeakCache,
    private readonly keyPrefix: string,
  ) {}

  /** Peaks for a message, or undefined when it cannot be decoded (the row then shows a flat line). */
  peaks(message: VoiceMessage): Promise<number[] | undefined> {
    const key = `${this.keyPrefix}${message.id}`;
    let job = this.pending.get(key);
    if (!job) {
      job = this.queue.then(() => this.compute(key, message));
      this.queue = job.catch(() => undefined);
      this.pending.set(key, job);
    }
    return job;
  }

  private async compute(key: string, message: VoiceMessage): Promise<number[] | undefined> {
    const cached = await this.cache.get(key);
    if (cached) return cached;
    try {
      const blob = await this.files.fetch(message);
      this.decoder ??= new OfflineAudioContext(1, 1, PEAKS_SAMPLE_RATE_HZ);
      const audio = await this.decoder.decodeAudioData(await blob.arrayBuffer());
      const peaks = computePeaks(audio.getChannelData(0));
      await this.cache.set(key, peaks);
      return peaks;
    } catch {
      this.pending.delete(key); // let a later render try again
      return undefined;
    }
  }
}
