import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeWav } from '@imv/media';
import { decodeOggOpus } from '@imv/media/node';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  buildWeb,
  correlate,
  fixturePath,
  piecewiseCorrelation,
  readFixture,
  rms,
  type WebBuild,
} from './helpers.js';
import {
  cliSend,
  enableSound,
  installTap,
  launchWithRealAutoplayPolicy,
  readTap,
  roomUrl,
  startTap,
  startUiServer,
  tempDir,
  waitAudioSeconds,
  type UiServer,
} from './ui-support.js';

/*
 * Catch-up and live talk: page C plays three unheard messages one after another; page A talks live
 * during the second. C must pause the second where it is, play A live, then go on with the rest of
 * the second and the third, and not replay A's talk as a message afterwards. Everything is judged
 * on what C's output carried (a tap on audio.output), segment by segment.
 */

const RATE = 48_000;
/** Cut points in speech-fr (seconds): three distinct messages. */
const CUTS_SEC = [0, 1.2, 4.4, 5.5] as const;

let web: WebBuild;
let srv: UiServer;
let browser: Browser;
let fr: Float32Array;
const temp = tempDir('imv-catch-up-');

beforeAll(async () => {
  web = await buildWeb();
  installTap(web.distDir);
  srv = await startUiServer(web.distDir);
  // A's fake microphone says speech-en, so A's live talk differs from the French messages.
  browser = await launchWithRealAutoplayPolicy(fixturePath('speech-en-48k.wav'));
  fr = await readFixture('speech-fr-48k.wav');
});

afterAll(async () => {
  await browser?.close();
  await srv?.stop();
  await web?.cleanup();
  temp.remove();
});

async function openRoom(room: string, name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
  onTestFinished(() => context.close());
  const page = await context.newPage();
  await page.goto(roomUrl(srv.url, room, name));
  await page.waitForFunction(() => window.imvClients?.[0]?.state === 'open');
  return page;
}

/** The player's message and position on a page. */
const playerState = (page: Page) =>
  page.evaluate(() => {
    const el = document.getElementById('imv-player') as HTMLAudioElement;
    const current = document.querySelector<HTMLElement>('.msg.current')?.dataset.id;
    return { id: current, paused: el.paused, atSec: el.currentTime };
  });

/** Where `piece` sounds in `heard` (sample index) and how well it matches. */
function locate(piece: Float32Array, heard: Float32Array): { at: number; correlation: number } {
  const c = correlate(piece, heard, { maxLagSamples: heard.length });
  return { at: c.lagSamples, correlation: c.correlation };
}

