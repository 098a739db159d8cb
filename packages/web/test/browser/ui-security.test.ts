import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { decodeOggOpus } from '@imv/media/node';
import { startServer, type ImvServer } from '@imv/server';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  buildWeb,
  fixturePath,
  homeTrustingCa,
  launchChromium,
  piecewiseCorrelation,
  readFixture,
  repoRoot,
  rms,
  type WebBuild,
} from './helpers.js';
import {
  enableSound,
  installTap,
  readTap,
  startTap,
  waitAudioSeconds,
  screenshotDir,
} from './ui-support.js';

/*
 * LAN onboarding and security as a user meets them in the page: room keys (from #key= or the key
 * prompt), end-to-end encrypted rooms (live and stored, with the CLI as a third member), admin
 * deletions, the invite dialog and the join form (a phone on the LAN: ui-phone-lan.test.ts). One real server with its https
 * listener and local CA; one Chromium that trusts that CA through an NSS database (no
 * ignoreHTTPSErrors), with the fake microphone playing speech-en.
 */

const run = promisify(execFile);
const cliBin = path.resolve(repoRoot, 'packages/cli/bin/imv.js');
const SPEECH_EN = 'speech-en-48k.wav';
const SPEECH_FR = 'speech-fr-48k.wav';
const ROOM_KEY = 'door-key-42';
const PASSPHRASE = 'correct horse battery';
const PHONE = {
  viewport: { width: 360, height: 740 },
  isMobile: true,
  hasTouch: true,
  deviceScaleFactor: 2,
};

let web: WebBuild;
let workDir: string;
let server: ImvServer;
let httpUrl: string;
let browser: Browser;

