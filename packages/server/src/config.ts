import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DestinationStream, LevelWithSilent } from 'pino';
import { normalizeHostName } from './http/allowed-hosts.js';

/** Options of startServer; every field has a default (see DEFAULTS). */
export interface ServerOptions {
  /** Interface to bind; '0.0.0.0' or '::' means every interface. */
  host?: string;
  /** TCP port; 0 picks a free one. */
  port?: number;
  /** Directory holding imv.sqlite; created if missing. */
  dataDir?: string;
  /**
   * Where messages are stored: `sqlite:PATH` (a file, or a directory holding imv.sqlite) or
   * `postgres://USER[:PASSWORD]@HOST[:PORT]/DB` (shared by the nodes of a cluster). Default: `<dataDir>/imv.sqlite`.
   */
  store?: string;
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
  /**
   * Sustained 20 ms frames per second one talk may send; a 10 ms talk may send twice as many (the
   * limit is audio time). Faster ones are dropped (RATE_LIMITED).
   */
  framesPerSecond?: number;
  /** 20 ms frames one talk may send at once above framesPerSecond (token bucket size; twice as many 10 ms ones). */
  frameBurst?: number;
  /**
   * Port of the HTTPS + WSS listener (browsers on other devices need a secure context for the
   * microphone); 0 picks a free one; false or null turns HTTPS off. Default 8443, or 0 when `port` is 0.
   */
  httpsPort?: number | false | null;
  /** The operator's own certificate chain (PEM); with keyFile, used instead of the generated local CA. */
  certFile?: string;
  /** Private key (PEM) of certFile. */
  keyFile?: string;
  /**
   * Directory of a local CA shared by the nodes of a cluster (ca.crt, ca.key; made by the first node
   * when empty), so a device that trusts one node trusts them all. Default: `<dataDir>/tls`.
   */
  caDir?: string;
  /** Announce the server on the LAN with mDNS. Default: true unless bound to a loopback address. */
  mdns?: boolean;
  /** Concurrent WebSocket connections allowed from one IP address; more get HTTP 429 at upgrade. */
  maxConnectionsPerIp?: number;
  /**
   * Open TCP connections from one IP to one listener (HTTP requests, keep-alive and WebSockets
   * together); more are refused (429 TOO_MANY_CONNECTIONS on http, closed on https).
   */
  maxHttpConnectionsPerIp?: number;
  /** A request's headers must arrive within this time, or the connection gets 408 and is closed. */
  httpHeadersTimeoutMs?: number;
  /** A whole request must arrive within this time, or the connection gets 408 and is closed. */
  httpRequestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this time. */
  httpKeepAliveTimeoutMs?: number;
  /**
   * Host names the server answers to besides localhost, its own names and addresses and the names in
   * its certificate (a reverse proxy's name, a DNS name); other names get 421 HOST_NOT_ALLOWED.
   */
  publicHosts?: readonly string[];
  /** `memory` (one node) or `nats://host:port[,host:port…]` (every node on the same NATS). */
  bus?: string;
  /** NATS subject prefix; nodes of one cluster share it, separate clusters on one NATS differ. */
  busPrefix?: string;
  /** This node's name in the cluster; default `<host name>:<port>`. */
  nodeId?: string;
  /** Every this often a node tells the others it is alive (networked bus only). */
  nodeHeartbeatMs?: number;
  /** A node not heard from for this long is taken as dead: its members leave its rooms. */
  nodeTimeoutMs?: number;
}

export type ServerConfig = Required<
  Omit<ServerOptions, 'logDestination' | 'httpsPort' | 'certFile' | 'keyFile' | 'caDir' | 'nodeId'>
