import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  buildWeb,
  fixturePath,
  launchChromium,
  piecewiseCorrelation,
  readFixture,
  rms,
  type WebBuild,
} from './helpers.js';
import { cliSend, readTap, roomUrl, startUiServer, type UiServer } from './ui-support.js';

/*
 * The installed app without its server: the service worker serves the app shell, kept voice messages
 * play from browser storage, the page says it cannot reach the server and reconnects by itself; and a
 * new build served on the same origin replaces the old shell on the next load.
 */

const SPEECH_FR = 'speech-fr-48k.wav';

let buildA: WebBuild;
let buildB: WebBuild;
let browser: Browser;
const servers: UiServer[] = [];

/** A build whose pages carry `<html data-build=id>` (vite.config.ts reads IMV_BUILD_ID). */
async function buildAs(id: string): Promise<WebBuild> {
  process.env.IMV_BUILD_ID = id;
  try {
    return await buildWeb();
  } finally {
    delete process.env.IMV_BUILD_ID;
  }
}

beforeAll(async () => {
  buildA = await buildAs('A');
  buildB = await buildAs('B');
  browser = await launchChromium();
});

afterEach(async () => {
  for (const context of browser.contexts()) await context.close();
  for (const s of servers.splice(0)) await s.stop();
});

afterAll(async () => {
  await browser?.close();
  await buildA?.cleanup();
  await buildB?.cleanup();
});

async function server(build: WebBuild, options: { port?: number; dataDir?: string } = {}) {
  const s = await startUiServer(build.distDir, options);
  servers.push(s);
  return s;
}

async function open(url: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

/** The service worker has installed and controls the page (the shell is cached). */
async function waitForServiceWorker(page: Page): Promise<void> {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, {
    timeout: 20_000,
  });
}

/** Ids of the messages the page keeps for offline use in `room`. */
function keptIds(page: Page, room: string): Promise<number[]> {
  return page.evaluate(
    (r) =>
      new Promise<number[]>((resolve) => {
        const req = indexedDB.open('imv-offline');
        req.onsuccess = () => {
          const db = req.result;
          if (!db.objectStoreNames.contains('messages')) return resolve([]);
          const keys = db
            .transaction('messages')
            .objectStore('messages')
            .index('room')
            .getAllKeys(r);
          keys.onsuccess = () => resolve((keys.result as [string, number][]).map(([, id]) => id));
          keys.onerror = () => resolve([]);
        };
        req.onerror = () => resolve([]);
      }),
    room,
  );
}

/**
 * Records what reaches the page's output into window.uiTestTap (read with readTap). A
 * ScriptProcessorNode, not ui-support's worklet tap: with the server down there is nowhere to load
 * the tap's module from, since only the app's own files are in the service worker's cache.
 */
async function startOfflineTap(page: Page): Promise<void> {
  await page.evaluate(() => {
    const client = window.imvClients![0]!;
    const context = client.audio.context;
    const node = context.createScriptProcessor(4096, 1, 1);
    const chunks: Float32Array[] = [];
    node.onaudioprocess = (event) => chunks.push(event.inputBuffer.getChannelData(0).slice());
    client.audio.output.connect(node);
    // A ScriptProcessorNode runs only while connected onwards; its output is silence.
    node.connect(context.destination);
    (window as unknown as { uiTestTap: { chunks: Float32Array[]; node: AudioNode } }).uiTestTap = {
      chunks,
      node,
    };
  });
}

const connection = (page: Page) => page.locator('.banner.connection');

describe('offline', () => {
  it('opens with the server stopped, says it cannot reach it, plays a kept message, and reconnects when it is back', async () => {
    const s = await server(buildA);
    const { port } = s.server;
    await cliSend(s.url, 'field', fixturePath(SPEECH_FR), { name: 'Fran' });
    const page = await open(roomUrl(s.url, 'field', 'Olu'));
    await page.locator('.msg').first().waitFor();
    await waitForServiceWorker(page);
    await expect.poll(() => keptIds(page, 'field'), { timeout: 20_000 }).toHaveLength(1);

    await s.stop();
    await page.reload();
    // "Connecting to …" first, then this once the first attempt failed.
    await expect
      .poll(() => connection(page).textContent(), { timeout: 10_000 })
      .toBe(`Cannot reach the imv server at localhost:${port}, retrying…`);
    const row = page.locator('.msg').first();
    await row.waitFor();
    expect(await row.locator('.sender').textContent()).toBe('Fran');
    expect(await page.evaluate(() => window.imvClients?.[0]?.state)).toBe('reconnecting');

    // The kept message is unheard: the first tap enables sound and auto-play plays it, from storage.
    expect(await row.evaluate((el) => el.classList.contains('unheard'))).toBe(true);
    await startOfflineTap(page);
    await page.locator('h1.brand').click();
    await page.waitForFunction(
      () => !document.querySelector('.msg')?.classList.contains('unheard'),
      null,
      { timeout: 20_000 },
    );
    const heard = await readTap(page);
    expect(rms(heard)).toBeGreaterThan(0.005);
    // Piecewise: a main-thread ScriptProcessor may miss a block on a busy machine.
    expect(
      piecewiseCorrelation(await readFixture(SPEECH_FR), heard).correlation,
    ).toBeGreaterThanOrEqual(0.8);

    await server(buildA, { port, dataDir: s.dataDir });
    await page.waitForFunction(() => window.imvClients?.[0]?.state === 'open', null, {
      timeout: 20_000,
    });
    await connection(page).waitFor({ state: 'hidden' });
  });

  it('replaces the old build with a new one served on the same origin', async () => {
    const first = await server(buildA);
    const { port } = first.server;
    const page = await open(roomUrl(first.url, 'update', 'Upa'));
    await waitForServiceWorker(page);
    expect(await page.evaluate(() => document.documentElement.dataset.build)).toBe('A');

    await first.stop();
    await server(buildB, { port, dataDir: first.dataDir });
    // The old shell loads from the cache, the browser finds the new sw.js, which takes over and
    // the page reloads itself into build B.
    await page.reload();
    await page.waitForFunction(() => document.documentElement.dataset.build === 'B', null, {
      timeout: 20_000,
    });
    await page.waitForFunction(() => window.imvClients?.[0]?.state === 'open', null, {
      timeout: 20_000,
    });
    // And it stays B on the next load (no stale shell left in the cache).
    await page.reload();
    await page.waitForFunction(() => window.imvClients?.[0]?.state === 'open');
    expect(await page.evaluate(() => document.documentElement.dataset.build)).toBe('B');
  });
});
