/*
 * The audio doctor's measurement: a short test sound from this device's microphone goes through
 * the engine's own capture worklet and Opus encoder to the server, which sends the frames straight
 * back (echo-start, not relayed, not stored); they are decoded and played here. Every figure comes
 * from timestamps taken on the way (echo-stats.ts) and from the browser's own audio objects.
 */
import {
  FLAG_END,
  FRAME_MS,
  FRAME_SAMPLES,
  PROTOCOL_VERSION,
  SAMPLE_RATE_HZ,
  WS_PATH,
  decodeFrame,
  encodeFrame,
  parseServerMessage,
} from '@imv/protocol';
import type { ServerMessage } from '@imv/protocol';
import type { CaptureBlock, ToCaptureWorklet } from '../engine-messages.js';
import { JITTER_BUFFER_DEFAULTS } from '../incoming/jitter-buffer.js';
import { createWebCodecsDecoder } from '../incoming/opus-decoder.js';
import { rms } from '../levels.js';
import { detectWebCodecsOpus } from '../opus-config.js';
import { openMicrophone } from '../outgoing/microphone.js';
import { createWebCodecsEncoder } from '../outgoing/opus-encoder.js';
import { mouthToEarMs, summarize, type EchoSummary, type FrameTimes } from './echo-stats.js';
import captureWorkletUrl from '../outgoing/capture-worklet.ts?worker&url';

/** Frames in one test: 2 s of sound. */
export const ECHO_TEST_FRAMES = 100;
/** How long to wait for the last echoes after the test sound ended. */
const TAIL_WAIT_MS = 2_000;
const CLIENT = 'imv-web-doctor/0.1.0';

export interface DeviceFigures {
  contextSampleRateHz: number;
  /** What the microphone track reports (a Bluetooth headset in call mode says 8000 or 16000). */
  micSampleRateHz: number | undefined;
  micLabel: string;
  /** MediaTrackSettings.latency where the browser reports it, else 0. */
  inputLatencyMs: number;
  baseLatencyMs: number;
  outputLatencyMs: number;
}

export interface EchoTestResult extends EchoSummary, DeviceFigures {
  mouthToEarMs: number;
  /** RMS and peak of the captured test sound, in dBFS. */
  inputLevelDb: number;
  inputPeakDb: number;
}

/** Why a test could not run, in a form the page turns into advice. */
export class EchoTestError extends Error {
  override readonly name = 'EchoTestError';
  constructor(
    readonly reason: 'codec' | 'server' | 'limited' | 'no-echo',
    message: string,
  ) {
    super(message);
  }
}

export interface EchoTestOptions {
  serverUrl: string;
  /** Browser echo cancellation etc. on the mic (default true, as when talking). */
  micProcessing?: boolean;
  /** Play the echoed sound (default true): the user hears their own test. */
  playBack?: boolean;
  /** Progress for the page: 'connecting', 'recording', 'waiting'. */
  onStage?: (stage: 'connecting' | 'recording' | 'waiting') => void;
}

const toDb = (amplitude: number): number => (amplitude > 0 ? 20 * Math.log10(amplitude) : -120);

/** Runs one echo test; throws MicError (microphone) or EchoTestError. */
export async function runEchoTest(options: EchoTestOptions): Promise<EchoTestResult> {
  const codecs = await detectWebCodecsOpus();
  if (!codecs.encoder || !codecs.decoder)
    throw new EchoTestError('codec', 'this browser has no WebCodecs Opus encoder and decoder');
  const context = new AudioContext({ sampleRate: SAMPLE_RATE_HZ, latencyHint: 'interactive' });
  const socket = new EchoSocket();
  let stream: MediaStream | undefined;
  try {
    await context.resume();
    stream = await openMicrophone({ processing: options.micProcessing ?? true });
    options.onStage?.('connecting');
    await socket.open(options.serverUrl);
    const result = await measure(context, stream, socket, options);
    return result;
  } finally {
    socket.close();
    for (const track of stream?.getTracks() ?? []) track.stop();
    void context.close();
  }
}

