/*
 * Support for the UI browser tests (ui-*.test.ts), on top of helpers.ts (build, Chromium, fixtures,
 * correlation): the real server with a chosen port and data dir (for restart tests), the real CLI,
 * and a tap on what the app page plays (window.imvClients[i].audio.output).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startServer, type ImvServer } from '@imv/server';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { repoRoot } from './helpers.js';
// window.imvClients, the page's test hook.
import type {} from '../../src/ui/test-hook.js';

const cliBin = path.resolve(repoRoot, 'packages/cli/bin/imv.js');

/**
 * Where tests write their screenshots: a temp dir, or docs/screenshots (the README's pictures) when
 * run with IMV_UPDATE_SCREENSHOTS=1, so a plain test run never changes tracked files.
 */
export const screenshotDir =
  process.env.IMV_UPDATE_SCREENSHOTS === '1'
    ? path.resolve(repoRoot, 'docs/screenshots')
    : path.join(tmpdir(), 'imv-screenshots');

export interface UiServer {
  server: ImvServer;
  /** http://localhost:PORT: a secure context, so the microphone works without TLS. */
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts the real server on a free port (or `port`) with a temp data dir (or `dataDir`, kept). */
export async function startUiServer(
  webRoot: string,
  options: { port?: number; dataDir?: string } = {},
): Promise<UiServer> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'imv-ui-'));
  // No HTTPS listener: the tests use http://localhost (a secure context) and must not race for port 8443.
  const server = await startServer({
    host: '127.0.0.1',
    port: options.port ?? 0,
    httpsPort: false,
    // Some tests open the page as http://voice.lan (mapped to 127.0.0.1): an insecure origin.
    publicHosts: ['voice.lan'],
    dataDir,
    webRoot,
    logLevel: 'silent',
  });
  let stopped = false;
  return {
    server,
    dataDir,
    url: `http://localhost:${server.port}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const QUIET_ARGS = [
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

/**
 * Chromium with the fake microphone playing `wavPath` once, under the browser's normal autoplay
 * policy (helpers.ts's launchChromium lifts it, which would hide the "Tap to enable sound" step).
 */
export function launchWithRealAutoplayPolicy(wavPath: string): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wavPath}%noloop`,
      ...QUIET_ARGS,
    ],
  });
}

/** Chromium with a fake device but no auto-accept: microphone permission requests are denied. */
export function launchWithoutMicPermission(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--use-fake-device-for-media-stream', ...QUIET_ARGS, ...extraArgs],
  });
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The app page for a room, with the raw microphone (no AEC/NS/AGC) so audio can be compared. */
export function roomUrl(
  base: string,
  room: string,
  name: string,
  extra: Record<string, string> = {},
): string {
  const params = new URLSearchParams({ room, name, mic: 'raw', ...extra });
  return `${base}/?${params.toString()}`;
}

// ---- the CLI -------------------------------------------------------------------------------------

const execFileAsync = promisify(execFile);

/** `imv send FILE --room R --server URL` (--fast unless fast is false); resolves with stdout. */
export async function cliSend(
  url: string,
  room: string,
  wav: string,
  options: { name?: string; fast?: boolean } = {},
): Promise<string> {
  const args = [
    cliBin,
    'send',
    wav,
    '--room',
    room,
    '--server',
    url,
    '--name',
    options.name ?? 'Cli',
  ];
  if (options.fast ?? true) args.push('--fast');
  const { stdout } = await execFileAsync(process.execPath, args, {
    cwd: repoRoot,
    timeout: 45_000,
  });
  return stdout;
}

/** Starts `imv listen --room R --out DIR --count N`; `done` resolves with the exit code. */
export function cliListen(
  url: string,
  room: string,
  outDir: string,
  count: number,
): { child: ChildProcess; done: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    [
      cliBin,
      'listen',
      '--room',
      room,
      '--server',
      url,
      '--name',
      'Listener',
      '--out',
      outDir,
      '--count',
      String(count),
    ],
    { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, done };
}

// ---- the page's ears -----------------------------------------------------------------------------

