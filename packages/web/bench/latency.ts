/*
 * Mouth-to-ear latency of live push-to-talk between two pages on loopback.
 *
 *   npx tsx packages/web/bench/latency.ts [--seconds 30] [--interval-ms 250]
 *
 * One Chromium, whose fake microphone plays a click track written by this script (a 5 ms 2 kHz
 * burst every --interval-ms), runs three harness pages in one room:
 *   talker    talks for --seconds; its mic tap records what was captured
 *   engine    a listener with the real adaptive jitter buffer
 *   baseline  a listener with jitterTargetMs=0: each frame plays the moment it is decoded, i.e. the
 *             bare capture -> encode -> ws relay -> decode -> play chain with no buffering at all
 * Every click onset found in the talker's capture is matched with the same click in each listener's
 * output. Both taps are AudioWorklets placed on one clock: each page pairs its AudioContext time with
 * performance.timeOrigin + performance.now() (AudioContext.getOutputTimestamp), and all pages run on the
 * same machine. So the figure is capture render -> playback render, excluding the sound card's own input and
 * output buffers (unknown for the fake devices). Also printed: jitter-buffer depth/target sampled every
 * 250 ms, underruns, concealed and late frames, and main-thread long tasks (> 50 ms) on each page.
 */
import { writeFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { buildWeb, launchChromium, openHarness, startTestServer, takeRecording } from '../test/browser/helpers.js';
import type { Recording } from '../test/browser/helpers.js';

const SAMPLE_RATE = 48_000;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    'interval-ms': { type: 'string', default: '250' },
  },
});
const talkSeconds = Number(values.seconds);
const intervalMs = Number(values['interval-ms']);

