export { startServer } from './server.js';
export type { ImvServer } from './server.js';
export { printBanner } from './banner.js';
export type { BannerOptions } from './banner.js';
export { installSignalHandlers } from './signals.js';
export { DEFAULTS, resolveConfig } from './config.js';
export type { ServerConfig, ServerOptions } from './config.js';
export type {
  ListQuery,
  MessagePage,
  MessageStore,
  NewMessage,
  StoredFrame,
} from './store/store.js';
export { SqliteMessageStore } from './store/sqlite-store.js';
export { WorkerMessageStore } from './store/worker-store.js';
export { MIGRATIONS } from './store/migrations.js';
export type { BusKind, RemoteHandlers, RoomBus, RoomSubscriber } from './bus/bus.js';
export { MemoryBus } from './bus/memory-bus.js';
export { NatsBus } from './bus/nats-bus.js';
export { BusError } from './bus/bus-errors.js';
export { parseBusUrl, maskBusUrl } from './bus/bus-url.js';
export type { BusUrl } from './bus/bus-url.js';
export { SERVER_NAME, SERVER_VERSION } from './version.js';
export { ADMIN_TOKEN_FILE, ensureAdminToken } from './http/admin-token.js';
export { ROOM_KEY_HEADER, packFramesDownload } from './http/messages.js';
export type { RoomSummary } from './store/store.js';
