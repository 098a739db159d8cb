import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import { PROTOCOL_VERSION } from '@imv/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ImvServer } from '../src/index.js';
import { get } from './helpers/https-request.js';
import { TestServers } from './helpers/test-server.js';

type Upgrade =
  | { opened: true; ws: WebSocket }
  | { opened: false; status: number; body: { code: string; message: string; statusCode: number } };

const sockets: WebSocket[] = [];

/** Opens a WebSocket the way a browser page (origin) or the CLI (no origin) would. */
async function upgrade(
  url: string,
  options: { origin?: string; ca?: string; localAddress?: string; host?: string } = {},
): Promise<Upgrade> {
  const ws = new WebSocket(url, {
    ...(options.origin !== undefined && { origin: options.origin }),
    ...(options.ca !== undefined && { ca: options.ca }),
    ...(options.localAddress !== undefined && { localAddress: options.localAddress }),
    ...(options.host !== undefined && { headers: { host: options.host } }),
  });
  sockets.push(ws);
  ws.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ opened: true, ws }));
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () =>
        resolve({
          opened: false,
          status: res.statusCode ?? 0,
          body: JSON.parse(text) as { code: string; message: string; statusCode: number },
        }),
      );
    });
    ws.once('error', reject);
  });
}

/** The server answers hello: the connection is really served, not only upgraded. */
async function welcomed(ws: WebSocket): Promise<boolean> {
  ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, client: 'test', name: 't' }));
  const [data] = (await once(ws, 'message')) as [Buffer];
  return (JSON.parse(data.toString('utf8')) as { type: string }).type === 'welcome';
}

const servers = new TestServers();

const MAX_PER_IP = 3;
let nextAddress = 20;
/**
 * A loopback source address of its own (127.0.0.0/8 is all loopback on Linux), so the per-address
 * limit of one test never sees the closing sockets of another.
 */
function freshAddress(): string {
  return `127.0.0.${nextAddress++}`;
}

let server: ImvServer;
let wsUrl: string;
let wssUrl: string;

beforeAll(async () => {
  // voice.lan: a name set up in DNS or a hosts file, which the server must be told (DNS rebinding).
  server = await servers.start({ maxConnectionsPerIp: MAX_PER_IP, publicHosts: ['voice.lan'] });
  wsUrl = `${server.httpUrl.replace(/^http/, 'ws')}/ws`;
  wssUrl = `${server.httpsUrl!.replace(/^https/, 'wss')}/ws`;
});
afterEach(async () => {
  for (const ws of sockets.splice(0)) {
    if (ws.readyState === WebSocket.OPEN) {
      ws.close();
      await once(ws, 'close');
    }
  }
});
afterAll(() => servers.cleanup());

describe('WebSocket Origin check', () => {
  it('refuses a page from another site with 403 ORIGIN_NOT_ALLOWED, on ws and wss', async () => {
    for (const [url, origin] of [
      [wsUrl, 'http://evil.example'],
      [wssUrl, 'https://evil.example'],
      // Same host, other port: another web server on this machine is another origin.
      [wsUrl, `http://127.0.0.1:${server.port + 1}`],
      [wsUrl, 'null'],
    ] as const) {
      const result = await upgrade(url, {
        origin,
        ca: server.caCertPem,
        localAddress: freshAddress(),
      });
      expect(result).toEqual({
        opened: false,
        status: 403,
        body: {
          code: 'ORIGIN_NOT_ALLOWED',
          message: `WebSocket from origin ${origin} refused: open the page from this server`,
          statusCode: 403,
        },
      });
    }
  });

  it("accepts the server's own origins and clients that send no Origin", async () => {
    const cases: [string, Parameters<typeof upgrade>[1]][] = [
      [wsUrl, { origin: server.httpUrl }],
      [wsUrl, { origin: `http://localhost:${server.port}` }],
      [wssUrl, { origin: server.httpsUrl!, ca: server.caCertPem }],
      // A name only the request knows (DNS or hosts file on the phone): Origin matches Host.
      [wsUrl, { origin: `http://voice.lan:${server.port}`, host: `voice.lan:${server.port}` }],
      [wsUrl, {}],
    ];
    for (const [url, options] of cases) {
      const result = await upgrade(url, { ...options, localAddress: freshAddress() });
      expect(result.opened ? true : result.body, JSON.stringify(options)).toBe(true);
      if (!result.opened) continue;
      expect(await welcomed(result.ws)).toBe(true);
      result.ws.close();
      await once(result.ws, 'close');
    }
  });
});

