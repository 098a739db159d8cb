import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import type { FixtureName } from '@imv/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildWeb,
  fixturePath,
  launchChromium,
  openHarness,
  piecewiseCorrelation,
  readFixture,
  repoRoot,
  rms,
  startTestServer,
  takeRecording,
  waitForEvent,
} from './helpers.js';
import type { TestServer, WebBuild } from './helpers.js';

const run = promisify(execFile);

let web: WebBuild;
let server: TestServer;
const browsers: Browser[] = [];

beforeAll(async () => {
  web = await buildWeb();
  server = await startTestServer(web.distDir);
});

afterAll(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  await server?.close();
  await web?.cleanup();
});

async function browserWith(fixture?: FixtureName, args: string[] = []): Promise<Browser> {
  const browser = await launchChromium({
    ...(fixture === undefined ? {} : { fakeMic: fixturePath(fixture) }),
    args,
  });
  browsers.push(browser);
  return browser;
}

describe('VoiceClient engine in Chromium', () => {
  it('talks and listens through the WASM Opus fallback when WebCodecs is bypassed (codec=wasm)', async () => {
    const listener = await openHarness(await browserWith(), server.httpUrl, {
      room: 'wasm',
      name: 'bob',
      codec: 'wasm',
    });
    const talker = await openHarness(await browserWith('speech-fr-48k.wav'), server.httpUrl, {
      room: 'wasm',
      name: 'alice',
      codec: 'wasm',
    });
    for (const page of [listener, talker]) {
      expect(await page.evaluate(() => window.imv.client.codecInfo)).toEqual({
        encoder: 'wasm',
        decoder: 'wasm',
      });
    }
    await takeRecording(listener, 'output');
    const message = await talker.evaluate(async () => {
      await window.imv.client.startTalking();
      await new Promise((r) => setTimeout(r, 5800));
      return window.imv.client.stopTalking();
    });
    expect(message?.frameCount).toBeGreaterThan(270);
    const [stored] = await waitForEvent<[{ heardLive: boolean; streamId: number }]>(
      listener,
      'message-stored',
    );
    expect(stored.heardLive).toBe(true);
    await waitForEvent(listener, 'stream-finished', ([id]) => id === stored.streamId);
    const heard = await takeRecording(listener, 'output');
    expect(
      piecewiseCorrelation(await readFixture('speech-fr-48k.wav'), heard.samples).correlation,
    ).toBeGreaterThanOrEqual(0.8);
    await Promise.all([listener.context().close(), talker.context().close()]);
  });

  it('setLiveMuted silences live playback but still plays the stream through, and heardLive says it was not heard', async () => {
    const listener = await openHarness(await browserWith(), server.httpUrl, {
      room: 'mute',
      name: 'bob',
    });
    const talker = await openHarness(await browserWith('speech-en-48k.wav'), server.httpUrl, {
      room: 'mute',
      name: 'alice',
    });
    await listener.evaluate(() => window.imv.client.setLiveMuted(true));
    await takeRecording(listener, 'output');
    await talker.evaluate(async () => {
      await window.imv.client.startTalking();
      await new Promise((r) => setTimeout(r, 2000));
      await window.imv.client.stopTalking();
    });
    const [stored] = await waitForEvent<[{ heardLive: boolean; streamId: number }]>(
      listener,
      'message-stored',
    );
    // Played through (silently) but muted: the UI must count the message as unheard.
    expect(stored.heardLive).toBe(false);
    await waitForEvent(listener, 'stream-finished', ([id]) => id === stored.streamId);
    const muted = await takeRecording(listener, 'output');
    expect(muted.samples.length).toBeGreaterThanOrEqual(48_000 * 2);
    expect(rms(muted.samples)).toBe(0);
    expect(
      (await listener.evaluate(() => window.imv.client.getPlaybackStats())).totals.played,
    ).toBeGreaterThan(90);
    await Promise.all([listener.context().close(), talker.context().close()]);
  });

  it('stores two messages when the talker lets go and presses again at once', async () => {
    const talker = await openHarness(await browserWith('speech-en-48k.wav'), server.httpUrl, {
      room: 'repress',
      name: 'quick',
    });
    const result = await talker.evaluate(async () => {
      const client = window.imv.client;
      await client.startTalking();
      await new Promise((r) => setTimeout(r, 1000));
      const first = client.stopTalking(); // not awaited: the second press comes before the ack
      await client.startTalking();
      await new Promise((r) => setTimeout(r, 1000));
      const second = client.stopTalking();
      return Promise.all([first, second]);
    });
    const [first, second] = result;
    expect(first?.id).toBeGreaterThan(0);
    expect(second?.id).toBe(first!.id + 1);
    for (const m of result) expect(m!.frameCount).toBeGreaterThan(40);
    const errors = (await talker.evaluate(() => window.imv.events)).filter(
      (e) => e[0] === 'error' || e[0] === 'talk-ended',
    );
    expect(errors).toEqual([]);
    await talker.context().close();
  });

  it('rejects startTalking with MicError insecure-context on a plain-http LAN address', async () => {
    const port = new URL(server.httpUrl).port;
    const browser = await browserWith('speech-fr-48k.wav', [
      '--host-resolver-rules=MAP voice.lan 127.0.0.1',
    ]);
    const page = await (await browser.newContext()).newPage();
    await page.goto(`http://voice.lan:${port}/harness.html?room=insecure&name=eve&processing=0`);
    await page.evaluate(() => window.imvReady);
    const failure = await page.evaluate(() =>
      window.imv.client.startTalking().then(
        () => null,
        (e: Error & { problem?: string }) => ({
          name: e.name,
          problem: e.problem,
          message: e.message,
        }),
      ),
    );
    expect(failure).toEqual({
      name: 'MicError',
      problem: 'insecure-context',
      message: 'the microphone needs a secure page: open imv over https:// (or on localhost)',
    });
    await page.context().close();
  });

  it('reconnects after the server restarts, re-joins and replays the message it missed', async () => {
    // Its own server: this test stops and restarts it.
    const own = await startTestServer(web.distDir);
    const port = own.server.port;
    const dataDir = own.dataDir;
    let restarted: TestServer | undefined;
    try {
      const page = await openHarness(await browserWith(), own.httpUrl, {
        room: 'again',
        name: 'ann',
      });
      await own.server.close(); // keeps the data dir
      await waitForEvent(page, 'state', ([s]) => s === 'reconnecting');
      // While the page retries the closed port, a message is stored through another port on the
      // same data: the page cannot have heard it live, only the re-join can bring it.
      const side = await startTestServer(web.distDir, { dataDir });
      let stdout: string;
      try {
        ({ stdout } = await run(
          process.execPath,
          [
            path.join(repoRoot, 'packages/cli/bin/imv.js'),
            'send',
            fixturePath('speech-fr-48k.wav'),
            '--room',
            'again',
            '--fast',
            '--json',
            '--server',
            side.httpUrl,
          ],
          { timeout: 30_000 },
        ));
      } finally {
        await side.server.close();
      }
      restarted = await startTestServer(web.distDir, { port, dataDir });
      const sent = JSON.parse(stdout) as { id?: number; message?: { id: number } };
      const sentId = sent.message?.id ?? sent.id;
      expect(sentId).toBeGreaterThan(0);

      const states = async () =>
        (await page.evaluate(() => window.imv.events))
          .filter((e) => e[0] === 'state')
          .map((e) => e[2]);
      await waitForEvent(page, 'history', ([messages]) =>
        (messages as { id: number }[]).some((m) => m.id === sentId),
      );
      expect(await states()).toEqual(['connecting', 'open', 'reconnecting', 'open']);
      const joins = (await page.evaluate(() => window.imv.events)).filter((e) => e[0] === 'joined');
      expect(joins).toHaveLength(2);
      expect(await page.evaluate(() => window.imv.client.state)).toBe('open');
      await page.context().close();
    } finally {
      await restarted?.server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('VoiceClient engine against a server limit', () => {
  it('ends the talk with talk-ended when the server stops it at maxMessageMs, and keeps the stored part', async () => {
    const limited = await startTestServer(web.distDir, { maxMessageMs: 1000 });
    try {
      const page = await openHarness(await browserWith('speech-en-48k.wav'), limited.httpUrl, {
        room: 'limit',
        name: 'max',
      });
      await page.evaluate(() => window.imv.client.startTalking());
      const [reason] = await waitForEvent<[string]>(page, 'talk-ended');
      expect(reason).toMatch(/^MESSAGE_TOO_LONG: message reached the limit of 1000 ms/);
      expect(await page.evaluate(() => window.imv.client.talking)).toBe(false);
      const [stored] = await waitForEvent<[{ message: { frameCount: number; status: string } }]>(
        page,
        'message-stored',
      );
      expect(stored.message.frameCount).toBe(50);
      // Only the limit error: the engine does not send a talk-stop for the stream the server ended.
      await new Promise((r) => setTimeout(r, 300));
      const errors = (await page.evaluate(() => window.imv.events))
        .filter((e) => e[0] === 'error')
        .map((e) => (e[2] as { code: string }).code);
      expect(errors).toEqual(['MESSAGE_TOO_LONG']);
      await page.context().close();
    } finally {
      await limited.close();
    }
  });
});