> &
  Pick<ServerOptions, 'logDestination' | 'certFile' | 'keyFile' | 'caDir' | 'nodeId'> & {
    /** undefined when HTTPS is off. */
    httpsPort: number | undefined;
  };

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const DEFAULTS = {
  host: '0.0.0.0',
  port: 8080,
  dataDir: './data',
  store: 'sqlite:./data/imv.sqlite',
  maxMessageMs: 300_000,
  webRoot: path.resolve(packageDir, '../web/dist'),
  logLevel: 'info',
  slowListenerBytes: 256 * 1024,
  helloTimeoutMs: 10_000,
  pingIntervalMs: 15_000,
  storeInWorker: true,
  // Real time: 50 frames/s of 20 ms, 100 of 10 ms. `imv send --fast` sends the burst at once,
  // then real time.
  framesPerSecond: 50,
  frameBurst: 200,
  httpsPort: 8443,
  mdns: true,
  maxConnectionsPerIp: 32,
  maxHttpConnectionsPerIp: 64,
  httpHeadersTimeoutMs: 10_000,
  httpRequestTimeoutMs: 30_000,
  httpKeepAliveTimeoutMs: 5_000,
  publicHosts: [],
  bus: 'memory',
  busPrefix: 'imv',
  nodeHeartbeatMs: 1_000,
  nodeTimeoutMs: 3_500,
} as const satisfies Omit<
  ServerConfig,
  'logDestination' | 'certFile' | 'keyFile' | 'caDir' | 'nodeId'
>;

const LOOPBACK_HOSTS = /^(127\.|::1$|localhost$)/i;

function resolveHttpsPort(options: ServerOptions, port: number): number | undefined {
  if (options.httpsPort === false || options.httpsPort === null) return undefined;
  // Tests and tools that ask for an ephemeral HTTP port must not collide on a fixed HTTPS one.
  return options.httpsPort ?? (port === 0 ? 0 : DEFAULTS.httpsPort);
}

