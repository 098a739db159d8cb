/*
 * Hand-written Ogg Opus muxer. Why not a library: the whole job is ~150 lines, it needs exact control of the
 * granule positions (pre-skip and the end trim that keeps a message's true length, RFC 7845 §4), it must run
 * unchanged in the browser and in Node, and it adds no dependency. bench/ogg-writer.ts compares it with mediabunny.
 */
import { concatBytes } from '../bytes.js';
import { OPUS_PRE_SKIP } from '@imv/protocol';
import { buildOpusHead, buildOpusTags } from '../opus/opus-head.js';
import { opusPacketSamples } from '../opus/opus-toc.js';
import {
  OGG_FLAG_BOS,
  OGG_FLAG_CONTINUED,
  OGG_FLAG_EOS,
  OGG_MAX_LACING,
  OGG_NO_GRANULE,
  buildOggPage,
} from './ogg-page.js';

export interface WriteOggOpusOptions {
  /** 48 kHz samples the decoder drops at the start (RFC 7845 §4.2). Default 312, libopus' lookahead. */
  preSkip?: number;
  /** Exact decoded length in 48 kHz samples after pre-skip; sets the end trim. Default: all packet samples - preSkip. */
  sampleCount?: number;
  /** OpusTags vendor string. Default 'imv'. */
  vendor?: string;
  tags?: Record<string, string>;
  /** Ogg bitstream serial number. Default: random, as RFC 3533 recommends. */
  serial?: number;
}

/** Audio pages close once they reach either bound: about 1 s of audio or 4 KiB of payload. */
const PAGE_TARGET_SAMPLES = 48_000;
const PAGE_TARGET_BYTES = 4000;

/** Splits packets into pages, continuing packets over page boundaries when the 255 lacing values run out. */
class OggPaginator {
  readonly pages: Uint8Array[] = [];
  private sequence = 0;
  private lacing: number[] = [];
  private chunks: Uint8Array[] = [];
  private bodyBytes = 0;
  private granule = OGG_NO_GRANULE;
  private flags = 0;

  constructor(private readonly serial: number) {}

  get pendingBytes(): number {
    return this.bodyBytes;
  }

  get pendingLacing(): number {
    return this.lacing.length;
  }

  /** Adds a whole packet whose last sample is at `granuleAtEnd`. */
  addPacket(packet: Uint8Array, granuleAtEnd: number): void {
    let offset = 0;
    // A packet is laced as 255-byte segments then one shorter (possibly empty) segment (RFC 3533 §5).
    for (;;) {
      if (this.lacing.length === OGG_MAX_LACING) {
        this.emit();
        this.flags |= OGG_FLAG_CONTINUED;
      }
      const segment = Math.min(255, packet.length - offset);
      this.lacing.push(segment);
      this.chunks.push(packet.subarray(offset, offset + segment));
      this.bodyBytes += segment;
      offset += segment;
      if (segment < 255) break;
    }
    this.granule = granuleAtEnd;
  }

  /** Closes the current page (no-op when empty unless `eos` must still be marked). */
  flush(extraFlags = 0): void {
    if (this.lacing.length === 0) return;
    this.flags |= extraFlags;
    this.emit();
  }

  private emit(): void {
    const body = new Uint8Array(this.bodyBytes);
    let pos = 0;
    for (const chunk of this.chunks) {
      body.set(chunk, pos);
      pos += chunk.length;
    }
    this.pages.push(
      buildOggPage({
        flags: this.flags,
        granule: this.granule,
        serial: this.serial,
        sequence: this.sequence++,
        lacing: this.lacing,
        body,
      }),
    );
    this.lacing = [];
    this.chunks = [];
    this.bodyBytes = 0;
    this.granule = OGG_NO_GRANULE;
    this.flags = 0;
  }
}

/** Muxes mono Opus packets into a complete Ogg Opus file (RFC 7845). Throws on a malformed packet. */
export function writeOggOpus(
  packets: Iterable<Uint8Array>,
  options: WriteOggOpusOptions = {},
): Uint8Array {
  const list = Array.from(packets);
  const samples = list.map((packet, i) => {
    try {
      return opusPacketSamples(packet);
    } catch (err) {
      (err as Error).message = `packet ${i}: ${(err as Error).message}`;
      throw err;
    }
  });
  const totalSamples = samples.reduce((n, s) => n + s, 0);
  const preSkip = options.preSkip ?? OPUS_PRE_SKIP;
  const sampleCount = options.sampleCount ?? Math.max(0, totalSamples - preSkip);
  if (
    !Number.isInteger(sampleCount) ||
    sampleCount < 0 ||
    (sampleCount > 0 && preSkip + sampleCount > totalSamples)
  ) {
    throw new RangeError(
      `options.sampleCount must be an integer in 0..${Math.max(0, totalSamples - preSkip)} ` +
        `(packets hold ${totalSamples} samples, pre-skip ${preSkip}), got ${sampleCount}`,
    );
  }
  // RFC 7845 §4: the last page's granule (pre-skip + real length) may be less than the samples its packets
  // decode to; players drop the excess. That is how the zero padding of the last frame disappears.
  // With no samples to keep, the stream may be shorter than its own pre-skip; never claim more than it holds.
  const finalGranule = Math.min(preSkip + sampleCount, totalSamples);
  const serial = options.serial ?? Math.floor(Math.random() * 0x1_0000_0000);

  const pager = new OggPaginator(serial);
  // RFC 7845 §3: the OpusHead alone on the BOS page, then OpusTags finishing its own page(s).
  pager.addPacket(buildOpusHead({ preSkip }), 0);
  pager.flush(OGG_FLAG_BOS);
  pager.addPacket(buildOpusTags(options.vendor ?? 'imv', options.tags), 0);
  pager.flush(list.length === 0 ? OGG_FLAG_EOS : 0);

  let granule = 0;
  let pageSamples = 0;
  list.forEach((packet, i) => {
    const lacingNeeded = Math.floor(packet.length / 255) + 1;
    const pageFull = pageSamples >= PAGE_TARGET_SAMPLES || pager.pendingBytes >= PAGE_TARGET_BYTES;
    // Start a fresh page rather than split a packet that would fit whole on one.
    const wouldSplit =
      pager.pendingLacing + lacingNeeded > OGG_MAX_LACING && lacingNeeded <= OGG_MAX_LACING;
    if (pager.pendingLacing > 0 && (pageFull || wouldSplit)) {
      pager.flush();
      pageSamples = 0;
    }
    granule += samples[i]!;
    pageSamples += samples[i]!;
    // Pages before the last may not claim more than the final granule, or the end trim would run backwards.
    pager.addPacket(packet, Math.min(granule, finalGranule));
  });
  pager.flush(OGG_FLAG_EOS);
  return concatBytes(pager.pages);
}
