/**
 * The REST side of the wire: paths, header names and limits, written once for the server's routes
 * and for every client (CLI, web) that calls them. docs/protocol.md describes each route.
 */

/** Header carrying a keyed room's key. Never the query string: URLs end up in logs and history. */
export const ROOM_KEY_HEADER = 'X-Imv-Room-Key';

/** Largest request body the server reads (admin JSON bodies are tiny); more gets 413 PAYLOAD_TOO_LARGE. */
export const MAX_REST_BODY_BYTES = 64 * 1024;

/** Route patterns as the server registers them (`:room`, `:id` are path parameters). */
export const REST_ROUTES = {
  health: '/api/health',
  messages: '/api/rooms/:room/messages',
  message: '/api/rooms/:room/messages/:id',
  messageOgg: '/api/rooms/:room/messages/:id.ogg',
  messageFrames: '/api/rooms/:room/messages/:id.frames',
  room: '/api/rooms/:room',
  roomKey: '/api/rooms/:room/key',
  adminRooms: '/api/admin/rooms',
  adminMessages: '/api/admin/rooms/:room/messages',
  adminCluster: '/api/cluster',
} as const;

const roomPath = (room: string): string => `/api/rooms/${encodeURIComponent(room)}`;

/** Concrete paths for clients. */
export const REST_PATHS = {
  health: (): string => REST_ROUTES.health,
  messages: (room: string): string => `${roomPath(room)}/messages`,
  message: (room: string, id: number): string => `${roomPath(room)}/messages/${id}`,
  messageOgg: (room: string, id: number): string => `${roomPath(room)}/messages/${id}.ogg`,
  messageFrames: (room: string, id: number): string => `${roomPath(room)}/messages/${id}.frames`,
  room: (room: string): string => roomPath(room),
  roomKey: (room: string): string => `${roomPath(room)}/key`,
  adminRooms: (): string => REST_ROUTES.adminRooms,
  adminMessages: (room: string): string => `/api/admin/rooms/${encodeURIComponent(room)}/messages`,
  adminCluster: (): string => REST_ROUTES.adminCluster,
} as const;
