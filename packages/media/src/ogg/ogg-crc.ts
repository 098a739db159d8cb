/**
 * Ogg page checksum (RFC 3533 §6): CRC-32 with polynomial 0x04c11db7, MSB first (not reflected),
 * initial value 0 and no final XOR, computed over the page with its CRC field set to zero.
 */
const OGG_CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let bit = 0; bit < 8; bit++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

/** Continues an Ogg CRC over `bytes`, starting from `crc` (0 for a new page). */
export function oggCrc32(bytes: Uint8Array, crc = 0): number {
  let r = crc;
  for (let i = 0; i < bytes.length; i++) {
    r = (r << 8) ^ OGG_CRC_TABLE[((r >>> 24) ^ bytes[i]!) & 0xff]!;
  }
  return r >>> 0;
}
