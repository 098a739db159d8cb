import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import { isIP, type AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { MAX_REST_BODY_BYTES, PROTOCOL_VERSION } from '@imv/protocol';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import { openBus } from './bus/open-bus.js';
import { ClusterRooms } from './cluster/cluster-rooms.js';
import { resolveConfig } from './config.js';
import type { ServerConfig, ServerOptions } from './config.js';
import { guardHttpServer, timeoutOptions } from './http/connection-limits.js';
import { HttpError, answerClientError, installErrorHandlers } from './http/errors.js';
import { knownHostNames } from './http/known-host-names.js';
import { registerHostCheck } from './http/host-check.js';
import { registerHealthRoutes } from './http/health.js';
import { registerMessageRoutes } from './http/messages.js';
import { registerAdminRoutes } from './http/admin.js';
import { ensureAdminToken } from './http/admin-token.js';
import { RoomKeys } from './store/room-keys.js';
import { registerOnboardingPage } from './http/onboarding-page.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import { registerClusterCors } from './http/cluster-cors.js';
import { registerWebRoutes } from './http/web.js';
import { announce, type Announcement } from './discovery/index.js';
import { createLogger } from './logger.js';
import { lanHttpsUrls, localUrl, reachableUrls } from './network.js';
import { listMachineAddresses } from './tls/machine-addresses.js';
import { ONBOARDING_PATHS, registerOnboardingRoutes } from './tls/onboarding-routes.js';
import { loadServerCredentials, type ServerCredentials } from './tls/server-credentials.js';
import { StartupError } from './startup-error.js';
import { ensurePrivateDir } from './store/data-dir.js';
import { SERVER_VERSION } from './version.js';
import { openStore } from './store/open-store.js';
import { StoreLease } from './store/store-lease.js';
import type { MessageStore } from './store/store.js';
import type { Hub } from './ws/hub.js';
import { controlText, roomKeyText } from './ws/control-text.js';
import { RoomRegistry } from './ws/rooms.js';
import { attachWebSocketServer } from './ws/ws-server.js';

/** Sockets that do not finish the close handshake in this time are cut. */
const SOCKET_CLOSE_TIMEOUT_MS = 2_000;

/** A running imv server. */
export interface ImvServer {
  readonly port: number;
  /** `http://127.0.0.1:PORT` for a wildcard bind, else the bound address. */
  readonly httpUrl: string;
  /** Every URL the server can be reached at (localhost and each LAN address). */
  readonly urls: string[];
  /** Port of the HTTPS + WSS listener; undefined when HTTPS is off. */
  readonly httpsPort: number | undefined;
  /** `https://127.0.0.1:PORT` for a wildcard bind, else the bound address; undefined when HTTPS is off. */
  readonly httpsUrl: string | undefined;
  /** The https URL of each LAN address (what other devices open); empty when HTTPS is off. */
  readonly httpsUrls: string[];
  /** SHA-256 of the HTTPS server certificate ('AB:CD:…'). */
  readonly fingerprintSha256: string | undefined;
  /** SHA-256 of the local CA; undefined with the operator's own certificate or HTTPS off. */
  readonly caFingerprintSha256: string | undefined;
  /** The local CA certificate (PEM) devices install; undefined as caFingerprintSha256. */
  readonly caCertPem: string | undefined;
  readonly store: MessageStore;
  /** Bearer token of the admin REST routes and /admin (kept in `<dataDir>/admin-token`). */
  readonly adminToken: string;
  readonly config: ServerConfig;
  /** The server's pino logger (JSON lines). */
  readonly log: Logger;
  /** Graceful stop, as on SIGTERM: live messages are kept as 'partial', sockets close with 1001. */
  close(): Promise<void>;
}

function listen(server: HttpsServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

const NO_ORIGINS: ReadonlySet<string> = new Set();

/** What a phone or the CLI might type to reach this server, as URL.host writes it. */
function ownHostsOf(urls: string[], ports: number[]): Set<string> {
  const hosts = new Set(urls.map((u) => new URL(u).host));
  for (const port of ports) {
    for (const name of ['localhost', '127.0.0.1', '[::1]', hostname().toLowerCase()]) {
      hosts.add(`${name}:${port}`);
    }
  }
  return hosts;
}

/**
 * The id under which this node holds its lease in a shared store. With port 0 (tests) several
 * nodes on one host would share `host:0`, so the process id tells them apart.
 */
function storeNodeId(config: ServerConfig): string {
  if (config.nodeId !== undefined) return config.nodeId;
  return `${hostname()}:${config.port === 0 ? `pid${process.pid}` : config.port}`;
}

/** Opens the store, recovers interrupted messages, and listens for HTTP and WebSocket clients. */
export async function startServer(options: ServerOptions = {}): Promise<ImvServer> {
  const config = resolveConfig(options);
  const log = createLogger(config);
  try {
    ensurePrivateDir(config.dataDir);
  } catch (err) {
    throw StartupError.dataDir(err, config.dataDir);
  }
  const urlsBeforeListen = reachableUrls(config.host, config.port);
  // Before the store opens: a bad certFile/keyFile fails the start with nothing to undo.
  const credentials: ServerCredentials | undefined =
    config.httpsPort === undefined
      ? undefined
      : await loadServerCredentials({
          dataDir: config.dataDir,
          certFile: config.certFile,
          keyFile: config.keyFile,
          caDir: config.caDir,
          hostnames: [hostname()],
          // The same addresses the banner prints (reachableUrls), plus the bound one.
          addresses: [
            ...new Set([
              ...listMachineAddresses(),
              ...urlsBeforeListen
                .map((u) => new URL(u).hostname.replace(/^\[|\]$/g, ''))
                .filter((h) => isIP(h) !== 0),
            ]),
          ],
        });
  if (credentials?.local?.caCreated === true) {
    log.info({ dir: credentials.local.caDir }, 'created the local certificate authority');
  }
  if (credentials?.local?.reissued === true) {
    log.info(
      { dnsNames: credentials.local.dnsNames, ipAddresses: credentials.local.ipAddresses },
      'issued the https server certificate',
    );
  }
  // Before the store too: a bad or unreachable --bus fails the start with nothing to undo.
  const bus = await openBus(config.bus, {
    prefix: config.busPrefix,
    nodeId: config.nodeId ?? `${hostname()}:${config.port}`,
    log: log.child({ component: 'bus' }),
  });
  let store: MessageStore;
  try {
    store = await openStore(config.store, {
      dataDir: config.dataDir,
      nodeId: storeNodeId(config),
      sqliteInWorker: config.storeInWorker,
      onPoolError: (err) =>
        log.warn({ err }, 'store connection lost; it is replaced on the next query'),
    });
  } catch (err) {
    await bus.close();
    if (typeof (err as NodeJS.ErrnoException).code === 'string' && 'path' in (err as object))
      throw StartupError.dataDir(err, config.dataDir);
    throw err;
  }
  const recovered = await store.recoverInterrupted();
  if (recovered > 0) log.warn({ recovered }, 'messages interrupted by a crash marked partial');

  // Set once the node listens (the default node id needs the port); read per heartbeat.
  let nodeUrls: string[] = [];
  const cluster =
    bus.kind === 'memory'
      ? undefined
      : new ClusterRooms({
          bus,
          log: log.child({ component: 'cluster' }),
          heartbeatMs: config.nodeHeartbeatMs,
          nodeTimeoutMs: config.nodeTimeoutMs,
          urls: () => nodeUrls,
          connections: () => hub.connections.size,
        });
  const hub: Hub = {
    config,
    store,
    bus,
    rooms: cluster ?? new RoomRegistry(),
    cluster,
    nodeId: config.nodeId ?? `${hostname()}:${config.port}`,
    nodeUrls: () => nodeUrls,
    roomKeys: new RoomKeys(store),
    log,
    connections: new Set(),
    shuttingDown: false,
  };
  // Members inside when a room's key is set (by one of them or the admin) are told, with the key.
  hub.roomKeys.onChange((room, key, setBy) =>
    hub.bus.publishControl(room, roomKeyText(room, key, setBy)),
  );

  const app = Fastify({
    // Typed as fastify's base logger so route helpers take the plain FastifyInstance type.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: log.child({ component: 'http' }) as FastifyBaseLogger,
    // One line per request from the onResponse hook below instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // Sockets upgraded to WebSocket are ours to close; plain HTTP keep-alive ones are cut at close().
    forceCloseConnections: true,
    // Our own node server, so that node enforces the header, request and keep-alive timeouts.
    serverFactory: (handler) => createHttpServer(timeoutOptions(config), handler),
    clientErrorHandler: answerClientError,
    bodyLimit: MAX_REST_BODY_BYTES,
  });
  guardHttpServer(app.server, config, log, 'http');
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
    done();
  });
  // First: a request for a host name the server does not know gets nothing else (DNS rebinding).
  const allowedHosts = knownHostNames(config, credentials);
  registerHostCheck(app, allowedHosts);
  const peerOrigins = (): ReadonlySet<string> => cluster?.peerOrigins() ?? NO_ORIGINS;
  registerSecurityHeaders(app, peerOrigins);
  registerClusterCors(app, peerOrigins);
  installErrorHandlers(app);
  registerHealthRoutes(app, hub);
  registerMessageRoutes(app, store, hub.roomKeys);
  let adminToken: string;
  try {
    adminToken = ensureAdminToken(config.dataDir);
  } catch (err) {
    await store.close();
    await bus.close();
    throw (err as NodeJS.ErrnoException).code === undefined
      ? new StartupError((err as Error).message, { cause: err })
      : StartupError.dataDir(err, config.dataDir);
  }
  registerAdminRoutes(app, hub, adminToken);

  // Known once both listeners are bound; the routes below read them per request.
  let boundHttpsPort: number | undefined = undefined;
  let httpsUrls: string[] = [];
  let ownHosts: ReadonlySet<string> = new Set();
  if (credentials !== undefined) {
    const local = credentials.local;
    if (local !== undefined) {
      registerOnboardingRoutes(app, {
        certificates: () => local,
        httpsUrls: () => httpsUrls,
        name: `imv on ${hostname()}`,
      });
    } else {
      for (const path of [
        ONBOARDING_PATHS.caDer,
        ONBOARDING_PATHS.caPem,
        ONBOARDING_PATHS.mobileConfig,
      ]) {
        app.get(path, () => {
          throw HttpError.noLocalCa();
        });
      }
    }
    registerOnboardingPage(app, {
      httpsPort: () => boundHttpsPort ?? 0,
      httpsUrls: () => httpsUrls,
      fingerprintSha256: () => credentials.fingerprintSha256,
      caFingerprintSha256: () => local?.caFingerprintSha256,
    });
  }
  await registerWebRoutes(app, config.webRoot);

  // The same fastify app answers on both listeners; fastify's `routing` is its request handler.
  const httpsServer =
    credentials === undefined
      ? undefined
      : createHttpsServer(
          { key: credentials.keyPem, cert: credentials.chainPem, ...timeoutOptions(config) },
          (req, res) => app.routing(req, res),
        );
  if (httpsServer !== undefined) {
    httpsServer.on('clientError', answerClientError);
    guardHttpServer(httpsServer, config, log, 'https');
  }
  const wss = attachWebSocketServer(
    httpsServer === undefined ? [app.server] : [app.server, httpsServer],
    hub,
    {
      allowedHosts,
      ownHosts: () => ownHosts,
      peerOrigins,
      maxConnectionsPerIp: config.maxConnectionsPerIp,
    },
  );

  try {
    await app.listen({ host: config.host, port: config.port }).catch((err: unknown) => {
      throw StartupError.listen(err, config.host, config.port, '--port');
    });
    if (httpsServer !== undefined) {
      const httpsPort = config.httpsPort ?? 0;
      await listen(httpsServer, config.host, httpsPort).catch((err: unknown) => {
        throw StartupError.listen(err, config.host, httpsPort, '--https-port (or --no-https)');
      });
    }
  } catch (err) {
    await app.close();
    await bus.close();
    await store.close();
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  const urls = reachableUrls(config.host, port);
  const httpsPort =
    httpsServer === undefined ? undefined : (httpsServer.address() as AddressInfo).port;
  boundHttpsPort = httpsPort;
  httpsUrls = httpsPort === undefined ? [] : lanHttpsUrls(config.host, httpsPort);
  const httpsUrl = httpsPort === undefined ? undefined : localUrl(config.host, httpsPort, 'https');
  ownHosts = ownHostsOf(
    [
      ...urls,
      localUrl(config.host, port),
      ...httpsUrls,
      ...(httpsUrl === undefined ? [] : [httpsUrl]),
    ],
    httpsPort === undefined ? [port] : [port, httpsPort],
  );
  hub.nodeId = config.nodeId ?? `${hostname()}:${port}`;
  nodeUrls = [
    ...new Set([
      localUrl(config.host, port),
      ...urls,
      ...(httpsUrl === undefined ? [] : [httpsUrl]),
      ...httpsUrls,
    ]),
  ];
  cluster?.start(hub.nodeId);
  log.info(
    {
      host: config.host,
      port,
      httpsPort,
      dataDir: config.dataDir,
      webRoot: config.webRoot,
      node: hub.nodeId,
      bus: bus.url,
    },
    'listening',
  );

  // Shared stores: this node's lease, and partial finalisation of what dead nodes left recording.
  const lease = new StoreLease(store, {
    log,
    onRecovered: (recovered) => {
      for (const { message, streamId } of recovered) {
        const { room } = message;
        hub.bus.publishControl(
          room,
          controlText({
            type: 'talk-stopped',
            room,
            streamId,
            messageId: message.id,
            reason: 'disconnect',
          }),
        );
        hub.bus.publishControl(
          room,
          controlText({ type: 'message-stored', room, streamId, message }),
        );
      }
    },
  });
  lease.start();

  let announcement: Announcement | undefined;
  if (config.mdns) {
    const onError = (err: unknown): void =>
      log.warn({ err }, 'mDNS announcement failed; devices will not find the server by name');
    try {
      announcement = announce({
        name: hostname(),
        port,
        ...(httpsPort !== undefined && { httpsPort }),
        ...(credentials !== undefined && { fingerprint: credentials.fingerprintSha256 }),
        protocol: PROTOCOL_VERSION,
        version: SERVER_VERSION,
        onError,
      });
    } catch (err) {
      onError(err);
    }
  }

  let closing: Promise<void> | undefined;
  async function close(): Promise<void> {
    hub.shuttingDown = true;
    log.info({ connections: hub.connections.size }, 'shutting down');
    await announcement?.stop().catch((err: unknown) => log.warn({ err }, 'mDNS goodbye failed'));
    const connections = [...hub.connections];
    // Live messages first: talk-stopped 'shutdown' and message-stored reach the rooms before the sockets close.
    await Promise.all(connections.map((c) => c.shutdown()));
    await Promise.all(connections.map((c) => c.closeSocket(SOCKET_CLOSE_TIMEOUT_MS)));
    wss.close();
    if (httpsServer !== undefined) {
      const closed = new Promise((resolve) => httpsServer.close(resolve));
      // Keep-alive sockets would hold close() open; upgraded ones were closed above.
      httpsServer.closeAllConnections();
      await closed;
    }
    await app.close();
    cluster?.stop();
    await hub.bus.close();
    await lease.stop();
    await store.close();
    log.info('stopped');
    log.flush();
  }

  return {
    port,
    httpUrl: localUrl(config.host, port),
    urls,
    httpsPort,
    httpsUrl,
    httpsUrls,
    fingerprintSha256: credentials?.fingerprintSha256,
    caFingerprintSha256: credentials?.local?.caFingerprintSha256,
    caCertPem: credentials?.local?.caCertPem,
    store,
    adminToken,
    config,
    log,
    close: () => (closing ??= close()),
  };
}
