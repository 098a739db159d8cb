import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ImvServer } from '../src/index.js';
import { AllowedHosts, hostnameOf } from '../src/http/allowed-hosts.js';
import { get } from './helpers/https-request.js';
import { opusPacketsOf } from './helpers/opus-fixture.js';
import { TestClient } from './helpers/test-client.js';
import { TestServers } from './helpers/test-server.js';

type Upgrade = { opened: true } | { opened: false; status: number; body: unknown };

/** Opens /ws with the given Host and Origin headers, as a browser on that page would. */
function upgrade(url: string, host: string, origin: string, ca?: string): Promise<Upgrade> {
  // The TLS name stays localhost (in the certificate): a user who clicked through the warning.
  const ws = new WebSocket(url, {
    headers: { host },
    origin,
    ...(ca !== undefined && { ca, servername: 'localhost' }),
  });
  ws.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.close();
      resolve({ opened: true });
    });
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () =>
        resolve({ opened: false, status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }),
      );
    });
    ws.once('error', reject);
  });
}

const refusal = (host: string) => ({
  code: 'HOST_NOT_ALLOWED',
  message: `this server does not answer to host "${host}": open it by its address or one of its names, or start it with --public-host <name>`,
  statusCode: 421,
});

const servers = new TestServers();
let server: ImvServer;
let logs = '';
let messageId: number;

beforeAll(async () => {
  server = await servers.start({
    publicHosts: ['Voice.Example.org'],
    logLevel: 'info',
    logDestination: new Writable({
      write(chunk: Buffer, _enc, done) {
        logs += chunk.toString('utf8');
        done();
      },
    }),
  });
  const talker = await TestClient.joined(server.httpUrl, 'lobby', 'ana');
  talker.send({ type: 'talk-start', streamId: 1 });
  talker.sendPackets(1, opusPacketsOf('speech-fr-48k.wav').slice(0, 10));
  messageId = (await talker.next('message-stored')).message.id;
  await talker.close();
});
afterAll(() => servers.cleanup());

describe('DNS rebinding: only known host names are answered', () => {
  it('refuses a rebinding page with 421 HOST_NOT_ALLOWED on /ws, REST history and the .ogg download, over http and https', async () => {
    for (const [base, port] of [
      [server.httpUrl, server.port],
      [server.httpsUrl!, server.httpsPort!],
    ] as const) {
      const host = `evil.example:${port}`;
      const origin = `${base.split(':')[0]}://${host}`;
      const ws = await upgrade(`${base.replace(/^http/, 'ws')}/ws`, host, origin, server.caCertPem);
      expect(ws, base).toEqual({ opened: false, status: 421, body: refusal(host) });
      for (const route of [
        '/api/rooms/lobby/messages',
        `/api/rooms/lobby/messages/${messageId}.ogg`,
        '/',
      ]) {
        const answer = await get(`${base}${route}`, {
          ca: server.caCertPem,
          servername: 'localhost',
          headers: { host, origin },
        });
        expect([answer.status, JSON.parse(answer.body.toString('utf8'))], route).toEqual([
          421,
          refusal(host),
        ]);
      }
    }
    expect(logs).toContain('"code":"HOST_NOT_ALLOWED"');
    expect(logs).toContain('evil.example');
  });

  it('answers localhost, its addresses, its host name, its .local name and --public-host names', async () => {
    const own = hostname().toLowerCase();
    const hosts = [
      `localhost:${server.port}`,
      `127.0.0.1:${server.port}`,
      `[::1]:${server.port}`,
      `${own}:${server.port}`,
      `voice.example.org:${server.port}`,
      'VOICE.example.org.',
      // Any address: only a name can be rebound, and NAT or a container hides the address typed.
      `192.0.2.7:${server.port}`,
    ];
    if (!own.includes('.')) hosts.push(`${own}.local:${server.port}`);
    for (const host of hosts) {
      const origin = `http://${host}`;
      expect(
        await upgrade(`${server.httpUrl.replace(/^http/, 'ws')}/ws`, host, origin),
        host,
      ).toEqual({
        opened: true,
      });
      const list = await get(`${server.httpUrl}/api/rooms/lobby/messages`, { headers: { host } });
      expect(list.status, host).toBe(200);
      const ogg = await get(`${server.httpUrl}/api/rooms/lobby/messages/${messageId}.ogg`, {
        headers: { host },
      });
      expect([ogg.status, ogg.headers['content-type']], host).toEqual([200, 'audio/ogg']);
    }
  });

  it('still shows the onboarding page to a plain-http LAN visitor', async () => {
    const page = await get(`${server.httpUrl}/`, { headers: { host: `192.0.2.7:${server.port}` } });
    expect(page.status).toBe(200);
    expect(page.body.toString('utf8')).toContain(`https://192.0.2.7:${server.httpsPort}/`);
  });
});

describe('AllowedHosts', () => {
  it('reads Host headers strictly and matches certificate wildcards one label deep', () => {
    expect(
      ['a.B.org:80', '[::1]:8080', '10.0.0.2', 'x.org.', 'bad host', '[zz]', ''].map(hostnameOf),
    ).toEqual(['a.b.org', '::1', '10.0.0.2', 'x.org', undefined, undefined, undefined]);
    const allowed = new AllowedHosts(['*.example.org', 'voice.lan']);
    expect(
      [
        'a.example.org',
        'a.b.example.org',
        'example.org',
        'voice.lan:1',
        'voice.lan.evil',
        undefined,
      ].map((h) => allowed.allows(h)),
    ).toEqual([true, false, false, true, false, false]);
    expect(() => new AllowedHosts(['evil host'])).toThrow("'evil host' is not a host name");
  });
});
