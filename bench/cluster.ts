/*
 * Cluster benchmark: one talker at 50 frames/s on node 1; 1, 100 and 300 listeners spread over three
 * imv nodes joined by NATS, beside the same listeners on one node with the memory bus, in the same
 * run. Each node is a process of its own (fanout-server.ts), listeners run in fanout-listeners.ts
 * processes, the talker here. Prints frames delivered, p50/p99 delay (receive minus send on the
 * machine's monotonic clock), CPU and RSS per node from /proc, and cluster / single-node ratios.
 * Needs NATS on 127.0.0.1:4222 (IMV_BENCH_NATS overrides). Subjects use a prefix of this run's own.
 * Run: npm run bench:cluster  (IMV_BENCH_SECONDS=4 IMV_BENCH_LISTENERS=1,100,300)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { encodeFrame } from '@imv/protocol';
import { monotonicMs, openClient } from './bench-client.js';

const SECONDS = Number(process.env.IMV_BENCH_SECONDS ?? 4);
const LISTENER_COUNTS = (process.env.IMV_BENCH_LISTENERS ?? '1,100,300').split(',').map(Number);
const NATS_URL = process.env.IMV_BENCH_NATS ?? 'nats://127.0.0.1:4222';
const NODES = 3;
const FRAME_INTERVAL_MS = 20;
const PAYLOAD_BYTES = 60; // a typical 24 kbps Opus packet
const WARMUP_FRAMES = 50;
/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s. */
const CLOCK_TICKS_PER_SECOND = 100;

type Setup = 'single' | 'cluster';

interface Result {
  setup: Setup;
  listeners: number;
  delivered: number;
  expected: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU % of each node over the measured seconds. */
  cpuPercent: number[];
  rssMb: number[];
}

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

