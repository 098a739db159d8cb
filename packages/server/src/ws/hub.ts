import type { Logger } from 'pino';
import type { RoomBus } from '../bus/bus.js';
import type { ServerConfig } from '../config.js';
import type { RoomKeys } from '../store/room-keys.js';
import type { MessageStore } from '../store/store.js';
import type { Connection } from './connection.js';
import type { RoomRegistry } from './rooms.js';

/** What every connection shares: config, storage, fan-out and room state. */
export interface Hub {
  readonly config: ServerConfig;
  readonly store: MessageStore;
  readonly bus: RoomBus;
  readonly rooms: RoomRegistry;
  /** Room keys (access control), checked against the store's hashes. */
  readonly roomKeys: RoomKeys;
  readonly log: Logger;
  readonly connections: Set<Connection>;
  shuttingDown: boolean;
}
