import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FLAG_END, PROTOCOL_VERSION, encodeFrame } from '@imv/protocol';
import type { ServerMessage, ServerMessageOf } from '@imv/protocol';
import { startServer } from '@imv/server';
import type { ImvServer, ServerOptions } from '@imv/server';
import { afterEach } from 'vitest';
import WebSocket from 'ws';

/*
 * The in-process server fixture of the server tests: real servers on port 0 with temp data dirs,
 * raw `ws` clients that record what they receive, and one afterEach that closes them all.
 */

/** Starts real servers on port 0 with temp data dirs and removes everything in `cleanup`. */
export class TestServers {
  private readonly servers: ImvServer[] = [];
  private readonly dirs: string[] = [];

  tempDir(): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'imv-server-test-'));
    this.dirs.push(dir);
    return dir;
  }

  async start(options: ServerOptions = {}): Promise<ImvServer> {
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      logLevel: 'silent',
      dataDir: options.dataDir ?? this.tempDir(),
      webRoot: options.webRoot ?? this.tempDir(),
      // Most tests skip the ~0.2 s worker start; durability and REST tests run the default worker.
      storeInWorker: false,
      // Most tests send a whole message at once; rate-limit.test.ts runs the real limits.
      frameBurst: 100_000,
      ...options,
    });
    this.servers.push(server);
    return server;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.servers.splice(0).map((s) => s.close()));
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

export type Received = { kind: 'text'; message: ServerMessage } | { kind: 'binary'; bytes: Buffer };

/** A raw `ws` client that records everything it receives, in order, and lets a test wait for it. */
export class TestClient {
  readonly received: Received[] = [];
  closeCode: number | undefined;
  readonly closed: Promise<number>;
  private cursor = 0;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const bytes = data as Buffer;
      this.received.push(
        isBinary
          ? { kind: 'binary', bytes }
          : { kind: 'text', message: JSON.parse(bytes.toString('utf8')) as ServerMessage },
      );
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        this.wake();
        resolve(code);
      }),
    );
    ws.on('error', () => undefined);
  }

  static async open(httpUrl: string): Promise<TestClient> {
    const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/ws`);
    const client = new TestClient(ws);
    await once(ws, 'open');
    return client;
  }

  /** Opens, says hello and joins `room`; returns once `joined` arrived. */
  static async joined(
    httpUrl: string,
    room: string,
    name = 'tester',
    since?: 'all' | number,
  ): Promise<TestClient> {
    const client = await TestClient.open(httpUrl);
    await client.hello(name);
    client.send({ type: 'join', room, ...(since === undefined ? {} : { since }) });
    await client.next('joined');
    return client;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  send(message: object): void {
    this.ws.send(JSON.stringify(message));
  }

  sendRaw(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  sendFrame(streamId: number, sequence: number, payload: Uint8Array, flags = 0): void {
    this.ws.send(encodeFrame({ flags, streamId, sequence, timestamp: sequence * 960 }, payload));
  }

  /** Sends each packet as a frame, then the END flag on an empty frame. */
  sendPackets(streamId: number, packets: readonly Uint8Array[], end = true): void {
    packets.forEach((p, i) => this.sendFrame(streamId, i, p));
    if (end) this.sendFrame(streamId, packets.length, new Uint8Array(0), FLAG_END);
  }

  async hello(name = 'tester', protocol = PROTOCOL_VERSION): Promise<ServerMessageOf<'welcome'>> {
    this.send({ type: 'hello', protocol, client: 'imv-server-test/0', name });
    return this.next('welcome');
  }

  /** Waits for the next received item (after the ones already consumed) that matches. */
  async nextWhere(
    match: (r: Received) => boolean,
    what: string,
    timeoutMs = 5_000,
  ): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.received.length) {
        const item = this.received[this.cursor++]!;
        if (match(item)) return item;
      }
      if (this.closeCode !== undefined)
        throw new Error(`socket closed (${this.closeCode}) while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.texts())}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async next<T extends ServerMessage['type']>(type: T): Promise<ServerMessageOf<T>> {
    const item = await this.nextWhere(
      (r) => r.kind === 'text' && r.message.type === type,
      `"${type}"`,
    );
    return (item as { message: ServerMessage }).message as ServerMessageOf<T>;
  }

  /** Waits for the next `members-changed` (protocol 3) whose `joined` (or `left`) names `name`. */
  async nextMembersChange(
    name: string,
    change: 'joined' | 'left' = 'joined',
  ): Promise<ServerMessageOf<'members-changed'>> {
    const item = await this.nextWhere(
      (r) =>
        r.kind === 'text' &&
        r.message.type === 'members-changed' &&
        r.message[change].some((m) => m.name === name),
      `members-changed with ${name} ${change}`,
    );
    return (item as { message: ServerMessage }).message as ServerMessageOf<'members-changed'>;
  }

  async nextBinary(): Promise<Buffer> {
    const item = await this.nextWhere((r) => r.kind === 'binary', 'a binary frame');
    return (item as { bytes: Buffer }).bytes;
  }

  texts(): ServerMessage[] {
    return this.received.flatMap((r) => (r.kind === 'text' ? [r.message] : []));
  }

  binaries(): Buffer[] {
    return this.received.flatMap((r) => (r.kind === 'binary' ? [r.bytes] : []));
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await this.closed;
  }
}

/** What serverFixture() gives a test file. */
export interface ServerFixture {
  servers: TestServers;
  /** Clients closed after each test (joined/open add theirs). */
  clients: TestClient[];
  /** Opens a client, says hello and joins `room`. */
  joined: (
    server: ImvServer | string,
    room: string,
    name: string,
    since?: 'all' | number,
  ) => Promise<TestClient>;
  /** Opens a client (no hello yet). */
  open: (server: ImvServer | string) => Promise<TestClient>;
}

/** Registers an afterEach that closes every client, then every server, the test made. */
export function serverFixture(): ServerFixture {
  const servers = new TestServers();
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await servers.cleanup();
  });
  const urlOf = (server: ImvServer | string): string =>
    typeof server === 'string' ? server : server.httpUrl;
  return {
    servers,
    clients,
    async joined(server, room, name, since) {
      const client = await TestClient.joined(urlOf(server), room, name, since);
      clients.push(client);
      return client;
    },
    async open(server) {
      const client = await TestClient.open(urlOf(server));
      clients.push(client);
      return client;
    },
  };
}