/** 16-bit mono WAV of 5 ms Hann-windowed 2 kHz bursts at 0.5 every intervalMs (onsets are exact). */
function clickTrack(seconds: number, everyMs: number): Uint8Array {
  const n = Math.round(seconds * SAMPLE_RATE);
  const pcm = new Int16Array(n);
  const burst = Math.round(0.005 * SAMPLE_RATE);
  const every = Math.round((everyMs / 1000) * SAMPLE_RATE);
  for (let start = every / 2; start + burst < n; start += every) {
    for (let i = 0; i < burst; i++) {
      const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / burst);
      pcm[start + i] = Math.round(0.5 * 32767 * w * Math.sin((2 * Math.PI * 2000 * i) / SAMPLE_RATE));
    }
  }
  const out = new Uint8Array(44 + n * 2);
  const view = new DataView(out.buffer);
  const ascii = (offset: number, s: string) => [...s].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + n * 2, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, SAMPLE_RATE, true);
  view.setUint32(28, SAMPLE_RATE * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  view.setUint32(40, n * 2, true);
  out.set(new Uint8Array(pcm.buffer), 44);
  return out;
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

interface Clock {
  contextFrame: number;
  epochMs: number;
}

/** Epoch milliseconds of each onset, via the page's pairing of its AudioContext clock with performance time. */
function onsetTimesMs(rec: Recording, clock: Clock, threshold: number): number[] {
  const refractory = Math.round((intervalMs / 2 / 1000) * SAMPLE_RATE);
  return onsets(rec.samples, threshold, refractory).map(
    (i) => clock.epochMs + ((rec.startFrame + i - clock.contextFrame) / SAMPLE_RATE) * 1000,
  );
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** For each capture onset, the first output onset within one click interval after it. */
function latencies(captured: number[], heard: number[]): number[] {
  const out: number[] = [];
  for (const c of captured) {
    const h = heard.find((t) => t >= c && t < c + intervalMs * 0.9);
    if (h !== undefined) out.push(h - c);
  }
  return out.sort((a, b) => a - b);
}

async function sampleDepth(page: Page, into: { depthMs: number; targetMs: number }[]): Promise<void> {
  const stats = await page.evaluate(() => window.imv.client.getPlaybackStats());
  for (const s of stats.streams) into.push({ depthMs: s.depthMs, targetMs: s.targetMs });
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
    const room = 'bench';
    const engine = await openHarness(browser, server.httpUrl, { room, name: 'engine' });
    const baseline = await openHarness(browser, server.httpUrl, { room, name: 'baseline', jitterTargetMs: 0 });
    const talker = await openHarness(browser, server.httpUrl, { room, name: 'talker' });
    const pages = { talker, engine, baseline };
    for (const p of [engine, baseline]) await takeRecording(p, 'output');
    const longTaskCount = async (p: Page) => (await p.evaluate(() => window.imv.longTasks.length));
    const before = { talker: await longTaskCount(talker), engine: await longTaskCount(engine), baseline: await longTaskCount(baseline) };

    console.log(`talking ${talkSeconds} s of clicks every ${intervalMs} ms...`);
    await talker.evaluate(() => window.imv.client.startTalking());
    const depth = { engine: [] as { depthMs: number; targetMs: number }[], baseline: [] as { depthMs: number; targetMs: number }[] };
    const until = Date.now() + talkSeconds * 1000;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 250));
      await sampleDepth(engine, depth.engine);
      await sampleDepth(baseline, depth.baseline);
    }
    const stored = await talker.evaluate(() => window.imv.client.stopTalking());
    await new Promise((r) => setTimeout(r, 1000)); // let the listeners play out

    const clocks = {
      talker: await talker.evaluate(() => window.imv.clock()),
      engine: await engine.evaluate(() => window.imv.clock()),
      baseline: await baseline.evaluate(() => window.imv.clock()),
    };
    const captured = onsetTimesMs(await takeRecording(talker, 'mic'), clocks.talker, 0.1);
    const results: Record<string, number[]> = {};
    const stats: Record<string, Awaited<ReturnType<typeof readTotals>>> = {};
    async function readTotals(p: Page) {
      return (await p.evaluate(() => window.imv.client.getPlaybackStats())).totals;
    }
    for (const name of ['engine', 'baseline'] as const) {
      const heard = onsetTimesMs(await takeRecording(pages[name], 'output'), clocks[name], 0.1);
      results[name] = latencies(captured, heard);
      stats[name] = await readTotals(pages[name]);
    }
    const longTasks: Record<string, { count: number; totalMs: number }> = {};
    for (const [name, p] of Object.entries(pages)) {
      const all = await p.evaluate(() => window.imv.longTasks);
      const during = all.slice(before[name as keyof typeof before]);
      longTasks[name] = { count: during.length, totalMs: during.reduce((a, t) => a + t.durationMs, 0) };
    }

    const e = results.engine!;
    const b = results.baseline!;
    console.log(`\nclicks captured: ${captured.length}, heard: engine ${e.length}, baseline ${b.length}; message ${stored?.id ?? 'not stored'} (${stored?.frameCount ?? 0} frames)`);
    console.log('\nmouth-to-ear (capture render -> playback render), ms');
    console.log('              p50     p95     p99     max');
    for (const [name, xs] of [['engine', e], ['baseline', b]] as const) {
      console.log(`${name.padEnd(10)} ${[50, 95, 99, 100].map((p) => fmt(percentile(xs, p)).padStart(7)).join(' ')}`);
    }
    console.log(`ratio      ${[50, 95, 99, 100].map((p) => (percentile(e, p) / percentile(b, p)).toFixed(2).padStart(7)).join(' ')}`);
    console.log('\njitter buffer (sampled every 250 ms while streaming)');
    for (const name of ['engine', 'baseline'] as const) {
      const d = depth[name];
      const s = stats[name]!;
      console.log(
        `${name.padEnd(10)} depth mean ${fmt(mean(d.map((x) => x.depthMs)))} ms, target mean ${fmt(mean(d.map((x) => x.targetMs)))} ms; ` +
          `underruns ${s.underruns}, concealed ${s.concealed}, late ${s.lateDropped}, played ${s.played}, drift -${s.driftDroppedSamples}/+${s.driftInsertedSamples} samples`,
      );
    }
    console.log('\nmain-thread long tasks (> 50 ms) while streaming');
    for (const [name, t] of Object.entries(longTasks)) console.log(`${name.padEnd(10)} ${t.count} (${fmt(t.totalMs)} ms)`);
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
