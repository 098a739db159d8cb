/*
 * Why the frame header is hand-written: decodeFrameHeader (DataView, no allocation but the result
 * object) against the obvious alternative of a JSON header validated by the same schema library as
 * the control messages. Run: npm run bench:frame
 */
import { z } from 'zod';
import { decodeFrameHeader, encodeFrame } from '@imv/protocol';

const ITERATIONS = 1_000_000;
const payload = new Uint8Array(60).fill(0x55);
const binary = encodeFrame(
  { flags: 0, streamId: 48879, sequence: 12345, timestamp: 12345 * 960 },
  payload,
);

const jsonHeaderSchema = z.object({
  flags: z.number().int(),
  streamId: z.number().int(),
  sequence: z.number().int(),
  timestamp: z.number().int(),
});
const jsonHeader = new TextEncoder().encode(
  JSON.stringify({ flags: 0, streamId: 48879, sequence: 12345, timestamp: 12345 * 960 }),
);
const jsonFrame = new Uint8Array(2 + jsonHeader.length + payload.length);
new DataView(jsonFrame.buffer).setUint16(0, jsonHeader.length);
jsonFrame.set(jsonHeader, 2);
jsonFrame.set(payload, 2 + jsonHeader.length);
const decoder = new TextDecoder();

function run(name: string, fn: () => number): { name: string; perSecond: number } {
  let sink = 0;
  for (let i = 0; i < 10_000; i++) sink += fn(); // warm-up
  const start = performance.now();
  for (let i = 0; i < ITERATIONS; i++) sink += fn();
  const elapsedMs = performance.now() - start;
  if (sink === -1) console.log(sink); // keep the work observable
  return { name, perSecond: (ITERATIONS / elapsedMs) * 1000 };
}

const ours = run('binary header (decodeFrameHeader)', () => decodeFrameHeader(binary).sequence);
const baseline = run('JSON header + zod', () => {
  const len = new DataView(jsonFrame.buffer).getUint16(0);
  const header = jsonHeaderSchema.parse(JSON.parse(decoder.decode(jsonFrame.subarray(2, 2 + len))));
  return header.sequence;
});
console.log('| frame header decode | frames/s | ratio |');
console.log('|---|---:|---:|');
console.log(
  `| ${baseline.name} (baseline) | ${Math.round(baseline.perSecond).toLocaleString('en')} | 1.00x |`,
);
console.log(
  `| ${ours.name} | ${Math.round(ours.perSecond).toLocaleString('en')} | ${(ours.perSecond / baseline.perSecond).toFixed(1)}x |`,
);
console.log(
  `Header bytes: binary ${binary.length - payload.length} B, JSON ${jsonFrame.length - payload.length} B.`,
);
