import { PROTOCOL_VERSION } from '@imv/protocol';
import type { FastifyInstance } from 'fastify';
import { SERVER_VERSION } from '../version.js';

/** GET /api/health: liveness plus the versions a client may want to check. */
export function registerHealthRoutes(app: FastifyInstance): void {
  app.get('/api/health', () => ({ ok: true, version: SERVER_VERSION, protocol: PROTOCOL_VERSION }));
}
