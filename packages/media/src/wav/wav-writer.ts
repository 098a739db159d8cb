/** WAV header length for the canonical 16-bit PCM layout written here. */
const WAV_HEADER_BYTES = 44;

/**
 * A 16-bit PCM mono WAV of `samples` (floats in -1..1, clipped) at `sampleRateHz`: the canonical
 * 44-byte header, then the little-endian samples.
 */
export function writeWav(samples: Float32Array, sampleRateHz: number): Uint8Array<ArrayBuffer> {
  const n = samples.length;
  const out = new Uint8Array(WAV_HEADER_BYTES + n * 2);
  const view = new DataView(out.buffer);
  const ascii = (offset: number, s: string) =>
    [...s].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  ascii(0, 'RIFF');
  view.setUint32(4, WAV_HEADER_BYTES - 8 + n * 2, true); // RIFF chunk size
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRateHz, true);
  view.setUint32(28, sampleRateHz * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  view.setUint32(40, n * 2, true);
  for (let i = 0; i < n; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]!));
    view.setInt16(WAV_HEADER_BYTES + i * 2, Math.round(s * 32767), true);
  }
  return out;
}
