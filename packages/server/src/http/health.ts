import { PROTOCOL_VERSION, REST_ROUTES } from '@imv/protocol';
import type { FastifyInstance } from 'fastify';
import type { MessageStore } from '../store/store.js';
import { SERVER_VERSION } from '../version.js';
import type { Hub } from '../ws/hub.js';

const STORE_PING_TIMEOUT_MS = 2_000;

async function storeHealth(store: MessageStore): Promise<{ kind: string; reachable: boolean }> {
  const kind = store.kind;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), STORE_PING_TIMEOUT_MS);
  });
  try {
    await Promise.race([store.ping(), timeout]);
    return { kind, reachable: true };
  } catch {
    return { kind, reachable: false };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * GET /api/health: versions, this node's id, and whether its store and bus are reachable. It answers
 * 503 while either is not, so a load balancer or a supervisor can take the node out.
 */
export function registerHealthRoutes(app: FastifyInstance, hub: Hub): void {
  app.get(REST_ROUTES.health, async (_request, reply) => {
    const store = await storeHealth(hub.store);
    const bus = { kind: hub.bus.kind, url: hub.bus.url, reachable: hub.bus.reachable };
    const ok = store.reachable && bus.reachable;
    if (!ok) void reply.code(503);
    return {
      ok,
      version: SERVER_VERSION,
      protocol: PROTOCOL_VERSION,
      node: hub.nodeId,
      store,
      bus,
    };
  });
}
