/*
 * Relay fan-out benchmark: one talker at 50 frames/s to N listeners on loopback, through the real imv
 * server and through a bare `ws` broadcast server measured in the same run. Three kinds of process:
 * this one (the talker), the server (fanout-server.ts, nothing else runs in it) and the listeners
 * (fanout-listeners.ts, up to 500 per process). Prints frames delivered, delay percentiles (receive
 * time minus send time on the machine's monotonic clock), the server process's CPU and RSS read
 * from /proc, server CPU per 1,000 delivered frames, the ratio imv / bare and where each saturates.
 * Run: npm run bench  (IMV_BENCH_SECONDS=5 IMV_BENCH_LISTENERS=100,500,1000,2000)
 */
import type { ChildProcess } from 'node:child_process';
import { openClient, type Kind } from './bench-client.js';
import { forkTs, loadAverage, nextMessage, procStat, sleep, waitIdle } from './bench-process.js';
import {
  FRAME_INTERVAL_MS,
  PAYLOAD_BYTES,
  WARMUP_FRAMES,
  closeAll,
  gatherDelays,
  percentile,
  sendPacedFrames,
} from './fanout-run.js';

const SECONDS = Number(process.env.IMV_BENCH_SECONDS ?? 5);
const LISTENER_COUNTS = (process.env.IMV_BENCH_LISTENERS ?? '100,500,1000,2000')
  .split(',')
  .map(Number);
const LISTENERS_PER_PROCESS = 500;
/** A row is saturated when it loses more than this share of frames… */
const MAX_LOSS = 0.001;
/**
 * …or its median delay exceeds one frame interval: frames queue up faster than they leave. (p99 is
 * not the test: on a shared machine a single scheduler stall pushes it over 20 ms at any size.)
 */
const MAX_P50_MS = FRAME_INTERVAL_MS;

interface Result {
  kind: Kind;
  listeners: number;
  delivered: number;
  expected: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  cpuMs: number;
  elapsedMs: number;
  rssMb: number;
}

async function measure(kind: Kind, listenerCount: number): Promise<Result> {
  const server = forkTs('./fanout-server.ts', [kind]);
  const { port } = await nextMessage<{ type: string; port: number }>(server, 'ready');
  const groups: ChildProcess[] = [];
  for (let offset = 0; offset < listenerCount; offset += LISTENERS_PER_PROCESS) {
    const child = forkTs('./fanout-listeners.ts');
    await nextMessage(child, 'ready');
    const count = Math.min(LISTENERS_PER_PROCESS, listenerCount - offset);
    const connected = nextMessage(child, 'connected');
    child.send({ type: 'connect', kind, port, count, offset, firstCounted: WARMUP_FRAMES });
    await connected;
    groups.push(child);
  }
  const talker = await openClient(kind, port, 'talker');
  const streamId = 0xbe7c4;
  if (kind === 'imv') talker.send(JSON.stringify({ type: 'talk-start', streamId }));
  await sleep(100);

  let before = procStat(server.pid!);
  let measuredFrom = performance.now();
  const frameCount = await sendPacedFrames(talker, streamId, SECONDS, () => {
    before = procStat(server.pid!);
    measuredFrom = performance.now();
  });
  await waitIdle(server.pid!);
  const after = procStat(server.pid!);
  const elapsedMs = performance.now() - measuredFrom;
  const { delivered, delays } = await gatherDelays(groups);

  if (kind === 'imv') talker.send(JSON.stringify({ type: 'talk-stop', streamId }));
  talker.terminate();
  await closeAll([server], groups);

  return {
    kind,
    listeners: listenerCount,
    delivered,
    expected: (frameCount - WARMUP_FRAMES) * listenerCount,
    p50Ms: percentile(delays, 50),
    p99Ms: percentile(delays, 99),
    maxMs: delays.at(-1) ?? NaN,
    cpuMs: after.cpuMs - before.cpuMs,
    elapsedMs,
    rssMb: after.rssMb,
  };
}

const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}x` : '-');
const cpuPerThousand = (r: Result): number => (r.cpuMs / r.delivered) * 1000;
const saturated = (r: Result): boolean =>
  r.delivered < r.expected * (1 - MAX_LOSS) || !(r.p50Ms <= MAX_P50_MS);
const load = loadAverage;

const startLoad = load();
const rows: string[] = [
  '| listeners | server | frames delivered (expected) | p50 delay ms | p99 delay ms | max ms | server CPU % | CPU ms / 1000 frames | server RSS MB |',
  '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
];
const ratios: string[] = [
  '| listeners | frames delivered | p50 | p99 | CPU / 1000 frames | RSS |',
  '|---:|---:|---:|---:|---:|---:|',
];
const results: Result[] = [];
for (const count of LISTENER_COUNTS) {
  const bare = await measure('bare', count);
  const imv = await measure('imv', count);
  results.push(bare, imv);
  for (const r of [bare, imv]) {
    rows.push(
      `| ${r.listeners} | ${r.kind === 'imv' ? 'imv' : 'bare ws'} | ${r.delivered} (${r.expected}) | ${fmt(r.p50Ms, 3)} | ${fmt(r.p99Ms, 3)} | ${fmt(r.maxMs, 1)} | ${fmt((r.cpuMs / r.elapsedMs) * 100, 1)} | ${fmt(cpuPerThousand(r), 1)} | ${fmt(r.rssMb, 0)} |`,
    );
  }
  ratios.push(
    `| ${count} | ${ratio(imv.delivered, bare.delivered)} | ${ratio(imv.p50Ms, bare.p50Ms)} | ${ratio(imv.p99Ms, bare.p99Ms)} | ${ratio(cpuPerThousand(imv), cpuPerThousand(bare))} | ${ratio(imv.rssMb, bare.rssMb)} |`,
  );
  console.error(`done: ${count} listeners (load ${load()})`);
}

function saturation(kind: Kind): string {
  const first = results.find((r) => r.kind === kind && saturated(r));
  if (first === undefined) return `not reached up to ${Math.max(...LISTENER_COUNTS)} listeners`;
  const fine = results.filter((r) => r.kind === kind && r.listeners < first.listeners);
  const below = fine.length > 0 ? `; fine at ${fine.at(-1)!.listeners}` : '';
  return `${first.listeners} listeners (${((first.delivered / first.expected) * 100).toFixed(1)}% delivered, p50 ${fmt(first.p50Ms, 1)} ms)${below}`;
}

console.log(
  `Relay fan-out, one talker at 50 frames/s of ${PAYLOAD_BYTES} B, ${SECONDS} s per row after ${WARMUP_FRAMES} warm-up frames, loopback, ${new Date().toISOString()}`,
);
console.log(`Load average (1, 5, 15 min): ${startLoad} at start, ${load()} at end\n`);
console.log(rows.join('\n'));
console.log(
  '\nimv / bare ws (1.00x = as fast as a bare broadcast; for delay, CPU and RSS lower is better):\n',
);
console.log(ratios.join('\n'));
console.log(
  `\nSaturation (first row losing over ${MAX_LOSS * 100}% of frames or with a median delay over ${MAX_P50_MS} ms):`,
);
console.log(`- bare ws: ${saturation('bare')}`);
console.log(`- imv: ${saturation('imv')}`);
