import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { buildWeb, fixturePath, launchChromium, type WebBuild } from './helpers.js';
import { screenshotDir, startUiServer, type UiServer } from './ui-support.js';

/*
 * The audio doctor (doctor.html) in Chromium with the fake microphone playing speech: its echo test
 * runs through the real server on loopback and the panel shows the figures the engine measured.
 * Screenshot at 360 px into a temp dir, or docs/screenshots with IMV_UPDATE_SCREENSHOTS=1.
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

async function openDoctor(): Promise<Page> {
  const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 1 });
  onTestFinished(() => context.close());
  const page = await context.newPage();
  await page.goto(`${srv.url}/doctor?mic=raw`);
  return page;
}

/** The number the panel shows for a figure (its data-value), once the test is done. */
async function figure(page: Page, id: string): Promise<number> {
  const value = await page.locator(`[data-figure="${id}"] dd`).getAttribute('data-value');
  return Number(value);
}

async function runTest(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Run the test' }).click();
  await page
    .locator('.doctor-status')
    .filter({ hasText: /^Done|failed|could not|cannot/i })
    .waitFor({
      timeout: 30_000,
    });
}

describe('the audio doctor', () => {
  it('measures a round trip through the server on loopback and shows it', async () => {
    const page = await openDoctor();
    await runTest(page);
    expect(await page.locator('.doctor-status').textContent()).toMatch(/^Done/);
    const roundTrip = await figure(page, 'round-trip');
    const rtt = await figure(page, 'rtt');
    expect(roundTrip).toBeGreaterThan(0);
    expect(rtt).toBeGreaterThan(0);
    // The sound's round trip includes the network's and at least one 20 ms block.
    expect(roundTrip).toBeGreaterThan(rtt);
    expect(await figure(page, 'mouth-to-ear')).toBeGreaterThan(0);
    expect(await figure(page, 'loss')).toBe(0);
    expect(await figure(page, 'sample-rate')).toBe(48_000);
    // The fake microphone plays speech: a real level, not silence.
    expect(await figure(page, 'input-level')).toBeGreaterThan(-50);
    for (const id of ['jitter', 'base-latency', 'output-latency'])
      expect(Number.isFinite(await figure(page, id))).toBe(true);
    expect(await page.locator('[data-fix="bluetooth"]').count()).toBe(1);
    await page.screenshot({ path: path.join(screenshotDir, 'doctor-phone.png'), fullPage: true });
  });
});
