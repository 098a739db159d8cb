import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ROGER_TONES_HZ } from '../../src/ui/roger-beep.js';
import {
  buildWeb,
  correlate,
  fixturePath,
  piecewiseCorrelation,
  readFixture,
  type WebBuild,
} from './helpers.js';
import {
  enableSound,
  installTap,
  launchWithRealAutoplayPolicy,
  readTap,
  roomUrl,
  startTap,
  startUiServer,
  waitAudioSeconds,
  type UiServer,
} from './ui-support.js';

/*
 * Hands-free by headset. A headset's button reaches a page as a Media Session action that the
 * browser dispatches to the handler the page registered. Headless Chromium 156 has no way to send
 * one: the DevTools protocol has no Media Session command, a synthetic 'MediaPlayPause' key press
 * reaches the page only as a keydown, and no MPRIS service shows up on D-Bus (headless or headful
 * under Xvfb). So the test keeps the handlers the page registers (wrapping setActionHandler before
 * the page loads) and calls them as the browser does, with { action }.
 */

const RATE = 48_000;

let web: WebBuild;
let srv: UiServer;
let browser: Browser;

beforeAll(async () => {
  web = await buildWeb();
  installTap(web.distDir);
  srv = await startUiServer(web.distDir);
  browser = await launchWithRealAutoplayPolicy(fixturePath('speech-en-48k.wav'));
});

afterAll(async () => {
  await browser?.close();
  await srv?.stop();
  await web?.cleanup();
});

type Handlers = Partial<Record<MediaSessionAction, MediaSessionActionHandler | null>>;

/** Runs in the page before its scripts: keeps every Media Session handler it registers. */
function keepMediaSessionHandlers(): void {
  const handlers: Handlers = {};
  const session = navigator.mediaSession;
  const original = session.setActionHandler.bind(session);
  session.setActionHandler = (action, handler) => {
    handlers[action] = handler;
    original(action, handler);
  };
  (window as unknown as { mediaSessionHandlers: Handlers }).mediaSessionHandlers = handlers;
}

async function openRoom(
  room: string,
  name: string,
  options: { extra?: Record<string, string>; init?: () => void } = {},
): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
  onTestFinished(() => context.close());
  if (options.init) await context.addInitScript(options.init);
  const page = await context.newPage();
  await page.goto(roomUrl(srv.url, room, name, options.extra));
  await page.waitForFunction(() => window.imvClients?.[0]?.state === 'open');
  return page;
}

/** The headset button, as the browser delivers it. */
async function pressHeadset(page: Page, action: 'play' | 'pause'): Promise<void> {
  await page.evaluate((a) => {
    const { mediaSessionHandlers } = window as unknown as { mediaSessionHandlers: Handlers };
    const handler = mediaSessionHandlers[a];
    if (!handler) throw new Error(`no Media Session handler for ${a}`);
    handler({ action: a });
  }, action);
}

const sessionState = (page: Page) =>
  page.evaluate(() => ({
    title: navigator.mediaSession.metadata?.title,
    artist: navigator.mediaSession.metadata?.artist,
    playbackState: navigator.mediaSession.playbackState,
  }));

/** The cue's two tones as plain sines (the page adds 5 ms fades), 70 ms each. */
function cue(kind: 'start' | 'stop'): Float32Array {
  const toneSamples = Math.round(0.07 * RATE);
  const out = new Float32Array(2 * toneSamples);
  ROGER_TONES_HZ[kind].forEach((hz, t) => {
    for (let i = 0; i < toneSamples; i++)
      out[t * toneSamples + i] = Math.sin((2 * Math.PI * hz * i) / RATE);
  });
  return out;
}

