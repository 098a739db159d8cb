/*
 * Child process for bench/relay-fanout.ts: runs either the real imv server or a bare `ws` broadcast
 * server (the baseline), prints its port, and answers 'stats' over IPC with its own CPU time and RSS,
 * so the server's cost is measured apart from the clients'.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { startServer } from '@imv/server';

const kind = process.argv[2];

async function startBare(): Promise<{ port: number; close: () => Promise<void> }> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, path: '/ws', perMessageDeflate: false });
  wss.on('connection', (socket: WebSocket) => {
    socket.on('message', (data, isBinary) => {
      if (!isBinary) return;
      for (const peer of wss.clients) if (peer !== socket) peer.send(data, { binary: true });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        wss.close();
        http.close(() => resolve());
      }),
  };
}

const dataDir = mkdtempSync(join(tmpdir(), 'imv-bench-'));
const server =
  kind === 'bare'
    ? await startBare()
    : await startServer({
        host: '127.0.0.1',
        port: 0,
        dataDir,
        logLevel: 'warn',
        httpsPort: false,
        mdns: false,
        // Every bench listener comes from 127.0.0.1; the default per-IP limit (32) is for a LAN.
        maxConnectionsPerIp: 10_000,
      });

let cpuAtReset = process.cpuUsage();
let timeAtReset = performance.now();
// The bench process owns this child: exit with it instead of lingering.
process.on('disconnect', () => process.exit(0));
process.on('message', (msg: string) => {
  if (msg === 'reset') {
    cpuAtReset = process.cpuUsage();
    timeAtReset = performance.now();
    process.send?.({ type: 'reset' });
  } else if (msg === 'stats') {
    const cpu = process.cpuUsage(cpuAtReset);
    const elapsedMs = performance.now() - timeAtReset;
    process.send?.({
      type: 'stats',
      cpuPercent: ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100,
      rssBytes: process.memoryUsage().rss,
    });
  } else if (msg === 'close') {
    void server.close().then(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  }
});
process.send?.({ type: 'ready', port: server.port });
