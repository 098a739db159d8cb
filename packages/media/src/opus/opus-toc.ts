import { MediaError } from '../errors.js';

/** RFC 6716 §3.2.5: a packet may hold at most 120 ms of audio. */
export const MAX_PACKET_SAMPLES = 5760;

/**
 * 48 kHz samples per frame for each of the 32 TOC configurations (RFC 6716 §3.1, Table 2):
 * 0-11 SILK (10/20/40/60 ms x NB/MB/WB), 12-15 Hybrid (10/20 ms x SWB/FB), 16-31 CELT (2.5/5/10/20 ms x NB/WB/SWB/FB).
 */
const FRAME_SAMPLES_BY_CONFIG: readonly number[] = [
  ...Array<number[]>(3).fill([480, 960, 1920, 2880]).flat(),
  ...Array<number[]>(2).fill([480, 960]).flat(),
  ...Array<number[]>(4).fill([120, 240, 480, 960]).flat(),
];

function badPacket(message: string): MediaError {
  return new MediaError('BAD_OPUS_PACKET', message);
}

/** Number of 48 kHz samples the Opus packet decodes to; throws MediaError BAD_OPUS_PACKET if malformed. */
export function opusPacketSamples(packet: Uint8Array): number {
  if (packet.length === 0)
    throw badPacket('Opus packet is empty (a packet needs at least the TOC byte)');
  const toc = packet[0]!;
  const frameSamples = FRAME_SAMPLES_BY_CONFIG[toc >> 3]!;
  const code = toc & 0x03;
  let frames: number;
  switch (code) {
    case 0:
      frames = 1;
      break;
    case 1:
      // Two frames of equal size: the payload after the TOC must split evenly (RFC 6716 §3.2.3, R3).
      if ((packet.length - 1) % 2 !== 0) {
        throw badPacket(
          `Opus code 1 packet has an odd payload of ${packet.length - 1} B; two equal frames expected`,
        );
      }
      frames = 2;
      break;
    case 2:
      // The first frame length takes 1 or 2 bytes (RFC 6716 §3.2.1, §3.2.4).
      if (packet.length < 2)
        throw badPacket('Opus code 2 packet ends before the first frame length');
      frames = 2;
      break;
    default: {
      if (packet.length < 2) throw badPacket('Opus code 3 packet ends before the frame count byte');
      frames = packet[1]! & 0x3f;
      if (frames === 0) throw badPacket('Opus code 3 packet declares 0 frames');
    }
  }
  const samples = frames * frameSamples;
  if (samples > MAX_PACKET_SAMPLES) {
    throw badPacket(`Opus packet holds ${samples / 48} ms of audio, at most 120 ms is allowed`);
  }
  return samples;
}

/** RFC 6716 §3.1: bit 2 of the TOC byte marks a stereo packet. */
export function opusPacketIsStereo(packet: Uint8Array): boolean {
  if (packet.length === 0)
    throw badPacket('Opus packet is empty (a packet needs at least the TOC byte)');
  return (packet[0]! & 0x04) !== 0;
}
