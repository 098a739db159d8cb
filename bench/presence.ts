/*
 * Presence benchmark: N members join one room of the real imv server, speaking each protocol in
 * IMV_BENCH_PROTOCOLS (default 2,3) in the same run: protocol 1 (every join sends the whole member
 * list to every member), protocol 2 (the newcomer gets the list, the others a one-member delta per
 * join: the "before") and protocol 3 (the deltas of a room batched into one members-changed at most
 * every 100 ms: the "after"). Prints the server process's CPU time (from /proc) from the first connect
 * until it is idle again, and the bytes the members received. Members run in their own processes on
 * raw sockets (raw-listener.ts).
 * Run: npm run bench:presence  (IMV_BENCH_MEMBERS=250,500,1000 IMV_BENCH_PROTOCOLS=1,2,3)
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { PROTOCOL_VERSION } from '@imv/protocol';
import { forkTs, loadAverage, nextMessage, procStat, waitIdle } from './bench-process.js';

const MEMBER_COUNTS = (process.env.IMV_BENCH_MEMBERS ?? '250,500,1000').split(',').map(Number);
const PROTOCOLS = (process.env.IMV_BENCH_PROTOCOLS ?? `2,${PROTOCOL_VERSION}`)
  .split(',')
  .map(Number);
const MEMBERS_PER_PROCESS = 500;

interface Result {
  members: number;
  protocol: number;
  cpuMs: number;
  bytes: number;
  wallMs: number;
}

async function measure(members: number, protocol: number): Promise<Result> {
  const server = forkTs('./fanout-server.ts', ['imv']);
  const { port } = await nextMessage<{ type: string; port: number }>(server, 'ready');
  const groups: ChildProcess[] = [];
  for (let offset = 0; offset < members; offset += MEMBERS_PER_PROCESS) {
    const child = forkTs('./fanout-listeners.ts');
    await nextMessage(child, 'ready');
    groups.push(child);
  }
  const before = procStat(server.pid!);
  const start = performance.now();
  await Promise.all(
    groups.map((child, i) => {
      const offset = i * MEMBERS_PER_PROCESS;
      const count = Math.min(MEMBERS_PER_PROCESS, members - offset);
      const connected = nextMessage(child, 'connected');
      child.send({ type: 'connect', kind: 'imv', port, count, offset, firstCounted: 0, protocol });
      return connected;
    }),
  );
  await waitIdle(server.pid!, 120_000);
  const wallMs = performance.now() - start;
  const after = procStat(server.pid!);
  let bytes = 0;
  for (const child of groups) {
    const stats = nextMessage<{ type: string; bytes: number }>(child, 'stats');
    child.send({ type: 'stats' });
    bytes += (await stats).bytes;
  }
  for (const child of groups) child.send({ type: 'close' });
  server.send('close');
  await Promise.all(
    [server, ...groups].map((c) =>
      c.exitCode === null ? once(c, 'exit').then(() => undefined) : Promise.resolve(),
    ),
  );
  return { members, protocol, cpuMs: after.cpuMs - before.cpuMs, bytes, wallMs };
}

const startLoad = loadAverage();
const rows = [
  '| members | presence | server CPU ms | bytes to members | wall ms |',
  '|---:|---|---:|---:|---:|',
];
const before = PROTOCOLS[0]!;
const ratios = [
  `| members | protocol | CPU / protocol ${before} | bytes / protocol ${before} |`,
  '|---:|---:|---:|---:|',
];
const LABELS: Record<number, string> = {
  1: 'protocol 1: whole list to all',
  2: 'protocol 2: one delta per join',
  3: 'protocol 3: batched deltas',
};
for (const members of MEMBER_COUNTS) {
  const results: Result[] = [];
  for (const protocol of PROTOCOLS) results.push(await measure(members, protocol));
  const base = results[0]!;
  for (const r of results) {
    rows.push(
      `| ${r.members} | ${LABELS[r.protocol] ?? r.protocol} | ${r.cpuMs.toFixed(0)} | ${r.bytes} | ${r.wallMs.toFixed(0)} |`,
    );
    if (r !== base)
      ratios.push(
        `| ${members} | ${r.protocol} | ${(r.cpuMs / base.cpuMs).toFixed(3)}x | ${(r.bytes / base.bytes).toFixed(4)}x |`,
      );
  }
  console.error(`done: ${members} members (load ${loadAverage()})`);
}
console.log(
  `Presence: N members join one room (hello + join each, 16 at a time per process), ${new Date().toISOString()}`,
);
console.log(`Load average (1, 5, 15 min): ${startLoad} at start, ${loadAverage()} at end\n`);
console.log(rows.join('\n'));
console.log(`\nagainst protocol ${before} in the same run (lower is better):\n`);
console.log(ratios.join('\n'));
