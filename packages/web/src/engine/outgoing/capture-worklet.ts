/*
 * Capture processor 'imv-capture': takes the microphone (downmixed to mono by the node's
 * channelCount 1 / 'explicit'), cuts it into blocks of one frame (20 ms, or 10 ms for a low-latency
 * talk) and, while capturing, transfers each block
 * to the worker, which encodes it. It also posts a meter level to the main thread 25 times a second.
 * No encoding here: the audio thread must never wait on anything.
 */
import { FRAME_SAMPLES } from '@imv/protocol/wire';
import { meterLevel, rms } from '../levels.js';
import type {
  CaptureBlock,
  FromCaptureWorkletToMain,
  ToCaptureWorklet,
} from '../engine-messages.js';

declare const currentFrame: number;

/** Samples per level message: 40 ms = 25 levels a second. */
const SAMPLES_PER_LEVEL = 1920;

class CaptureProcessor extends AudioWorkletProcessor {
  private workerPort: MessagePort | null = null;
  private capturing = false;
  /** The talk the blocks belong to: a new talk may start before the worker saw the last one end. */
  private streamId = 0;
  private frameSamples = FRAME_SAMPLES;
  private block = new Float32Array(FRAME_SAMPLES);
  private blockFill = 0;
  private blockStartFrame = 0;
  private levelSum = 0;
  private levelSamples = 0;

  constructor() {
    super();
    this.port.onmessage = (event: MessageEvent<ToCaptureWorklet>) => {
      const msg = event.data;
      if (msg.type === 'connect-worker') {
        this.workerPort = msg.port;
      } else if (msg.on) {
        if (this.capturing) this.postToWorker({ type: 'end', streamId: this.streamId });
        this.capturing = true;
        this.streamId = msg.streamId;
        if (msg.frameSamples !== this.frameSamples) {
          this.frameSamples = msg.frameSamples;
          this.block = new Float32Array(msg.frameSamples);
        }
        this.blockFill = 0; // a talk starts on a fresh block
      } else if (this.capturing) {
        this.capturing = false;
        // Same port as the blocks, so the worker sees 'end' after the last one.
        this.postToWorker({ type: 'end', streamId: this.streamId });
      }
    };
  }

  process(inputs: Float32Array[][]): boolean {
    const input = inputs[0]?.[0];
    if (input === undefined || !this.capturing) return true;
    let offset = 0;
    while (offset < input.length) {
      if (this.blockFill === 0) this.blockStartFrame = currentFrame + offset;
      const n = Math.min(input.length - offset, this.frameSamples - this.blockFill);
      this.block.set(input.subarray(offset, offset + n), this.blockFill);
      this.blockFill += n;
      offset += n;
      if (this.blockFill === this.frameSamples) this.flushBlock();
    }
    return true;
  }

  private flushBlock(): void {
    const pcm = this.block;
    this.levelSum += rms(pcm) ** 2 * pcm.length;
    this.levelSamples += pcm.length;
    if (this.levelSamples >= SAMPLES_PER_LEVEL) {
      const level: FromCaptureWorkletToMain = {
        type: 'level',
        level: meterLevel(Math.sqrt(this.levelSum / this.levelSamples)),
      };
      this.port.postMessage(level);
      this.levelSum = 0;
      this.levelSamples = 0;
    }
    this.postToWorker(
      { type: 'block', streamId: this.streamId, pcm, frame: this.blockStartFrame },
      [pcm.buffer],
    );
    this.block = new Float32Array(this.frameSamples);
    this.blockFill = 0;
  }

  private postToWorker(msg: CaptureBlock, transfer: Transferable[] = []): void {
    this.workerPort?.postMessage(msg, transfer);
  }
}

registerProcessor('imv-capture', CaptureProcessor);
