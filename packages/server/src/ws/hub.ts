import type { Logger } from 'pino';
import type { RoomBus } from '../bus/bus.js';
import type { ClusterRooms } from '../cluster/cluster-rooms.js';
import type { ServerConfig } from '../config.js';
import type { RoomKeys } from '../store/room-keys.js';
import type { MessageStore } from '../store/store.js';
import type { RoomState } from './rooms.js';

/** What the server does with each open connection, whatever it is made of. */
export interface ConnectionHandle {
  /** Pings the client; cuts one that did not answer the previous ping. */
  heartbeat(): void;
  /** Server shutdown: ends a live talk as 'partial'; resolves when its store writes are done. */
  shutdown(): Promise<void>;
  /** Closes with 1001; resolves once closed (forcibly after `timeoutMs`). */
  closeSocket(timeoutMs: number): Promise<void>;
}

/** What every connection shares: config, storage, fan-out and room state. */
export interface Hub {
  readonly config: ServerConfig;
  readonly store: MessageStore;
  readonly bus: RoomBus;
  /** This node's members and streams; with a networked bus, every node's (the ClusterRooms). */
  readonly rooms: RoomState;
  /** The other nodes, heard through the bus; undefined with the memory bus. */
  readonly cluster: ClusterRooms | undefined;
  /** This node's name in the cluster (`<host name>:<port>` unless --node-id). */
  nodeId: string;
  /** Where clients reach this node (known once it listens). */
  nodeUrls(): string[];
  /** Room keys (access control), checked against the store's hashes. */
  readonly roomKeys: RoomKeys;
  readonly log: Logger;
  readonly connections: Set<ConnectionHandle>;
  shuttingDown: boolean;
}
