/*
 * The engine's worker, between the outgoing side (capture worklet -> encoder, outgoing/) and the
 * incoming side (decoder -> playback worklet, incoming/): it owns the WebSocket and the Opus codecs,
 * so nothing per frame runs on the main thread. Control JSON goes to the main thread as text; the
 * main thread parses it, runs the protocol (hello, join, reconnect) and posts back typed messages
 * (engine-messages.ts ToWorker) for what the worker must know about streams.
 */
import opusWasmUrl from '@evan/opus/wasm/opus.wasm?url';
import { decodeFrame } from '@imv/protocol/wire';
import type { RoomKey } from '@imv/protocol/wire';
import type { ClientMessage } from '@imv/protocol';
import type {
  CaptureBlock,
  CodecChoice,
  FromWorker,
  PlaybackInput,
  ToWorker,
} from './engine-messages.js';
import { IncomingStreams } from './incoming/incoming-streams.js';
import { detectWebCodecsOpus } from './opus-config.js';
import type { CodecKind, CodecPick } from './opus-config.js';
import { loadOpusWasm } from './opus-wasm.js';
import type { OpusWasm } from './opus-wasm.js';
import { OutgoingTalks } from './outgoing/outgoing-talk.js';

interface Codecs {
  encoder: CodecPick;
  decoder: CodecPick;
}

let socket: WebSocket | null = null;
let playbackPort: MessagePort | null = null;
let codecs: Promise<Codecs> | null = null;
let roomKey: RoomKey | null = null;
/** Set once the codecs are known; frames are only taken from the socket after that. */
let incoming: IncomingStreams | null = null;

function post(msg: FromWorker): void {
  self.postMessage(msg);
}

function sendJson(msg: ClientMessage): void {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
}

const outgoing = new OutgoingTalks({
  get open() {
    return socket?.readyState === WebSocket.OPEN;
  },
  sendFrame: (frame) => socket?.send(frame),
  sendJson,
  post,
});

async function chooseCodecs(choice: CodecChoice): Promise<Codecs> {
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
  const result = {
    encoder: { kind: pick(native.encoder), wasm },
    decoder: { kind: pick(native.decoder), wasm },
  };
  post({
    type: 'codec',
    encoder: result.encoder.kind,
    decoder: result.decoder.kind,
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
    if (typeof event.data === 'string') post({ type: 'text', text: event.data });
    else onFrame(new Uint8Array(event.data));
  };
  ws.onclose = (event) => {
    if (socket !== ws) return;
    socket = null;
    outgoing.abort('connection lost');
    // The main thread ends the remote streams that were live (stream-end), as for talk-stopped.
    post({ type: 'socket-closed', code: event.code, reason: event.reason });
  };
}

function onFrame(bytes: Uint8Array): void {
  if (incoming === null) return;
  let frame;
  try {
    frame = decodeFrame(bytes);
  } catch (e) {
    post({ type: 'frame-error', message: (e as Error).message });
    return;
  }
  if (frame.streamId === outgoing.streamId) return; // our own stream, should the server echo it
  incoming.onFrame(frame, bytes);
}

function postPlayback(msg: PlaybackInput, transfer: Transferable[] = []): void {
  playbackPort?.postMessage(msg, transfer);
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  switch (msg.type) {
    case 'init':
      playbackPort = msg.playbackPort;
      msg.capturePort.onmessage = (e: MessageEvent<CaptureBlock>) => outgoing.onCapture(e.data);
      codecs = chooseCodecs(msg.codec);
      void codecs.then((c) => {
        incoming = new IncomingStreams({ post, postPlayback }, c.decoder);
        incoming.roomKey = roomKey;
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
      void codecs!.then((c) => outgoing.start(msg.streamId, msg.frameMs, c.encoder, roomKey));
      break;
    case 'talk-abort':
      outgoing.drop(msg.streamId);
      break;
    case 'stream-start':
      incoming?.announce(msg.stream);
      break;
    case 'stream-end':
      void incoming?.end(msg.streamId);
      break;
    case 'e2e-key':
      roomKey = msg.roomKey;
      if (incoming !== null) incoming.roomKey = roomKey;
      break;
  }
};
