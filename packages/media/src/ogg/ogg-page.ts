import { oggCrc32 } from './ogg-crc.js';

/** 'OggS' capture pattern (RFC 3533 §6). */
export const OGG_CAPTURE_PATTERN = [0x4f, 0x67, 0x67, 0x53] as const;
/** Fixed part of a page header, before the lacing table. */
export const OGG_PAGE_HEADER_LEN = 27;
export const OGG_MAX_LACING = 255;

/** header_type_flag bits (RFC 3533 §6). */
export const OGG_FLAG_CONTINUED = 0x01;
export const OGG_FLAG_BOS = 0x02;
export const OGG_FLAG_EOS = 0x04;

/** Granule -1: no packet finishes on this page (RFC 3533 §6). */
export const OGG_NO_GRANULE = -1;

export interface OggPageFields {
  flags: number;
  /** 48 kHz samples for Opus; -1 when no packet ends on the page. */
  granule: number;
  serial: number;
  sequence: number;
  lacing: readonly number[];
  body: Uint8Array;
}

/** Serialises one page and fills in its CRC. */
export function buildOggPage(page: OggPageFields): Uint8Array {
  const headerLen = OGG_PAGE_HEADER_LEN + page.lacing.length;
  const out = new Uint8Array(headerLen + page.body.length);
  const view = new DataView(out.buffer);
  out.set(OGG_CAPTURE_PATTERN, 0);
  view.setUint8(4, 0); // stream_structure_version
  view.setUint8(5, page.flags); // header_type_flag
  view.setBigInt64(6, BigInt(page.granule), true); // granule_position
  view.setUint32(14, page.serial >>> 0, true); // bitstream_serial_number
  view.setUint32(18, page.sequence >>> 0, true); // page_sequence_number
  view.setUint32(22, 0, true); // CRC_checksum, computed below over the page with this field zero
  view.setUint8(26, page.lacing.length); // number_page_segments
  out.set(page.lacing, OGG_PAGE_HEADER_LEN); // segment_table
  out.set(page.body, headerLen);
  view.setUint32(22, oggCrc32(out), true);
  return out;
}
