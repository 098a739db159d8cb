import type { FastifyInstance } from 'fastify';
import { ROOM_KEY_HEADER } from '@imv/protocol';

/** The page's reads: history and message downloads of a room. Admin routes stay same-origin. */
const ROOMS_PREFIX = '/api/rooms/';

/** Seconds a browser may reuse a preflight answer. */
const PREFLIGHT_MAX_AGE_S = 600;

/**
 * CORS for the other nodes of the cluster, and only for them: a page served by a node that died
 * moves to this one (docs/cluster.md "Client failover") and then downloads history and messages
 * from here, cross-origin. Any other origin gets no CORS headers, so browsers keep refusing it as
 * before. Reads only (GET/HEAD); the one request header allowed is the room key.
 */
export function registerClusterCors(
  app: FastifyInstance,
  peerOrigins: () => ReadonlySet<string>,
): void {
  app.addHook('onRequest', (request, reply, done) => {
    const origin = request.headers.origin;
    if (
      origin === undefined ||
      !request.url.startsWith(ROOMS_PREFIX) ||
      !peerOrigins().has(origin)
    ) {
      done();
      return;
    }
    reply.header('access-control-allow-origin', origin);
    reply.header('vary', 'Origin');
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) {
      void reply
        .code(204)
        .header('access-control-allow-methods', 'GET, HEAD')
        .header('access-control-allow-headers', ROOM_KEY_HEADER)
        .header('access-control-max-age', String(PREFLIGHT_MAX_AGE_S))
        .send();
      return;
    }
    done();
  });
}
