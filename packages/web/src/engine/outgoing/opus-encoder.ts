/*
 * PCM blocks of one frame (20 or 10 ms) in, Opus packets out, in order. Two implementations behind one interface:
 * WebCodecs AudioEncoder (native, preferred) and libopus in WASM (fallback).
 */
import { SAMPLE_RATE_HZ, bitrateBpsOf, frameSamplesOf } from '@imv/protocol/wire';
import type { FrameMs } from '@imv/protocol/wire';
import { encoderConfig } from '../opus-config.js';
import type { OpusWasm } from '../opus-wasm.js';

export type PacketSink = (packet: Uint8Array) => void;

export interface FrameEncoder {
  readonly kind: 'webcodecs' | 'wasm';
  /** Encodes one block of the talk's frame size (960 or 480 samples); packets reach the sink in order. */
  encode(pcm: Float32Array<ArrayBuffer>): void;
  /** Emits what the encoder still holds (its 312-sample lookahead) and resolves after the last packet. */
  flush(): Promise<void>;
  close(): void;
}

export function createWebCodecsEncoder(
  frameMs: FrameMs,
  onPacket: PacketSink,
  onError: (error: Error) => void,
): FrameEncoder {
  const encoder = new AudioEncoder({
    output: (chunk) => {
      const packet = new Uint8Array(chunk.byteLength);
      chunk.copyTo(packet);
      onPacket(packet);
    },
    error: (e) => onError(e instanceof Error ? e : new Error(String(e))),
  });
  encoder.configure(encoderConfig(frameMs));
  let blocks = 0;
  return {
    kind: 'webcodecs',
    encode(pcm: Float32Array<ArrayBuffer>) {
      if (encoder.state !== 'configured') return;
      const data = new AudioData({
        format: 'f32-planar',
        sampleRate: SAMPLE_RATE_HZ,
        numberOfFrames: pcm.length,
        numberOfChannels: 1,
        // Real time of the block: WebCodecs reads timestamps as the audio's position.
        timestamp: blocks++ * frameMs * 1000,
        data: pcm,
      });
      encoder.encode(data);
      data.close();
    },
    async flush() {
      if (encoder.state === 'configured') await encoder.flush();
    },
    close() {
      if (encoder.state !== 'closed') encoder.close();
    },
  };
}

export function createWasmEncoder(
  wasm: OpusWasm,
  frameMs: FrameMs,
  onPacket: PacketSink,
): FrameEncoder {
  const encoder = wasm.createEncoder({
    sampleRateHz: SAMPLE_RATE_HZ,
    bitrateBps: bitrateBpsOf(frameMs),
  });
  let closed = false;
  return {
    kind: 'wasm',
    encode(pcm) {
      if (!closed) onPacket(encoder.encode(pcm));
    },
    flush() {
      // libopus holds its lookahead; one block of silence pushes the end of the speech out, as
      // WebCodecs' flush does with its extra packet.
      if (!closed) onPacket(encoder.encode(new Float32Array(frameSamplesOf(frameMs))));
      return Promise.resolve();
    },
    close() {
      if (!closed) encoder.destroy();
      closed = true;
    },
  };
}
