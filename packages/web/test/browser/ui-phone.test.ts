import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { NOTIFY_DENIED } from '../../src/ui/notify.js';
import { WAKE_LOCK_DENIED } from '../../src/ui/wake-lock.js';
import { buildWeb, fixturePath, launchChromium, type WebBuild } from './helpers.js';
import { cliSend, roomUrl, screenshotDir, startUiServer, type UiServer } from './ui-support.js';

/*
 * The app on a 360 px phone: the header keeps the room name readable, and your own talk shows in
 * the talking panel. Screenshots go to a temp dir; with IMV_UPDATE_SCREENSHOTS=1 into docs/screenshots.
 */

const PHONE = { width: 360, height: 740 } as const;

let web: WebBuild;
let srv: UiServer;
let browser: Browser;

beforeAll(async () => {
  web = await buildWeb();
  srv = await startUiServer(web.distDir);
  browser = await launchChromium({ fakeMic: fixturePath('speech-en-48k.wav'), loop: true });
  await mkdir(screenshotDir, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await srv?.stop();
  await web?.cleanup();
});

/** A page of the app in `room` as `name`, joined; closed after the test. */
async function openRoom(
  room: string,
  name: string,
  before: (page: Page) => Promise<void> = () => Promise.resolve(),
): Promise<Page> {
  const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 1 });
  onTestFinished(() => context.close());
  const page = await context.newPage();
  await before(page);
  await page.goto(roomUrl(srv.url, room, name));
  await page.waitForFunction(() => window.imvClients?.[0]?.state === 'open');
  return page;
}

describe('the room page on a 360 px phone', () => {
  it('keeps a long room name fully readable beside the header buttons', async () => {
    const room = 'hearing-2696-night-shift-east-wing';
    const page = await openRoom(room, 'Alexandra');
    const name = page.locator('header .room-name');
    expect(await name.textContent()).toBe(`#${room}`);
    const fit = await name.evaluate((el) => {
      const r = el.getBoundingClientRect();
      return {
        clipped: el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight,
        inside: r.left >= 0 && r.right <= innerWidth && r.top >= 0,
        // Not covered by a button: the element at the name's centre is the name itself.
        onTop: document.elementFromPoint(r.left + 4, r.top + r.height / 2) === el,
      };
    });
    expect(fit).toEqual({ clipped: false, inside: true, onTop: true });
    // The buttons are icons with accessible names.
    await page.getByRole('button', { name: `Invite others to #${room}` }).waitFor();
    await page.getByRole('button', { name: 'Change name or room' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      PHONE.width,
    );
  });

  it('says "You are talking" with your level and who hears you while you hold the button', async () => {
    const room = 'hearing-2696';
    const bob = await openRoom(room, 'Bob');
    const alice = await openRoom(room, 'Alice');
    await alice.getByText('Bob', { exact: true }).waitFor();
    const talking = alice.getByRole('list', { name: 'Talking now' });
    expect(await alice.locator('.now .quiet').textContent()).toBe('Nobody is talking');

    const button = alice.getByRole('button', { name: /hold to talk/i });
    const box = (await button.boundingBox())!;
    await alice.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await alice.mouse.down();
    await alice.waitForFunction(() => window.imvClients?.[0]?.talking === true);
    const you = talking.locator('.talker.you');
    await you.waitFor();
    expect(await you.locator('.talker-name').textContent()).toBe('You are talking');
    expect(await you.locator('.hearing').textContent()).toBe('Heard by Bob');
    expect(await alice.locator('.now .quiet').isVisible()).toBe(false);
    await bob.getByRole('list', { name: 'Talking now' }).getByText('Alice is talking').waitFor();
    // Alice's own level moves (the fake microphone plays speech).
    await alice.waitForFunction(() => {
      const fill = document.querySelector<HTMLElement>('.talker.you .meter-fill');
      return fill !== null && /scaleX\(0\.[3-9]|scaleX\(1\)/.test(fill.style.transform);
    });
    await alice.screenshot({ path: path.join(screenshotDir, 'talking-phone.png') });

    await alice.mouse.up();
    await alice.waitForFunction(() => window.imvClients?.[0]?.talking === false);
    await you.waitFor({ state: 'hidden' });
    expect(await alice.locator('.now .quiet').isVisible()).toBe(true);
  });
});

/** The page's real WakeLockSentinel objects, in the order the app requested them. */
declare global {
  interface Window {
    wakeLocks?: WakeLockSentinel[];
  }
}

/** Keeps a reference to every sentinel navigator.wakeLock.request hands the app. */
async function watchWakeLocks(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const wakeLock = WakeLock.prototype;
    const request: WakeLock['request'] = Reflect.get(wakeLock, 'request');
    window.wakeLocks = [];
    wakeLock.request = async function (this: WakeLock, type?: WakeLockType) {
      const sentinel = await request.call(this, type);
      window.wakeLocks!.push(sentinel);
      return sentinel;
    };
  });
}

