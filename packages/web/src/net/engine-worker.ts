/*
 * The engine's worker: owns the WebSocket and the Opus codecs, so nothing per frame runs on the
 * main thread. Capture blocks arrive from the capture worklet on one MessagePort, decoded frames
 * leave for the playback worklet on another; control JSON is passed to the main thread as text,
 * which parses it and runs the protocol (hello, join, reconnect).
 */
import opusWasmUrl from '@evan/opus/wasm/opus.wasm?url';
import {
  FLAG_ENCRYPTED,
  FLAG_END,
  FRAME_SAMPLES,
  decodeFrame,
  deriveStreamKey,
  encodeFrame,
  newStreamSalt,
  openFrame,
  sealFrame,
} from '@imv/protocol';
import type { ClientMessage, RoomKey, StreamKey } from '@imv/protocol';
import type {
  CaptureBlock,
  CodecChoice,
  FromWorker,
  PlaybackInput,
  ToWorker,
} from '../audio/engine-messages.js';
import { createWasmDecoder, createWebCodecsDecoder } from '../codec/opus-decoder.js';
import type { FrameDecoder } from '../codec/opus-decoder.js';
import { createWasmEncoder, createWebCodecsEncoder } from '../codec/opus-encoder.js';
import type { FrameEncoder } from '../codec/opus-encoder.js';
import { detectWebCodecsOpus } from '../codec/opus-config.js';
import { loadOpusWasm } from '../codec/opus-wasm.js';
import type { OpusWasm } from '../codec/opus-wasm.js';

type CodecKind = 'webcodecs' | 'wasm' | 'none';

interface Talk {
  streamId: number;
  sequence: number;
  encoder: FrameEncoder;
  /** Set once the talk is flushing its encoder before talk-stop. */
  finishing: Promise<void> | null;
  /** End-to-end rooms: this talk's AES key (maybe still being derived); frames are sealed in order through `sending`. */
  streamKey: Promise<StreamKey> | null;
  sending: Promise<void>;
}

/** What the worker knows of a remote live stream from its talk-started (or joined.live). */
interface RemoteStream {
  /** The stream's AES key; null for a plain stream or one this page cannot open. */
  key: Promise<StreamKey> | null;
  refused: boolean;
  /** Sealed frames are opened one after another so the decoder sees them in arrival order. */
  opening: Promise<void>;
}

let socket: WebSocket | null = null;
let playbackPort: MessagePort | null = null;
let codecs: Promise<{ encoder: CodecKind; decoder: CodecKind; wasm: OpusWasm | null }> | null =
  null;
let talk: Talk | null = null;
const decoders = new Map<number, FrameDecoder>();
const remoteStreams = new Map<number, RemoteStream>();
let roomKey: RoomKey | null = null;

function post(msg: FromWorker): void {
  self.postMessage(msg);
}

function sendJson(msg: ClientMessage): void {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
}

async function chooseCodecs(
  choice: CodecChoice,
): Promise<{ encoder: CodecKind; decoder: CodecKind; wasm: OpusWasm | null }> {
  const native =
    choice === 'wasm' ? { encoder: false, decoder: false } : await detectWebCodecsOpus();
  let wasm: OpusWasm | null = null;
  let detail: string | undefined;
  if (choice !== 'webcodecs' && (!native.encoder || !native.decoder)) {
    try {
      const response = await fetch(opusWasmUrl);
      wasm = await loadOpusWasm(await response.arrayBuffer());
    } catch (e) {
      detail = `WASM Opus failed to load: ${(e as Error).message}`;
    }
  }
  const pick = (nativeOk: boolean): CodecKind =>
    nativeOk ? 'webcodecs' : wasm !== null ? 'wasm' : 'none';
  const result = { encoder: pick(native.encoder), decoder: pick(native.decoder), wasm };
  post({
    type: 'codec',
    encoder: result.encoder,
    decoder: result.decoder,
    ...(detail !== undefined ? { detail } : {}),
  });
  return result;
}

function connect(url: string): void {
  socket?.close(1000);
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  socket = ws;
  ws.onopen = () => post({ type: 'socket-open' });
  ws.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
    if (typeof event.data === 'string') {
      noteStreams(event.data);
      post({ type: 'text', text: event.data });
    } else onFrame(new Uint8Array(event.data));
  };
  ws.onclose = (event) => {
    if (socket !== ws) return;
    socket = null;
    abortTalk('connection lost');
    for (const streamId of [...decoders.keys()]) void endStream(streamId);
    post({ type: 'socket-closed', code: event.code, reason: event.reason });
  };
}