function forkTs(file: string, args: string[] = []): ChildProcess {
  return fork(here(file), args, {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
}

function nextMessage<T extends { type: string }>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: T): void => {
      if (msg.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(msg);
    };
    const onExit = (code: number | null): void =>
      reject(new Error(`child exited (${code}) before sending ${type}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function procStat(pid: number): { cpuMs: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return {
    cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND,
    rssMb: (Number(fields[21]) * 4096) / 2 ** 20,
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(setup: Setup, listenerCount: number): Promise<Result> {
  const prefix = `imvbench.${process.pid}_${randomBytes(3).toString('hex')}`;
  const nodeCount = setup === 'cluster' ? NODES : 1;
  const nodes = Array.from({ length: nodeCount }, () =>
    forkTs('./fanout-server.ts', setup === 'cluster' ? ['imv', NATS_URL, prefix] : ['imv']),
  );
  const ports = await Promise.all(
    nodes.map(async (n) => (await nextMessage<{ type: string; port: number }>(n, 'ready')).port),
  );
  // Listeners round-robin over the nodes: node 1 (the talker's) gets the first share.
  const groups: ChildProcess[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const count = Math.floor(listenerCount / nodeCount) + (i < listenerCount % nodeCount ? 1 : 0);
    if (count === 0) continue;
    const child = forkTs('./fanout-listeners.ts');
    await nextMessage(child, 'ready');
    const connected = nextMessage(child, 'connected');
    child.send({
      type: 'connect',
      kind: 'imv',
      port: ports[i],
      count,
      offset: i * 10_000,
      firstCounted: WARMUP_FRAMES,
    });
    await connected;
    groups.push(child);
  }
  const talker = await openClient('imv', ports[0]!, 'talker');
  const streamId = 0xc1a5;
  talker.send(JSON.stringify({ type: 'talk-start', streamId }));
  // Heartbeats and subscriptions settle across nodes.
  await sleep(setup === 'cluster' ? 1_500 : 100);

  const frameCount = WARMUP_FRAMES + Math.round((SECONDS * 1000) / FRAME_INTERVAL_MS);
  const payload = new Uint8Array(PAYLOAD_BYTES).fill(0x55);
  const payloadView = new DataView(payload.buffer);
  const start = performance.now();
  let before = nodes.map((n) => procStat(n.pid!));
  let measuredFrom = start;
  for (let seq = 0; seq < frameCount; seq++) {
    const wait = start + seq * FRAME_INTERVAL_MS - performance.now();
    if (wait > 0) await sleep(wait);
    if (seq === WARMUP_FRAMES) {
      before = nodes.map((n) => procStat(n.pid!));
      measuredFrom = performance.now();
    }
    payloadView.setFloat64(0, monotonicMs());
    talker.send(encodeFrame({ flags: 0, streamId, sequence: seq, timestamp: seq * 960 }, payload));
  }
  await sleep(300);
  const after = nodes.map((n) => procStat(n.pid!));
  const elapsedMs = performance.now() - measuredFrom;

  let delivered = 0;
  const parts: Float64Array[] = [];
  for (const child of groups) {
    const stats = nextMessage<{ type: string; received: number; delaysMs: Float64Array }>(
      child,
      'stats',
    );
    child.send({ type: 'stats' });
    const { received, delaysMs } = await stats;
    delivered += received;
    parts.push(delaysMs);
  }
  const delays = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (delays.set(p, at), at + p.length), 0);
  delays.sort();

  talker.send(JSON.stringify({ type: 'talk-stop', streamId }));
  talker.terminate();
  for (const child of groups) child.send({ type: 'close' });
  for (const node of nodes) node.send('close');
  await Promise.all(
    [...nodes, ...groups].map((c) =>
      c.exitCode === null ? once(c, 'exit').then(() => undefined) : Promise.resolve(),
    ),
  );
  return {
    setup,
    listeners: listenerCount,
    delivered,
    expected: (frameCount - WARMUP_FRAMES) * listenerCount,
    p50Ms: percentile(delays, 50),
    p99Ms: percentile(delays, 99),
    cpuPercent: after.map((a, i) => ((a.cpuMs - before[i]!.cpuMs) / elapsedMs) * 100),
    rssMb: after.map((a) => a.rssMb),
  };
}

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}x` : '-');
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');

const startLoad = load();
const rows = [
  '| listeners | setup | frames delivered (expected) | p50 delay ms | p99 delay ms | CPU % per node | RSS MB per node |',
  '|---:|---|---:|---:|---:|---|---|',
];
const ratios = [
  '| listeners | frames delivered | added p50 ms | added p99 ms | CPU, all nodes | RSS, all nodes |',
  '|---:|---:|---:|---:|---:|---:|',
];
for (const count of LISTENER_COUNTS) {
  const single = await measure('single', count);
  const cluster = await measure('cluster', count);
  for (const r of [single, cluster]) {
    rows.push(
      `| ${r.listeners} | ${r.setup === 'single' ? '1 node, memory bus' : `${NODES} nodes, NATS`} | ${r.delivered} (${r.expected}) | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${r.cpuPercent.map((c) => fmt(c)).join(' / ')} | ${r.rssMb.map((m) => fmt(m, 0)).join(' / ')} |`,
    );
  }
  ratios.push(
    `| ${count} | ${ratio(cluster.delivered, single.delivered)} | ${fmt(cluster.p50Ms - single.p50Ms, 2)} | ${fmt(cluster.p99Ms - single.p99Ms, 2)} | ${ratio(sum(cluster.cpuPercent), sum(single.cpuPercent))} | ${ratio(sum(cluster.rssMb), sum(single.rssMb))} |`,
  );
  console.error(`done: ${count} listeners (load ${load()})`);
}

console.log(
  `Cluster relay, one talker on node 1 at 50 frames/s of ${PAYLOAD_BYTES} B, ${SECONDS} s per row after ${WARMUP_FRAMES} warm-up frames, loopback, NATS ${NATS_URL}, ${new Date().toISOString()}`,
);
console.log(`Load average (1, 5, 15 min): ${startLoad} at start, ${load()} at end\n`);
console.log(rows.join('\n'));
console.log(
  `\n${NODES} nodes on NATS vs 1 node with the memory bus, same listeners (delivered and resources as ratios, delay as the difference):\n`,
);
console.log(ratios.join('\n'));
