/*
 * Playback processor 'imv-playback': one JitterBuffer per live stream, fed by the worker with
 * decoded frames over a MessagePort; every render quantum reads each buffer, sums the streams and
 * soft-clips the mix, so two talkers are heard at once. Arrival times use this scope's render clock,
 * the same clock that drains the buffers.
 */
import { SAMPLE_RATE_HZ } from '@imv/protocol/wire';
import { meterLevel, softClip } from '../levels.js';
import { JitterBuffer } from './jitter-buffer.js';
import type { JitterBufferOptions } from './jitter-buffer.js';
import type {
  FromPlaybackWorklet,
  PlaybackInput,
  PlaybackStats,
  PlaybackWorkletOptions,
  ToPlaybackWorklet,
} from '../engine-messages.js';

declare const currentFrame: number;
declare const currentTime: number;

/** Render quanta between level messages: 19 × 128 samples ≈ 50 ms. */
const QUANTA_PER_LEVEL = 19;

interface LiveStream {
  buffer: JitterBuffer;
  announced: boolean;
  levelSum: number;
  levelSamples: number;
}

class PlaybackProcessor extends AudioWorkletProcessor {
  private readonly streams = new Map<number, LiveStream>();
  private readonly jitter: JitterBufferOptions;
  private muted = false;
  private scratch = new Float32Array(128);
  private quanta = 0;
  private readonly totals: PlaybackStats['totals'] = {
    underruns: 0,
    concealed: 0,
    lateDropped: 0,
    duplicates: 0,
    played: 0,
    driftDroppedSamples: 0,
    driftInsertedSamples: 0,
    skipped: 0,
    silentSkipped: 0,
  };

  constructor(options: AudioWorkletNodeOptions) {
    super();
    const opts = (options.processorOptions ?? {}) as PlaybackWorkletOptions;
    this.jitter = { sampleRateHz: SAMPLE_RATE_HZ, ...opts.jitter };
    this.port.onmessage = (event: MessageEvent<ToPlaybackWorklet>) => {
      const msg = event.data;
      if (msg.type === 'connect-worker') {
        msg.port.onmessage = (e: MessageEvent<PlaybackInput>) => this.onInput(e.data);
      } else if (msg.type === 'mute') {
        this.muted = msg.muted;
      } else {
        this.post({ type: 'stats', id: msg.id, stats: this.stats() });
      }
    };
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const out = outputs[0]?.[0];
    if (out === undefined) return true;
    out.fill(0);
    if (this.streams.size === 0) return true;
    if (this.scratch.length !== out.length) this.scratch = new Float32Array(out.length);
    const scratch = this.scratch;
    for (const [streamId, stream] of this.streams) {
      stream.buffer.read(scratch);
      let sum = 0;
      for (let i = 0; i < out.length; i++) {
        const s = scratch[i]!;
        out[i]! += s;
        sum += s * s;
      }
      stream.levelSum += sum;
      stream.levelSamples += out.length;
      if (!stream.announced && stream.buffer.started) {
        stream.announced = true;
        this.post({ type: 'stream-playing', streamId, frame: currentFrame });
      }
      if (stream.buffer.finished) this.finish(streamId, stream);
    }
    for (let i = 0; i < out.length; i++) out[i] = this.muted ? 0 : softClip(out[i]!);
    if (++this.quanta >= QUANTA_PER_LEVEL) {
      this.quanta = 0;
      const levels: [number, number][] = [];
      for (const [streamId, s] of this.streams) {
        levels.push([streamId, meterLevel(Math.sqrt(s.levelSum / Math.max(1, s.levelSamples)))]);
        s.levelSum = 0;
        s.levelSamples = 0;
      }
      if (levels.length > 0) this.post({ type: 'levels', levels });
    }
    return true;
  }

  private onInput(msg: PlaybackInput): void {
    if (msg.type === 'frame') {
      let stream = this.streams.get(msg.streamId);
      if (stream === undefined) {
        stream = {
          // A stream's frame size (20 or 10 ms) is that of its packets, which the first one shows:
          // the buffer's target and windows follow it.
          buffer: new JitterBuffer({ frameSamples: msg.pcm.length, ...this.jitter }),
          announced: false,
          levelSum: 0,
          levelSamples: 0,
        };
        this.streams.set(msg.streamId, stream);
      }
      stream.buffer.push(msg.sequence, msg.pcm, currentTime * 1000);
    } else {
      const stream = this.streams.get(msg.streamId);
      stream?.buffer.end();
      if (stream?.buffer.finished === true) this.finish(msg.streamId, stream);
    }
  }

  private finish(streamId: number, stream: LiveStream): void {
    this.streams.delete(streamId);
    const stats = stream.buffer.stats();
    for (const key of Object.keys(this.totals) as (keyof PlaybackStats['totals'])[]) {
      this.totals[key] += stats[key];
    }
    this.post({ type: 'stream-finished', streamId, stats });
  }

  private stats(): PlaybackStats {
    const streams = [...this.streams].map(([streamId, s]) => ({ streamId, ...s.buffer.stats() }));
    const totals = { ...this.totals };
    for (const s of streams) {
      for (const key of Object.keys(totals) as (keyof PlaybackStats['totals'])[])
        totals[key] += s[key];
    }
    return { streams, totals };
  }

  private post(msg: FromPlaybackWorklet): void {
    this.port.postMessage(msg);
  }
}

registerProcessor('imv-playback', PlaybackProcessor);