describe('connections per IP address', () => {
  it('answers 429 TOO_MANY_CONNECTIONS over the limit and keeps serving everyone else', async () => {
    const localAddress = freshAddress();
    const open = [
      await upgrade(wsUrl, { localAddress }),
      await upgrade(wsUrl, { localAddress }),
      await upgrade(wssUrl, { ca: server.caCertPem, localAddress }),
    ];
    expect(open.every((r) => r.opened)).toBe(true);
    const over = await upgrade(wsUrl, { localAddress });
    expect(over).toEqual({
      opened: false,
      status: 429,
      body: {
        code: 'TOO_MANY_CONNECTIONS',
        message: `${localAddress} already has 3 open WebSockets (at most 3)`,
        statusCode: 429,
      },
    });
    // Another address is not affected, nor is plain HTTP.
    const other = await upgrade(wsUrl, { localAddress: freshAddress() });
    expect(other.opened && (await welcomed(other.ws))).toBe(true);
    expect((await get(`${server.httpUrl}/api/health`)).status).toBe(200);
    // The first ones still work, and closing one frees a place.
    const first = open[0]!;
    if (!first.opened) throw new Error('unreachable');
    expect(await welcomed(first.ws)).toBe(true);
    first.ws.close();
    await once(first.ws, 'close');
    // The server frees the place once the socket's TCP side closed, a moment after the client's close event.
    let again = await upgrade(wsUrl, { localAddress });
    for (let i = 0; !again.opened && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 20));
      again = await upgrade(wsUrl, { localAddress });
    }
    expect(again.opened).toBe(true);
  });
});

describe('security headers', () => {
  const expected = {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'permissions-policy': 'microphone=(self), camera=(), geolocation=()',
    'cross-origin-opener-policy': 'same-origin',
  };

  it('are on pages, API answers, CA downloads and errors, over http and https', async () => {
    for (const base of [server.httpUrl, server.httpsUrl!]) {
      for (const route of ['/', '/api/health', '/ca.crt', '/api/rooms/lobby/messages/99']) {
        const answer = await get(`${base}${route}`, { ca: server.caCertPem });
        expect(answer.headers, `${base}${route}`).toMatchObject(expected);
        const csp = answer.headers['content-security-policy'];
        expect(csp).toContain("default-src 'self'");
        expect(csp).toContain("object-src 'none'");
        expect(csp).toContain("frame-ancestors 'self'");
        expect(csp).toContain(
          `connect-src 'self' ws://${new URL(base).host} wss://${new URL(base).host}`,
        );
        expect(csp).not.toContain('unsafe-inline');
      }
    }
  });

  it('add HSTS only over https, and only for a host name (browsers ignore it for IP addresses)', async () => {
    // <hostname>.local is in the certificate, so Node's own name check passes too.
    const name = { host: `${hostname()}.local:${server.httpsPort}` };
    const overHttps = await get(`${server.httpsUrl}/api/health`, {
      ca: server.caCertPem,
      headers: name,
    });
    expect(overHttps.headers['strict-transport-security']).toBe('max-age=3600');
    const byIp = await get(`${server.httpsUrl}/api/health`, { ca: server.caCertPem });
    expect(byIp.headers['strict-transport-security']).toBeUndefined();
    const overHttp = await get(`${server.httpUrl}/api/health`, {
      headers: { host: `${hostname()}.local:${server.port}` },
    });
    expect(overHttp.headers['strict-transport-security']).toBeUndefined();
  });
});