async function measure(
  context: AudioContext,
  stream: MediaStream,
  socket: EchoSocket,
  options: EchoTestOptions,
): Promise<EchoTestResult> {
  const streamId = 1 + Math.floor(Math.random() * 0xfffffffe);
  const frames: FrameTimes[] = [];
  const capturedAt: number[] = [];
  let sumSquares = 0;
  let peak = 0;
  let sequence = 0;
  let failure: Error | undefined;

  // Echoes: decoded, timed and (by default) played back at once.
  let playAt = 0;
  const decoder = createWebCodecsDecoder(
    (seq, pcm) => {
      const times = frames[seq];
      if (times !== undefined) times.decodedAt = performance.now();
      if (options.playBack === false) return;
      const buffer = context.createBuffer(1, pcm.length, SAMPLE_RATE_HZ);
      buffer.copyToChannel(pcm as Float32Array<ArrayBuffer>, 0);
      const source = context.createBufferSource();
      source.buffer = buffer;
      source.connect(context.destination);
      playAt = Math.max(playAt, context.currentTime);
      source.start(playAt);
      playAt += buffer.duration;
    },
    (e) => (failure = e),
  );
  socket.onFrame = (bytes) => {
    const frame = decodeFrame(bytes);
    const times = frames[frame.sequence];
    if (frame.streamId !== streamId || times === undefined || times.echoedAt !== undefined) return;
    times.echoedAt = performance.now();
    if (frame.payload.byteLength > 0) decoder.decode(frame.sequence, frame.payload.slice());
  };

  socket.send({ type: 'echo-start', streamId });
  const ready = await socket.next('echo-ready', 'echo-start');
  const testFrames = Math.min(ECHO_TEST_FRAMES, ready.maxFrames - 1);

  // Packets come out of the encoder in block order, one per 20 ms block.
  let allSent!: () => void;
  const sent = new Promise<void>((resolve) => (allSent = resolve));
  const encoder = createWebCodecsEncoder(
    FRAME_MS,
    (packet) => {
      const seq = sequence;
      if (seq >= testFrames) return;
      sequence++;
      const timestamp = seq * FRAME_SAMPLES;
      frames[seq] = { capturedAt: capturedAt[seq] ?? performance.now(), sentAt: 0 };
      socket.sendBinary(encodeFrame({ flags: 0, streamId, sequence: seq, timestamp }, packet));
      frames[seq].sentAt = performance.now();
      if (sequence === testFrames) allSent();
    },
    (e) => {
      failure = e;
      allSent();
    },
  );

  await context.audioWorklet.addModule(captureWorkletUrl);
  const capture = new AudioWorkletNode(context, 'imv-capture', {
    numberOfInputs: 1,
    numberOfOutputs: 0,
    channelCount: 1,
    channelCountMode: 'explicit',
    channelInterpretation: 'speakers',
  });
  const source = context.createMediaStreamSource(stream);
  source.connect(capture);
  const blocks = new MessageChannel();
  blocks.port1.onmessage = (event: MessageEvent<CaptureBlock>) => {
    const msg = event.data;
    if (msg.type !== 'block' || capturedAt.length >= testFrames) return;
    // The block's first sample on performance.now()'s clock. The worklet counts frames on the
    // render timeline (currentTime), not the output's: getOutputTimestamp() lags that timeline by
    // the output latency and would date the block too late (a negative round trip on loopback).
    capturedAt.push(
      performance.now() - (context.currentTime - msg.frame / context.sampleRate) * 1000,
    );
    sumSquares += rms(msg.pcm) ** 2;
    for (const s of msg.pcm) peak = Math.max(peak, Math.abs(s));
    encoder.encode(msg.pcm);
  };
  const post = (msg: ToCaptureWorklet, transfer: Transferable[] = []) =>
    capture.port.postMessage(msg, transfer);
  post({ type: 'connect-worker', port: blocks.port2 }, [blocks.port2]);
  options.onStage?.('recording');
  post({ type: 'capture', on: true, streamId, frameSamples: FRAME_SAMPLES });
  await sent;
  post({ type: 'capture', on: false });
  source.disconnect();
  encoder.close();
  if (failure !== undefined) throw failure;

  options.onStage?.('waiting');
  socket.sendBinary(
    encodeFrame(
      { flags: FLAG_END, streamId, sequence: testFrames, timestamp: testFrames * FRAME_SAMPLES },
      new Uint8Array(0),
    ),
  );
  await Promise.race([socket.next('echo-stopped', 'echo'), sleep(TAIL_WAIT_MS)]);
  await decoder.flush();
  decoder.close();

  const summary = summarize(frames);
  if (summary.framesBack === 0)
    throw new EchoTestError('no-echo', 'no test frame came back from the server');
  const device = deviceFigures(context, stream);
  const level = Math.sqrt(sumSquares / Math.max(1, capturedAt.length));
  return {
    ...summary,
    ...device,
    mouthToEarMs: mouthToEarMs(summary, device, JITTER_BUFFER_DEFAULTS.initialTargetMs),
    inputLevelDb: toDb(level),
    inputPeakDb: toDb(peak),
  };
}