async function startTalk(streamId: number): Promise<void> {
  const c = await codecs!;
  // A quick re-press can start a talk before the capture port's 'end' of the previous one arrived:
  // finish that one properly (its talk-stop first), then start.
  while (talk !== null) await finishTalk(talk.streamId);
  const onError = (e: Error) => {
    if (talk?.streamId === streamId) abortTalk(`encoder failed: ${e.message}`);
  };
  let encoder: FrameEncoder;
  if (c.encoder === 'webcodecs')
    encoder = createWebCodecsEncoder((p) => onPacket(streamId, p), onError);
  else if (c.encoder === 'wasm' && c.wasm !== null)
    encoder = createWasmEncoder(c.wasm, (p) => onPacket(streamId, p));
  else {
    post({ type: 'talk-failed', streamId, message: 'no Opus encoder in this browser' });
    return;
  }
  // The talk exists from here on with no await before it: the capture worklet is already sending
  // blocks, and a block that finds no talk is dropped, which would cut the start of the talk.
  let streamKey: Promise<StreamKey> | null = null;
  let e2e: { encrypted: true; e2eSalt: string; keyCheck: string } | undefined;
  if (roomKey !== null) {
    // A fresh salt per talk gives every stream its own AES key (e2e.ts: nonces never repeat). The
    // key is derived while the first frames encode; sealing waits for it, in order.
    const e2eSalt = newStreamSalt();
    streamKey = deriveStreamKey(roomKey, e2eSalt);
    e2e = { encrypted: true, e2eSalt, keyCheck: roomKey.keyCheck };
  }
  const t: Talk = {
    streamId,
    sequence: 0,
    encoder,
    finishing: null,
    streamKey,
    sending: Promise.resolve(),
  };
  talk = t;
  if (streamKey !== null) {
    t.sending = streamKey.then(
      () => undefined,
      (e: unknown) => {
        if (talk === t) abortTalk(`could not derive the stream key: ${(e as Error).message}`);
      },
    );
  }
  sendJson({ type: 'talk-start', streamId, ...e2e });
}

function onPacket(streamId: number, packet: Uint8Array): void {
  if (talk?.streamId !== streamId || socket?.readyState !== WebSocket.OPEN) return;
  const sequence = talk.sequence++;
  const header = { flags: 0, streamId, sequence, timestamp: sequence * FRAME_SAMPLES };
  const key = talk.streamKey;
  if (key === null) {
    socket.send(encodeFrame(header, packet));
    return;
  }
  const t = talk;
  t.sending = t.sending
    .then(async () => {
      const sealed = await sealFrame(await key, header, packet);
      if (talk === t && socket?.readyState === WebSocket.OPEN) socket.send(sealed);
    })
    .catch((e: unknown) => {
      if (talk === t) abortTalk(`could not encrypt a frame: ${(e as Error).message}`);
    });
}

function finishTalk(streamId: number): Promise<void> {
  const t = talk;
  if (t === null || t.streamId !== streamId) return Promise.resolve();
  t.finishing ??= (async () => {
    try {
      await t.encoder.flush();
    } catch {
      // A failed flush loses at most the last 20 ms; the talk still ends cleanly.
    }
    t.encoder.close();
    await t.sending; // the last sealed frames go out before talk-stop
    if (talk !== t) return; // aborted meanwhile
    talk = null;
    sendJson({ type: 'talk-stop', streamId: t.streamId });
    post({ type: 'talk-sent', streamId: t.streamId, frames: t.sequence });
  })();
  return t.finishing;
}

function abortTalk(message: string): void {
  const t = talk;
  if (t === null) return;
  talk = null;
  t.encoder.close();
  post({ type: 'talk-failed', streamId: t.streamId, message });
}

function onCapture(msg: CaptureBlock): void {
  if (msg.type === 'end') void finishTalk(msg.streamId);
  else if (talk !== null && talk.streamId === msg.streamId && talk.finishing === null)
    talk.encoder.encode(msg.pcm);
}

function postPlayback(msg: PlaybackInput, transfer: Transferable[] = []): void {
  playbackPort?.postMessage(msg, transfer);
}

function decoderFor(
  streamId: number,
  c: { decoder: CodecKind; wasm: OpusWasm | null },
): FrameDecoder | null {
  let decoder = decoders.get(streamId);
  if (decoder !== undefined) return decoder;
  const onPcm = (sequence: number, pcm: Float32Array) =>
    postPlayback({ type: 'frame', streamId, sequence, pcm }, [pcm.buffer]);
  const onError = (e: Error) => {
    post({ type: 'frame-error', message: `stream ${streamId}: decoder failed: ${e.message}` });
    decoders.delete(streamId);
  };
  if (c.decoder === 'webcodecs') decoder = createWebCodecsDecoder(onPcm, onError);
  else if (c.decoder === 'wasm' && c.wasm !== null)
    decoder = createWasmDecoder(c.wasm, onPcm, onError);
  else return null;
  decoders.set(streamId, decoder);
  return decoder;
}

let resolvedCodecs: { decoder: CodecKind; wasm: OpusWasm | null } | null = null;

