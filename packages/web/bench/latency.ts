/*
 * Mouth-to-ear latency of live push-to-talk between two clients on loopback.
 *
 *   npx tsx packages/web/bench/latency.ts [--seconds 30] [--interval-ms 250] [--verbose]
 *
 * Chromium's fake microphone plays a click track written by this script (a 5 ms 2 kHz burst every
 * --interval-ms, looped). One harness page holds three VoiceClients on ONE AudioContext, each with
 * its own worker and WebSocket to the real server:
 *   talker    talks for --seconds; a recorder worklet taps its microphone
 *   engine    a listener with the real adaptive jitter buffer; a recorder taps its output
 *   baseline  a listener with jitterTargetMs=0: each frame plays the moment it is decoded, i.e. the
 *             bare capture -> encode -> ws relay -> decode -> play chain with no buffering at all
 * Every click onset in the mic tap is matched with the same click in each listener's output. All
 * taps run on the same render clock, so latencies are exact frame differences: capture render ->
 * playback render, excluding the sound card's own input and output buffers (unknown for fake
 * devices). Also printed: jitter-buffer depth/target sampled every 250 ms, underruns, concealed and
 * late frames, and main-thread long tasks (> 50 ms) while streaming.
 */
import { writeFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeWav } from '@imv/media';
import {
  buildWeb,
  launchChromium,
  openHarness,
  startTestServer,
  takeRecording,
} from '../test/browser/helpers.js';
import type { Recording } from '../test/browser/helpers.js';
import type { PlaybackStats } from '../src/engine/engine-messages.js';

const SAMPLE_RATE = 48_000;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    'interval-ms': { type: 'string', default: '250' },
    /** Print every click's latency in capture order, to see when a stall happened. */
    verbose: { type: 'boolean', default: false },
    /** The talker's frame duration: 20, or 10 (the page's Low latency setting). */
    'frame-ms': { type: 'string', default: '20' },
  },
});
const frameMs = Number(values['frame-ms']);
if (frameMs !== 10 && frameMs !== 20)
  throw new RangeError(`--frame-ms must be 10 or 20, got ${frameMs}`);
const talkSeconds = Number(values.seconds);
const intervalMs = Number(values['interval-ms']);

/** 16-bit mono WAV of 5 ms Hann-windowed 2 kHz bursts at 0.5 every intervalMs (onsets are exact). */
function clickTrack(seconds: number, everyMs: number): Uint8Array {
  const n = Math.round(seconds * SAMPLE_RATE);
  const pcm = new Float32Array(n);
  const burst = Math.round(0.005 * SAMPLE_RATE);
  const every = Math.round((everyMs / 1000) * SAMPLE_RATE);
  for (let start = every / 2; start + burst < n; start += every) {
    for (let i = 0; i < burst; i++) {
      const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / burst);
      pcm[start + i] = 0.5 * w * Math.sin((2 * Math.PI * 2000 * i) / SAMPLE_RATE);
    }
  }
  return writeWav(pcm, SAMPLE_RATE);
}

