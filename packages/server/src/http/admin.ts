import { readFileSync } from 'node:fs';
import {
  MAX_HISTORY_LIMIT,
  MAX_ROOM_KEY_LENGTH,
  MIN_ROOM_KEY_LENGTH,
  ROOM_KEY_PATTERN,
  REST_ROUTES,
  ROOM_PATTERN,
} from '@imv/protocol';
import type { MessageDeleted } from '@imv/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RoomSummary } from '../store/store.js';
import { controlText } from '../ws/control-text.js';
import type { Hub } from '../ws/hub.js';
import { adminTokenMatches } from './admin-token.js';
import { HttpError } from './errors.js';
import { integerText, parseIntegerParam, parseOptionalIntegerParam } from './params.js';

const roomParam = { type: 'string', pattern: ROOM_PATTERN.source } as const;
const roomParams = { type: 'object', properties: { room: roomParam }, required: ['room'] } as const;
const messageParams = {
  type: 'object',
  properties: { room: roomParam, id: integerText },
  required: ['room', 'id'],
} as const;

interface RoomParams {
  room: string;
}
interface MessageParams extends RoomParams {
  id: string;
}

/** The admin page: static HTML, CSS and a script file (no inline script: CSP is `script-src 'self'`). */
const PAGE_FILES = {
  '/admin': ['admin.html', 'text/html; charset=utf-8'],
  '/admin/admin.js': ['admin.js', 'text/javascript; charset=utf-8'],
  '/admin/admin.css': ['admin.css', 'text/css; charset=utf-8'],
} as const;

/** One room in GET /api/admin/rooms. */
export interface AdminRoom extends RoomSummary {
  /** Members connected to this node now. */
  online: number;
}

/**
 * Admin REST (Authorization: Bearer <token>): list rooms and their messages, delete a message or
 * a whole room, set or remove a room key. Plus the /admin page that drives it.
 */
export function registerAdminRoutes(app: FastifyInstance, hub: Hub, adminToken: string): void {
  const { store } = hub;

  function requireAdmin(
    request: FastifyRequest,
    _reply: unknown,
    done: (err?: Error) => void,
  ): void {
    const header = request.headers.authorization;
    if (header === undefined || header.trim() === '') {
      done(HttpError.unauthorized('admin route: send Authorization: Bearer <admin token>'));
      return;
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null || !adminTokenMatches(match[1]!, adminToken)) {
      done(HttpError.forbidden('admin route: the admin token is wrong'));
      return;
    }
    done();
  }

  function announceDeleted(room: string, ids: readonly number[]): void {
    for (const id of ids) {
      const message: MessageDeleted = { type: 'message-deleted', room, id };
      hub.bus.publishControl(room, controlText(message));
    }
  }

  app.get(REST_ROUTES.adminRooms, { onRequest: requireAdmin }, async () => {
    const stored = await store.listRooms();
    const rooms = new Map<string, AdminRoom>(
      stored.map((r) => [r.room, { ...r, online: hub.rooms.members(r.room).length }]),
    );
    for (const room of hub.rooms.names()) {
      if (!rooms.has(room))
        rooms.set(room, {
          room,
          messageCount: 0,
          keyed: false,
          online: hub.rooms.members(room).length,
        });
    }
    return { rooms: [...rooms.values()].sort((a, b) => a.room.localeCompare(b.room)) };
  });

  // Live nodes of the cluster; a single node (memory bus) lists itself.
  app.get(REST_ROUTES.adminCluster, { onRequest: requireAdmin }, () => ({
    node: hub.nodeId,
    bus: { kind: hub.bus.kind, url: hub.bus.url, reachable: hub.bus.reachable },
    nodes: hub.cluster?.liveNodes() ?? [
      {
        id: hub.nodeId,
        urls: hub.nodeUrls(),
        connections: hub.connections.size,
        lastHeartbeat: Date.now(),
        self: true,
      },
    ],
  }));

  // The admin sees keyed rooms too, without their key.
  app.get<{ Params: RoomParams; Querystring: { before?: string; limit?: string } }>(
    REST_ROUTES.adminMessages,
    {
      onRequest: requireAdmin,
      schema: {
        params: roomParams,
        querystring: {
          type: 'object',
          properties: {
            before: integerText,
            limit: integerText,
          },
        },
      },
    },
    async (request) => {
      const { room } = request.params;
      const before = parseOptionalIntegerParam('before', request.query.before, 1);
      const limit =
        parseOptionalIntegerParam('limit', request.query.limit, 1, MAX_HISTORY_LIMIT) ??
        MAX_HISTORY_LIMIT;
      const page = await store.listMessages(room, { before, limit });
      return { room, messages: page.messages, more: page.more };
    },
  );

  app.delete<{ Params: MessageParams }>(
    REST_ROUTES.message,
    { onRequest: requireAdmin, schema: { params: messageParams } },
    async (request) => {
      const { room } = request.params;
      const id = parseIntegerParam('message id', request.params.id, 1);
      const message = await store.getMessage(room, id);
      if (message === undefined) throw HttpError.notFound(`message ${id} in room ${room}`);
      if (message.status === 'recording') {
        throw HttpError.messageRecording(id);
      }
      if (!(await store.deleteMessage(room, id)))
        throw HttpError.notFound(`message ${id} in room ${room}`);
      request.log.info({ room, messageId: id }, 'admin deleted a message');
      announceDeleted(room, [id]);
      return { room, id, deleted: true };
    },
  );

  app.delete<{ Params: RoomParams }>(
    REST_ROUTES.room,
    { onRequest: requireAdmin, schema: { params: roomParams } },
    async (request) => {
      const { room } = request.params;
      const ids = await store.deleteRoom(room);
      request.log.info({ room, messages: ids.length }, 'admin deleted a room');
      announceDeleted(room, ids);
      return { room, deletedMessages: ids.length };
    },
  );

  app.put<{ Params: RoomParams; Body: { key: string } }>(
    REST_ROUTES.roomKey,
    {
      onRequest: requireAdmin,
      schema: {
        params: roomParams,
        body: {
          type: 'object',
          properties: {
            key: {
              type: 'string',
              minLength: MIN_ROOM_KEY_LENGTH,
              maxLength: MAX_ROOM_KEY_LENGTH,
              pattern: ROOM_KEY_PATTERN.source,
            },
          },
          required: ['key'],
        },
      },
    },
    async (request) => {
      const { room } = request.params;
      await hub.roomKeys.set(room, request.body.key);
      request.log.info({ room }, 'admin set a room key');
      return { room, keyed: true };
    },
  );

  app.delete<{ Params: RoomParams }>(
    REST_ROUTES.roomKey,
    { onRequest: requireAdmin, schema: { params: roomParams } },
    async (request) => {
      const { room } = request.params;
      await hub.roomKeys.set(room, undefined);
      request.log.info({ room }, 'admin removed a room key');
      return { room, keyed: false };
    },
  );

  for (const [route, [file, type]] of Object.entries(PAGE_FILES)) {
    const body = readFileSync(new URL(`./admin-page/${file}`, import.meta.url));
    app.get(route, (_request, reply) =>
      reply.type(type).header('Cache-Control', 'no-cache').send(body),
    );
  }
}
