/*
 * Child process for bench/relay-fanout.ts: runs either the real imv server or a bare `ws` broadcast
 * server (the baseline) and sends its port over IPC. It runs nothing else, so the bench can read
 * the server's own CPU time and RSS from /proc/<pid>/stat, apart from the clients'.
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
        maxHttpConnectionsPerIp: 10_000,
        // bench/cluster.ts runs nodes on NATS: `imv <bus URL> <subject prefix>`.
        bus: process.argv[3] ?? 'memory',
        ...(process.argv[4] !== undefined && { busPrefix: process.argv[4] }),
      });

// The bench process owns this child: exit with it instead of lingering.
process.on('disconnect', () => process.exit(0));
process.on('message', (msg: string) => {
  if (msg === 'close') {
    void server.close().then(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  }
});
process.send?.({ type: 'ready', port: server.port });
