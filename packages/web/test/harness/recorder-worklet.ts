/*
 * Test tap 'imv-recorder': copies its (mono) input and posts it to the main thread in ~100 ms
 * chunks, each with the AudioContext frame of its first sample, so a test can place what was heard
 * on the context's clock. Used by harness.html only; the app never records its output.
 *
 * Chromium does not call process() for every render quantum: a tap with nothing connected to its
 * input may stop being rendered after a few quanta and resume when a source connects (the latency
 * bench's mic tap skipped 1408 or 1920 frames before the microphone opened, some runs none). The
 * skipped frames are recorded as zeros, so sample i of a recording is always frame startFrame + i;
 * without that, everything recorded after the hole sat 30-50 ms early on the context clock.
 */
declare const currentFrame: number;

const CHUNK_SAMPLES = 4800;

export interface RecorderChunk {
  frame: number;
  pcm: Float32Array;
}

class RecorderProcessor extends AudioWorkletProcessor {
  private chunk = new Float32Array(CHUNK_SAMPLES);
  private fill = 0;
  private chunkFrame = 0;
  /** The frame after the last one recorded; null before the first quantum. */
  private nextFrame: number | null = null;

  process(inputs: Float32Array[][]): boolean {
    const input = inputs[0]?.[0];
    const length = input?.length ?? 128;
    if (this.nextFrame !== null && currentFrame > this.nextFrame)
      this.record(undefined, currentFrame - this.nextFrame, this.nextFrame);
    this.record(input, length, currentFrame);
    this.nextFrame = currentFrame + length;
    return true;
  }

  /** Appends `length` samples of `input` (zeros when undefined) starting at context frame `frame`. */
  private record(input: Float32Array | undefined, length: number, frame: number): void {
    let offset = 0;
    while (offset < length) {
      if (this.fill === 0) this.chunkFrame = frame + offset;
      const n = Math.min(length - offset, CHUNK_SAMPLES - this.fill);
      // No input connected (or silence optimised away) records as zeros, keeping the clock whole.
      if (input !== undefined) this.chunk.set(input.subarray(offset, offset + n), this.fill);
      else this.chunk.fill(0, this.fill, this.fill + n);
      this.fill += n;
      offset += n;
      if (this.fill === CHUNK_SAMPLES) {
        const msg: RecorderChunk = { frame: this.chunkFrame, pcm: this.chunk };
        this.port.postMessage(msg, [this.chunk.buffer]);
        this.chunk = new Float32Array(CHUNK_SAMPLES);
        this.fill = 0;
      }
    }
  }
}

registerProcessor('imv-recorder', RecorderProcessor);
