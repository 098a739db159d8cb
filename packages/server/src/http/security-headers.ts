import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/*
 * Headers on every response (pages, API, CA downloads, errors). The web client loads only its own
 * files, so the policy is 'self' everywhere, with these exceptions:
 * - script-src 'wasm-unsafe-eval': the codec worker compiles libopus (WebAssembly) when the browser
 *   has no WebCodecs Opus; this allows WebAssembly compilation only, not eval() of strings.
 * - worker-src / media-src / img-src blob: and data: for audio made in the page (downloads, playback
 *   of stored messages) and icons.
 * - connect-src names ws:// and wss:// of the request's own host: CSP 3 lets 'self' match them, but
 *   older Safari does not. In a cluster it also names the other nodes (http(s) and ws(s)), so the page
 *   can move to one of them when its node goes away (docs/cluster.md "Client failover").
 */

/** Seconds; short because the certificate comes from a local CA that an operator may drop. */
const HSTS_MAX_AGE_S = 3600;

const HOST_HEADER = /^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i;
const LOOPBACK_OR_IP = /^(localhost|127\.[\d.]+|\[[0-9a-f:.]+\]|[\d.]+)$/i;

export function isEncrypted(request: FastifyRequest): boolean {
  return (request.raw.socket as Partial<TLSSocket>).encrypted === true;
}

/** The Content-Security-Policy for a request that arrived with this Host header. */
export function contentSecurityPolicy(
  host: string | undefined,
  peerOrigins: Iterable<string> = [],
): string {
  const self = host !== undefined && HOST_HEADER.test(host) ? ` ws://${host} wss://${host}` : '';
  let peers = '';
  for (const origin of peerOrigins) {
    // Origins come from URL.origin, so they hold no spaces or semicolons.
    peers += ` ${origin} ${origin.replace(/^http/, 'ws')}`;
  }
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    `connect-src 'self'${self}${peers}`,
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "worker-src 'self' blob:",
    "style-src 'self'",
    "font-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    // The duo view shows two clients side by side in same-origin iframes.
    "frame-ancestors 'self'",
  ].join('; ');
}

/** `peerOrigins`: the other nodes of the cluster (none on a single node). */
export function registerSecurityHeaders(
  app: FastifyInstance,
  peerOrigins: () => Iterable<string> = () => [],
): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers({
      'content-security-policy': contentSecurityPolicy(request.headers.host, peerOrigins()),
      'x-content-type-options': 'nosniff',
      // The room key travels in the URL fragment; no Referer ever carries the page URL elsewhere.
      'referrer-policy': 'no-referrer',
      'permissions-policy': 'microphone=(self), camera=(), geolocation=()',
      'cross-origin-opener-policy': 'same-origin',
    });
    // HSTS holds for a host name on every port, so on http://<name>:8080 a browser would try TLS on
    // the plain port; browsers ignore it for IP addresses anyway. Names only, never localhost.
    const hostname = (request.headers.host ?? '').replace(/:\d+$/, '');
    if (isEncrypted(request) && hostname !== '' && !LOOPBACK_OR_IP.test(hostname)) {
      reply.header('strict-transport-security', `max-age=${HSTS_MAX_AGE_S}`);
    }
    done();
  });
}
