/*
 * Shared helpers for browser tests of packages/web: build the page once, start the real server on
 * it, drive headless Chromium with a fake microphone, and read back what a page heard.
 *
 * Typical use (see live.test.ts):
 *   const web = await buildWeb();                        // beforeAll: Vite build into a temp dir
 *   const server = await startTestServer(web.distDir);   // real server, port 0, temp data dir
 *   const browser = await launchChromium({ fakeMic: fixturePath('speech-en-48k.wav'), loop: false });
 *   const page = await openHarness(browser, server.httpUrl, { room: 'r1', name: 'alice' });
 *   await page.evaluate(() => window.imv.client.startTalking());
 *   const heard = await takeRecording(page, 'output');   // Float32Array at 48 kHz + first frame
 *   correlate(readFixture('speech-en-48k.wav'), heard.samples).correlation  // >= 0.8
 *   // afterAll: await page.close(); await browser.close(); await server.close(); await web.cleanup();
 *
 * The UI tests can use buildWeb/startTestServer/launchChromium with their own pages
 * (index.html, duo.html); openHarness and takeRecording are for harness.html.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { readWav } from '@imv/media';
import { startServer } from '@imv/server';
import type { ImvServer } from '@imv/server';
import type { Harness } from '../harness/harness.js';

import { correlate, rms } from '@imv/media';
import { fixturePath, type FixtureName } from '@imv/test-support';

export { correlate, rms };

/** packages/web */
export const webDir = path.resolve(import.meta.dirname, '../..');
/** The repository root. */
export const repoRoot = path.resolve(webDir, '../..');

export { fixturePath };

/** A fixture WAV as mono float samples (the fixtures are 48 kHz). */
export async function readFixture(name: FixtureName): Promise<Float32Array> {
  const wav = readWav(new Uint8Array(await readFile(fixturePath(name))));
  if (wav.sampleRate !== 48_000) throw new Error(`${name} is ${wav.sampleRate} Hz, expected 48000`);
  return wav.samples;
}

export interface WebBuild {
  /** Directory holding index.html, duo.html, harness.html and assets/. */
  distDir: string;
  cleanup(): Promise<void>;
}

/**
 * Builds packages/web with Vite's JS API into a fresh temp directory (about 1-2 s), so tests never
 * race a developer's `npm run build` over packages/web/dist.
 */