/** The tap's AudioWorklet: copies its input and posts 100 ms chunks, so it costs the audio thread little. */
const TAP_MODULE = `registerProcessor('ui-test-tap', class extends AudioWorkletProcessor {
  constructor() { super(); this.buf = new Float32Array(4800); this.fill = 0; }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    const n = ch ? ch.length : 128;
    for (let i = 0; i < n; i++) {
      this.buf[this.fill++] = ch ? ch[i] : 0;
      if (this.fill === this.buf.length) { this.port.postMessage(this.buf, [this.buf.buffer]); this.buf = new Float32Array(4800); this.fill = 0; }
    }
    return true;
  }
});
`;
const TAP_FILE = 'ui-test-tap.js';

/**
 * Puts the tap's worklet into a test build of the web client: the server's Content-Security-Policy
 * allows scripts from 'self' only, so the tap is served like the app's own worklets.
 */
export function installTap(distDir: string): void {
  writeFileSync(path.join(distDir, TAP_FILE), TAP_MODULE);
}

/**
 * Starts recording everything that reaches `window.imvClients[index].audio.output` in `target` (a page
 * or a duo pane). Needs installTap() on the served build.
 */
export async function startTap(target: Page | Frame, index = 0): Promise<void> {
  await target.evaluate(
    async ([i, file]) => {
      const client = window.imvClients?.[i];
      if (!client) throw new Error(`no window.imvClients[${i}]`);
      const context = client.audio.context;
      await context.audioWorklet.addModule(new URL(file, location.origin).href);
      const node = new AudioWorkletNode(context, 'ui-test-tap', {
        numberOfInputs: 1,
        numberOfOutputs: 0,
        channelCount: 1,
        channelCountMode: 'explicit',
      });
      const chunks: Float32Array[] = [];
      node.port.onmessage = (event: MessageEvent<Float32Array>) => chunks.push(event.data);
      client.audio.output.connect(node);
      (window as unknown as { uiTestTap: { chunks: Float32Array[] } }).uiTestTap = { chunks };
    },
    [index, `/${TAP_FILE}`] as const,
  );
}

/** Everything the tap recorded so far, as 48 kHz mono samples. */
export async function readTap(target: Page | Frame): Promise<Float32Array> {
  const base64 = await target.evaluate(() => {
    const { chunks } = (window as unknown as { uiTestTap: { chunks: Float32Array[] } }).uiTestTap;
    const all = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    const bytes = new Uint8Array(all.buffer);
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000)
      binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  });
  const buf = Buffer.from(base64, 'base64');
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice();
}

/** Seconds on the page's AudioContext clock (audio time, not wall-clock). */
export function contextTime(target: Page | Frame, index = 0): Promise<number> {
  return target.evaluate((i) => window.imvClients?.[i]?.audio.context.currentTime ?? 0, index);
}

/** Waits until the page's AudioContext clock has moved on by `seconds`. */
export async function waitAudioSeconds(
  target: Page | Frame,
  seconds: number,
  index = 0,
): Promise<void> {
  const start = await contextTime(target, index);
  await target.waitForFunction(
    ([i, until]) => (window.imvClients?.[i]?.audio.context.currentTime ?? 0) >= until,
    [index, start + seconds] as const,
    { polling: 50 },
  );
}

// ---- user gestures -------------------------------------------------------------------------------

/** The user's first tap: a click on the page heading (any tap counts), then sound is enabled. */
export async function enableSound(page: Page): Promise<void> {
  await page.locator('h1.brand').click();
  await page.getByRole('button', { name: 'Tap to enable sound' }).waitFor({ state: 'hidden' });
  await page.waitForFunction(() => window.imvClients?.[0]?.audio.unlocked === true);
}

/** Holds the talk button with a finger (CDP touch events become pointer events) for `seconds` of audio time. */
export async function holdTalkByTouch(page: Page, seconds: number): Promise<void> {
  const box = (await page.getByRole('button', { name: /hold to talk/i }).boundingBox())!;
  const cdp = await page.context().newCDPSession(page);
  const point = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [point] });
  await page.waitForFunction(() => window.imvClients?.[0]?.talking === true);
  await waitAudioSeconds(page, seconds);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await page.waitForFunction(() => window.imvClients?.[0]?.talking === false);
}
