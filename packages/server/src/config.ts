import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DestinationStream, LevelWithSilent } from 'pino';

/** Options of startServer; every field has a default (see DEFAULTS). */
export interface ServerOptions {
  /** Interface to bind; '0.0.0.0' or '::' means every interface. */
  host?: string;
  /** TCP port; 0 picks a free one. */
  port?: number;
  /** Directory holding imv.sqlite; created if missing. */
  dataDir?: string;
  /** Longest voice message; the talker is stopped with MESSAGE_TOO_LONG when it is reached. */
  maxMessageMs?: number;
  /** Directory of the built web client (index.html, duo.html, assets/). */
  webRoot?: string;
  /** pino level: 'fatal' … 'trace', or 'silent'. */
  logLevel?: LevelWithSilent;
  /** Where JSON log lines go; defaults to stdout. */
  logDestination?: DestinationStream | NodeJS.WritableStream;
  /** A listener whose socket buffers more than this many bytes misses live frames until it drains. */
  slowListenerBytes?: number;
  /** A connection must send hello within this time or is closed with 4002. */
  helloTimeoutMs?: number;
  /** Every this often each socket is pinged; one that has not answered the previous ping is cut. */
  pingIntervalMs?: number;
  /**
   * Run SQLite in a worker thread (default) so disk latency never stalls live relay; false opens it
   * on the main thread (starts ~0.2 s faster, used by most tests).
   */
  storeInWorker?: boolean;
}

export type ServerConfig = Required<Omit<ServerOptions, 'logDestination'>> &
  Pick<ServerOptions, 'logDestination'>;

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const DEFAULTS = {
  host: '0.0.0.0',
  port: 8080,
  dataDir: './data',
  maxMessageMs: 300_000,
  webRoot: path.resolve(packageDir, '../web/dist'),
  logLevel: 'info',
  slowListenerBytes: 256 * 1024,
  helloTimeoutMs: 10_000,
  pingIntervalMs: 15_000,
  storeInWorker: true,
} as const satisfies Omit<ServerConfig, 'logDestination'>;

/** Fills in defaults and resolves paths against the current directory. */
export function resolveConfig(options: ServerOptions = {}): ServerConfig {
  const config: ServerConfig = {
    host: options.host ?? DEFAULTS.host,
    port: options.port ?? DEFAULTS.port,
    dataDir: path.resolve(options.dataDir ?? DEFAULTS.dataDir),
    maxMessageMs: options.maxMessageMs ?? DEFAULTS.maxMessageMs,
    webRoot: path.resolve(options.webRoot ?? DEFAULTS.webRoot),
    logLevel: options.logLevel ?? DEFAULTS.logLevel,
    logDestination: options.logDestination,
    slowListenerBytes: options.slowListenerBytes ?? DEFAULTS.slowListenerBytes,
    helloTimeoutMs: options.helloTimeoutMs ?? DEFAULTS.helloTimeoutMs,
    pingIntervalMs: options.pingIntervalMs ?? DEFAULTS.pingIntervalMs,
    storeInWorker: options.storeInWorker ?? DEFAULTS.storeInWorker,
  };
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    throw new RangeError(`options.port must be an integer 0-65535, got ${config.port}`);
  }
  if (!Number.isFinite(config.maxMessageMs) || config.maxMessageMs < 20) {
    throw new RangeError(`options.maxMessageMs must be at least 20, got ${config.maxMessageMs}`);
  }
  return config;
}