/** How many sentinels were handed out, and how many of them are still held. */
function wakeLocks(page: Page): Promise<{ requested: number; held: number }> {
  return page.evaluate(() => ({
    requested: window.wakeLocks!.length,
    held: window.wakeLocks!.filter((s) => !s.released).length,
  }));
}

function waitWakeLocks(page: Page, requested: number, held: number): Promise<unknown> {
  return page.waitForFunction(
    ([r, h]) =>
      window.wakeLocks!.length === r && window.wakeLocks!.filter((s) => !s.released).length === h,
    [requested, held] as const,
  );
}

/**
 * Hides or shows the page the way switching apps or locking the phone does. Headless Chromium keeps
 * every page 'visible' (measured on Chromium 156: a minimised window, a background tab and focus
 * emulation turned off all leave document.visibilityState 'visible'), so the document's visibility
 * is set here and the real visibilitychange event fired, as the browser would.
 */
async function setPageHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate((h) => {
    Object.defineProperty(document, 'visibilityState', {
      configurable: true,
      get: () => (h ? 'hidden' : 'visible'),
    });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

describe('keeping the screen on (Screen Wake Lock)', () => {
  it('holds the lock in a room, takes it again after the page was hidden, and lets go on leaving', async () => {
    const page = await openRoom('night-shift', 'Ana', watchWakeLocks);
    await waitWakeLocks(page, 1, 1);

    // Another app in front: the lock goes; back to the page: a new one.
    await setPageHidden(page, true);
    await waitWakeLocks(page, 1, 0);
    await setPageHidden(page, false);
    await waitWakeLocks(page, 2, 1);

    // Settings → "Keep the screen on" off lets go, and on takes it again.
    await page.getByRole('button', { name: 'Settings' }).click();
    const keepOn = page.getByRole('checkbox', { name: 'Keep the screen on' });
    expect(await keepOn.isChecked()).toBe(true);
    await keepOn.uncheck();
    await waitWakeLocks(page, 2, 0);
    await keepOn.check();
    await waitWakeLocks(page, 3, 1);
    await page.getByRole('button', { name: 'Close' }).click();

    // Leaving the room (Change) lets go.
    await page.getByRole('button', { name: 'Change name or room' }).click();
    await page.getByRole('button', { name: 'Join', exact: true }).waitFor();
    await waitWakeLocks(page, 3, 0);
  });

  it('remembers "Keep the screen on" off and then asks for no lock', async () => {
    const page = await openRoom('night-shift', 'Ana', watchWakeLocks);
    await waitWakeLocks(page, 1, 1);
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('checkbox', { name: 'Keep the screen on' }).uncheck();
    await waitWakeLocks(page, 1, 0);
    await page.reload();
    await page.waitForFunction(() => window.imvClients?.[0]?.state === 'open');
    await setPageHidden(page, true);
    await setPageHidden(page, false);
    await page.getByRole('button', { name: 'Settings' }).click();
    expect(await page.getByRole('checkbox', { name: 'Keep the screen on' }).isChecked()).toBe(
      false,
    );
    expect(await wakeLocks(page)).toEqual({ requested: 0, held: 0 });
  });

  it('says so without blocking anything when the browser refuses the lock', async () => {
    const page = await openRoom('night-shift', 'Ana', (p) =>
      setPermission(p, 'screen-wake-lock', 'denied'),
    );
    const notice = page.locator('.banner.problem.notice');
    await notice.getByText(WAKE_LOCK_DENIED).waitFor();
    expect(await notice.getAttribute('role')).toBe('status');
    // Everything else works: the talk button is there and enabled.
    expect(await page.getByRole('button', { name: /hold to talk/i }).isEnabled()).toBe(true);
    await page.screenshot({ path: path.join(screenshotDir, 'wake-lock-phone.png') });
  });
});

/** The notifications the page's service worker registration shows now. */
function shownNotifications(
  page: Page,
): Promise<{ title: string; body: string; tag: string; data: unknown }[]> {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    const shown = await registration.getNotifications();
    return shown.map((n) => ({
      title: n.title,
      body: n.body,
      tag: n.tag,
      data: n.data as unknown,
    }));
  });
}

/** The permission of this browser context for the server's origin (Playwright can only grant). */
async function setPermission(page: Page, name: string, setting: 'granted' | 'denied') {
  const cdp = await page.context().newCDPSession(page);
  const { targetInfo } = await cdp.send('Target.getTargetInfo');
  await cdp.send('Browser.setPermission', {
    permission: { name },
    setting,
    origin: srv.url,
    browserContextId: targetInfo.browserContextId!,
  });
}

/** The id `imv send` printed ("sent message 12 to crew (…)"). */
function sentId(stdout: string): number {
  const id = /sent message (\d+)/.exec(stdout)?.[1];
  if (id === undefined) throw new Error(`no message id in: ${stdout}`);
  return Number(id);
}