/** Sample indices where |x| first crosses `threshold`, at least `refractory` samples apart. */
function onsets(x: Float32Array, threshold: number, refractory: number): number[] {
  const found: number[] = [];
  let last = -Infinity;
  for (let i = 0; i < x.length; i++) {
    if (Math.abs(x[i]!) >= threshold && i - last >= refractory) {
      found.push(i);
      last = i;
    }
  }
  return found;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** For each capture onset (frame), the first output onset within one click interval after it (capture order). */
function latencies(captured: number[], heard: number[]): number[] {
  const window = ((intervalMs * 0.9) / 1000) * SAMPLE_RATE;
  const out: number[] = [];
  for (const c of captured) {
    const h = heard.find((t) => t >= c && t < c + window);
    if (h !== undefined) out.push(h - c);
  }
  return out;
}

interface DepthSample {
  depthMs: number;
  targetMs: number;
}
type PlaybackTotals = PlaybackStats['totals'];

/**
 * Latencies use startFrame + sample index, so a recording must cover its frames without a hole
 * (the recorder worklet zero-fills quanta Chromium did not render; a hole used to put every click
 * 30-50 ms early). Each ~100 ms chunk's end frame is checked against that.
 */
function warnIfGapped(name: string, r: Recording): void {
  const bad = r.marks.filter(([endFrame]) => (endFrame - r.startFrame) % 4800 !== 0);
  if (bad.length > 0)
    console.warn(
      `warning: the ${name} recording has holes (chunk ends ${bad
        .slice(0, 3)
        .map(([f]) => f)
        .join(', ')}...)`,
    );
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');

async function main(): Promise<void> {
  const tmp = await mkdtemp(path.join(tmpdir(), 'imv-bench-'));
  const wavPath = path.join(tmp, 'clicks.wav');
  // The file loops, so the talk can be as long as asked.
  await writeFile(wavPath, clickTrack(10, intervalMs));
  const web = await buildWeb();
  const server = await startTestServer(web.distDir);
  const browser = await launchChromium({ fakeMic: wavPath, loop: true });
  try {
    // One page, one AudioContext: the talker client plus two listening clients (?listeners).
    const page = await openHarness(browser, server.httpUrl, {
      room: 'bench',
      name: 'talker',
      listeners: ['adaptive', '0'],
      lowLatency: frameMs === 10,
    });
    console.log(`talker frames: ${frameMs} ms`);
    await page.evaluate(() => Promise.all(window.imv.listeners.map((l) => l.client.connect())));
    const listeners = { engine: 0, baseline: 1 } as const;
    for (const i of Object.values(listeners)) await takeRecording(page, i);
    const longTasksBefore = await page.evaluate(() => window.imv.longTasks.length);

    console.log(`talking ${talkSeconds} s of clicks every ${intervalMs} ms...`);
    await page.evaluate(() => window.imv.client.startTalking());
    const depth = { engine: [] as DepthSample[], baseline: [] as DepthSample[] };
    const until = Date.now() + talkSeconds * 1000;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 250));
      for (const [name, i] of Object.entries(listeners) as [keyof typeof listeners, number][]) {
        const stats = await page.evaluate(
          (n) => window.imv.listeners[n]!.client.getPlaybackStats(),
          i,
        );
        for (const s of stats.streams)
          depth[name].push({ depthMs: s.depthMs, targetMs: s.targetMs });
      }
    }
    const stored = await page.evaluate(() => window.imv.client.stopTalking());
    await new Promise((r) => setTimeout(r, 1000)); // let the listeners play out

    const mic = await takeRecording(page, 'mic');
    warnIfGapped('mic', mic);
    const refractory = Math.round((intervalMs / 2 / 1000) * SAMPLE_RATE);
    const captured = onsets(mic.samples, 0.1, refractory).map((i) => mic.startFrame + i);
    const results: Record<string, number[]> = {};
    const totals: Record<string, PlaybackTotals> = {};
    for (const [name, i] of Object.entries(listeners)) {
      const out = await takeRecording(page, i);
      warnIfGapped(name, out);
      const heard = onsets(out.samples, 0.1, refractory).map((j) => out.startFrame + j);
      // Same AudioContext: frames are directly comparable.
      const inOrder = latencies(captured, heard).map((frames) => (frames * 1000) / SAMPLE_RATE);
      if (values.verbose) console.log(`${name}: ${inOrder.map((x) => x.toFixed(0)).join(' ')}`);
      results[name] = inOrder.sort((x, y) => x - y);
      totals[name] = (
        await page.evaluate((n) => window.imv.listeners[n]!.client.getPlaybackStats(), i)
      ).totals;
    }
    const longTasks = (await page.evaluate(() => window.imv.longTasks)).slice(longTasksBefore);

    const e = results.engine!;
    const b = results.baseline!;
    console.log(
      `\nclicks captured: ${captured.length}, heard: engine ${e.length}, baseline ${b.length}; message ${stored?.id ?? 'not stored'} (${stored?.frameCount ?? 0} frames)`,
    );
    console.log('\nmouth-to-ear (capture render -> playback render, one AudioContext), ms');
    console.log('              p50     p95     p99     max');
    for (const [name, xs] of [
      ['engine', e],
      ['baseline', b],
    ] as const) {
      console.log(
        `${name.padEnd(10)} ${[50, 95, 99, 100].map((p) => fmt(percentile(xs, p)).padStart(7)).join(' ')}`,
      );
    }
    console.log(
      `ratio      ${[50, 95, 99, 100].map((p) => (percentile(e, p) / percentile(b, p)).toFixed(2).padStart(7)).join(' ')}`,
    );
    console.log('\njitter buffer (sampled every 250 ms while streaming)');
    for (const name of ['engine', 'baseline'] as const) {
      const d = depth[name];
      const s = totals[name]!;
      console.log(
        `${name.padEnd(10)} depth mean ${fmt(mean(d.map((x) => x.depthMs)))} ms, target mean ${fmt(mean(d.map((x) => x.targetMs)))} ms; ` +
          `underruns ${s.underruns}, concealed ${s.concealed}, late ${s.lateDropped}, played ${s.played}, ` +
          `silent frames skipped ${s.silentSkipped}, drift -${s.driftDroppedSamples}/+${s.driftInsertedSamples} samples`,
      );
    }
    const totalMs = longTasks.reduce((a, t) => a + t.durationMs, 0);
    console.log(
      `\nmain-thread long tasks (> 50 ms) while streaming: ${longTasks.length} (${fmt(totalMs)} ms)`,
    );
    const goal = percentile(e, 50) <= 50 && percentile(e, 99) <= 80;
    console.log(`\ngoal p50 <= 50 ms and p99 <= 80 ms: ${goal ? 'met' : 'NOT met'}`);
  } finally {
    await browser.close();
    await server.close();
    await web.cleanup();
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
