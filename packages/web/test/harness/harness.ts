/*
 * Test page (test/harness/harness.html, never in the production build): a VoiceClient built from URL parameters, exposed as `window.imv`, plus
 * taps recording what the user hears (`audio.output`) and, on request, what the mic captured.
 *
 *   ?room=r&name=n              room and display name (defaults: test / tester)
 *   &processing=0               turn off AEC/NS/AGC (tests always do)
 *   &codec=wasm|webcodecs|auto  force the Opus implementation
 *   &jitterTargetMs=N           fixed jitter-buffer start depth (min = initial = N; 0 = no buffering)
 *   &lastSeen=N                 lastSeenMessageId for the join
 *   &reconnectDelayMs=N         first reconnect delay (default 250)
 *   &listeners=adaptive,0       extra listening clients on the same AudioContext, one per entry:
 *                               'adaptive' = default jitter buffer, a number = fixed jitterTargetMs
 *                               (window.imv.listeners; they connect when the test says so)
 *
 * Everything a test reads is plain data (numbers, base64 strings), so it crosses page.evaluate.
 */
import type { CodecChoice } from '../../src/engine/engine-messages.js';
import type { JitterBufferOptions } from '../../src/engine/incoming/jitter-buffer.js';
import { createVoiceClient } from '../../src/engine/voice-client.js';
import type { EngineClient, EngineEvents } from '../../src/engine/voice-client.js';
import recorderWorkletUrl from './recorder-worklet.ts?worker&url';
import type { RecorderChunk } from './recorder-worklet.js';

/** Samples recorded by a tap; `startFrame` is the AudioContext frame of the first one. */
interface Recording {
  startFrame: number;
  chunks: Float32Array[];
  length: number;
}

/** One recorder chunk's clock reading: its end frame and when the main thread received it (epoch ms). */
export type ClockMark = [endFrame: number, receivedEpochMs: number];

export interface HarnessTap {
  /**
   * Everything recorded so far, as base64 little-endian float32 with its first frame, and clears it.
   * `marks` pair each ~100 ms chunk's end frame with its arrival time on the main thread: the
   * smallest (arrival - end) over a few seconds places the context's render clock on the epoch clock
   * without trusting getOutputTimestamp, which drifts and jumps on a loaded machine.
   */
  take(): { startFrame: number; base64: string; length: number; marks: ClockMark[] };
}

export interface HarnessClock {
  /** AudioContext frame that was being output at performance time `timeOrigin + performanceTime`. */
  contextFrame: number;
  epochMs: number;
}

export interface Harness {
  client: EngineClient;
  /** Level events seen: how many, and the loudest (0..1). */
  levels: { mic: { count: number; max: number }; live: { count: number; max: number } };
  output: HarnessTap;
  /** The mic tap: starts recording when the mic opens (empty before). */
  mic: HarnessTap;
  /** Extra clients sharing `client`'s AudioContext (see ?listeners), each with its output tap. */
  listeners: { client: EngineClient; output: HarnessTap }[];
  /** Recorded events, oldest first: [name, epochMs, ...args] with args made JSON-safe. */
  events: [string, number, ...unknown[]][];
  /** A simultaneous reading of the AudioContext clock and the epoch clock (performance.timeOrigin + now). */
  clock(): HarnessClock;
  /** Long tasks (> 50 ms) seen on the main thread since the page loaded. */
  longTasks: { startEpochMs: number; durationMs: number }[];
}

declare global {
  interface Window {
    imv: Harness;
    imvReady: Promise<void>;
  }
}

const params = new URLSearchParams(location.search);
const num = (key: string): number | undefined => {
  const v = params.get(key);
  return v === null ? undefined : Number(v);
};
const jitterTargetMs = num('jitterTargetMs');
const fixedJitter = (ms: number | undefined): JitterBufferOptions | undefined =>
  ms === undefined ? undefined : { initialTargetMs: ms, minTargetMs: ms, maxTargetMs: ms };
const jitter = fixedJitter(jitterTargetMs);
const lastSeen = num('lastSeen');
const reconnectDelayMs = num('reconnectDelayMs');
/** 'lowLatency=0' talks in 20 ms frames; absent: the engine's default (10 ms). */
const lowLatency = params.get('lowLatency');

const client = createVoiceClient({
  serverUrl: location.origin,
  room: params.get('room') ?? 'test',
  name: params.get('name') ?? 'tester',
  // randomUUID exists only in secure contexts; the insecure-page test loads this page too.
  clientId: params.get('clientId') ?? `harness-${crypto.getRandomValues(new Uint32Array(1))[0]}`,
  micProcessing: params.get('processing') !== '0',
  codec: (params.get('codec') ?? 'auto') as CodecChoice,
  ...(jitter ? { jitter } : {}),
  ...(lastSeen !== undefined ? { lastSeenMessageId: lastSeen } : {}),
  ...(reconnectDelayMs !== undefined ? { reconnectDelayMs } : {}),
  ...(lowLatency !== null ? { lowLatency: lowLatency === '1' } : {}),
});

