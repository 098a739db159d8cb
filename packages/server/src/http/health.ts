import { PROTOCOL_VERSION } from '@imv/protocol';
import type { FastifyInstance } from 'fastify';
import type { MessageStore } from '../store/store.js';
import { SERVER_VERSION } from '../version.js';

/**
 * GET /api/health: liveness, the versions a client may want to check, and whether the store
 * answers. 503 while it does not: a load balancer then sends new clients to another node.
 */
export function registerHealthRoutes(app: FastifyInstance, store: MessageStore): void {
  app.get('/api/health', async (_request, reply) => {
    const reachable = await store.ping().then(
      () => true,
      () => false,
    );
    if (!reachable) reply.code(503);
    return {
      ok: reachable,
      version: SERVER_VERSION,
      protocol: PROTOCOL_VERSION,
      store: { kind: store.kind, reachable },
    };
  });
}
