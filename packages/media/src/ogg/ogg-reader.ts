/*
 * Hand-written Ogg Opus demuxer, the mirror of ogg-writer.ts: small, runs anywhere, and each refusal names the
 * page and byte offset at fault (a CRC mismatch, a truncation, a stream that is not Opus).
 */
import { concatBytes } from '../bytes.js';
import { MediaError } from '../errors.js';
import {
  type OpusHead,
  type OpusTags,
  isOpusHead,
  parseOpusHead,
  parseOpusTags,
} from '../opus/opus-head.js';
import { opusPacketSamples } from '../opus/opus-toc.js';
import { oggCrc32 } from './ogg-crc.js';
import { OGG_FLAG_BOS, OGG_FLAG_CONTINUED, OGG_FLAG_EOS, OGG_PAGE_HEADER_LEN } from './ogg-page.js';

export interface OggOpusFile {
  head: OpusHead;
  tags: OpusTags;
  /** Audio packets in order (header packets excluded). */
  packets: Uint8Array[];
  /** Granule of the last page that ends a packet: pre-skip + decoded length, in 48 kHz samples. */
  finalGranule: number;
  /** Decoded length after pre-skip and end trim, in 48 kHz samples. */
  sampleCount: number;
  /** Oddities that did not stop the read (a missing EOS page, other logical streams skipped). */
  warnings: string[];
}

interface OggPage {
  offset: number;
  flags: number;
  granule: number;
  serial: number;
  sequence: number;
  lacing: Uint8Array;
  body: Uint8Array;
  length: number;
}

function isCapturePattern(bytes: Uint8Array, at: number): boolean {
  return (
    bytes[at] === 0x4f && bytes[at + 1] === 0x67 && bytes[at + 2] === 0x67 && bytes[at + 3] === 0x53
  );
}

