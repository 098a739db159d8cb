import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  SHARED_NATS_URL,
  createTestDatabase,
  uniqueBusPrefix,
  type TestDatabase,
} from '@imv/test-support';
import { startServe, type ServeProcess } from '@imv/test-support/cli';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb, correlate, fixturePath, readFixture, rms, type WebBuild } from './helpers.js';
import {
  cliSend,
  enableSound,
  installTap,
  launchWithRealAutoplayPolicy,
  readTap,
  roomUrl,
  startTap,
} from './ui-support.js';

/*
 * Web page failover (docs/cluster.md "Client failover"): two real `imv serve` nodes share a fresh
 * PostgreSQL database and a NATS prefix; the page opened from node A moves to node B by itself when A
 * is killed, and plays what was sent to B, downloaded from B (cross-origin: the page came from A).
 */

const SPEECH_FR = 'speech-fr-48k.wav' as const;
const SPEECH_EN = 'speech-en-48k.wav' as const;

let web: WebBuild;
let db: TestDatabase;
let browser: Browser;
const nodes: ServeProcess[] = [];
const dirs: string[] = [];

function startNode(prefix: string): Promise<ServeProcess> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'imv-failover-'));
  dirs.push(dataDir);
  return startServe(dataDir, {
    args: [
      '--no-https',
      '--no-mdns',
      '--bus',
      SHARED_NATS_URL,
      '--bus-prefix',
      prefix,
      '--store',
      db.url,
      '--web-root',
      web.distDir,
    ],
    timeoutMs: 90_000,
  });
}

/** The Content-Security-Policy the node's page gets: it names the peers the page may move to. */
async function pagePolicy(node: ServeProcess): Promise<string> {
  const res = await fetch(`${node.url}/`);
  await res.arrayBuffer();
  return res.headers.get('content-security-policy') ?? '';
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  web = await buildWeb();
  installTap(web.distDir);
  db = await createTestDatabase();
  const prefix = uniqueBusPrefix('web-failover');
  nodes.push(await startNode(prefix), await startNode(prefix));
  browser = await launchWithRealAutoplayPolicy(fixturePath(SPEECH_EN));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  for (const node of nodes) await node.stop('SIGKILL');
  await db?.drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await web?.cleanup();
});

const messageIds = (page: Page) =>
  page.locator('.msg').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));

describe('web page failover', () => {
  it('moves to another node when its node is killed and auto-plays what was sent there, downloaded from it, each message once', async () => {
    const [a, b] = nodes as [ServeProcess, ServeProcess];
    // Each node knows the other from its heartbeats: its page policy lets the page reach the other.
    await until(
      'both nodes to know each other',
      async () => (await pagePolicy(a)).includes(b.url) && (await pagePolicy(b)).includes(a.url),
      30_000,
    );
    expect(await pagePolicy(a)).toContain(`ws://127.0.0.1:${b.port}`);

    // Stored through A before the page opens: the page lists it unheard.
    await cliSend(a.url, 'moving', fixturePath(SPEECH_FR), { name: 'Fran' });
    const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
    const page = await context.newPage();
    await page.goto(roomUrl(a.url, 'moving', 'Mo'));
    await page.waitForFunction(() => window.imvClients?.[0]?.state === 'open');
    await page.locator('.msg.unheard').waitFor();
    // The tap's worklet comes from the page's origin, A: load it while A is there.
    await startTap(page);

    await a.stop('SIGKILL');
    await page.waitForFunction(
      (url) => window.imvClients?.[0]?.serverUrl === url && window.imvClients[0].state === 'open',
      b.url,
      { timeout: 30_000 },
    );
    expect(await page.locator('.banner.problem').textContent()).toContain(
      `Moved to 127.0.0.1:${b.port}: the server at 127.0.0.1:${a.port} stopped answering.`,
    );

    // Sent to B while the page's sound is still locked: not heard live, so listed unheard, and
    // its audio can only come from B (A is dead), cross-origin.
    await cliSend(b.url, 'moving', fixturePath(SPEECH_EN), { name: 'Eli' });
    await page.waitForFunction(() => document.querySelectorAll('.msg.unheard').length === 2, null, {
      timeout: 20_000,
    });

    // The first tap auto-plays both, oldest first.
    await enableSound(page);
    await page.waitForFunction(() => document.querySelectorAll('.msg.unheard').length === 0, null, {
      timeout: 40_000,
    });
    const played = await readTap(page);
    expect(rms(played)).toBeGreaterThan(0.005);
    for (const source of [SPEECH_FR, SPEECH_EN]) {
      expect(
        correlate(await readFixture(source), played, { maxLagSamples: played.length }).correlation,
      ).toBeGreaterThanOrEqual(0.8);
    }

    // The re-join on B replayed after the last seen id: each message is listed once.
    const ids = await messageIds(page);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    expect(await page.locator('.msg .sender').allTextContents()).toEqual(
      expect.arrayContaining(['Fran', 'Eli']),
    );
    await context.close();
  });
});