/** Fills in defaults and resolves paths against the current directory. */
export function resolveConfig(options: ServerOptions = {}): ServerConfig {
  const config: ServerConfig = {
    host: options.host ?? DEFAULTS.host,
    port: options.port ?? DEFAULTS.port,
    dataDir: path.resolve(options.dataDir ?? DEFAULTS.dataDir),
    store:
      options.store ??
      `sqlite:${path.join(path.resolve(options.dataDir ?? DEFAULTS.dataDir), 'imv.sqlite')}`,
    maxMessageMs: options.maxMessageMs ?? DEFAULTS.maxMessageMs,
    webRoot: path.resolve(options.webRoot ?? DEFAULTS.webRoot),
    logLevel: options.logLevel ?? DEFAULTS.logLevel,
    logDestination: options.logDestination,
    slowListenerBytes: options.slowListenerBytes ?? DEFAULTS.slowListenerBytes,
    helloTimeoutMs: options.helloTimeoutMs ?? DEFAULTS.helloTimeoutMs,
    pingIntervalMs: options.pingIntervalMs ?? DEFAULTS.pingIntervalMs,
    storeInWorker: options.storeInWorker ?? DEFAULTS.storeInWorker,
    framesPerSecond: options.framesPerSecond ?? DEFAULTS.framesPerSecond,
    frameBurst: options.frameBurst ?? DEFAULTS.frameBurst,
    httpsPort: undefined,
    certFile: options.certFile === undefined ? undefined : path.resolve(options.certFile),
    keyFile: options.keyFile === undefined ? undefined : path.resolve(options.keyFile),
    caDir: options.caDir === undefined ? undefined : path.resolve(options.caDir),
    // A server bound to loopback cannot be reached from the LAN, so there is nothing to announce.
    mdns: options.mdns ?? !LOOPBACK_HOSTS.test(options.host ?? DEFAULTS.host),
    maxConnectionsPerIp: options.maxConnectionsPerIp ?? DEFAULTS.maxConnectionsPerIp,
    maxHttpConnectionsPerIp: options.maxHttpConnectionsPerIp ?? DEFAULTS.maxHttpConnectionsPerIp,
    httpHeadersTimeoutMs: options.httpHeadersTimeoutMs ?? DEFAULTS.httpHeadersTimeoutMs,
    httpRequestTimeoutMs: options.httpRequestTimeoutMs ?? DEFAULTS.httpRequestTimeoutMs,
    httpKeepAliveTimeoutMs: options.httpKeepAliveTimeoutMs ?? DEFAULTS.httpKeepAliveTimeoutMs,
    publicHosts: (options.publicHosts ?? DEFAULTS.publicHosts).map((name) => {
      try {
        return normalizeHostName(name);
      } catch (err) {
        throw new RangeError(`options.publicHosts: ${(err as Error).message}`, { cause: err });
      }
    }),
    bus: options.bus ?? DEFAULTS.bus,
    busPrefix: options.busPrefix ?? DEFAULTS.busPrefix,
    nodeId: options.nodeId,
    nodeHeartbeatMs: options.nodeHeartbeatMs ?? DEFAULTS.nodeHeartbeatMs,
    nodeTimeoutMs: options.nodeTimeoutMs ?? DEFAULTS.nodeTimeoutMs,
  };
  config.httpsPort = resolveHttpsPort(options, config.port);
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    throw new RangeError(`options.port must be an integer 0-65535, got ${config.port}`);
  }
  if (
    config.httpsPort !== undefined &&
    (!Number.isInteger(config.httpsPort) || config.httpsPort < 0 || config.httpsPort > 65535)
  ) {
    throw new RangeError(
      `options.httpsPort must be an integer 0-65535, false or null, got ${String(options.httpsPort)}`,
    );
  }
  if ((config.certFile === undefined) !== (config.keyFile === undefined)) {
    throw new TypeError('options.certFile and options.keyFile must be given together');
  }
  if (config.caDir !== undefined && config.certFile !== undefined) {
    throw new RangeError('options.caDir is for the local CA: it cannot go with options.certFile');
  }
  if (!Number.isInteger(config.maxConnectionsPerIp) || config.maxConnectionsPerIp < 1) {
    throw new RangeError(
      `options.maxConnectionsPerIp must be a positive integer, got ${config.maxConnectionsPerIp}`,
    );
  }
  if (!Number.isInteger(config.maxHttpConnectionsPerIp) || config.maxHttpConnectionsPerIp < 1) {
    throw new RangeError(
      `options.maxHttpConnectionsPerIp must be a positive integer, got ${config.maxHttpConnectionsPerIp}`,
    );
  }
  for (const name of [
    'httpHeadersTimeoutMs',
    'httpRequestTimeoutMs',
    'httpKeepAliveTimeoutMs',
  ] as const) {
    if (!Number.isInteger(config[name]) || config[name] < 1) {
      throw new RangeError(`options.${name} must be a positive integer, got ${config[name]}`);
    }
  }
  // node refuses a headers timeout longer than the request timeout.
  if (config.httpHeadersTimeoutMs > config.httpRequestTimeoutMs) {
    throw new RangeError(
      `options.httpHeadersTimeoutMs (${config.httpHeadersTimeoutMs}) must not exceed httpRequestTimeoutMs (${config.httpRequestTimeoutMs})`,
    );
  }
  if (!Number.isFinite(config.maxMessageMs) || config.maxMessageMs < 20) {
    throw new RangeError(`options.maxMessageMs must be at least 20, got ${config.maxMessageMs}`);
  }
  // Below 50 frames/s even a real-time talker (20 ms frames) would lose audio.
  if (!Number.isFinite(config.framesPerSecond) || config.framesPerSecond < 50) {
    throw new RangeError(
      `options.framesPerSecond must be at least 50, got ${config.framesPerSecond}`,
    );
  }
  if (!Number.isInteger(config.frameBurst) || config.frameBurst < 1) {
    throw new RangeError(`options.frameBurst must be a positive integer, got ${config.frameBurst}`);
  }
  if (!Number.isFinite(config.nodeHeartbeatMs) || config.nodeHeartbeatMs < 50) {
    throw new RangeError(
      `options.nodeHeartbeatMs must be at least 50, got ${config.nodeHeartbeatMs}`,
    );
  }
  if (!(config.nodeTimeoutMs > 2 * config.nodeHeartbeatMs)) {
    throw new RangeError(
      `options.nodeTimeoutMs must be more than two heartbeats (${2 * config.nodeHeartbeatMs} ms), got ${config.nodeTimeoutMs}`,
    );
  }
  if (config.nodeId !== undefined && !/^[\x21-\x7e]{1,100}$/.test(config.nodeId)) {
    throw new RangeError(
      `options.nodeId must be 1-100 printable ASCII characters without spaces, got ${JSON.stringify(config.nodeId)}`,
    );
  }
  return config;
}
