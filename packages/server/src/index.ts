export { startServer } from './server.js';
export { StartupError } from './startup-error.js';
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
export { PostgresMessageStore } from './store/postgres/postgres-store.js';
export { openStore, openCopyableStore } from './store/open-store.js';
export { copyStore } from './store/store-copy.js';
export type { CopyProgress, CopyReport } from './store/store-copy.js';
export { StoreOpenError, StoreUnavailableError } from './store/store-errors.js';
export { maskStoreUrl, parseStoreUrl } from './store/store-url.js';
export type { CopyableStore, ExportedMessage, RecoveredMessage } from './store/store.js';
export type { BusKind, RemoteHandlers, RoomBus, RoomSubscriber } from './bus/bus.js';
export { MemoryBus } from './bus/memory-bus.js';
export { NatsBus } from './bus/nats-bus.js';
export { BusError } from './bus/bus-errors.js';
export { parseBusUrl, maskBusUrl } from './bus/bus-url.js';
export type { BusUrl } from './bus/bus-url.js';
export { SERVER_NAME, SERVER_VERSION } from './version.js';
export { ADMIN_TOKEN_FILE, ensureAdminToken } from './http/admin-token.js';
export type { RoomSummary } from './store/store.js';
