import type { Server as HttpServer, ServerOptions as HttpServerOptions } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import type { Logger } from 'pino';
import { HttpError, rawErrorResponse } from './errors.js';

/** The HTTP timeouts and caps of one server (config.ts has the defaults, the server README the numbers). */
export interface HttpLimits {
  /** A request's headers must arrive within this time after the connection opened or the last request. */
  httpHeadersTimeoutMs: number;
  /** A whole request (headers and body) must arrive within this time. */
  httpRequestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this time. */
  httpKeepAliveTimeoutMs: number;
  /** Open TCP connections from one IP address to one listener (requests, keep-alive and WebSockets). */
  maxHttpConnectionsPerIp: number;
}

/** Options for http.createServer / https.createServer that make node enforce the timeouts. */
export function timeoutOptions(
  limits: HttpLimits,
): HttpServerOptions & { handshakeTimeout: number } {
  return {
    headersTimeout: limits.httpHeadersTimeoutMs,
    requestTimeout: limits.httpRequestTimeoutMs,
    keepAliveTimeout: limits.httpKeepAliveTimeoutMs,
    // Node checks the two request timeouts on this interval (default 30 s, which would let a
    // slow client hold a socket up to 30 s past its timeout).
    connectionsCheckingInterval: Math.max(
      25,
      Math.min(1_000, Math.floor(limits.httpHeadersTimeoutMs / 4)),
    ),
    // TLS: a client that never finishes the handshake is cut like one that never sends headers.
    handshakeTimeout: limits.httpHeadersTimeoutMs,
  };
}

/**
 * Caps the open connections per remote IP on one listener. Plain HTTP gets a 429
 * TOO_MANY_CONNECTIONS; a TLS listener can only drop the connection, since no TLS session exists yet.
 */
export function guardHttpServer(
  server: HttpServer,
  limits: HttpLimits,
  log: Logger,
  kind: 'http' | 'https',
): void {
  const open = new Map<string, number>();
  // Before node's own listener, so that a refused socket is closed before node starts parsing it.
  (server as NetServer).prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = open.get(address) ?? 0;
    if (count >= limits.maxHttpConnectionsPerIp) {
      log.warn(
        { code: 'TOO_MANY_CONNECTIONS', address, open: count, listener: kind },
        'connection refused: too many from one address',
      );
      refuse(socket, kind, address, count, limits.maxHttpConnectionsPerIp);
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}

function refuse(
  socket: Socket,
  kind: 'http' | 'https',
  address: string,
  count: number,
  max: number,
): void {
  socket.on('error', () => undefined);
  // The answer goes out with what the kernel takes now (all of it: it is small); the socket closes
  // at once, so a flood of refused connections holds nothing open.
  if (kind === 'http') {
    socket.write(rawErrorResponse(HttpError.tooManyConnections(address, count, max)));
  }
  socket.destroy();
}