describe('heard when not looking (notifications, title count)', () => {
  it('notifies a hidden page of a message sent by the CLI, counts it in the title, and clears when seen', async () => {
    const room = 'pocket';
    const page = await openRoom(room, 'Ana', (p) => setPermission(p, 'notifications', 'granted'));
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    expect(await page.title()).toBe(`#${room} · imv`);

    // "Notify me" is a tap in Settings: the permission is asked there, never on load.
    await page.getByRole('button', { name: 'Settings' }).click();
    const notify = page.getByRole('checkbox', { name: 'Notify me when imv is not on screen' });
    expect(await notify.isChecked()).toBe(false);
    await notify.check();
    await page.waitForFunction(
      () => document.querySelector<HTMLInputElement>('#setting-notify')?.disabled === false,
    );
    expect(await notify.isChecked()).toBe(true);
    await page.screenshot({ path: path.join(screenshotDir, 'settings-phone.png') });
    await page.getByRole('button', { name: 'Close' }).click();

    await setPageHidden(page, true);
    const first = sentId(
      await cliSend(srv.url, room, fixturePath('speech-en-48k.wav'), { name: 'Leo' }),
    );
    await page.waitForFunction((t) => document.title === t, `(1) #${room} · imv`);
    await expect
      .poll(() => shownNotifications(page))
      .toEqual([
        {
          title: `#${room}`,
          body: expect.stringMatching(/^Voice message from Leo, \d+ seconds$/) as string,
          tag: `imv-room-${room}`,
          data: { url: roomUrl(srv.url, room, 'Ana'), room, messageId: first },
        },
      ]);
    const second = sentId(
      await cliSend(srv.url, room, fixturePath('speech-fr-48k.wav'), { name: 'Mia' }),
    );
    await page.waitForFunction((t) => document.title === t, `(2) #${room} · imv`);
    await expect
      .poll(async () => (await shownNotifications(page)).map((n) => [n.body, n.data]))
      .toEqual([
        [
          expect.stringMatching(/^Voice message from Mia, \d+ seconds \(2 new\)$/),
          { url: roomUrl(srv.url, room, 'Ana'), room, messageId: second },
        ],
      ]);

    // Back on screen: the count, the badge and the room's notification go.
    await setPageHidden(page, false);
    await page.waitForFunction((t) => document.title === t, `#${room} · imv`);
    await expect.poll(() => shownNotifications(page)).toEqual([]);

    // Tapping the notification opens the room at that message (?msg=ID when no page is open).
    await page.goto(roomUrl(srv.url, room, 'Ana', { msg: String(first) }));
    const row = page.locator(`.msg[data-id="${first}"]`);
    await page.waitForFunction(
      (id) => document.querySelector(`.msg[data-id="${id}"]`)?.classList.contains('revealed'),
      first,
    );
    expect(await row.locator('button.play').evaluate((b) => b === document.activeElement)).toBe(
      true,
    );
    expect(await row.isVisible()).toBe(true);
    expect(new URL(page.url()).searchParams.has('msg')).toBe(false);
  });

  it('notifies a hidden page while someone talks live, then replaces it with the message', async () => {
    const room = 'pocket-live';
    const page = await openRoom(room, 'Ana', (p) => setPermission(p, 'notifications', 'granted'));
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('checkbox', { name: 'Notify me when imv is not on screen' }).check();
    await page.getByRole('button', { name: 'Close' }).click();
    await setPageHidden(page, true);

    // At real-time pace: the talk is live for a few seconds before it is stored.
    const sending = cliSend(srv.url, room, fixturePath('speech-fr-48k.wav'), {
      name: 'Sam',
      fast: false,
    });
    await page.getByRole('list', { name: 'Talking now' }).getByText('Sam is talking').waitFor();
    await expect
      .poll(async () => (await shownNotifications(page)).map((n) => n.body))
      .toEqual([`Sam is talking in #${room}`]);
    await page.waitForFunction((t) => document.title === t, `(1) #${room} · imv`);
    const id = sentId(await sending);
    await expect
      .poll(async () => (await shownNotifications(page)).map((n) => [n.body, n.data]))
      .toEqual([
        [
          expect.stringMatching(/^Voice message from Sam, \d+ seconds$/),
          { url: roomUrl(srv.url, room, 'Ana'), room, messageId: id },
        ],
      ]);
    // One talk, one unseen item.
    expect(await page.title()).toBe(`(1) #${room} · imv`);
  });

  it('says clearly that notifications are blocked and leaves "Notify me" off', async () => {
    const page = await openRoom('pocket-2', 'Ana', (p) =>
      setPermission(p, 'notifications', 'denied'),
    );
    await page.getByRole('button', { name: 'Settings' }).click();
    const notify = page.getByRole('checkbox', { name: 'Notify me when imv is not on screen' });
    await notify.click();
    await page.getByRole('dialog').getByRole('status').getByText(NOTIFY_DENIED).waitFor();
    expect(await notify.isChecked()).toBe(false);
  });
});