function onFrame(bytes: Uint8Array): void {
  if (resolvedCodecs === null) return;
  let frame;
  try {
    frame = decodeFrame(bytes);
  } catch (e) {
    post({ type: 'frame-error', message: (e as Error).message });
    return;
  }
  if (frame.streamId === talk?.streamId) return; // our own stream, should the server echo it
  if ((frame.flags & FLAG_ENCRYPTED) !== 0) {
    onSealedFrame(frame.streamId, frame.sequence, (frame.flags & FLAG_END) !== 0, bytes);
    return;
  }
  if (frame.payload.byteLength > 0)
    decoderFor(frame.streamId, resolvedCodecs)?.decode(frame.sequence, frame.payload);
  if ((frame.flags & FLAG_END) !== 0) void endStream(frame.streamId);
}

/**
 * Reads talk-started and joined.live (control JSON, a few per talk) for what the worker needs
 * before the stream's first frame: whether it is sealed, its salt and the talker's keyCheck.
 */
function noteStreams(text: string): void {
  if (!text.includes('"talk-started"') && !text.includes('"joined"')) return;
  let msg: { type?: string; live?: unknown[] };
  try {
    msg = JSON.parse(text) as typeof msg;
  } catch {
    return; // the main thread reports bad JSON
  }
  if (msg.type === 'talk-started') noteStream(msg as StreamInfo);
  else if (msg.type === 'joined' && Array.isArray(msg.live))
    for (const s of msg.live) noteStream(s as StreamInfo);
}

interface StreamInfo {
  streamId: number;
  encrypted?: boolean;
  e2eSalt?: string;
  keyCheck?: string;
}

function noteStream(info: StreamInfo): void {
  // Our own talk's echo needs no key here: the worker never plays its own stream.
  if (
    typeof info.streamId !== 'number' ||
    info.encrypted !== true ||
    info.streamId === talk?.streamId
  )
    return;
  const stream: RemoteStream = { key: null, refused: false, opening: Promise.resolve() };
  remoteStreams.set(info.streamId, stream);
  if (roomKey === null) refuse(info.streamId, stream, 'no-passphrase');
  else if (info.e2eSalt === undefined || info.keyCheck !== roomKey.keyCheck)
    refuse(info.streamId, stream, 'wrong-passphrase');
  else {
    stream.key = deriveStreamKey(roomKey, info.e2eSalt);
    stream.key.catch(() => refuse(info.streamId, stream, 'wrong-passphrase'));
  }
}

function refuse(
  streamId: number,
  stream: RemoteStream,
  reason: 'no-passphrase' | 'wrong-passphrase',
): void {
  if (stream.refused) return;
  stream.refused = true;
  post({ type: 'undecryptable', streamId, reason });
}

/** Opens a sealed frame and decodes it; a stream that cannot be opened plays nothing, never noise. */
function onSealedFrame(streamId: number, sequence: number, end: boolean, bytes: Uint8Array): void {
  let stream = remoteStreams.get(streamId);
  if (stream === undefined) {
    // Frames of a stream whose talk-started this page never saw (cannot know its salt).
    stream = { key: null, refused: false, opening: Promise.resolve() };
    remoteStreams.set(streamId, stream);
    refuse(streamId, stream, roomKey === null ? 'no-passphrase' : 'wrong-passphrase');
  }
  const s = stream;
  const key = s.key;
  if (!s.refused && key !== null) {
    s.opening = s.opening.then(async () => {
      if (s.refused) return;
      try {
        const packet = await openFrame(await key, bytes);
        if (packet.byteLength > 0 && resolvedCodecs !== null)
          decoderFor(streamId, resolvedCodecs)?.decode(sequence, packet);
      } catch {
        refuse(streamId, s, 'wrong-passphrase');
      }
    });
  }
  if (end) void endStream(streamId);
}

async function endStream(streamId: number): Promise<void> {
  const sealed = remoteStreams.get(streamId);
  if (sealed !== undefined) {
    remoteStreams.delete(streamId);
    await sealed.opening; // frames still being opened reach the decoder before its flush
  }
  const decoder = decoders.get(streamId);
  decoders.delete(streamId);
  if (decoder !== undefined) {
    try {
      await decoder.flush();
    } catch {
      // closed or failed: nothing more will come out of it
    }
    decoder.close();
  }
  postPlayback({ type: 'end', streamId });
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  switch (msg.type) {
    case 'init':
      playbackPort = msg.playbackPort;
      msg.capturePort.onmessage = (e: MessageEvent<CaptureBlock>) => onCapture(e.data);
      codecs = chooseCodecs(msg.codec);
      void codecs.then((c) => {
        resolvedCodecs = c;
      });
      break;
    case 'connect':
      // Frames are only decoded once the codecs are known, so the socket waits for them.
      void codecs!.then(() => connect(msg.url));
      break;
    case 'disconnect':
      socket?.close(1000);
      break;
    case 'send':
      if (socket?.readyState === WebSocket.OPEN) socket.send(msg.text);
      break;
    case 'talk-start':
      void startTalk(msg.streamId);
      break;
    case 'talk-abort':
      if (talk?.streamId === msg.streamId) {
        talk.encoder.close();
        talk = null;
      }
      break;
    case 'stream-end':
      void endStream(msg.streamId);
      break;
    case 'e2e-key':
      roomKey = msg.roomKey;
      break;
  }
};