beforeAll(async () => {
  web = await buildWeb();
  installTap(web.distDir);
  workDir = await mkdtemp(path.join(tmpdir(), 'imv-ui-security-'));
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    httpsPort: 0,
    dataDir: path.join(workDir, 'data'),
    webRoot: web.distDir,
    logLevel: 'silent',
  });
  httpUrl = `http://localhost:${server.port}`;
  // Chromium trusts the server's local CA the way a user's browser would: through its NSS database.
  browser = await launchChromium({
    fakeMic: fixturePath(SPEECH_EN),
    home: await homeTrustingCa(workDir, server.caCertPem!),
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await web?.cleanup();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function newPage(
  options: Parameters<Browser['newContext']>[0] = { viewport: { width: 360, height: 740 } },
  keep = false,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(options);
  // Kept pages serve the next test of their describe and close with the browser.
  if (!keep) onTestFinished(() => context.close());
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
  return { context, page };
}

/** The room page for `name`, raw microphone; secrets go in the fragment as invite links carry them. */
function pageUrl(base: string, room: string, name: string, fragment = ''): string {
  return `${base}/?${new URLSearchParams({ room, name, mic: 'raw' }).toString()}${fragment}`;
}

async function openRoom(room: string, name: string, fragment = '', keep = false): Promise<Page> {
  const { page } = await newPage(undefined, keep);
  await page.goto(pageUrl(httpUrl, room, name, fragment));
  await page.waitForFunction(() => window.imvClients?.[0]?.state === 'open', null, {
    timeout: 20_000,
  });
  return page;
}

function cli(args: string[]): Promise<{ stdout: string }> {
  return run(process.execPath, [cliBin, ...args, '--server', httpUrl], {
    cwd: repoRoot,
    timeout: 45_000,
  });
}

/** Empties the page's output tap. */
function clearTap(page: Page): Promise<void> {
  return page.evaluate(() => {
    (window as unknown as { uiTestTap: { chunks: Float32Array[] } }).uiTestTap.chunks.length = 0;
  });
}

/** Waits until the message player has played to its end. */
function playerEnded(page: Page): Promise<unknown> {
  return page.waitForFunction(
    () => (document.getElementById('imv-player') as HTMLAudioElement).ended,
    null,
    {
      timeout: 20_000,
    },
  );
}

async function holdTalkByMouse(page: Page, seconds: number): Promise<void> {
  const box = (await page.getByRole('button', { name: /hold to talk/i }).boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.waitForFunction(() => window.imvClients?.[0]?.talking === true);
  await waitAudioSeconds(page, seconds);
  await page.mouse.up();
  await page.waitForFunction(() => window.imvClients?.[0]?.talking === false);
}

describe('keyed rooms', () => {
  let keyedPage: Page;

  it('joins with #key= from the invite fragment and plays a message the CLI sent with --key', async () => {
    await cli([
      'send',
      fixturePath(SPEECH_FR),
      '--room',
      'locked',
      '--key',
      ROOM_KEY,
      '--name',
      'Fran',
      '--fast',
    ]);
    keyedPage = await openRoom('locked', 'Kay', `#key=${encodeURIComponent(ROOM_KEY)}`, true);
    await startTap(keyedPage);
    await keyedPage.locator('.msg').first().waitFor();
    await enableSound(keyedPage); // unheard messages auto-play after the first tap
    await playerEnded(keyedPage);
    const heard = await readTap(keyedPage);
    expect(
      piecewiseCorrelation(await readFixture(SPEECH_FR), heard).correlation,
    ).toBeGreaterThanOrEqual(0.8);
    // The key never left the fragment.
    expect(new URL(keyedPage.url()).search).not.toContain(ROOM_KEY);
  });

  it('asks for the key when the link has none, and joins once it is typed', async () => {
    const { page } = await newPage();
    await page.goto(pageUrl(httpUrl, 'locked', 'Nok'));
    const prompt = page.getByRole('dialog', { name: '#locked is locked' });
    await prompt.waitFor();
    expect(await page.locator('.msg').count()).toBe(0);
    await prompt.getByLabel('Room key').fill('not-the-key');
    await prompt.getByRole('button', { name: 'Join' }).click();
    await page
      .getByRole('dialog', { name: '#locked is locked' })
      .getByText('not this room’s key')
      .waitFor();
    await page.getByLabel('Room key').fill(ROOM_KEY);
    await page.getByRole('button', { name: 'Join' }).click();
    await page.waitForFunction(() => window.imvClients?.[0]?.state === 'open');
    await page.locator('.msg').first().waitFor();
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(decodeURIComponent(new URL(page.url()).hash)).toBe(`#key=${ROOM_KEY}`);
  });

  it('tells the people inside when the admin locks their room and gives them the key link', async () => {
    const inside = await openRoom('was-open', 'Ina');
    const res = await fetch(`${httpUrl}/api/rooms/was-open/key`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ key: ROOM_KEY }),
    });
    expect(res.status).toBe(200);
    await inside.getByText('The admin locked #was-open with a key').first().waitFor();
    expect(decodeURIComponent(new URL(inside.url()).hash)).toBe(`#key=${ROOM_KEY}`);
    // The link in the address bar is the way back in after a reload.
    await inside.reload();
    await inside.waitForFunction(() => window.imvClients?.[0]?.state === 'open');
    expect(await inside.getByRole('dialog').count()).toBe(0);
    // Someone without the key is asked for it.
    const { page: outside } = await newPage();
    await outside.goto(pageUrl(httpUrl, 'was-open', 'Out'));
    await outside.getByRole('dialog', { name: '#was-open is locked' }).waitFor();
  });

  it('drops a message from the open page when the admin deletes it', async () => {
    const row = keyedPage.locator('.msg').first();
    const id = await row.getAttribute('data-id');
    const res = await fetch(`${httpUrl}/api/rooms/locked/messages/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    expect(res.status).toBe(200);
    await keyedPage.waitForFunction(
      (gone) => !document.querySelector(`.msg[data-id="${gone}"]`),
      id,
    );
    expect(await keyedPage.locator('.msg').count()).toBe(0);
  });

  it('invites with a QR code of the keyed https link and the server fingerprint', async () => {
    const { page } = await newPage(PHONE);
    await page.goto(
      pageUrl(server.httpsUrl!, 'locked', 'Ivy', `#key=${encodeURIComponent(ROOM_KEY)}`),
    );
    await page.waitForFunction(() => window.imvClients?.[0]?.state === 'open');
    await page.getByRole('button', { name: 'Invite others to #locked' }).click();
    const dialog = page.getByRole('dialog', { name: 'Invite to #locked' });
    await dialog.waitFor();
    const qr = dialog.getByRole('img', { name: /QR code/ });
    await page.waitForFunction(
      () => (document.querySelector<HTMLImageElement>('dialog img.qr')?.naturalWidth ?? 0) > 0,
    );
    expect(await qr.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    const link = (await dialog.locator('#invite-link').textContent())!;
    expect(link.startsWith(`${server.httpsUrl}/?room=locked`)).toBe(true);
    expect(decodeURIComponent(new URL(link).hash)).toBe(`#key=${ROOM_KEY}`);
    expect(await dialog.locator('#invite-fingerprint').textContent()).toBe(
      server.fingerprintSha256,
    );
    await mkdir(screenshotDir, { recursive: true });
    await page.screenshot({ path: path.join(screenshotDir, 'invite-phone.png') });
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('dialog'));
  });
});

