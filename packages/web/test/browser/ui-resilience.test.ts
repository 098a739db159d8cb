import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb, fixturePath, type WebBuild } from './helpers.js';
import {
  cliSend,
  launchWithoutMicPermission,
  roomUrl,
  startUiServer,
  type UiServer,
} from './ui-support.js';

/*
 * What the page says when things go wrong: microphone refused, page not in a secure context,
 * server gone; and that it recovers by itself when the server comes back. Also the first-visit form.
 * This Chromium has no auto-accept for the microphone, so permission requests are denied, and it
 * resolves voice.lan to 127.0.0.1 to open the page from an insecure (plain http, not localhost) origin.
 */

let web: WebBuild;
let browser: Browser;
const servers: UiServer[] = [];

beforeAll(async () => {
  web = await buildWeb();
  browser = await launchWithoutMicPermission(['--host-resolver-rules=MAP voice.lan 127.0.0.1']);
});

afterEach(async () => {
  for (const context of browser.contexts()) await context.close();
  for (const s of servers.splice(0)) await s.stop();
});

afterAll(async () => {
  await browser?.close();
  await web?.cleanup();
});

async function server(options: { port?: number; dataDir?: string } = {}): Promise<UiServer> {
  const s = await startUiServer(web.distDir, options);
  servers.push(s);
  return s;
}

async function open(url: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

async function pressTalk(page: Page): Promise<void> {
  const button = page.getByRole('button', { name: /hold to talk/i });
  const box = (await button.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.up();
}

const problem = (page: Page) => page.locator('.banner.problem');
const connection = (page: Page) => page.locator('.banner.connection');

describe('problems the page explains', () => {
  it('says the microphone is blocked and how to allow it when permission is denied', async () => {
    const s = await server();
    const page = await open(roomUrl(s.url, 'mic', 'Den'));
    await page.waitForFunction(() => window.imvClients?.[0]?.state === 'open');
    await pressTalk(page);
    await problem(page).waitFor();
    const text = await problem(page).textContent();
    expect(text).toContain('Microphone access is blocked');
    expect(text).toContain('Allow the microphone');
    expect(await page.evaluate(() => window.imvClients![0]!.talking)).toBe(false);
    expect(
      await page.getByRole('button', { name: /hold to talk/i }).getAttribute('aria-pressed'),
    ).toBe('false');
  });

  it('says the page must be opened over HTTPS or on localhost when the origin is not secure', async () => {
    const s = await server();
    const page = await open(roomUrl(`http://voice.lan:${s.server.port}`, 'mic', 'Ivo'));
    await problem(page).waitFor();
    expect(await problem(page).textContent()).toContain(
      'This page must be opened over HTTPS or on localhost to use the microphone',
    );
    await pressTalk(page);
    expect(await problem(page).textContent()).toContain('HTTPS or on localhost');
  });

  it('says it cannot reach the server when the server stops, and reconnects and re-syncs when it is back', async () => {
    const first = await server();
    const { port } = first.server;
    const page = await open(roomUrl(first.url, 'resync', 'Rae'));
    await page.waitForFunction(() => window.imvClients?.[0]?.state === 'open');
    expect(await connection(page).isVisible()).toBe(false);

    await first.stop();
    await connection(page).waitFor();
    expect(await connection(page).textContent()).toContain(
      `Cannot reach the imv server at localhost:${port}, retrying`,
    );

    // While the page's server is down, a message is stored through a second server on the same
    // data dir, so the page can only learn of it by re-syncing after it reconnects.
    const side = await server({ dataDir: first.dataDir });
    await cliSend(side.url, 'resync', fixturePath('clicks-1s-48k.wav'), { name: 'Sid' });
    await side.stop();
    expect(await page.locator('.msg').count()).toBe(0);

    await server({ port, dataDir: first.dataDir });
    await page.waitForFunction(() => window.imvClients?.[0]?.state === 'open', null, {
      timeout: 20_000,
    });
    await connection(page).waitFor({ state: 'hidden' });
    const row = page.locator('.msg').first();
    await row.waitFor();
    expect(await row.locator('.sender').textContent()).toBe('Sid');
  });
});

describe('first visit', () => {
  it('asks for a name and a room, puts the room in the URL and remembers the name and clientId', async () => {
    const s = await server();
    const page = await open(`${s.url}/`);
    await page.getByLabel('Your name', { exact: true }).fill('  Zoé  ');
    expect(await page.getByLabel('Room', { exact: true }).inputValue()).toBe('lobby');
    await page.getByLabel('Room', { exact: true }).fill('Night Shift');
    await page.getByRole('button', { name: 'Join' }).click();
    await page.waitForURL(/\?room=night-shift$/);
    await page.waitForFunction(() => window.imvClients?.[0]?.state === 'open');
    expect(await page.locator('.where').textContent()).toBe('#night-shift as Zoé');
    const firstId = await page.evaluate(() => localStorage.getItem('imv.clientId'));
    expect(firstId).toMatch(/^[0-9a-f]{32}$/);

    // Next visit: straight into the last room, same name and clientId; an invite link picks the room.
    await page.goto(`${s.url}/`);
    await page.waitForURL(/\?room=night-shift$/);
    await page.goto(`${s.url}/?room=crew`);
    await page.waitForFunction(() => window.imvClients?.[0]?.state === 'open');
    expect(await page.locator('.where').textContent()).toBe('#crew as Zoé');
    expect(await page.evaluate(() => localStorage.getItem('imv.clientId'))).toBe(firstId);
    expect(await page.locator('.member.you').textContent()).toContain('Zoé (you)');

    // The invite dialog shows the room's URL (this server has no https listener, so it is this origin's).
    await page.getByRole('button', { name: 'Invite others to #crew' }).click();
    const dialog = page.getByRole('dialog', { name: 'Invite to #crew' });
    await dialog.waitFor();
    expect(await dialog.locator('#invite-link').textContent()).toBe(`${s.url}/?room=crew`);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('refuses an empty name with a message instead of joining', async () => {
    const s = await server();
    const page = await open(`${s.url}/?room=crew`);
    expect(await page.getByLabel('Room', { exact: true }).inputValue()).toBe('crew');
    await page.getByRole('button', { name: 'Join' }).click();
    expect(await page.locator('.form-error').textContent()).toBe(
      'Please enter a name so others know who is talking.',
    );
    expect(page.url()).toBe(`${s.url}/?room=crew`);
  });
});
