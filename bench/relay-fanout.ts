/*
 * Relay fan-out benchmark: one talker at 50 frames/s to N listeners on loopback, through the real imv
 * server and through a bare `ws` broadcast server measured in the same run. Prints frames/s delivered,
 * added delay percentiles (receive time minus send time, same clock), server CPU and RSS, and the
 * ratio imv / bare. Run: npm run bench  (IMV_BENCH_SECONDS=5 IMV_BENCH_LISTENERS=1,10,100,500)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { FRAME_HEADER_LEN, PROTOCOL_VERSION, encodeFrame } from '@imv/protocol';

const SECONDS = Number(process.env.IMV_BENCH_SECONDS ?? 5);
const LISTENER_COUNTS = (process.env.IMV_BENCH_LISTENERS ?? '1,10,100,500').split(',').map(Number);
const FRAME_INTERVAL_MS = 20;
const PAYLOAD_BYTES = 60; // a typical 24 kbps Opus packet
const ROOM = 'bench';

type Kind = 'imv' | 'bare';
interface Result {
  kind: Kind;
  listeners: number;
  framesPerSecond: number;
  expectedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  cpuPercent: number;
  rssMb: number;
}

function startChild(kind: Kind): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(new URL('./fanout-server.ts', import.meta.url)), [kind], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.on('message', (msg: { type: string; port?: number }) => {
      if (msg.type === 'ready' && msg.port !== undefined) resolve({ child, port: msg.port });
    });
  });
}

function ask<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (msg: { type: string }): void => {
      if (msg.type === what) {
        child.off('message', onMessage);
        resolve(msg as T);
      }
    };
    child.on('message', onMessage);
    child.send(what);
  });
}

async function openClient(kind: Kind, port: number, name: string): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false });
  await once(socket, 'open');
  if (kind === 'bare') return socket;
  const joined = new Promise<void>((resolve) => {
    const onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
      if (isBinary) return;
      const msg = JSON.parse((data as Buffer).toString('utf8')) as { type: string };
      if (msg.type === 'joined') {
        socket.off('message', onMessage);
        resolve();
      }
    };
    socket.on('message', onMessage);
  });
  socket.send(
    JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, client: 'imv-bench', name }),
  );
  socket.send(JSON.stringify({ type: 'join', room: ROOM }));
  await joined;
  return socket;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(kind: Kind, listenerCount: number): Promise<Result> {
  const { child, port } = await startChild(kind);
  const listeners: WebSocket[] = [];
  const delaysMs: number[] = [];
  let received = 0;
  for (let i = 0; i < listenerCount; i++) {
    const socket = await openClient(kind, port, `listener-${i}`);
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary || data.length < FRAME_HEADER_LEN + 8) return;
      received++;
      delaysMs.push(performance.now() - data.readDoubleBE(FRAME_HEADER_LEN));
    });
    listeners.push(socket);
  }
  const talker = await openClient(kind, port, 'talker');
  const streamId = 0xbe7c4;
  if (kind === 'imv') talker.send(JSON.stringify({ type: 'talk-start', streamId }));

  await ask(child, 'reset');
  const frameCount = Math.round((SECONDS * 1000) / FRAME_INTERVAL_MS);
  const payload = new Uint8Array(PAYLOAD_BYTES).fill(0x55);
  const payloadView = new DataView(payload.buffer);
  const start = performance.now();
  for (let seq = 0; seq < frameCount; seq++) {
    // Paced against the start time, not the previous tick, so timer lateness does not accumulate.
    const due = start + seq * FRAME_INTERVAL_MS;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    payloadView.setFloat64(0, performance.now());
    talker.send(encodeFrame({ flags: 0, streamId, sequence: seq, timestamp: seq * 960 }, payload));
  }
  // Let the last frames drain.
  const expected = frameCount * listenerCount;
  const drainUntil = performance.now() + 2000;
  while (received < expected && performance.now() < drainUntil)
    await new Promise((r) => setTimeout(r, 20));
  const elapsedS = (performance.now() - start) / 1000;
  const stats = await ask<{ cpuPercent: number; rssBytes: number }>(child, 'stats');

  if (kind === 'imv') talker.send(JSON.stringify({ type: 'talk-stop', streamId }));
  for (const socket of [...listeners, talker]) socket.terminate();
  child.send('close');
  await once(child, 'exit');

  delaysMs.sort((a, b) => a - b);
  return {
    kind,
    listeners: listenerCount,
    framesPerSecond: received / elapsedS,
    expectedPerSecond: (frameCount * listenerCount) / elapsedS,
    p50Ms: percentile(delaysMs, 50),
    p99Ms: percentile(delaysMs, 99),
    maxMs: delaysMs.at(-1) ?? NaN,
    cpuPercent: stats.cpuPercent,
    rssMb: stats.rssBytes / 1024 / 1024,
  };
}

const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}x` : '-');

const rows: string[] = [
  '| listeners | server | frames/s delivered (expected) | p50 delay ms | p99 delay ms | max ms | server CPU % | server RSS MB |',
  '|---:|---|---:|---:|---:|---:|---:|---:|',
];
const ratios: string[] = [
  '| listeners | frames/s | p50 | p99 | CPU | RSS |',
  '|---:|---:|---:|---:|---:|---:|',
];
for (const count of LISTENER_COUNTS) {
  const bare = await measure('bare', count);
  const imv = await measure('imv', count);
  for (const r of [bare, imv]) {
    rows.push(
      `| ${r.listeners} | ${r.kind === 'imv' ? 'imv' : 'bare ws'} | ${fmt(r.framesPerSecond, 0)} (${fmt(r.expectedPerSecond, 0)}) | ${fmt(r.p50Ms, 3)} | ${fmt(r.p99Ms, 3)} | ${fmt(r.maxMs, 1)} | ${fmt(r.cpuPercent, 1)} | ${fmt(r.rssMb, 0)} |`,
    );
  }
  ratios.push(
    `| ${count} | ${ratio(imv.framesPerSecond, bare.framesPerSecond)} | ${ratio(imv.p50Ms, bare.p50Ms)} | ${ratio(imv.p99Ms, bare.p99Ms)} | ${ratio(imv.cpuPercent, bare.cpuPercent)} | ${ratio(imv.rssMb, bare.rssMb)} |`,
  );
  console.error(`done: ${count} listeners`);
}
console.log(
  `Relay fan-out, one talker at 50 frames/s of ${PAYLOAD_BYTES} B, ${SECONDS} s per row, loopback, ${new Date().toISOString()}\n`,
);
console.log(rows.join('\n'));
console.log(
  '\nimv / bare ws (1.00x = as fast as a bare broadcast; for delay, CPU and RSS lower is better):\n',
);
console.log(ratios.join('\n'));
