/*
 * libopus compiled to WebAssembly, from the @evan/opus package (its opus.wasm; the package's own
 * JS loader reads the file with node:fs, so browsers need this small loader instead). Used when
 * WebCodecs has no Opus: encode, decode, and real Opus packet-loss concealment.
 */

/** libopus request codes (opus_defines.h). */
const OPUS_SET_BITRATE_REQUEST = 4002;
const OPUS_SET_COMPLEXITY_REQUEST = 4010;
const OPUS_APPLICATION_AUDIO = 2049;
/** Largest packet we accept from the encoder (RFC 6716 §3.4 allows 1275 per frame). */
const MAX_PACKET_BYTES = 4000;
/** Largest frame libopus decodes: 120 ms at 48 kHz. */
const MAX_FRAME_SAMPLES = 5760;

interface OpusExports {
  memory: WebAssembly.Memory;
  malloc(bytes: number): number;
  free(ptr: number): void;
  opus_strerror(code: number): number;
  opus_encoder_get_size(channels: number): number;
  opus_encoder_init(st: number, rate: number, channels: number, application: number): number;
  opus_encoder_ctl_set(st: number, request: number, value: number): number;
  opus_encode(st: number, pcm: number, frameSize: number, data: number, maxBytes: number): number;
  opus_decoder_get_size(channels: number): number;
  opus_decoder_init(st: number, rate: number, channels: number): number;
  opus_decode(
    st: number,
    data: number,
    len: number,
    pcm: number,
    frameSize: number,
    fec: number,
  ): number;
}

export interface WasmOpusEncoder {
  /** Encodes 20 ms of float PCM (960 samples) into one packet (a fresh copy). */
  encode(pcm: Float32Array): Uint8Array;
  destroy(): void;
}

export interface WasmOpusDecoder {
  /** Decodes one packet into float PCM; `null` asks libopus to conceal a lost 20 ms frame. */
  decode(packet: Uint8Array | null): Float32Array;
  destroy(): void;
}

export interface OpusWasm {
  createEncoder(options: {
    sampleRateHz: number;
    bitrateBps: number;
    complexity?: number;
  }): WasmOpusEncoder;
  createDecoder(options: { sampleRateHz: number; frameSamples: number }): WasmOpusDecoder;
}

/** Instantiates the module from its bytes (read from disk in Node, fetched in a browser). */
export async function loadOpusWasm(bytes: BufferSource): Promise<OpusWasm> {
  const { instance } = await WebAssembly.instantiate(bytes, {
    // The module is built with emscripten's standalone WASI target; it only logs through these.
    wasi_snapshot_preview1: {
      fd_seek: () => 0,
      fd_write: () => 0,
      fd_close: () => 0,
      proc_exit: () => undefined,
    },
    env: { emscripten_notify_memory_growth: () => undefined },
  });
  return createOpusWasm(instance.exports as unknown as OpusExports);
}

function createOpusWasm(wasm: OpusExports): OpusWasm {
  const check = (code: number, what: string): number => {
    if (code >= 0) return code;
    const bytes = new Uint8Array(wasm.memory.buffer);
    let end = wasm.opus_strerror(code);
    const start = end;
    while (bytes[end] !== 0 && end < bytes.length) end++;
    throw new Error(`opus ${what}: ${new TextDecoder().decode(bytes.subarray(start, end))}`);
  };
  // Views are made per call: the memory's buffer is replaced whenever it grows.
  const s16 = (ptr: number, n: number) => new Int16Array(wasm.memory.buffer, ptr, n);
  const u8 = (ptr: number, n: number) => new Uint8Array(wasm.memory.buffer, ptr, n);

  return {
    createEncoder({ sampleRateHz, bitrateBps, complexity }) {
      const st = wasm.malloc(wasm.opus_encoder_get_size(1));
      const pcmPtr = wasm.malloc(MAX_FRAME_SAMPLES * 2);
      const outPtr = wasm.malloc(MAX_PACKET_BYTES);
      check(wasm.opus_encoder_init(st, sampleRateHz, 1, OPUS_APPLICATION_AUDIO), 'encoder init');
      check(wasm.opus_encoder_ctl_set(st, OPUS_SET_BITRATE_REQUEST, bitrateBps), 'set bitrate');
      if (complexity !== undefined)
        check(
          wasm.opus_encoder_ctl_set(st, OPUS_SET_COMPLEXITY_REQUEST, complexity),
          'set complexity',
        );
      return {
        encode(pcm) {
          const samples = s16(pcmPtr, pcm.length);
          for (let i = 0; i < pcm.length; i++) {
            const x = pcm[i]!;
            samples[i] = x >= 1 ? 32767 : x <= -1 ? -32768 : Math.round(x * 32767);
          }
          const len = check(
            wasm.opus_encode(st, pcmPtr, pcm.length, outPtr, MAX_PACKET_BYTES),
            'encode',
          );
          return u8(outPtr, len).slice();
        },
        destroy() {
          wasm.free(st);
          wasm.free(pcmPtr);
          wasm.free(outPtr);
        },
      };
    },
    createDecoder({ sampleRateHz, frameSamples }) {
      const st = wasm.malloc(wasm.opus_decoder_get_size(1));
      const inPtr = wasm.malloc(MAX_PACKET_BYTES);
      const pcmPtr = wasm.malloc(MAX_FRAME_SAMPLES * 2);
      check(wasm.opus_decoder_init(st, sampleRateHz, 1), 'decoder init');
      return {
        decode(packet) {
          let n: number;
          if (packet === null) {
            // RFC 6716 §4.4 / opus_decode(): len 0 means the packet was lost, conceal frameSamples.
            n = check(wasm.opus_decode(st, 0, 0, pcmPtr, frameSamples, 0), 'conceal');
          } else {
            if (packet.length > MAX_PACKET_BYTES)
              throw new Error(`opus packet is ${packet.length} B, at most ${MAX_PACKET_BYTES} B`);
            u8(inPtr, packet.length).set(packet);
            n = check(
              wasm.opus_decode(st, inPtr, packet.length, pcmPtr, MAX_FRAME_SAMPLES, 0),
              'decode',
            );
          }
          const samples = s16(pcmPtr, n);
          const out = new Float32Array(n);
          for (let i = 0; i < n; i++) out[i] = samples[i]! / 32768;
          return out;
        },
        destroy() {
          wasm.free(st);
          wasm.free(inPtr);
          wasm.free(pcmPtr);
        },
      };
    },
  };
}
