/*
 * Support for the UI browser tests (ui-*.test.ts): the real server on port 0 serving the built web
 * client, real Chromium with a fake microphone, the real CLI, and a tap on a page's audio output.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { correlate, readWav } from '@imv/media/node';
import { startServer, type ImvServer } from '@imv/server';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
// window.imvClients, the page's test hook.
import type {} from '../../src/ui/test-hook.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const fixture = (name: string) => path.resolve(repoRoot, '../shared/fixtures', name);
/** The built web client; `npm run build` makes it (IMV_WEB_DIST points elsewhere for local runs). */
export const webRoot = process.env.IMV_WEB_DIST ?? path.resolve(repoRoot, 'packages/web/dist');
const cliBin = path.resolve(repoRoot, 'packages/cli/bin/imv.js');

export function assertBuilt(): void {
  if (!existsSync(path.join(webRoot, 'index.html'))) {
    throw new Error(`the web client is not built at ${webRoot}: run npm run build first`);
  }
}

export interface TestServer {
  server: ImvServer;
  /** http://localhost:PORT: a secure context, so the microphone works without TLS. */
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts the real server on a free port (or `port`) with a temp data dir (or `dataDir`). */
export async function startTestServer(options: { port?: number; dataDir?: string } = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'imv-ui-'));
  const server = await startServer({
    host: '127.0.0.1',
    port: options.port ?? 0,
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
    },
  };
}

const BASE_ARGS = ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Chromium whose microphone plays `wavPath` once (then silence), granted without a prompt. */
export function launchWithFakeMic(wavPath: string, extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wavPath}%noloop`,
      ...BASE_ARGS,
      ...extraArgs,
    ],
  });
}

/** Chromium with a fake device but no auto-accept: permission prompts are denied. */
export function launchWithoutMicPermission(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--use-fake-device-for-media-stream', ...BASE_ARGS, ...extraArgs],
  });
}

/** Reads a fixture WAV as mono float samples (48 kHz fixtures). */
export function readFixture(name: string): Float32Array {
  const wav = readWav(new Uint8Array(readFileSync(fixture(name))));
  if (wav.sampleRate !== 48_000) throw new Error(`${name} is ${wav.sampleRate} Hz, expected 48000`);
  return wav.samples;
}

/** Best normalised correlation of `heard` against `source`, searching every lag. */
export function correlation(source: Float32Array, heard: Float32Array): number {
  return correlate(source, heard, { maxLagSamples: Math.max(source.length, heard.length) }).correlation;
}

export function rms(samples: Float32Array): number {
  let sum = 0;
  for (const v of samples) sum += v * v;
  return samples.length > 0 ? Math.sqrt(sum / samples.length) : 0;
}

// ---- the CLI -------------------------------------------------------------------------------------

const execFileAsync = promisify(execFile);

/** `imv send FILE --room R --server URL` (real time unless fast); resolves with stdout. */
export async function cliSend(url: string, room: string, wav: string, options: { name?: string; fast?: boolean } = {}): Promise<string> {
  const args = [cliBin, 'send', wav, '--room', room, '--server', url, '--name', options.name ?? 'Cli'];
  if (options.fast ?? true) args.push('--fast');
  const { stdout } = await execFileAsync(process.execPath, args, { cwd: repoRoot, timeout: 45_000 });
  return stdout;
}

/** Starts `imv listen --room R --out DIR --count N`; `done` resolves with the exit code. */
export function cliListen(url: string, room: string, outDir: string, count: number): { child: ChildProcess; done: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    [cliBin, 'listen', '--room', room, '--server', url, '--name', 'Listener', '--out', outDir, '--count', String(count)],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, done };
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// ---- the page's ears -----------------------------------------------------------------------------

/**
 * Starts recording everything that reaches `window.imvClients[index].audio.output` in `target` (a page
 * or an iframe of the duo view). The recorder is an AudioWorklet loaded from a Blob, part of the test.
 */
export async function startTap(target: Page | Frame, index = 0): Promise<void> {
  await target.evaluate(async (i) => {
    const client = window.imvClients?.[i];
    if (!client) throw new Error(`no window.imvClients[${i}]`);
    const context = client.audio.context;
    const source = `registerProcessor('ui-test-tap', class extends AudioWorkletProcessor {
      process(inputs) { const ch = inputs[0] && inputs[0][0]; this.port.postMessage(ch ? ch.slice(0) : new Float32Array(128)); return true; }
    });`;
    await context.audioWorklet.addModule(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));
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
  }, index);
}

/** Everything the tap recorded so far, as 48 kHz mono samples. */
export async function readTap(target: Page | Frame): Promise<Float32Array> {
  const base64 = await target.evaluate(() => {
    const { chunks } = (window as unknown as { uiTestTap: { chunks: Float32Array[] } }).uiTestTap;
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const all = new Float32Array(total);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    const bytes = new Uint8Array(all.buffer);
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return btoa(binary);
  });
  const buf = Buffer.from(base64, 'base64');
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
}

/** Seconds on the page's AudioContext clock (audio time, not wall-clock). */
export function contextTime(target: Page | Frame, index = 0): Promise<number> {
  return target.evaluate((i) => window.imvClients?.[i]?.audio.context.currentTime ?? 0, index);
}

/** Waits until the page's AudioContext clock has moved on by `seconds`. */
export async function waitAudioSeconds(target: Page | Frame, seconds: number, index = 0): Promise<void> {
  const start = await contextTime(target, index);
  await target.waitForFunction(
    ([i, until]) => (window.imvClients?.[i]?.audio.context.currentTime ?? 0) >= until,
    [index, start + seconds] as const,
    { polling: 50 },
  );
}

/** The app page for a room, with the raw microphone (no AEC/NS/AGC) so audio can be compared. */
export function roomUrl(base: string, room: string, name: string, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams({ room, name, mic: 'raw', ...extra });
  return `${base}/?${params.toString()}`;
}
