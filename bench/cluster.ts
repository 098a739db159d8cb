/*
 * Cluster benchmark: one talker at 50 frames/s on node 1; 1, 100 and 300 listeners spread over three
 * imv nodes joined by NATS, beside the same listeners on one node with the memory bus, in the same
 * run. Each node is a process of its own (fanout-server.ts), listeners run in fanout-listeners.ts
 * processes, the talker here. Prints frames delivered, p50/p99 delay (receive minus send on the
 * machine's monotonic clock), CPU and RSS per node from /proc, and cluster / single-node ratios.
 * Needs NATS on 127.0.0.1:4222 (IMV_BENCH_NATS overrides). Subjects use a prefix of this run's own.
 * Run: npm run bench:cluster  (IMV_BENCH_SECONDS=4 IMV_BENCH_LISTENERS=1,100,300)
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openClient } from './bench-client.js';
import { forkTs, loadAverage, nextMessage, procStat, sleep } from './bench-process.js';
import {
  PAYLOAD_BYTES,
  WARMUP_FRAMES,
  closeAll,
  gatherDelays,
  percentile,
  sendPacedFrames,
} from './fanout-run.js';

const SECONDS = Number(process.env.IMV_BENCH_SECONDS ?? 4);
const LISTENER_COUNTS = (process.env.IMV_BENCH_LISTENERS ?? '1,100,300').split(',').map(Number);
const NATS_URL = process.env.IMV_BENCH_NATS ?? 'nats://127.0.0.1:4222';
const NODES = 3;

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

  let before = nodes.map((n) => procStat(n.pid!));
  let measuredFrom = performance.now();
  const frameCount = await sendPacedFrames(talker, streamId, SECONDS, () => {
    before = nodes.map((n) => procStat(n.pid!));
    measuredFrom = performance.now();
  });
  await sleep(300);
  const after = nodes.map((n) => procStat(n.pid!));
  const elapsedMs = performance.now() - measuredFrom;
  const { delivered, delays } = await gatherDelays(groups);

  talker.send(JSON.stringify({ type: 'talk-stop', streamId }));
  talker.terminate();
  await closeAll(nodes, groups);
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

const startLoad = loadAverage();
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
  console.error(`done: ${count} listeners (load ${loadAverage()})`);
}

console.log(
  `Cluster relay, one talker on node 1 at 50 frames/s of ${PAYLOAD_BYTES} B, ${SECONDS} s per row after ${WARMUP_FRAMES} warm-up frames, loopback, NATS ${NATS_URL}, ${new Date().toISOString()}`,
);
console.log(`Load average (1, 5, 15 min): ${startLoad} at start, ${loadAverage()} at end\n`);
console.log(rows.join('\n'));
console.log(
  `\n${NODES} nodes on NATS vs 1 node with the memory bus, same listeners (delivered and resources as ratios, delay as the difference):\n`,
);
console.log(ratios.join('\n'));
