/*
 * 20 ms PCM blocks in, Opus packets out, in order. Two implementations behind one interface:
 * WebCodecs AudioEncoder (native, preferred) and libopus in WASM (fallback).
 */
import { DEFAULT_BITRATE_BPS, FRAME_SAMPLES, SAMPLE_RATE_HZ } from '@imv/protocol/wire';
import { ENCODER_CONFIG, FRAME_US } from '../opus-config.js';
import type { OpusWasm } from '../opus-wasm.js';

export type PacketSink = (packet: Uint8Array) => void;

export interface FrameEncoder {
  readonly kind: 'webcodecs' | 'wasm';
  /** Encodes one 960-sample block; packets reach the sink in order. */
  encode(pcm: Float32Array<ArrayBuffer>): void;
  /** Emits what the encoder still holds (its 312-sample lookahead) and resolves after the last packet. */
  flush(): Promise<void>;
  close(): void;
}

export function createWebCodecsEncoder(
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
  encoder.configure(ENCODER_CONFIG);
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
        timestamp: blocks++ * FRAME_US,
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

export function createWasmEncoder(wasm: OpusWasm, onPacket: PacketSink): FrameEncoder {
  const encoder = wasm.createEncoder({
    sampleRateHz: SAMPLE_RATE_HZ,
    bitrateBps: DEFAULT_BITRATE_BPS,
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
      if (!closed) onPacket(encoder.encode(new Float32Array(FRAME_SAMPLES)));
      return Promise.resolve();
    },
    close() {
      if (!closed) encoder.destroy();
      closed = true;
    },
  };
}
