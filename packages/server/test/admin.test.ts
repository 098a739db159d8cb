import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN_FILE, ensureAdminToken } from '../src/index.js';
import type { ImvServer } from '../src/index.js';
import { opusPacketsOf } from './helpers/opus-fixture.js';
import { launchChromium } from '@imv/test-support/chromium';
import { TestClient, serverFixture } from '@imv/test-support/server';

const { servers, joined } = serverFixture();

async function store(talker: TestClient, streamId: number): Promise<number> {
  talker.send({ type: 'talk-start', streamId });
  talker.sendPackets(streamId, opusPacketsOf('speech-fr-48k.wav').slice(0, 10));
  return (await talker.next('message-stored')).message.id;
}

async function call(
  server: ImvServer,
  method: string,
  route: string,
  token?: string,
  body?: object,
) {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.httpUrl}${route}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('admin token and admin routes', () => {
  it('creates the token file once (0600) and reuses it after a restart', async () => {
    const dataDir = servers.tempDir();
    const first = await servers.start({ dataDir });
    const file = path.join(dataDir, ADMIN_TOKEN_FILE);
    expect(first.adminToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.adminToken);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await first.close();
    const second = await servers.start({ dataDir });
    expect(second.adminToken).toBe(first.adminToken);
    expect(ensureAdminToken(dataDir)).toBe(first.adminToken);
    expect(ensureAdminToken(servers.tempDir())).not.toBe(first.adminToken);
  });

  it('refuses every admin route without the token (401) or with a wrong one (403)', async () => {
    const server = await servers.start();
    const routes: [string, string, object?][] = [
      ['GET', '/api/admin/rooms'],
      ['GET', '/api/admin/rooms/lobby/messages'],
      ['DELETE', '/api/rooms/lobby/messages/1'],
      ['DELETE', '/api/rooms/lobby'],
      ['PUT', '/api/rooms/lobby/key', { key: 'a-new-key-1' }],
      ['DELETE', '/api/rooms/lobby/key'],
    ];
    for (const [method, route, body] of routes) {
      const none = await call(server, method, route, undefined, body);
      expect([none.status, none.body.code], `${method} ${route}`).toEqual([401, 'UNAUTHORIZED']);
      const wrong = await call(server, method, route, 'x'.repeat(43), body);
      expect([wrong.status, wrong.body.code], `${method} ${route}`).toEqual([403, 'FORBIDDEN']);
    }
  });

  it('deletes a message: gone from history, its .ogg is 404, and room members get message-deleted', async () => {
    const server = await servers.start();
    const token = server.adminToken;
    const talker = await joined(server, 'crew', 'ana');
    const keep = await store(talker, 1);
    const drop = await store(talker, 2);
    const listener = await joined(server, 'crew', 'bo');

    const deleted = await call(server, 'DELETE', `/api/rooms/crew/messages/${drop}`, token);
    expect(deleted).toEqual({ status: 200, body: { room: 'crew', id: drop, deleted: true } });
    expect(await listener.next('message-deleted')).toEqual({
      type: 'message-deleted',
      room: 'crew',
      id: drop,
    });
    expect(await talker.next('message-deleted')).toMatchObject({ id: drop });

    const history = await call(server, 'GET', '/api/rooms/crew/messages');
    expect((history.body.messages as { id: number }[]).map((m) => m.id)).toEqual([keep]);
    expect((await fetch(`${server.httpUrl}/api/rooms/crew/messages/${drop}.ogg`)).status).toBe(404);
    expect((await call(server, 'DELETE', `/api/rooms/crew/messages/${drop}`, token)).status).toBe(
      404,
    );
    expect((await fetch(`${server.httpUrl}/api/rooms/crew/messages/${keep}.ogg`)).status).toBe(200);
  });

  it('lists rooms, sets and removes a key, and deletes a whole room with its key', async () => {
    const server = await servers.start();
    const token = server.adminToken;
    const talker = await joined(server, 'ops', 'ana');
    await store(talker, 1);
    await store(talker, 2);

    expect(
      (await call(server, 'PUT', '/api/rooms/ops/key', token, { key: 'ops-key-2026' })).body,
    ).toEqual({
      room: 'ops',
      keyed: true,
    });
    expect(
      (await call(server, 'PUT', '/api/rooms/ops/key', token, { key: 'short' })).body.code,
    ).toBe('BAD_REQUEST');
    expect((await call(server, 'GET', '/api/rooms/ops/messages')).body.code).toBe(
      'ROOM_KEY_REQUIRED',
    );
    const rooms = await call(server, 'GET', '/api/admin/rooms', token);
    expect(rooms.body.rooms).toEqual([
      expect.objectContaining({ room: 'ops', messageCount: 2, keyed: true, online: 1 }),
    ]);
    const asAdmin = await call(server, 'GET', '/api/admin/rooms/ops/messages', token);
    expect(asAdmin.body.messages).toHaveLength(2);

    expect((await call(server, 'DELETE', '/api/rooms/ops/key', token)).body).toEqual({
      room: 'ops',
      keyed: false,
    });
    expect((await call(server, 'GET', '/api/rooms/ops/messages')).status).toBe(200);

    await call(server, 'PUT', '/api/rooms/ops/key', token, { key: 'ops-key-2026' });
    expect((await call(server, 'DELETE', '/api/rooms/ops', token)).body).toEqual({
      room: 'ops',
      deletedMessages: 2,
    });
    expect((await talker.next('message-deleted')).room).toBe('ops');
    const empty = await call(server, 'GET', '/api/rooms/ops/messages');
    expect([empty.status, empty.body.messages]).toEqual([200, []]);
  });

  it('serves the admin page with its script as a separate file', async () => {
    const server = await servers.start();
    const page = await fetch(`${server.httpUrl}/admin`);
    const html = await page.text();
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(html).toContain('<script type="module" src="/admin/admin.js"></script>');
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    const script = await fetch(`${server.httpUrl}/admin/admin.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain("'/api/admin/rooms'");
  });

  it('lets the token holder list rooms and delete a message from the admin page, under the CSP', async () => {
    const server = await servers.start();
    const talker = await joined(server, 'crew', 'ana');
    const keep = await store(talker, 1);
    const drop = await store(talker, 2);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        // A refused fetch logs its 403 too; what matters is a blocked script or style.
        if (m.type() === 'error' && /Content.Security.Policy/i.test(m.text()))
          problems.push(m.text());
      });
      page.on('pageerror', (err) => problems.push(err.message));
      page.on('dialog', (dialog) => void dialog.accept());
      await page.goto(`${server.httpUrl}/admin`);
      await page.getByLabel('Admin token').fill('wrong'.repeat(9));
      await page.getByRole('button', { name: 'Show rooms' }).click();
      await page.getByRole('status').getByText('FORBIDDEN').waitFor();

      await page.getByLabel('Admin token').fill(server.adminToken);
      await page.getByRole('button', { name: 'Show rooms' }).click();
      await page.getByRole('cell', { name: 'crew', exact: true }).waitFor();
      await page.getByRole('button', { name: 'Messages of room crew' }).click();
      await page.getByRole('button', { name: `Delete message ${drop} from ana` }).click();
      await page.getByRole('status').getByText(`Message ${drop} deleted.`).waitFor();
      expect(await page.getByRole('button', { name: /^Delete message/ }).count()).toBe(1);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
    const history = await call(server, 'GET', '/api/rooms/crew/messages');
    expect((history.body.messages as { id: number }[]).map((m) => m.id)).toEqual([keep]);
  });
});
