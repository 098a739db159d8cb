import { computePeaks } from './peaks.js';
import type { MessageAudio } from './message-audio.js';
import type { PeakCache } from './peak-cache.js';

/**
 * Computes each message's waveform once: download the .ogg, decodeAudioData (Chromium, Firefox and
 * Safari 17+ decode Ogg Opus), reduce to peaks, cache. Decodes run one at a time to keep the page
 * responsive on a phone.
 */
export class WaveformLoader {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly pending = new Map<string, Promise<number[] | undefined>>();

  constructor(
    private readonly context: BaseAudioContext,
    private readonly files: MessageAudio,
    private readonly cache: PeakCache,
    private readonly keyPrefix: string,
  ) {}

  /** Peaks for a message, or undefined when it cannot be decoded (the row then shows a flat line). */
  peaks(id: number): Promise<number[] | undefined> {
    const key = `${this.keyPrefix}${id}`;
    let job = this.pending.get(key);
    if (!job) {
      job = this.queue.then(() => this.compute(key, id));
      this.queue = job.catch(() => undefined);
      this.pending.set(key, job);
    }
    return job;
  }

  private async compute(key: string, id: number): Promise<number[] | undefined> {
    const cached = await this.cache.get(key);
    if (cached) return cached;
    try {
      const blob = await this.files.fetch(id);
      const audio = await this.context.decodeAudioData(await blob.arrayBuffer());
      const peaks = computePeaks(audio.getChannelData(0));
      await this.cache.set(key, peaks);
      return peaks;
    } catch {
      this.pending.delete(key); // let a later render try again
      return undefined;
    }
  }
}
