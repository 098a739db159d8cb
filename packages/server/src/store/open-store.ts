import { PostgresMessageStore } from './postgres/postgres-store.js';
import { SqliteMessageStore } from './sqlite-store.js';
import type { CopyableStore, MessageStore } from './store.js';
import { StoreOpenError } from './store-errors.js';
import { describeStoreLocation, maskStoreUrl, parseStoreUrl } from './store-url.js';
import type { StoreLocation } from './store-url.js';
import { WorkerMessageStore } from './worker-store.js';

export interface OpenStoreOptions {
  /** Data directory: where the default SQLite file lives. */
  dataDir: string;
  /** This node's id (PostgreSQL leases). */
  nodeId: string;
  /** SQLite in a worker thread (the server) or on this thread (tests, `imv store copy`). */
  sqliteInWorker: boolean;
  /** Connection errors on idle PostgreSQL connections (logged; the pool replaces the connection). */
  onPoolError?: (err: Error) => void;
}

async function openLocation(
  location: StoreLocation,
  options: OpenStoreOptions,
): Promise<MessageStore> {
  if (location.kind === 'postgres') {
    return PostgresMessageStore.open(location.url, {
      nodeId: options.nodeId,
      ...(options.onPoolError !== undefined && { onPoolError: options.onPoolError }),
    });
  }
  return options.sqliteInWorker
    ? WorkerMessageStore.open(location.dir, location.fileName)
    : new SqliteMessageStore(location.dir, location.fileName);
}

/**
 * Opens the store named by `url` (see parseStoreUrl; undefined means `<dataDir>/imv.sqlite`).
 * Any failure is a StoreOpenError whose one-line message names the URL (password masked).
 */
export async function openStore(
  url: string | undefined,
  options: OpenStoreOptions,
): Promise<MessageStore> {
  let location: StoreLocation;
  try {
    location = parseStoreUrl(url, options.dataDir);
  } catch (err) {
    throw new StoreOpenError(maskStoreUrl(url ?? ''), err);
  }
  try {
    return await openLocation(location, options);
  } catch (err) {
    throw new StoreOpenError(describeStoreLocation(location), err);
  }
}

/** Opens a store for `imv store copy` (SQLite on this thread). */
export async function openCopyableStore(
  url: string,
  options: Omit<OpenStoreOptions, 'sqliteInWorker'>,
): Promise<CopyableStore> {
  return (await openStore(url, { ...options, sqliteInWorker: false })) as CopyableStore;
}