describe('live talk during catch-up', () => {
  // Real-time audio on a 2-core machine shared with other suites can underrun; one retry, in a
  // fresh room, tells a starved run from a broken one.
  let attempt = 0;
  it(
    'pauses the queue for live talk, plays it, then resumes the same message where it paused and goes on',
    { retry: 1 },
    async () => {
      const room = `catch-up-${++attempt}`;
      const pieces = [0, 1, 2].map((i) =>
        fr.slice(Math.round(CUTS_SEC[i]! * RATE), Math.round(CUTS_SEC[i + 1]! * RATE)),
      );
      for (const [i, piece] of pieces.entries()) {
        const file = path.join(temp.dir, `${room}-${i + 1}.wav`);
        writeFileSync(file, writeWav(piece, RATE));
        await cliSend(srv.url, room, file, { name: `Msg${i + 1}` });
      }

      const talker = await openRoom(room, 'Ann');
      const page = await openRoom(room, 'Cat');
      await page.waitForFunction(() => document.querySelectorAll('.msg.unheard').length === 3);
      const ids = await page
        .locator('.msg')
        .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.id!));
      await startTap(page);
      await enableSound(page);

      // Half a second into the second message, A starts talking.
      await page.waitForFunction(
        (id) => {
          const el = document.getElementById('imv-player') as HTMLAudioElement;
          return document.querySelector<HTMLElement>('.msg.current')?.dataset.id === id &&
            !el.paused
            ? el.currentTime > 0.8
            : false;
        },
        ids[1],
        { timeout: 20_000 },
      );
      await talker.keyboard.down('Space');
      await talker.waitForFunction(() => window.imvClients?.[0]?.talking === true);
      await page.getByRole('list', { name: 'Talking now' }).getByText('Ann is talking').waitFor();
      await page.waitForFunction(
        () => (document.getElementById('imv-player') as HTMLAudioElement).paused,
      );
      const paused = await playerState(page);
      expect(paused.id).toBe(ids[1]);
      await waitAudioSeconds(talker, 2.5);
      await talker.keyboard.up('Space');
      await talker.waitForFunction(() => window.imvClients?.[0]?.talking === false);

      // The rest plays on by itself; A's message was heard live, so nothing is left unheard.
      await page.waitForFunction(() => document.querySelectorAll('.msg').length === 4);
      await page.waitForFunction(
        () => document.querySelectorAll('.msg.unheard').length === 0,
        null,
        {
          timeout: 20_000,
        },
      );
      await page.waitForFunction(
        () => (document.getElementById('imv-player') as HTMLAudioElement).ended,
      );
      await waitAudioSeconds(page, 1.5); // time enough for a replay to start, were there one
      const heard = await readTap(page);
      const state = await playerState(page);
      expect(state.id).toBe(ids[2]);

      // What A said, as stored.
      const liveId = await page
        .locator('.msg')
        .last()
        .evaluate((r) => (r as HTMLElement).dataset.id!);
      const res = await fetch(`${srv.url}/api/rooms/${room}/messages/${liveId}.ogg`);
      expect(res.status).toBe(200);
      const said = decodeOggOpus(new Uint8Array(await res.arrayBuffer()));
      expect(rms(said)).toBeGreaterThan(0.01);

      const live = piecewiseCorrelation(said, heard);
      expect(live.correlation).toBeGreaterThanOrEqual(0.8);
      // Where A's talk starts and ends in C's output, from its first and last well-matched segments
      // (a starved machine can make single segments match nothing).
      const good = live.segments.filter((seg) => seg.correlation >= 0.7);
      const liveStart = good[0]!.lagSamples;
      const liveEnd = good.at(-1)!.lagSamples + said.length;

      const pausedAt = Math.round(paused.atSec * RATE);
      const margin = Math.round(0.3 * RATE);
      const second = pieces[1]!;
      const before = locate(second.subarray(0, pausedAt - margin), heard);
      const after = locate(second.subarray(pausedAt + margin), heard);
      const third = locate(pieces[2]!, heard);
      const first = locate(pieces[0]!, heard);
      for (const part of [first, before, after, third])
        expect(part.correlation).toBeGreaterThanOrEqual(0.8);
      // In order: first, second up to the pause, A live, rest of second, third.
      expect(first.at).toBeLessThan(before.at);
      // The second message's last moments before the pause come before A's talk.
      const halfSecond = Math.round(0.5 * RATE);
      const lastBefore = locate(
        second.subarray(pausedAt - margin - halfSecond, pausedAt - margin),
        heard,
      );
      expect(lastBefore.correlation).toBeGreaterThanOrEqual(0.8);
      expect(lastBefore.at + halfSecond).toBeLessThanOrEqual(liveStart);
      expect(after.at).toBeGreaterThanOrEqual(liveEnd - Math.round(0.1 * RATE));
      expect(third.at).toBeGreaterThanOrEqual(after.at + second.length - pausedAt - margin);
      // The second resumes where it paused, not from its start.
      const replayed = locate(second.subarray(0, pausedAt - margin), heard.subarray(liveEnd));
      expect(replayed.correlation).toBeLessThan(0.5);
      // After the third message: silence, A's talk is not replayed.
      const tail = heard.subarray(third.at + pieces[2]!.length + Math.round(0.2 * RATE));
      expect(tail.length).toBeGreaterThan(RATE);
      expect(rms(tail)).toBeLessThan(0.003);
    },
  );
});