export async function buildWeb(): Promise<WebBuild> {
  const { build } = await import('vite');
  const distDir = await mkdtemp(path.join(tmpdir(), 'imv-web-dist-'));
  await build({
    configFile: path.join(webDir, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: distDir, emptyOutDir: true },
  });
  // The engine test page, beside the app: served at /harness.html, never part of the production build.
  await build({
    configFile: path.join(webDir, 'test/harness/vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: distDir, emptyOutDir: false },
  });
  return { distDir, cleanup: () => rm(distDir, { recursive: true, force: true }) };
}

export interface TestServer {
  server: ImvServer;
  httpUrl: string;
  dataDir: string;
  close(): Promise<void>;
}

/**
 * Starts the real server on 127.0.0.1, port 0, plain HTTP, with a temp data dir, serving `webRoot`. Pass `port`
 * and `dataDir` of a closed server to restart it (close() removes the data dir: restart with
 * `server.server.close()` instead when the data must survive).
 */
export async function startTestServer(
  webRoot: string,
  options: {
    maxMessageMs?: number;
    port?: number;
    dataDir?: string;
    httpsPort?: number | false;
  } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'imv-web-test-data-')));
  // Plain HTTP only unless asked: no certificate to make, and no https onboarding page in front of
  // non-localhost plain-HTTP visitors (the insecure-context test is one).
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    httpsPort: false,
    // The insecure-context test opens the page as http://voice.lan (mapped to 127.0.0.1).
    publicHosts: ['voice.lan'],
    ...options,
    dataDir,
    webRoot,
  });
  return {
    server,
    httpUrl: server.httpUrl,
    dataDir,
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

// Chromium with the fake microphone and a HOME that trusts the imv CA live in @imv/test-support.
export { homeTrustingCa, launchChromium, type LaunchOptions } from '@imv/test-support/chromium';

export interface HarnessParams {
  room: string;
  name: string;
  /** Opus implementation ('auto' by default). */
  codec?: 'auto' | 'webcodecs' | 'wasm';
  /** Fixed jitter-buffer depth (0 = play each frame as it arrives). */
  jitterTargetMs?: number;
  lastSeen?: number;
  /** First reconnect delay in ms (default 250). */
  reconnectDelayMs?: number;
  /** Extra listening clients on the page's AudioContext: 'adaptive' or a fixed jitterTargetMs as text. */
  listeners?: string[];
  /** Connect before returning (default true). */
  connect?: boolean;
  /** Talk in 10 ms frames (the engine's default, true) or 20 ms ones (false). */
  lowLatency?: boolean;
}

/**
 * Opens harness.html in a new context of `browser` with mic processing off (as every test needs),
 * waits for the engine and, unless connect is false, for the join. `window.imv` is then ready.
 */
export async function openHarness(
  browser: Browser,
  baseUrl: string,
  params: HarnessParams,
): Promise<Page> {
  const context: BrowserContext = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[${params.name}] page error:`, e));
  const query = new URLSearchParams({ room: params.room, name: params.name, processing: '0' });
  if (params.codec !== undefined) query.set('codec', params.codec);
  if (params.jitterTargetMs !== undefined)
    query.set('jitterTargetMs', String(params.jitterTargetMs));
  if (params.lastSeen !== undefined) query.set('lastSeen', String(params.lastSeen));
  if (params.reconnectDelayMs !== undefined)
    query.set('reconnectDelayMs', String(params.reconnectDelayMs));
  if (params.listeners !== undefined) query.set('listeners', params.listeners.join(','));
  if (params.lowLatency !== undefined) query.set('lowLatency', params.lowLatency ? '1' : '0');
  await page.goto(`${baseUrl}/harness.html?${query.toString()}`);
  await page.evaluate(() => window.imvReady);
  if (params.connect !== false) await page.evaluate(() => window.imv.client.connect());
  return page;
}

export interface Recording {
  /** 48 kHz mono samples, from the tap's first recorded frame. */
  samples: Float32Array;
  /** AudioContext frame of samples[0] (-1 when nothing was recorded). */
  startFrame: number;
  /** [chunk end frame, epoch ms when the page received it], about 10 a second; see epochOfFrame. */
  marks: [number, number][];
}

/**
 * Epoch milliseconds at which `frame` of the recording's AudioContext was rendered: the lower
 * envelope of (arrival - end frame) over the marks within ±windowMs, since a chunk reaches the main
 * thread no earlier than it is rendered, and often a little later. Local rather than global, as an
 * AudioContext clock can run ~0.2 % off the system clock on a loaded machine.
 */
export function epochOfFrame(
  rec: Recording,
  frame: number,
  windowMs = 2000,
  sampleRateHz = 48_000,
): number {
  const frameMs = (frame * 1000) / sampleRateHz;
  let best = Infinity;
  for (const [end, at] of rec.marks) {
    const endMs = (end * 1000) / sampleRateHz;
    if (Math.abs(endMs - frameMs) <= windowMs) best = Math.min(best, at - endMs);
  }
  return frameMs + best;
}

/**
 * Takes (and clears) what a harness tap recorded: 'output' = what the user heard, 'mic' = the
 * capture, a number = the output of that entry of ?listeners (same AudioContext as the mic tap).
 */
export async function takeRecording(
  page: Page,
  tap: 'output' | 'mic' | number,
): Promise<Recording> {
  const { base64, startFrame, marks } = await page.evaluate(
    (which) =>
      (typeof which === 'number' ? window.imv.listeners[which]!.output : window.imv[which]).take(),
    tap,
  );
  const bytes = Buffer.from(base64, 'base64');
  const samples = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
  return { samples, startFrame, marks };
}

/** The harness's recorded events named `name` as [epochMs, ...args]. */
export async function eventsOf(page: Page, name: string): Promise<[number, ...unknown[]][]> {
  const all = await page.evaluate(() => window.imv.events);
  return all
    .filter((e) => e[0] === name)
    .map(([, at, ...args]) => [at, ...args] as [number, ...unknown[]]);
}

/**
 * Waits until the page has recorded an event `name` whose args satisfy `predicate` (run here, in
 * Node, on the JSON copy of the args); returns those args.
 */
export async function waitForEvent<A extends unknown[] = unknown[]>(
  page: Page,
  name: string,
  predicate: (args: A) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<A> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = (await eventsOf(page, name)).map(([, ...args]) => args as A).find(predicate);
    if (hit !== undefined) return hit;
    if (Date.now() > deadline) {
      const seen = (await page.evaluate(() => window.imv.events)).map((e) => e[0]).join(', ');
      throw new Error(
        `no '${name}' event matching ${predicate.toString()} within ${timeoutMs} ms; events: ${seen}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface PiecewiseCorrelation {
  /** Energy-weighted mean of the segments' best correlations, -1..1. */
  correlation: number;
  /** Lag of the first and the last voiced segment (candidate[i + lag] ~ reference[i]). */
  firstLagSamples: number;
  lastLagSamples: number;
  segments: { offset: number; correlation: number; lagSamples: number }[];
}

/**
 * How well `candidate` reproduces `reference` when playout may have shifted in time along the way
 * (a jitter-buffer underrun inserts a gap; drift correction compresses or stretches a little). The
 * reference is cut into 100 ms segments; each voiced one (rms > 0.005) is found in the candidate
 * within ±250 ms of the previous segment's lag (or, failing that, ±3 s), and the scores are averaged
 * by segment energy. A whole-file correlate()
 * would score one gap in the middle as a failure of the whole second half.
 */
export function piecewiseCorrelation(
  reference: Float32Array,
  candidate: Float32Array,
  options: { segmentSamples?: number; firstSearchSamples?: number; searchSamples?: number } = {},
): PiecewiseCorrelation {
  const segLen = options.segmentSamples ?? 4_800;
  const firstSearch = options.firstSearchSamples ?? 3 * 48_000; // also the re-acquire span
  const search = options.searchSamples ?? 12_000;
  const segments: PiecewiseCorrelation['segments'] = [];
  let lag: number | undefined;
  let weighted = 0;
  let energy = 0;
  for (let offset = 0; offset + segLen <= reference.length; offset += segLen) {
    const seg = reference.subarray(offset, offset + segLen);
    const segRms = rms(seg);
    if (segRms < 0.005) continue;
    const find = (span: number) => {
      const center = offset + (lag ?? 0);
      const from = Math.max(0, center - span);
      const window = candidate.subarray(from, Math.min(candidate.length, center + segLen + span));
      const c = correlate(seg, window, { maxLagSamples: 2 * span + segLen });
      return { correlation: c.correlation, lagSamples: from + c.lagSamples - offset };
    };
    let best = find(lag === undefined ? firstSearch : search);
    if (best.correlation < 0.5 && lag !== undefined) {
      // Lost: a long stall may have moved the playout further than the near search reaches.
      const wide = find(firstSearch);
      if (wide.correlation > best.correlation) best = wide;
    }
    const segLag = best.lagSamples;
    const c = best;
    segments.push({ offset, correlation: c.correlation, lagSamples: segLag });
    if (c.correlation > 0.5) lag = segLag;
    weighted += c.correlation * segRms * segRms;
    energy += segRms * segRms;
  }
  return {
    correlation: energy > 0 ? weighted / energy : 0,
    firstLagSamples: segments[0]?.lagSamples ?? 0,
    lastLagSamples: segments.at(-1)?.lagSamples ?? 0,
    segments,
  };
}

/** Shape of window.imv in the page, re-exported for page.evaluate callbacks. */
export type { Harness };