describe('end-to-end encrypted rooms', () => {
  it(
    'carries speech between pages with the passphrase, to the CLI, and never to a wrong passphrase',
    { timeout: 180_000 },
    async () => {
      const room = `e2e-${Date.now().toString(36)}`;
      const fragment = `#e2e=${encodeURIComponent(PASSPHRASE)}`;
      const listener = await openRoom(room, 'Bea', fragment);
      const wrong = await openRoom(room, 'Cid', '#e2e=wrong%20horse');
      for (const p of [listener, wrong]) {
        await enableSound(p);
        await startTap(p);
      }
      const out = await mkdtemp(path.join(tmpdir(), 'imv-ui-e2e-'));
      onTestFinished(() => rm(out, { recursive: true, force: true }));
      const cliListener = spawn(
        process.execPath,
        [
          cliBin,
          'listen',
          '--room',
          room,
          '--passphrase',
          PASSPHRASE,
          '--count',
          '1',
          '--out',
          out,
          '--server',
          httpUrl,
          '--name',
          'Cli',
        ],
        { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      onTestFinished(() => void cliListener.kill());
      const cliDone = new Promise<number | null>((resolve) => cliListener.on('exit', resolve));

      const talker = await openRoom(room, 'Ann', fragment);
      await talker.waitForFunction(() => document.querySelectorAll('.member').length === 4, null, {
        timeout: 15_000,
      });
      // Opening the talker (PBKDF2 of the passphrase) and starting the CLI take seconds, longer than
      // the correlation's first search; what the listener heard is measured from the press on.
      await clearTap(listener);
      await holdTalkByMouse(talker, 4);

      // Heard live with the passphrase.
      await listener.locator('.msg').first().waitFor({ timeout: 15_000 });
      await waitAudioSeconds(listener, 0.5);
      const said = (await readFixture(SPEECH_EN)).subarray(0, 3 * 48_000);
      const live = await readTap(listener);
      expect(piecewiseCorrelation(said, live).correlation).toBeGreaterThanOrEqual(0.8);

      // The wrong passphrase: a clear message, and silence (never noise).
      await wrong
        .getByText("cannot decrypt this room's audio — check the passphrase")
        .first()
        .waitFor();
      expect(rms(await readTap(wrong))).toBeLessThan(1e-4);
      expect(await wrong.locator('.msg .e2e-note').first().textContent()).toBe(
        "cannot decrypt this room's audio — check the passphrase",
      );

      // The stored message, decrypted in the page, plays through the same player.
      await clearTap(listener);
      await listener.getByRole('button', { name: 'Play message from Ann' }).click();
      await playerEnded(listener);
      expect(
        piecewiseCorrelation(said, await readTap(listener)).correlation,
      ).toBeGreaterThanOrEqual(0.8);

      // The download is an Ogg Opus file built in the page.
      const [download] = await Promise.all([
        listener.waitForEvent('download'),
        listener.getByRole('link', { name: 'Download message from Ann (.ogg)' }).click(),
      ]);
      const oggPath = path.join(out, 'download.ogg');
      await download.saveAs(oggPath);
      const info = await run('opusinfo', [oggPath]);
      expect(info.stdout + info.stderr).not.toMatch(/WARNING|ERROR/);
      const local = decodeOggOpus(new Uint8Array(await readFile(oggPath)));
      expect(piecewiseCorrelation(said, local).correlation).toBeGreaterThanOrEqual(0.8);

      // The CLI with the passphrase saved it too.
      expect(await cliDone).toBe(0);
      const files = (await readdir(out)).filter((f) => f.endsWith('.ogg') && f !== 'download.ogg');
      expect(files).toHaveLength(1);
      const saved = decodeOggOpus(new Uint8Array(await readFile(path.join(out, files[0]!))));
      expect(piecewiseCorrelation(said, saved).correlation).toBeGreaterThanOrEqual(0.8);

      // A member without the passphrase sees the message and why it does not play.
      const outsider = await openRoom(room, 'Dee');
      await outsider.getByText('end-to-end encrypted — enter the passphrase to play').waitFor();
      expect(
        await outsider.getByRole('button', { name: 'Play message from Ann' }).isDisabled(),
      ).toBe(true);

      // Invites carry the passphrase only when asked to.
      await listener.getByRole('button', { name: `Invite others to #${room}` }).click();
      const link = listener.locator('#invite-link');
      const e2eOf = async () =>
        new URLSearchParams(new URL((await link.textContent())!).hash.slice(1)).get('e2e');
      expect(await e2eOf()).toBeNull();
      await listener.getByLabel('Include passphrase in link').check();
      await expect.poll(e2eOf).toBe(PASSPHRASE);
    },
  );
});

describe('the join form', () => {
  it('shows the join form with a key and a passphrase on a phone (screenshot)', async () => {
    await mkdir(screenshotDir, { recursive: true });
    const { page } = await newPage(PHONE);
    await page.goto(`${httpUrl}/?room=crew`);
    await page.getByLabel('Your name').fill('Ana');
    await page.getByLabel('Lock this room with a key').fill(ROOM_KEY);
    await page.getByLabel('Passphrase (end-to-end encryption)').fill(PASSPHRASE);
    await page.screenshot({ path: path.join(screenshotDir, 'join-phone.png'), fullPage: true });
    // The fields are what the form submits: the key in the fragment, never in the query.
    await page.getByRole('button', { name: 'Join' }).click();
    await page.waitForFunction(() => window.imvClients?.[0]?.state === 'open', null, {
      timeout: 20_000,
    });
    const url = new URL(page.url());
    expect(url.search).not.toContain('door');
    expect(new URLSearchParams(url.hash.slice(1)).get('key')).toBe(ROOM_KEY);
    expect(new URLSearchParams(url.hash.slice(1)).get('e2e')).toBe(PASSPHRASE);
  });
});
