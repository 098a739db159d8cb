import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WS_PATH } from '@imv/protocol';
import { WebSocketServer } from 'ws';
import type { AllowedHosts } from '../http/allowed-hosts.js';
import { HttpError, rawErrorResponse } from '../http/errors.js';
import { Connection } from './connection.js';
import type { Hub } from './hub.js';

/** ws refuses any message above this at its header with close code 1009 (Message Too Big). */
export const MAX_WS_PAYLOAD_BYTES = 64 * 1024;

function refuse(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export interface UpgradePolicy {
  /** Host names the server answers to (DNS rebinding); others get 421 before the upgrade. */
  allowedHosts: AllowedHosts;
  /** host:port pairs of this server's own URLs (lower case, as URL.host writes them). */
  ownHosts(): ReadonlySet<string>;
  /** Origins of the other nodes of the cluster (empty on a single node). */
  peerOrigins(): ReadonlySet<string>;
  /** Open WebSockets allowed per remote IP address. */
  maxConnectionsPerIp: number;
}

/** '::ffff:10.0.0.2' and '10.0.0.2' are one client. */
function clientAddress(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.)/i, '');
}

/**
 * Browsers send Origin on every WebSocket and do not apply the same-origin policy to it, so without
 * this check any web page a LAN user visits could connect to the relay in their name (cross-site
 * WebSocket hijacking). Allowed: no Origin (CLI, scripts), an origin whose host:port is the request's
 * own Host, one of this server's URLs, or one of `peerOrigins` (the other nodes of its cluster, whose
 * pages fail over here).
 */
export function originAllowed(
  req: IncomingMessage,
  ownHosts: ReadonlySet<string>,
  peerOrigins: ReadonlySet<string> = new Set(),
): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // 'null' (sandboxed frames, file:) and anything unparsable
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (ownHosts.has(url.host) || peerOrigins.has(url.origin)) return true;
  const host = req.headers.host;
  if (host === undefined) return false;
  try {
    // Parsed with the origin's scheme so default ports compare equal ('x' and 'x:443' on https).
    return new URL(`${url.protocol}//${host}`).host === url.host;
  } catch {
    return false;
  }
}

/**
 * Accepts WebSocket upgrades on WS_PATH of every given server (plain HTTP and HTTPS) and gives each
 * a Connection.
 */
export function attachWebSocketServer(
  servers: Server[],
  hub: Hub,
  policy: UpgradePolicy,
): WebSocketServer {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_WS_PAYLOAD_BYTES,
    // Opus does not compress; deflate would cost CPU and a copy per frame.
    perMessageDeflate: false,
    clientTracking: false,
  });
  let nextId = 1;
  const openPerAddress = new Map<string, number>();
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!policy.allowedHosts.allows(req.headers.host)) {
      hub.log.warn(
        { code: 'HOST_NOT_ALLOWED', host: req.headers.host, address: clientAddress(req) },
        'websocket refused: unknown host name (DNS rebinding?)',
      );
      socket.end(rawErrorResponse(HttpError.hostNotAllowed(req.headers.host)));
      return;
    }
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (pathname !== WS_PATH) {
      refuse(socket, '404 Not Found');
      return;
    }
    if (hub.shuttingDown) {
      refuse(socket, '503 Service Unavailable');
      return;
    }
    const address = clientAddress(req);
    if (!originAllowed(req, policy.ownHosts(), policy.peerOrigins())) {
      hub.log.info(
        { code: 'ORIGIN_NOT_ALLOWED', origin: req.headers.origin, host: req.headers.host, address },
        'websocket refused: foreign origin',
      );
      socket.end(rawErrorResponse(HttpError.originNotAllowed(req.headers.origin)));
      return;
    }
    const open = openPerAddress.get(address) ?? 0;
    if (open >= policy.maxConnectionsPerIp) {
      hub.log.info(
        { code: 'TOO_MANY_CONNECTIONS', address, open },
        'websocket refused: too many connections from one address',
      );
      socket.end(
        rawErrorResponse(HttpError.tooManyWebSockets(address, open, policy.maxConnectionsPerIp)),
      );
      return;
    }
    // Counted from now: upgrades finishing at the same time must not all pass the check.
    openPerAddress.set(address, open + 1);
    let counted = true;
    const release = (): void => {
      if (!counted) return;
      counted = false;
      const left = (openPerAddress.get(address) ?? 1) - 1;
      if (left <= 0) openPerAddress.delete(address);
      else openPerAddress.set(address, left);
    };
    // A handshake that fails (bad key, client gone) never reaches the callback.
    socket.once('close', release);
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.once('close', release);
      // Member ids must be unique across the cluster, so a clustered node prefixes its own id.
      const id = hub.cluster === undefined ? `c${nextId++}` : `${hub.nodeId}/c${nextId++}`;
      new Connection(id, ws, hub, hub.log.child({ conn: id }), req.socket.remoteAddress, address);
    });
  };
  for (const server of servers) server.on('upgrade', onUpgrade);
  const heartbeat = setInterval(() => {
    for (const connection of hub.connections) connection.heartbeat();
  }, hub.config.pingIntervalMs);
  heartbeat.unref();
  wss.on('close', () => clearInterval(heartbeat));
  return wss;
}
