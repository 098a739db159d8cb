import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WS_PATH } from '@imv/protocol';
import { WebSocketServer } from 'ws';
import { Connection } from './connection.js';
import type { Hub } from './hub.js';

/** ws refuses any message above this at its header with close code 1009 (Message Too Big). */
export const MAX_WS_PAYLOAD_BYTES = 64 * 1024;

function refuse(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Accepts WebSocket upgrades on WS_PATH of the HTTP server and gives each a Connection. */
export function attachWebSocketServer(server: Server, hub: Hub): WebSocketServer {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_WS_PAYLOAD_BYTES,
    // Opus does not compress; deflate would cost CPU and a copy per frame.
    perMessageDeflate: false,
    clientTracking: false,
  });
  let nextId = 1;
  server.on('upgrade', (req, socket, head) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (pathname !== WS_PATH) {
      refuse(socket, '404 Not Found');
      return;
    }
    if (hub.shuttingDown) {
      refuse(socket, '503 Service Unavailable');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const id = `c${nextId++}`;
      new Connection(id, ws, hub, hub.log.child({ conn: id }), req.socket.remoteAddress);
    });
  });
  const heartbeat = setInterval(() => {
    for (const connection of hub.connections) connection.heartbeat();
  }, hub.config.pingIntervalMs);
  heartbeat.unref();
  wss.on('close', () => clearInterval(heartbeat));
  return wss;
}