function deviceFigures(context: AudioContext, stream: MediaStream): DeviceFigures {
  const track = stream.getAudioTracks()[0];
  const settings = (track?.getSettings() ?? {}) as MediaTrackSettings & { latency?: number };
  return {
    contextSampleRateHz: context.sampleRate,
    micSampleRateHz: settings.sampleRate,
    micLabel: track?.label ?? '',
    inputLatencyMs: (settings.latency ?? 0) * 1000,
    baseLatencyMs: (context.baseLatency ?? 0) * 1000,
    outputLatencyMs: (context.outputLatency ?? 0) * 1000,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A plain WebSocket to the server for the test: hello, then echo traffic only (no room). */
class EchoSocket {
  onFrame: (bytes: Uint8Array) => void = () => undefined;
  private ws: WebSocket | undefined;
  private readonly waiting = new Set<(msg: ServerMessage) => void>();
  private closedError: EchoTestError | undefined;

  async open(serverUrl: string): Promise<void> {
    const url = new URL(WS_PATH, serverUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url.href);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
      if (typeof event.data !== 'string') {
        this.onFrame(new Uint8Array(event.data));
        return;
      }
      const msg = parseServerMessage(event.data);
      for (const waiter of [...this.waiting]) waiter(msg);
    };
    ws.onclose = (event) => {
      this.closedError = new EchoTestError(
        'server',
        `the connection to the server closed (${event.code})`,
      );
      for (const waiter of [...this.waiting])
        waiter({ type: 'error', code: 'INTERNAL', message: '' });
    };
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () =>
        reject(new EchoTestError('server', `cannot reach the server at ${url.host}`));
    });
    this.send({ type: 'hello', protocol: PROTOCOL_VERSION, client: CLIENT, name: 'audio doctor' });
    await this.next('welcome', 'hello');
  }

  send(msg: object): void {
    this.ws?.send(JSON.stringify(msg));
  }

  sendBinary(bytes: Uint8Array): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(bytes);
  }

  /** The next message of `type`; an error about `ref` (or the socket closing) rejects. */
  next<T extends ServerMessage['type']>(
    type: T,
    ref: string,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const waiter = (msg: ServerMessage) => {
        if (this.closedError !== undefined) {
          this.waiting.delete(waiter);
          reject(this.closedError);
        } else if (msg.type === type) {
          this.waiting.delete(waiter);
          resolve(msg as Extract<ServerMessage, { type: T }>);
        } else if (msg.type === 'error' && (msg.ref === undefined || msg.ref.startsWith(ref))) {
          this.waiting.delete(waiter);
          reject(
            new EchoTestError(msg.code === 'ECHO_LIMITED' ? 'limited' : 'server', msg.message),
          );
        }
      };
      this.waiting.add(waiter);
      if (this.closedError !== undefined) reject(this.closedError);
    });
  }

  close(): void {
    this.ws?.close();
  }
}
