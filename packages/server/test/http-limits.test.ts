import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ImvServer } from '../src/index.js';
import { TestClient } from './helpers/test-client.js';
import { TestServers } from './helpers/test-server.js';

/** A raw TCP connection that records what the server sends and when it closes. */
class RawConnection {
  received = '';
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => (this.received += chunk.toString('utf8')));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async open(server: ImvServer, localAddress = '127.0.0.1'): Promise<RawConnection> {
    const socket = net.connect({ host: '127.0.0.1', port: server.port, localAddress });
    const connection = new RawConnection(socket);
    await once(socket, 'connect');
    return connection;
  }

  /** Sends the start of a request and never finishes its headers (a slowloris client). */
  startRequest(): void {
    this.socket.write('GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
  }

  isOpen(): boolean {
    return !this.socket.destroyed && this.socket.readyState === 'open';
  }
}

describe('slow and greedy HTTP clients', () => {
  const servers = new TestServers();
  const open: RawConnection[] = [];
  afterEach(async () => {
    for (const c of open.splice(0)) c.socket.destroy();
    await servers.cleanup();
  });

  it('refuses connections beyond maxHttpConnectionsPerIp from one address while another address gets in', async () => {
    const cap = 4;
    const server = await servers.start({ maxHttpConnectionsPerIp: cap, httpsPort: false });
    for (let i = 0; i < cap; i++) {
      const c = await RawConnection.open(server);
      c.startRequest();
      open.push(c);
    }
    const extra: RawConnection[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await RawConnection.open(server);
      open.push(c);
      extra.push(c);
      await c.closed;
      // Refused before any request was read: a 429 with the code, then the socket is closed.
      expect(c.received).toMatch(/^HTTP\/1\.1 429 /);
      expect(c.received).toContain('"code":"TOO_MANY_CONNECTIONS"');
    }
    // The half-open requests within the cap are still held (their headers timeout is 10 s).
    expect(open.filter((c) => !extra.includes(c)).every((c) => c.isOpen())).toBe(true);

    // Another address of the same machine is not affected.
    const other = await RawConnection.open(server, '127.0.0.2');
    open.push(other);
    other.socket.write('GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    await other.closed;
    expect(other.received).toMatch(/^HTTP\/1\.1 200 /);

    // Once the held ones go, the first address may connect again.
    for (const c of open.slice(0, cap)) c.socket.destroy();
    await Promise.all(open.slice(0, cap).map((c) => c.closed));
    const again = await fetch(`${server.httpUrl}/api/health`);
    expect(again.status).toBe(200);
  });

  it('answers headers that never finish with 408 REQUEST_TIMEOUT and closes the connection', async () => {
    const server = await servers.start({
      httpsPort: false,
      httpHeadersTimeoutMs: 200,
      httpRequestTimeoutMs: 400,
    });
    const slow = await RawConnection.open(server);
    open.push(slow);
    slow.startRequest();
    await slow.closed;
    expect(slow.received).toMatch(/^HTTP\/1\.1 408 /);
    expect(slow.received).toContain('"code":"REQUEST_TIMEOUT"');
  });

  it('closes an idle keep-alive connection after httpKeepAliveTimeoutMs', async () => {
    const server = await servers.start({ httpsPort: false, httpKeepAliveTimeoutMs: 100 });
    const client = await RawConnection.open(server);
    open.push(client);
    client.socket.write('GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await client.closed;
    expect(client.received).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('keeps WebSockets open past the HTTP timeouts', async () => {
    const server = await servers.start({
      httpsPort: false,
      httpHeadersTimeoutMs: 100,
      httpRequestTimeoutMs: 100,
      httpKeepAliveTimeoutMs: 100,
    });
    const member = await TestClient.joined(server.httpUrl, 'still-here', 'ana');
    // A slow request on another connection is cut: by then the WebSocket has outlived every timeout.
    const slow = await RawConnection.open(server);
    open.push(slow);
    slow.startRequest();
    await slow.closed;
    expect(slow.received).toMatch(/^HTTP\/1\.1 408 /);
    member.send({ type: 'get-history', limit: 1 });
    expect((await member.next('history')).type).toBe('history');
    await member.close();
  });
});
