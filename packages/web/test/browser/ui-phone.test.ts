import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { buildWeb, fixturePath, launchChromium, type WebBuild } from './helpers.js';
import { roomUrl, screenshotDir, startUiServer, type UiServer } from './ui-support.js';

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
async function openRoom(room: string, name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 1 });
  onTestFinished(() => context.close());
  const page = await context.newPage();
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
    // Alice's own level moves (the fake microphone plays speech).
    await alice.waitForFunction(() => {
      const fill = document.querySelector<HTMLElement>('.talker.you .meter-fill');
      return fill !== null && /scaleX\(0\.[1-9]|scaleX\(1\)/.test(fill.style.transform);
    });
    await bob.getByRole('list', { name: 'Talking now' }).getByText('Alice is talking').waitFor();
    await alice.screenshot({ path: path.join(screenshotDir, 'talking-phone.png') });

    await alice.mouse.up();
    await alice.waitForFunction(() => window.imvClients?.[0]?.talking === false);
    await you.waitFor({ state: 'hidden' });
    expect(await alice.locator('.now .quiet').isVisible()).toBe(true);
  });
});