function readPage(bytes: Uint8Array, offset: number, index: number): OggPage {
  const where = `Ogg page ${index} at byte ${offset}`;
  if (!isCapturePattern(bytes, offset)) {
    throw new MediaError(
      'NOT_OGG',
      `${where}: expected the 'OggS' capture pattern, the stream is corrupt`,
    );
  }
  if (offset + OGG_PAGE_HEADER_LEN > bytes.length) {
    throw new MediaError(
      'OGG_TRUNCATED',
      `${where}: the file ends inside the page header (${bytes.length - offset} B of 27)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, OGG_PAGE_HEADER_LEN);
  const version = view.getUint8(4);
  if (version !== 0)
    throw new MediaError('NOT_OGG', `${where}: stream structure version ${version}, only 0 exists`);
  const segments = view.getUint8(26);
  const headerLen = OGG_PAGE_HEADER_LEN + segments;
  if (offset + headerLen > bytes.length) {
    throw new MediaError('OGG_TRUNCATED', `${where}: the file ends inside the segment table`);
  }
  const lacing = bytes.subarray(offset + OGG_PAGE_HEADER_LEN, offset + headerLen);
  const bodyLen = lacing.reduce((n, v) => n + v, 0);
  const length = headerLen + bodyLen;
  if (offset + length > bytes.length) {
    throw new MediaError(
      'OGG_TRUNCATED',
      `${where}: the page needs ${length} B but the file ends after ${bytes.length - offset} B`,
    );
  }
  const stored = view.getUint32(22, true);
  // A copy, never a view: Node's Buffer#slice shares memory, and zeroing the CRC field in place
  // would damage the caller's bytes.
  const page = copyBytes(bytes.subarray(offset, offset + length));
  page.fill(0, 22, 26); // the CRC covers the page with its own field zeroed
  const computed = oggCrc32(page);
  if (computed !== stored) {
    throw new MediaError(
      'OGG_CRC_MISMATCH',
      `${where}: CRC is 0x${stored.toString(16).padStart(8, '0')} but the page hashes to 0x${computed.toString(16).padStart(8, '0')}`,
    );
  }
  return {
    offset,
    flags: view.getUint8(5),
    granule: Number(view.getBigInt64(6, true)),
    serial: view.getUint32(14, true),
    sequence: view.getUint32(18, true),
    lacing,
    body: bytes.subarray(offset + headerLen, offset + length),
    length,
  };
}

/** Reads a mono or stereo Ogg Opus file (RFC 7845) into its packets; throws MediaError on anything else. */
export function readOggOpus(bytes: Uint8Array): OggOpusFile {
  if (bytes.length < 4 || !isCapturePattern(bytes, 0)) {
    throw new MediaError('NOT_OGG', "not an Ogg file: it does not start with 'OggS'");
  }
  const warnings: string[] = [];
  const packets: Uint8Array[] = [];
  let serial: number | undefined;
  let partial: Uint8Array[] = [];
  let finalGranule = -1;
  let expectedSequence = 0;
  let sawEos = false;
  let otherStreams = false;
  let offset = 0;
  for (let index = 0; offset < bytes.length && !sawEos; index++) {
    const page = readPage(bytes, offset, index);
    offset += page.length;
    if (serial === undefined) {
      if (!(page.flags & OGG_FLAG_BOS)) {
        throw new MediaError(
          'NOT_OGG',
          `Ogg page ${index} at byte ${page.offset}: the first page lacks the BOS flag`,
        );
      }
      serial = page.serial;
    } else if (page.serial !== serial) {
      // Another multiplexed logical stream (e.g. a Skeleton track): not ours to read.
      otherStreams = true;
      continue;
    }
    if (page.sequence !== expectedSequence) {
      warnings.push(
        `Ogg page sequence jumps from ${expectedSequence - 1} to ${page.sequence}: pages are missing`,
      );
    }
    expectedSequence = page.sequence + 1;
    if (!(page.flags & OGG_FLAG_CONTINUED) && partial.length > 0) {
      throw new MediaError(
        'OGG_TRUNCATED',
        `Ogg page ${index} at byte ${page.offset}: the previous packet was never finished`,
      );
    }
    // A continued page with nothing to continue (pages lost before it): drop the orphaned packet tail.
    let orphan = Boolean(page.flags & OGG_FLAG_CONTINUED) && partial.length === 0;
    if (orphan)
      warnings.push(
        `Ogg page ${index} at byte ${page.offset} continues a packet that is missing; dropped its tail`,
      );
    let pos = 0;
    for (const lace of page.lacing) {
      if (orphan) {
        pos += lace;
        orphan = lace === 255;
        continue;
      }
      partial.push(page.body.subarray(pos, pos + lace));
      pos += lace;
      if (lace < 255) {
        packets.push(partial.length === 1 ? copyBytes(partial[0]!) : concatBytes(partial));
        partial = [];
      }
    }
    if (page.granule !== -1) finalGranule = page.granule;
    if (page.flags & OGG_FLAG_EOS) sawEos = true;
  }
  if (partial.length > 0) {
    throw new MediaError('OGG_TRUNCATED', 'the file ends in the middle of an Ogg packet');
  }
  if (!sawEos)
    warnings.push('the Ogg stream has no end-of-stream page; it may have been cut short');
  if (sawEos && offset < bytes.length)
    warnings.push(`ignored ${bytes.length - offset} B after the end of the Opus stream`);
  if (otherStreams) warnings.push('other Ogg logical streams were skipped');

  const headPacket = packets.shift();
  if (headPacket === undefined || !isOpusHead(headPacket)) {
    throw new MediaError(
      'NOT_OPUS',
      "the Ogg stream is not Opus: its first packet is not an 'OpusHead'",
    );
  }
  const head = parseOpusHead(headPacket);
  if (head.mappingFamily !== 0 || head.channels > 2) {
    throw new MediaError(
      'OPUS_MULTICHANNEL',
      `Ogg Opus with ${head.channels} channels (mapping family ${head.mappingFamily}) is not supported; use mono or stereo`,
    );
  }
  const tagsPacket = packets.shift();
  if (tagsPacket === undefined)
    throw new MediaError('OGG_TRUNCATED', 'the Ogg Opus stream ends before its OpusTags');
  const tags = parseOpusTags(tagsPacket);

  let totalSamples = 0;
  packets.forEach((packet, i) => {
    try {
      totalSamples += opusPacketSamples(packet);
    } catch (err) {
      throw new MediaError('BAD_OPUS_PACKET', `audio packet ${i}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  });
  if (finalGranule < 0) finalGranule = totalSamples;
  const sampleCount = Math.max(0, Math.min(finalGranule, totalSamples) - head.preSkip);
  return { head, tags, packets, finalGranule, sampleCount, warnings };
}

/** A plain Uint8Array copy, whatever the input's class (Buffer#slice would return a view). */
function copyBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}