const events: Harness['events'] = [];
const epochNow = () => performance.timeOrigin + performance.now();
const eventNames: (keyof EngineEvents)[] = [
  'state',
  'joined',
  'presence',
  'talk-started',
  'talk-stopped',
  'message-stored',
  'history',
  'error',
  'talk-ended',
  'stream-playing',
  'stream-finished',
  'talk-stream',
  'codec',
];
for (const name of eventNames) {
  client.on(name, (...args: unknown[]) => {
    events.push([name, epochNow(), ...(JSON.parse(JSON.stringify(args)) as unknown[])]);
  });
}

function newTap(node: AudioWorkletNode): HarnessTap {
  let rec: Recording | null = null;
  let marks: ClockMark[] = [];
  node.port.onmessage = (event: MessageEvent<RecorderChunk>) => {
    const { frame, pcm } = event.data;
    marks.push([frame + pcm.length, epochNow()]);
    rec ??= { startFrame: frame, chunks: [], length: 0 };
    rec.chunks.push(pcm);
    rec.length += pcm.length;
  };
  return {
    take() {
      const r = rec;
      const m = marks;
      rec = null;
      marks = [];
      if (r === null) return { startFrame: -1, base64: '', length: 0, marks: m };
      const all = new Float32Array(r.length);
      let offset = 0;
      for (const c of r.chunks) {
        all.set(c, offset);
        offset += c.length;
      }
      return {
        startFrame: r.startFrame,
        base64: toBase64(new Uint8Array(all.buffer)),
        length: r.length,
        marks: m,
      };
    },
  };
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step)
    binary += String.fromCharCode(...bytes.subarray(i, i + step));
  return btoa(binary);
}

const levels: Harness['levels'] = { mic: { count: 0, max: 0 }, live: { count: 0, max: 0 } };
client.on('mic-level', (level) => {
  levels.mic.count++;
  levels.mic.max = Math.max(levels.mic.max, level);
});
client.on('live-level', (_streamId, level) => {
  levels.live.count++;
  levels.live.max = Math.max(levels.live.max, level);
});

const longTasks: Harness['longTasks'] = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      longTasks.push({
        startEpochMs: performance.timeOrigin + e.startTime,
        durationMs: e.duration,
      });
  }).observe({ type: 'longtask', buffered: true });
} catch {
  // no Long Tasks API: the list stays empty
}

const emptyTap: HarnessTap = { take: () => ({ startFrame: -1, base64: '', length: 0, marks: [] }) };

async function setUp(): Promise<void> {
  const context = client.audio.context;
  const base = {
    client,
    events,
    levels,
    longTasks,
    clock: () => ({ contextFrame: 0, epochMs: epochNow() }),
  };
  // An insecure page has no AudioWorklet: the page still loads, so a test can see how the engine fails.
  if (!window.isSecureContext || context.audioWorklet === undefined) {
    window.imv = { ...base, output: emptyTap, mic: emptyTap, listeners: [] };
    return;
  }
  await context.audioWorklet.addModule(recorderWorkletUrl);
  const recorder = () =>
    new AudioWorkletNode(context, 'imv-recorder', {
      numberOfInputs: 1,
      numberOfOutputs: 0,
      channelCount: 1,
      channelCountMode: 'explicit',
    });
  const outputRecorder = recorder();
  client.audio.output.connect(outputRecorder);
  const micRecorder = recorder();
  client.on('mic-open', (source) => source.connect(micRecorder));
  const listeners = (params.get('listeners') ?? '')
    .split(',')
    .filter((kind) => kind !== '')
    .map((kind, i) => {
      const targetMs = kind === 'adaptive' ? undefined : Number(kind);
      const listenerJitter = fixedJitter(targetMs);
      const listener = createVoiceClient({
        serverUrl: location.origin,
        room: params.get('room') ?? 'test',
        name: `listener-${i}-${kind}`,
        clientId: `harness-listener-${i}`,
        context,
        ...(listenerJitter ? { jitter: listenerJitter } : {}),
      });
      const tap = recorder();
      listener.audio.output.connect(tap);
      return { client: listener, output: newTap(tap) };
    });
  window.imv = {
    ...base,
    output: newTap(outputRecorder),
    mic: newTap(micRecorder),
    listeners,
    clock() {
      // getOutputTimestamp pairs the frame being output with its performance time.
      const ts = context.getOutputTimestamp();
      const contextTime = ts.contextTime ?? context.currentTime;
      const perf = ts.performanceTime ?? performance.now();
      return {
        contextFrame: contextTime * context.sampleRate,
        epochMs: performance.timeOrigin + perf,
      };
    },
  };
}

window.imvReady = setUp();
