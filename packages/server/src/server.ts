import type { AddressInfo } from 'node:net';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import { MemoryBus } from './bus/memory-bus.js';
import { resolveConfig } from './config.js';
import type { ServerConfig, ServerOptions } from './config.js';
import { installErrorHandlers } from './http/errors.js';
import { registerHealthRoutes } from './http/health.js';
import { registerMessageRoutes } from './http/messages.js';
import { registerWebRoutes } from './http/web.js';
import { createLogger } from './logger.js';
import { localUrl, reachableUrls } from './network.js';
import { SqliteMessageStore } from './store/sqlite-store.js';
import { WorkerMessageStore } from './store/worker-store.js';
import type { MessageStore } from './store/store.js';
import type { Hub } from './ws/hub.js';
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
  readonly store: MessageStore;
  readonly config: ServerConfig;
  /** The server's pino logger (JSON lines). */
  readonly log: Logger;
  /** Graceful stop, as on SIGTERM: live messages are kept as 'partial', sockets close with 1001. */
  close(): Promise<void>;
}

/** Opens the store, recovers interrupted messages, and listens for HTTP and WebSocket clients. */
export async function startServer(options: ServerOptions = {}): Promise<ImvServer> {
  const config = resolveConfig(options);
  const log = createLogger(config);
  const store: MessageStore = config.storeInWorker
    ? await WorkerMessageStore.open(config.dataDir)
    : new SqliteMessageStore(config.dataDir);
  const recovered = await store.recoverInterrupted();
  if (recovered > 0) log.warn({ recovered }, 'messages interrupted by a crash marked partial');

  const hub: Hub = {
    config,
    store,
    bus: new MemoryBus(),
    rooms: new RoomRegistry(),
    log,
    connections: new Set(),
    shuttingDown: false,
  };

  const app = Fastify({
    // Typed as fastify's base logger so route helpers take the plain FastifyInstance type.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: log.child({ component: 'http' }) as FastifyBaseLogger,
    // One line per request from the onResponse hook below instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // Sockets upgraded to WebSocket are ours to close; plain HTTP keep-alive ones are cut at close().
    forceCloseConnections: true,
  });
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
  installErrorHandlers(app);
  registerHealthRoutes(app);
  registerMessageRoutes(app, store);
  await registerWebRoutes(app, config.webRoot);
  const wss = attachWebSocketServer(app.server, hub);

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await store.close();
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  const urls = reachableUrls(config.host, port);
  log.info(
    { host: config.host, port, dataDir: config.dataDir, webRoot: config.webRoot },
    'listening',
  );

  let closing: Promise<void> | undefined;
  async function close(): Promise<void> {
    hub.shuttingDown = true;
    log.info({ connections: hub.connections.size }, 'shutting down');
    const connections = [...hub.connections];
    // Live messages first: talk-stopped 'shutdown' and message-stored reach the rooms before the sockets close.
    await Promise.all(connections.map((c) => c.shutdown()));
    await Promise.all(connections.map((c) => c.closeSocket(SOCKET_CLOSE_TIMEOUT_MS)));
    wss.close();
    await app.close();
    await hub.bus.close();
    await store.close();
    log.info('stopped');
    log.flush();
  }

  return {
    port,
    httpUrl: localUrl(config.host, port),
    urls,
    store,
    config,
    log,
    close: () => (closing ??= close()),
  };
}
