import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { correlate, rms } from '@imv/media';
import { OggOpusDecoder } from 'ogg-opus-decoder';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImvServer } from '../src/index.js';
import { get } from './helpers/https-request.js';
import { fixturePath, readWavMono, repoRoot } from './helpers/opus-fixture.js';
import { homeTrustingCa, launchChromium } from '@imv/test-support/chromium';
import { TestServers } from '@imv/test-support/server';

/*
 * The real web client, built by Vite into a temp dir, served by the real server over its HTTPS
 * listener, opened by Chromium that trusts the server's local CA through an NSS database in a temp
 * HOME (as tls-browser.test.ts does): full certificate checks, no ignoreHTTPSErrors. Every CSP
 * violation the page reports fails the test, so the policy and the client are checked together.
 */

const webDir = path.join(repoRoot, 'packages/web');
const servers = new TestServers();
let workDir: string;
let server: ImvServer;
let browser: Browser;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'imv-https-browser-'));
  const distDir = path.join(workDir, 'dist');
  const { build } = await import('vite');
  await build({
    configFile: path.join(webDir, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: distDir, emptyOutDir: true },
  });
  // The engine test page (/harness.html) is not in the production build: add it beside the app.
  await build({
    configFile: path.join(webDir, 'test/harness/vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: distDir, emptyOutDir: false },
  });
  server = await servers.start({ webRoot: distDir });

  const home = await homeTrustingCa(workDir, server.caCertPem!);
  browser = await launchChromium({ fakeMic: fixturePath('speech-en-48k.wav'), home });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await servers.cleanup();
  await rm(workDir, { recursive: true, force: true });
});

/**
 * How well `heard` reproduces `source` when live playout may shift in time along the way (the
 * jitter buffer waits, drift correction stretches): each voiced half second of the source is
 * looked for anywhere in `heard`, and the scores are averaged by the segments' energy.
 */
function segmentCorrelation(source: Float32Array, heard: Float32Array): number {
  const segmentSamples = 24_000;
  let weighted = 0;
  let energy = 0;
  for (let offset = 0; offset + segmentSamples <= source.length; offset += segmentSamples) {
    const segment = source.subarray(offset, offset + segmentSamples);
    const level = rms(segment);
    if (level < 0.02) continue;
    const found = correlate(segment, heard, { maxLagSamples: heard.length });
    weighted += found.correlation * level * level;
    energy += level * level;
  }
  return energy > 0 ? weighted / energy : 0;
}

interface Watched {
  context: BrowserContext;
  page: Page;
  /** CSP violations reported by the page (events from every frame, and console reports). */
  violations: string[];
}

async function watchedPage(): Promise<Watched> {
  const context = await browser.newContext();
  const violations: string[] = [];
  // Init scripts come from DevTools, not the page, so CSP does not apply to them.
  await context.exposeBinding('__imvCspViolation', (_source, text: string) => {
    violations.push(text);
  });
  await context.addInitScript(`document.addEventListener('securitypolicyviolation', (e) =>
    window.__imvCspViolation(e.violatedDirective + ' blocked ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber));`);
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.text().includes('Content Security Policy')) violations.push(m.text());
  });
  page.on('pageerror', (e) => violations.push(`page error: ${e.message}`));
  return { context, page, violations };
}

describe('the web client over https, trusted through the local CA', () => {
  it('opens as a secure context with the microphone APIs and no CSP violation', async () => {
    const { context, page, violations } = await watchedPage();
    const response = await page.goto(`${server.httpsUrl}/`, { waitUntil: 'networkidle' });
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");
    expect(await page.evaluate<boolean>('window.isSecureContext')).toBe(true);
    expect(
      await page.evaluate(
        '[typeof navigator.mediaDevices?.getUserMedia, typeof AudioEncoder, typeof AudioWorkletNode]',
      ),
    ).toEqual(['function', 'function', 'function']);
    // The app rendered its UI (the body is more than the empty mount point).
    expect(((await page.textContent('body')) ?? '').trim().length).toBeGreaterThan(0);
    const duo = await page.goto(`${server.httpsUrl}/duo`, { waitUntil: 'networkidle' });
    expect(duo?.status()).toBe(200);
    expect(page.frames().length).toBeGreaterThan(1); // the two same-origin iframes loaded
    expect(violations).toEqual([]);
    await context.close();
  });

  it('runs the WebAssembly Opus fallback and connects over wss without a CSP violation', async () => {
    const { context, page, violations } = await watchedPage();
    await page.goto(`${server.httpsUrl}/harness.html?room=wasm&name=w&processing=0&codec=wasm`);
    await page.evaluate('window.imvReady');
    await page.evaluate('window.imv.client.connect()');
    const codecEvents = await page.evaluate<string[]>(
      "window.imv.events.filter((e) => e[0] === 'codec').map((e) => JSON.stringify(e.slice(2)))",
    );
    expect(codecEvents.join(' ')).toContain('wasm');
    expect(violations).toEqual([]);
    await context.close();
  });

  it('carries speech from one https page to another and stores it', async () => {
    const talker = await watchedPage();
    const listener = await watchedPage();
    for (const [{ page }, name] of [
      [listener, 'bob'],
      [talker, 'alice'],
    ] as const) {
      await page.goto(`${server.httpsUrl}/harness.html?room=tls&name=${name}&processing=0`);
      await page.evaluate('window.imvReady');
      await page.evaluate('window.imv.client.connect()');
    }
    await listener.page.evaluate('window.imv.output.take()'); // drop the silence so far
    const message = await talker.page.evaluate<{ id: number; frameCount: number }>(`(async () => {
      await window.imv.client.startTalking();
      await new Promise((r) => setTimeout(r, 7700));
      return window.imv.client.stopTalking();
    })()`);
    expect(message.frameCount).toBeGreaterThan(360);

    const source = readWavMono(fixturePath('speech-en-48k.wav'));
    // Heard live: the listener's output holds the speech (jitter buffering may shift it a little).
    for (let i = 0; i < 100; i++) {
      const stored = await listener.page.evaluate<boolean>(
        "window.imv.events.some((e) => e[0] === 'stream-finished')",
      );
      if (stored) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const { base64 } = await listener.page.evaluate<{ base64: string }>('window.imv.output.take()');
    const bytes = Buffer.from(base64, 'base64');
    const heard = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    expect(rms(heard)).toBeGreaterThan(0.01);
    expect(segmentCorrelation(source, heard)).toBeGreaterThanOrEqual(0.8);

    // Stored: downloaded over https, it decodes to the same speech.
    const ogg = await get(`${server.httpsUrl}/api/rooms/tls/messages/${message.id}.ogg`, {
      ca: server.caCertPem,
    });
    expect(ogg.status).toBe(200);
    const decoder = new OggOpusDecoder();
    await decoder.ready;
    const decoded = await decoder.decodeFile(new Uint8Array(ogg.body));
    decoder.free();
    // Scored by segments like the live audio: what is stored is what the talker's page captured,
    // and a capture hiccup on a loaded machine shifts the rest of the recording by a block, which
    // a single whole-file lag cannot follow.
    expect(segmentCorrelation(source, decoded.channelData[0]!)).toBeGreaterThanOrEqual(0.8);
    expect([...talker.violations, ...listener.violations]).toEqual([]);
    await Promise.all([talker.context.close(), listener.context.close()]);
  });
});
