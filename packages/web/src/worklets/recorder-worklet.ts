/*
 * Test tap 'imv-recorder': copies its (mono) input and posts it to the main thread in ~100 ms
 * chunks, each with the AudioContext frame of its first sample, so a test can place what was heard
 * on the context's clock. Used by harness.html only; the app never records its output.
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

  process(inputs: Float32Array[][]): boolean {
    const input = inputs[0]?.[0];
    const length = input?.length ?? 128;
    let offset = 0;
    while (offset < length) {
      if (this.fill === 0) this.chunkFrame = currentFrame + offset;
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
    return true;
  }
}

registerProcessor('imv-recorder', RecorderProcessor);
