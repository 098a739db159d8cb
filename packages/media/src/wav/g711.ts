/** G.711 expansion tables (ITU-T G.711), 8-bit code to linear float in -1..1; built once at load. */
function buildMuLaw(): Float32Array {
  const table = new Float32Array(256);
  for (let i = 0; i < 256; i++) {
    const u = ~i & 0xff;
    const exponent = (u >> 4) & 0x07;
    const mantissa = u & 0x0f;
    const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    table[i] = (u & 0x80 ? -magnitude : magnitude) / 32768;
  }
  return table;
}

function buildALaw(): Float32Array {
  const table = new Float32Array(256);
  for (let i = 0; i < 256; i++) {
    const a = i ^ 0x55; // even bits are inverted on the wire
    const exponent = (a >> 4) & 0x07;
    const mantissa = a & 0x0f;
    const magnitude =
      exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
    table[i] = (a & 0x80 ? magnitude : -magnitude) / 32768;
  }
  return table;
}

export const MULAW_TO_FLOAT = buildMuLaw();
export const ALAW_TO_FLOAT = buildALaw();
