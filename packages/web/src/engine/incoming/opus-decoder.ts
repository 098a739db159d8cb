/*
 * Opus packets of one stream in, float frames out (960 or 480 samples: one per packet), each tagged with its packet's
 * sequence number. One decoder per live stream: Opus decoding is stateful.
 */
import { SAMPLE_RATE_HZ, FRAME_SAMPLES } from '@imv/protocol/wire';
import { DECODER_CONFIG, FRAME_US } from '../opus-config.js';
import type { OpusWasm } from '../opus-wasm.js';

export type PcmSink = (sequence: number, pcm: Float32Array) => void;

export interface FrameDecoder {
  readonly kind: 'webcodecs' | 'wasm';
  decode(sequence: number, packet: Uint8Array): void;
  /** Resolves once every packet given so far has come out. */
  flush(): Promise<void>;
  close(): void;
}

export function createWebCodecsDecoder(
  onPcm: PcmSink,
  onError: (error: Error) => void,
): FrameDecoder {
  const decoder = new AudioDecoder({
    output: (data) => {
      // The chunk's timestamp carries the sequence through the decoder.
      const sequence = Math.round(data.timestamp / FRAME_US);
      const pcm = new Float32Array(data.numberOfFrames);
      data.copyTo(pcm, { planeIndex: 0, format: 'f32-planar' });
      data.close();
      onPcm(sequence, pcm);
    },
    error: (e) => onError(e instanceof Error ? e : new Error(String(e))),
  });
  decoder.configure(DECODER_CONFIG);
  return {
    kind: 'webcodecs',
    decode(sequence, packet) {
      if (decoder.state !== 'configured') return;
      // Every Opus packet decodes on its own (no inter-frame dependencies beyond decoder state).
      decoder.decode(
        new EncodedAudioChunk({ type: 'key', timestamp: sequence * FRAME_US, data: packet }),
      );
    },
    async flush() {
      if (decoder.state === 'configured') await decoder.flush();
    },
    close() {
      if (decoder.state !== 'closed') decoder.close();
    },
  };
}

export function createWasmDecoder(
  wasm: OpusWasm,
  onPcm: PcmSink,
  onError: (error: Error) => void,
): FrameDecoder {
  const decoder = wasm.createDecoder({ sampleRateHz: SAMPLE_RATE_HZ, frameSamples: FRAME_SAMPLES });
  let closed = false;
  return {
    kind: 'wasm',
    decode(sequence, packet) {
      if (closed) return;
      try {
        onPcm(sequence, decoder.decode(packet));
      } catch (e) {
        onError(e instanceof Error ? e : new Error(String(e)));
      }
    },
    flush: () => Promise.resolve(),
    close() {
      if (!closed) decoder.destroy();
      closed = true;
    },
  };
}