describe('hands-free by headset', () => {
  // Real-time audio on a 2-core machine shared with other suites can underrun; one retry, in a
  // fresh room, tells a starved run from a broken one.
  let attempt = 0;
  it(
    "toggles hands-free talk with the headset's play/pause, beeps only locally, and shows who talks",
    { retry: 1 },
    async () => {
      const room = `headset-${++attempt}`;
      const ann = await openRoom(room, 'Ann', { init: keepMediaSessionHandlers });
      const bob = await openRoom(room, 'Bob');
      await enableSound(ann);
      await enableSound(bob);
      await startTap(ann);
      await startTap(bob);
      expect(await sessionState(ann)).toEqual({
        title: 'Nobody is talking',
        artist: `#${room}`,
        playbackState: 'paused',
      });

      await pressHeadset(ann, 'play');
      await ann.waitForFunction(() => window.imvClients?.[0]?.talking === true);
      await bob.getByRole('list', { name: 'Talking now' }).getByText('Ann is talking').waitFor();
      expect(await sessionState(ann)).toEqual({
        title: 'Ann',
        artist: `#${room}`,
        playbackState: 'playing',
      });
      expect((await sessionState(bob)).title).toBe('Ann');
      await waitAudioSeconds(ann, 3);
      // A one-button headset may send either action: each one toggles.
      await pressHeadset(ann, 'play');
      await ann.waitForFunction(() => window.imvClients?.[0]?.talking === false);
      // The engine stops at once; the page's talk state follows once the message is sent.
      await ann.waitForFunction(() => navigator.mediaSession.playbackState === 'paused');
      await bob.locator('.msg').first().waitFor();
      await waitAudioSeconds(bob, 0.5); // the jitter buffer's tail

      const heardByBob = await readTap(bob);
      const heardByAnn = await readTap(ann);
      const en = await readFixture('speech-en-48k.wav');
      const live = piecewiseCorrelation(en.subarray(0, 2.5 * RATE), heardByBob);
      expect(live.correlation).toBeGreaterThanOrEqual(0.8);
      for (const kind of ['start', 'stop'] as const) {
        const tone = cue(kind);
        // Ann hears her cue; Bob hears her talk but not the cue. (The sign depends on where the
        // oscillator's start falls between two samples, so it is not compared.)
        const atAnn = correlate(tone, heardByAnn, { maxLagSamples: heardByAnn.length });
        const atBob = correlate(tone, heardByBob, { maxLagSamples: heardByBob.length });
        expect(Math.abs(atAnn.correlation)).toBeGreaterThanOrEqual(0.8);
        expect(Math.abs(atBob.correlation)).toBeLessThan(0.3);
      }
      expect(await sessionState(bob)).toEqual({
        title: 'Nobody is talking',
        artist: `#${room}`,
        playbackState: 'paused',
      });
    },
  );

  it('talks with a configured second key (?talkkey=F8) and remembers it', async () => {
    const page = await openRoom('desk-key', 'Dee', { extra: { talkkey: 'F8' } });
    expect(await page.locator('.talk-hint').textContent()).toBe('or hold the space bar or F8');
    await page.keyboard.down('F8');
    await page.waitForFunction(() => window.imvClients?.[0]?.talking === true);
    await waitAudioSeconds(page, 0.5);
    await page.keyboard.up('F8');
    await page.waitForFunction(() => window.imvClients?.[0]?.talking === false);
    await page.locator('.msg.own').first().waitFor();
    expect(await page.evaluate(() => localStorage.getItem('imv.talkKey'))).toBe('F8');
  });

  it('works as before where the Media Session API is missing', async () => {
    const page = await openRoom('no-session', 'Nia', {
      init: () => {
        delete (Navigator.prototype as { mediaSession?: MediaSession }).mediaSession;
      },
    });
    expect(await page.evaluate(() => 'mediaSession' in navigator)).toBe(false);
    await page.getByRole('button', { name: 'Hands-free' }).click();
    await page.getByRole('button', { name: 'Tap to talk, tap again to send' }).click();
    await page.waitForFunction(() => window.imvClients?.[0]?.talking === true);
    await waitAudioSeconds(page, 0.3);
    await page.getByRole('button', { name: 'Talking, tap to send' }).click();
    await page.waitForFunction(() => window.imvClients?.[0]?.talking === false);
    await page.locator('.msg.own').first().waitFor();
  });
});
